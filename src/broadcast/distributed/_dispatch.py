"""The sender's side of a distributed send: plan the shards, store them, enqueue them.

``Broadcaster.send(update, distributed=Distributed(store, queue))`` renders every
selected channel (a render error fails that channel, as in any send), checks that each
fan-out's recipients can be split (a clear ``ConfigError`` naming the field, before
anything is stored or sent), records the update in the journal (so ``overdue`` and
``history`` see it at once), stores the update and its shards, and enqueues one task
per shard. It returns at once: every queued channel reads ``busy`` in the Report;
``status()`` (``broadcast status KEY``) gives progress and, when done, the final Report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._errors import ConfigError
from .._redact import describe
from .._report import Outcome, Receipt, Report
from ._shards import Shard, ShardQueue, ShardStore
from ._sources import DEFAULT_SHARD_SIZE, plan_source

if TYPE_CHECKING:
    from .._channel import Channel
    from .._update import Update
    from ..journal._protocol import Journal

__all__ = ["Distributed", "plan"]


def plan(update: Update, channels: Sequence[Channel[Any]], *, size: int) -> list[Shard]:
    """Every shard of ``update`` on ``channels``: ranges of each fan-out, one per post."""
    shards: list[Shard] = []
    for channel in channels:
        if callable(getattr(channel, "sharded", None)) and callable(
            getattr(channel, "audience", None)
        ):
            source = channel.audience().source  # type: ignore[attr-defined]
            shards += plan_source(update.key, channel.name, source, size=size)
        else:
            shards.append(Shard(update.key, channel.name, 0, "post"))
    return shards


class Distributed:
    """Send through workers: ``store`` holds the shards, ``queue`` is the task engine.

    ``shard_size`` is how many recipients one task sends (10,000 by default).
    """

    def __init__(
        self, store: ShardStore, queue: ShardQueue, *, shard_size: int = DEFAULT_SHARD_SIZE
    ) -> None:
        if shard_size < 1:
            raise ValueError(f"shard_size must be at least 1, got {shard_size}")
        self.store = store
        self.queue = queue
        self.shard_size = shard_size

    def __repr__(self) -> str:
        return f"Distributed({self.store!r}, {self.queue!r}, shard_size={self.shard_size})"

    async def dispatch(
        self,
        update: Update,
        channels: Sequence[Channel[Any]],
        *,
        journal: Journal | None,
        skipped: Sequence[Receipt] = (),
    ) -> Report:
        """Plan, store and enqueue ``update`` on ``channels``; the Report says ``busy``."""
        if journal is None:
            raise ConfigError(
                "distributed=: a distributed send needs the journal the workers share "
                "(Broadcaster(journal=...), or BROADCAST_JOURNAL)"
            )
        failed: dict[str, Receipt] = {}
        for channel in channels:
            try:
                channel.render(update)
            except Exception as exc:  # noqa: BLE001 - a channel's bug stays in its Receipt
                reason = f"render failed: {describe(exc)}"
                failed[channel.name] = Receipt(channel.name, Outcome.FAILED, reason=reason)
        good = [c for c in channels if c.name not in failed]
        shards = plan(update, good, size=self.shard_size)  # ConfigError before anything is kept
        await journal.open()
        await journal.record_update(update)
        await self.store.open()
        await self.store.plan(update, shards)
        await self.queue.enqueue(shards)
        counts = {c.name: sum(s.channel == c.name for s in shards) for c in good}
        receipts = [
            failed.get(c.name)
            or Receipt(
                c.name,
                Outcome.BUSY,
                reason=(
                    f"queued: {counts[c.name]} shard(s) for the workers; "
                    f"broadcast status {update.key} shows progress"
                ),
                details={"shards": counts[c.name]},
            )
            for c in channels
        ]
        return Report(update.key, update.incident, receipts=(*receipts, *skipped))
