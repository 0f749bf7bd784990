"""Where each incident's posts are, so follow-ups reply to them and re-sends resume.

Channels that thread (X replies, Facebook comments) read and write it through this
small interface. ``MemoryThreads`` lives as long as the process; the journal makes it
durable across processes and days.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["MemoryThreads", "ThreadStore"]


@runtime_checkable
class ThreadStore(Protocol):
    """Per channel: each incident's first and last post, and each update's posted parts."""

    def first_post(self, channel: str, incident: str) -> str | None:
        """The id of the incident's first post on ``channel``, if any."""
        ...

    def last_post(self, channel: str, incident: str) -> str | None:
        """The id of the incident's latest post on ``channel``, to reply to."""
        ...

    def posted_parts(self, channel: str, update_key: str) -> list[str]:
        """Ids of the parts of this update already posted, in order."""
        ...

    def update_count(self, channel: str, incident: str) -> int:
        """How many updates of ``incident`` have been posted on ``channel``."""
        ...

    def record_part(self, channel: str, incident: str, update_key: str, post_id: str) -> None:
        """Remember that the next part of ``update_key`` was posted as ``post_id``."""
        ...


class MemoryThreads:
    """A ThreadStore in a dict: enough for one process."""

    def __init__(self) -> None:
        self._first: dict[tuple[str, str], str] = {}
        self._last: dict[tuple[str, str], str] = {}
        self._parts: dict[tuple[str, str], list[str]] = {}
        self._updates: dict[tuple[str, str], set[str]] = {}

    def first_post(self, channel: str, incident: str) -> str | None:
        """The id of the incident's first post on ``channel``, if any."""
        return self._first.get((channel, incident))

    def last_post(self, channel: str, incident: str) -> str | None:
        """The id of the incident's latest post on ``channel``."""
        return self._last.get((channel, incident))

    def posted_parts(self, channel: str, update_key: str) -> list[str]:
        """Ids of the parts of this update already posted, in order."""
        return list(self._parts.get((channel, update_key), ()))

    def update_count(self, channel: str, incident: str) -> int:
        """How many updates of ``incident`` have been posted on ``channel``."""
        return len(self._updates.get((channel, incident), ()))

    def record_part(self, channel: str, incident: str, update_key: str, post_id: str) -> None:
        """Remember a posted part; the incident's first and last posts follow."""
        self._parts.setdefault((channel, update_key), []).append(post_id)
        self._updates.setdefault((channel, incident), set()).add(update_key)
        self._first.setdefault((channel, incident), post_id)
        self._last[(channel, incident)] = post_id
