"""One Report for a distributed send, from every shard's outcome: progress, then the end.

Each shard stores its Receipt (``to_dict()``); a channel's Receipt sums its shards'.
While shards are still pending or running the channel reads ``busy`` with how far it
has got; once all are done it is the Receipt a one-process send would have given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._channel import Rejection
from .._errors import JournalError
from .._report import Outcome, Receipt, Report
from ..channels._fanout import SAMPLE_IDS
from ._shards import ShardRecord, ShardStore

__all__ = ["SendStatus", "channel_receipt", "receipt_from", "status"]

_COUNTS = ("already_delivered", "resent_after_stop", "not_sent", "not_recorded")
"""A fan-out's counters (``Receipt.details``), summed over its shards."""


@dataclass(frozen=True, slots=True)
class SendStatus:
    """Where a distributed send stands: shards done, recipients reached, and its Report."""

    update_key: str
    shards: int
    done: int
    running: int
    taken_over: int
    """Shards claimed by more than one worker (a worker died, or its lease ran out)."""
    accepted: int
    rejected: int
    report: Report

    @property
    def finished(self) -> bool:
        """Every shard is done: ``report`` is final."""
        return self.done == self.shards

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, the Report's included."""
        counts = {
            "update_key": self.update_key,
            "finished": self.finished,
            "shards": self.shards,
            "done": self.done,
            "running": self.running,
            "taken_over": self.taken_over,
            "accepted": self.accepted,
            "rejected": self.rejected,
        }
        return counts | {"report": self.report.to_dict()}


async def status(store: ShardStore, update_key: str, /) -> SendStatus:
    """Aggregate every shard of ``update_key``'s distributed send (``JournalError`` if none)."""
    await store.open()
    update = await store.update(update_key)
    if update is None:
        raise JournalError(f"no distributed send of {update_key} in {store!r}")
    records = await store.shards(update_key)
    by_channel: dict[str, list[ShardRecord]] = {}
    for record in records:
        by_channel.setdefault(record.shard.channel, []).append(record)
    receipts = tuple(channel_receipt(name, rows) for name, rows in by_channel.items())
    return SendStatus(
        update_key=update_key,
        shards=len(records),
        done=sum(r.state == "done" for r in records),
        running=sum(r.state == "running" for r in records),
        taken_over=sum(r.runs > 1 for r in records),
        accepted=sum(r.accepted or 0 for r in receipts),
        rejected=sum(int(r.details.get("rejected_count", len(r.rejected))) for r in receipts),
        report=Report(update_key=update_key, incident=update.incident, receipts=receipts),
    )


def receipt_from(result: Mapping[str, Any]) -> Receipt:
    """A Receipt back from its ``to_dict()`` (the rejected list as stored: the first 1,000)."""
    rejected = tuple(
        Rejection(
            str(r["recipient"]),
            str(r.get("reason") or ""),
            r.get("code"),
            unanswered=bool(r.get("unanswered")),
            permanent=bool(r.get("permanent")),
        )
        for r in result.get("rejected") or ()
    )
    return Receipt(
        channel=str(result["channel"]),
        outcome=Outcome(result["outcome"]),
        attempts=int(result.get("attempts") or 0),
        elapsed=float(result.get("elapsed") or 0.0),
        ids=tuple(result.get("ids") or ()),
        reason=result.get("reason"),
        details=dict(result.get("details") or {})
        | {"rejected_count": int(result.get("rejected_count", len(rejected)))},
        accepted=result.get("accepted"),
        rejected=rejected,
        outcome_unknown=bool(result.get("outcome_unknown")),
        superseded=bool(result.get("superseded")),
        stopped_early=bool(result.get("stopped_early")),
        permanent=bool(result.get("permanent")),
    )


def channel_receipt(channel: str, rows: Sequence[ShardRecord]) -> Receipt:
    """One channel's Receipt from its shards (``busy`` until all are done)."""
    done = [receipt_from(r.result) for r in rows if r.state == "done" and r.result]
    if len(rows) == 1 and rows[0].shard.kind == "post" and done:
        return done[0]
    accepted = sum(r.accepted or 0 for r in done)
    rejected = tuple(x for r in done for x in r.rejected)
    counted = sum(int(r.details.get("rejected_count", 0)) for r in done)
    details: dict[str, Any] = {"shards": len(rows), "shards_done": len(done)}
    details["rejected_count"] = counted
    for receipt in done:
        for name, value in receipt.details.items():
            if name in _COUNTS:
                details[name] = details.get(name, 0) + int(value)
            elif name != "rejected_count":
                details.setdefault(name, value)  # the same for every shard (the encoding)
    ids = tuple(i for r in done for i in r.ids)[:SAMPLE_IDS]
    attempts = sum(r.attempts for r in done)
    elapsed = max((r.elapsed for r in done), default=0.0)
    common: dict[str, Any] = {
        "attempts": attempts,
        "elapsed": elapsed,
        "ids": ids,
        "details": details,
        "accepted": accepted,
        "rejected": rejected,
    }
    if len(done) < len(rows):
        reason = (
            f"{len(done)} of {len(rows)} shards done, {accepted:,} recipients reached so far; "
            "the rest are with the workers (broadcast status shows progress)"
        )
        return Receipt(channel, Outcome.BUSY, reason=reason, **common)
    failed = [r for r in done if r.outcome is Outcome.FAILED]
    if not counted and not failed and not any(r.stopped_early for r in done):
        return Receipt(channel, Outcome.DELIVERED, **common)
    first = next((r for r in done if r.reason and r.outcome is not Outcome.DELIVERED), None)
    said = f"; first: {first.reason}" if first is not None else ""
    outcome = Outcome.PARTIAL if accepted else Outcome.FAILED
    reason = f"{counted:,} of {accepted + counted:,} recipients not reached{said}"
    return Receipt(
        channel,
        outcome,
        reason=reason,
        stopped_early=any(r.stopped_early for r in done),
        permanent=all(r.permanent for r in failed) and bool(failed) and not accepted,
        **common,
    )
