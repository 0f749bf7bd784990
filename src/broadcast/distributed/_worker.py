"""A worker's side of a distributed send: claim a shard, send it, record it, finish.

``ShardWorker`` runs with this process's own Broadcaster (the same channel
configuration as the sender's) and the shared store and journal. A fan-out shard is
sent by a copy of the channel reading only that shard's recipients, recording each one
in the journal's ``RecipientLog`` for the whole channel: a shard taken over from a dead
worker skips everyone already recorded as delivered. A single-post shard goes through
``Broadcaster.send(update, only=...)``, under the journal's per-channel claim, so it is
posted once. The worker that finishes a channel's last shard records the channel's
summed outcome in the journal, so ``history`` reads as after a one-process send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any, Literal

from .._errors import ChannelError, ConfigError, JournalError
from .._redact import describe
from .._report import Outcome, Receipt, delivered_fields
from ..journal._protocol import SendState
from ._rate import SharedRateLimiter
from ._shards import Shard, ShardClaim, ShardStore
from ._sources import shard_source
from ._status import channel_receipt

if TYPE_CHECKING:
    from .._broadcaster import Broadcaster
    from .._update import Update

__all__ = ["ShardWorker"]

log = logging.getLogger("broadcast")

_STATES: dict[Outcome, SendState] = {
    Outcome.DELIVERED: "delivered",
    Outcome.PARTIAL: "partial",
    Outcome.FAILED: "failed",
}


class ShardWorker:
    """Runs shards of distributed sends with ``broadcaster``'s channels and journal.

    Use it inside ``async with broadcaster``. ``store`` is the shared ``ShardStore``.
    """

    def __init__(self, broadcaster: Broadcaster, store: ShardStore) -> None:
        if broadcaster.journal is None:
            raise ConfigError(
                "a worker needs the shared journal: set BROADCAST_JOURNAL (the same file or "
                "database as the sender's), not off"
            )
        self.broadcaster = broadcaster
        self.journal = broadcaster.journal
        self.store = store
        self._channels = {c.name: c for c in broadcaster.channels}
        self._limiters: dict[str, SharedRateLimiter] = {}
        self._one_at_a_time = asyncio.Lock()
        """A worker sends one shard at a time (a task and a sweep never overlap), so what
        it has in flight is at most one fan-out's ``concurrency``: the crash bound."""
        self.shards_done = 0

    def __repr__(self) -> str:
        return f"ShardWorker({self.store!r}, channels={sorted(self._channels)})"

    async def run(self, shard: Shard, /) -> Literal["sent", "done", "busy"]:
        """Claim and send ``shard`` (only its key is read): ``sent``, or why not."""
        async with self._one_at_a_time:
            claim = await self.store.claim(shard)
            if claim.status != "claimed":
                log.info("shard %s: %s; nothing sent here", shard.key, claim.status)
                return claim.status
            await self._work(claim)
            return "sent"

    async def run_next(self, update_key: str | None = None, /) -> bool:
        """Claim and send any shard nobody holds; False when there is none."""
        async with self._one_at_a_time:
            claim = await self.store.claim_next(update_key)
            if claim is None:
                return False
            await self._work(claim)
            return True

    async def drain(self, update_key: str | None = None, /) -> int:
        """Send shards nobody holds until there are none; how many were sent."""
        count = 0
        while await self.run_next(update_key):
            count += 1
        return count

    async def _work(self, claim: ShardClaim) -> None:
        shard = claim.shard
        if claim.taken_over:
            log.warning("shard %s: taking over from a worker that stopped", shard.key)
        renewing = asyncio.create_task(self._renew(claim), name=f"broadcast:shard:{shard.key}")
        try:
            receipt = await self._send(shard)
        except BaseException:
            with contextlib.suppress(Exception):
                await self.store.release(claim)  # cancelled: another worker takes it
            raise
        finally:
            renewing.cancel()
        last = await self.store.finish(claim, receipt.to_dict())
        self.shards_done += 1
        log.info("shard %s: %s", shard.key, receipt.outcome)
        if last and shard.kind != "post":
            await self._close_channel(shard)

    async def _send(self, shard: Shard) -> Receipt:
        update = await self.store.update(shard.update_key)
        channel = self._channels.get(shard.channel)
        if update is None or channel is None:
            what = "its update is not in the store" if update is None else "no such channel here"
            reason = (
                f"shard {shard.key} cannot be sent by this worker: {what}; give every worker "
                "the sender's channel configuration and journal"
            )
            return Receipt(shard.channel, Outcome.FAILED, reason=reason)
        if shard.kind == "post":
            report = await self.broadcaster.send(update, only=[shard.channel])
            return report[shard.channel]
        return await self._fan_out(channel, update, shard)

    async def _fan_out(self, channel: Any, update: Update, shard: Shard) -> Receipt:
        await self.journal.open()
        started = time.monotonic()
        try:
            part = shard_source(channel.audience().source, shard)
            twin = channel.sharded(part, limiter=self._limiter(channel))
            delivery = await twin.deliver(twin.render(update))
        except ConfigError as exc:
            return Receipt(shard.channel, Outcome.FAILED, reason=str(exc), permanent=True)
        except ChannelError as exc:
            reason = f"shard {shard.index}: {exc}"
            return Receipt(shard.channel, Outcome.FAILED, attempts=1, reason=reason)
        outcome, fields = delivered_fields(shard.channel, delivery, 1)
        fields["details"] = fields["details"] | {"rejected_count": len(fields["rejected"])}
        elapsed = time.monotonic() - started
        return Receipt(shard.channel, outcome, attempts=1, elapsed=elapsed, **fields)

    def _limiter(self, channel: Any) -> SharedRateLimiter | None:
        account = getattr(channel, "rate_account", None)
        if account is None:
            return None
        name, rate = account
        if name not in self._limiters:
            self._limiters[name] = SharedRateLimiter(self.store, name, rate=rate)
        return self._limiters[name]

    async def _renew(self, claim: ShardClaim) -> None:
        every = float(getattr(self.store, "lease", 60.0)) / 3
        while True:
            await asyncio.sleep(every)
            try:
                await self.store.renew(claim)
            except JournalError as exc:
                log.error("shard %s: cannot renew its lease: %s", claim.shard.key, exc)

    async def _close_channel(self, shard: Shard) -> None:
        """Record the channel's summed outcome in the journal (its last shard is done)."""
        update = await self.store.update(shard.update_key)
        if update is None:
            return
        rows = [
            r for r in await self.store.shards(shard.update_key) if r.shard.channel == shard.channel
        ]
        receipt = channel_receipt(shard.channel, rows)
        try:
            claim = await self.journal.claim(update, shard.channel)
            if claim.status == "claimed":
                await self.journal.finish(claim, _STATES.get(receipt.outcome, "failed"), receipt)
        except JournalError as exc:
            log.error("%s: cannot record the finished send: %s", shard.channel, describe(exc))
