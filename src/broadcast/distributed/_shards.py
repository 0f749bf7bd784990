"""Shards: contiguous ranges of one fan-out's recipients, claimed by workers under a lease.

A distributed send writes the update and its shards to a ``ShardStore``, then asks a
``ShardQueue`` (a task engine) for one task per shard. Workers claim shards from the
store, not from the queue: the store's lease is what makes a task delivered twice
harmless and a killed worker's shard taken over. A single-post channel (X, a webhook)
is one shard of kind ``post``, so it runs once, on whichever worker claims it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .._update import Update

__all__ = [
    "Shard",
    "ShardClaim",
    "ShardKind",
    "ShardQueue",
    "ShardRecord",
    "ShardState",
    "ShardStore",
]

ShardKind = Literal["items", "bytes", "keys", "post"]
"""What ``start`` and ``stop`` count: list indexes, byte offsets of a file, query keys;
``post`` is a single-post channel's whole send."""
ShardState = Literal["pending", "running", "done"]


@dataclass(frozen=True, slots=True)
class Shard:
    """Recipients ``[start, stop)`` of ``channel``'s send of ``update_key``: task key and range."""

    update_key: str
    channel: str
    index: int
    kind: ShardKind
    start: int = 0
    stop: int = 0

    @property
    def key(self) -> str:
        """``update:channel:index``, what the task engine's task is keyed by."""
        return f"{self.update_key}:{self.channel}:{self.index}"


@dataclass(frozen=True, slots=True)
class ShardClaim:
    """The answer to ``claim``: ``claimed`` (now held by ``owner``), ``done`` or ``busy``."""

    shard: Shard
    status: Literal["claimed", "done", "busy"]
    owner: str = ""
    taken_over: bool = False
    """Claimed from a holder whose lease ran out or whose process is gone."""


@dataclass(frozen=True, slots=True)
class ShardRecord:
    """One shard as the store last saw it; ``result`` is its Receipt's ``to_dict()``."""

    shard: Shard
    state: ShardState
    owner: str | None = None
    runs: int = 0
    """How many workers claimed it (more than one after a take-over)."""
    result: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class ShardStore(Protocol):
    """Where a distributed send's update, shards, leases and shared rate limits live.

    It sits next to the ``Journal`` (usually in the same database); per-recipient rows
    stay in the journal's ``RecipientLog``, so a taken-over shard skips who already
    got the update.
    """

    async def open(self) -> None:
        """Create or check the tables; idempotent."""
        ...

    async def aclose(self) -> None:
        """Release the store."""
        ...

    async def plan(self, update: Update, shards: Sequence[Shard], /) -> bool:
        """Store ``update`` and its ``shards``; False (changing nothing) if already planned."""
        ...

    async def update(self, update_key: str, /) -> Update | None:
        """The update a send stored, or None."""
        ...

    async def claim(self, shard: Shard, /) -> ShardClaim:
        """Take ``shard``'s lease, or say why not (done, or held by a live worker)."""
        ...

    async def claim_next(self, update_key: str | None = None, /) -> ShardClaim | None:
        """Take any shard nobody holds (of ``update_key``, or of any send); None if none."""
        ...

    async def renew(self, claim: ShardClaim, /) -> None:
        """Extend a held lease."""
        ...

    async def release(self, claim: ShardClaim, /) -> None:
        """Give a shard back unfinished (another worker takes it)."""
        ...

    async def finish(self, claim: ShardClaim, result: Mapping[str, Any], /) -> bool:
        """Record the shard done; True when it was the last unfinished one of its channel."""
        ...

    async def shards(self, update_key: str, /) -> list[ShardRecord]:
        """Every shard of a send, by channel and index."""
        ...

    async def take_tokens(
        self, account: str, /, *, rate: float, capacity: float, want: int
    ) -> tuple[int, float]:
        """Take up to ``want`` tokens of ``account``'s bucket: (granted, seconds to wait if 0)."""
        ...


@runtime_checkable
class ShardQueue(Protocol):
    """A task engine: one task per shard, keyed by ``Shard.key``."""

    async def enqueue(self, shards: Sequence[Shard], /) -> None:
        """Ask the engine to run one task per shard (at least once)."""
        ...
