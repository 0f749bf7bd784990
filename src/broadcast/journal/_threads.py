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

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from .._errors import ChannelError, Unconfirmed

__all__ = ["MemoryThreads", "ThreadSlot", "ThreadState", "ThreadStore", "post_part"]


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


class ThreadSlot:
    """A threading channel's store: the one it was given, else the Broadcaster's journal.

    Until a journal is shared with it (or when there is none), a channel that was given
    no store keeps its own ``MemoryThreads``.
    """

    def __init__(self, given: ThreadStore | None) -> None:
        self._store: ThreadStore = given if given is not None else MemoryThreads()
        self._given = given is not None

    def share(self, store: ThreadStore) -> None:
        """Use ``store`` (the Broadcaster's journal) unless one was given."""
        if not self._given:
            self._store = store

    def get(self) -> ThreadStore:
        """The store in use."""
        return self._store


async def post_part(
    store: ThreadStore,
    channel: str,
    incident: str,
    update_key: str,
    index: int,
    *,
    send: Callable[[], Awaitable[str]],
) -> str:
    """Post one part in two steps: noted as pending, then recorded with its id.

    When the part is known not to be up (the provider answered with an error, or
    nothing was sent), the pending note is dropped; a request that went out unanswered
    (``Unconfirmed``) leaves it, so a later run knows the part is in doubt.
    """
    await store.start_part(channel, update_key, index)
    try:
        post_id = await send()
    except ChannelError as exc:
        if not isinstance(exc, Unconfirmed):
            await store.abandon_part(channel, update_key, index)
        raise
    await store.record_part(channel, incident, update_key, index, post_id)
    return post_id
