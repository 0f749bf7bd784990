"""Where each incident's posts are, so follow-ups reply to them and re-sends resume.

Channels that thread (X replies, Facebook comments, email References) read and write
it through this small interface. ``MemoryThreads`` lives as long as the process; a
``Journal`` (``SQLiteJournal`` by default) is a ThreadStore that lasts across
processes and days, and the Broadcaster hands its journal to every channel that
threads.

A post goes in two steps: ``start_part`` before the provider is called (in a journal
this is durable, so a crash between the call and its answer is seen later as *in
doubt*), then ``record_part`` with the provider's id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["MemoryThreads", "ThreadState", "ThreadStore"]


@dataclass(frozen=True, slots=True)
class ThreadState:
    """One incident on one channel: its first and latest post, and how many updates."""

    first: str | None = None
    """The incident's first post: the Facebook post to comment under, the email root."""
    last: str | None = None
    """The latest post: the tweet the next update replies to."""
    updates: int = 0
    """How many updates of the incident have been posted on the channel."""


@runtime_checkable
class ThreadStore(Protocol):
    """Per channel: each incident's thread, and each update's posted parts."""

    async def thread(self, channel: str, incident: str, /) -> ThreadState:
        """Where ``incident`` stands on ``channel``."""
        ...

    async def posted_parts(self, channel: str, update_key: str, /) -> list[str]:
        """Ids of the parts of this update already posted, in order."""
        ...

    async def start_part(self, channel: str, update_key: str, index: int, /) -> None:
        """Note that part ``index`` is about to be posted.

        Raises ``InDoubt`` if an earlier run was posting that same part when it stopped.
        """
        ...

    async def abandon_part(self, channel: str, update_key: str, index: int, /) -> None:
        """The provider refused part ``index``: it is not posted, and not in doubt."""
        ...

    async def record_part(
        self, channel: str, incident: str, update_key: str, index: int, post_id: str, /
    ) -> None:
        """Remember part ``index`` of ``update_key`` as ``post_id``; the thread follows."""
        ...


class MemoryThreads:
    """A ThreadStore in a dict: enough for one process."""

    def __init__(self) -> None:
        self._threads: dict[tuple[str, str], ThreadState] = {}
        self._parts: dict[tuple[str, str], dict[int, str]] = {}
        self._updates: dict[tuple[str, str], set[str]] = {}

    async def thread(self, channel: str, incident: str, /) -> ThreadState:
        """Where ``incident`` stands on ``channel``."""
        return self._threads.get((channel, incident), ThreadState())

    async def posted_parts(self, channel: str, update_key: str, /) -> list[str]:
        """Ids of the parts of this update already posted, in order."""
        parts = self._parts.get((channel, update_key), {})
        return [parts[i] for i in sorted(parts)]

    async def start_part(self, channel: str, update_key: str, index: int, /) -> None:
        """Nothing to note: a process cannot find itself in doubt."""

    async def abandon_part(self, channel: str, update_key: str, index: int, /) -> None:
        """Nothing to undo: nothing was noted."""

    async def record_part(
        self, channel: str, incident: str, update_key: str, index: int, post_id: str, /
    ) -> None:
        """Remember a posted part; the incident's first and last posts follow."""
        self._parts.setdefault((channel, update_key), {})[index] = post_id
        updates = self._updates.setdefault((channel, incident), set())
        updates.add(update_key)
        old = self._threads.get((channel, incident), ThreadState())
        self._threads[(channel, incident)] = ThreadState(
            first=old.first or post_id, last=post_id, updates=len(updates)
        )
