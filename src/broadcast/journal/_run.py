"""One channel's send under the journal: claim, deliver, record.

The Broadcaster calls ``journaled`` for each channel when it has a journal. The claim
decides whether there is anything to do; the lease is renewed while the channel
works; the outcome is recorded, or, when nobody can know whether a failed send got
through, the lease is released so the next run sees it *in doubt*.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from .._capabilities import Capabilities
from .._channel import Channel
from .._errors import JournalError
from .._report import Outcome, Receipt
from .._update import Update
from ._protocol import Claim, Journal, SendState

__all__ = ["journaled", "resumes_itself"]

log = logging.getLogger("broadcast")


def resumes_itself(channel: Channel[Any]) -> bool:
    """Whether a channel can be re-sent after a crash without posting twice.

    Channels that keep per-post or per-recipient state in the journal can; so can one
    whose receivers drop repeats (``idempotent = True``, as webhook receivers do by
    ``webhook-id``). Read from its declared capabilities (``Capabilities``).
    """
    return Capabilities.of(channel).resumes_itself


async def journaled(
    journal: Journal,
    channel: Channel[Any],
    update: Update,
    deliver: Callable[[], Awaitable[Receipt]],
    receipt: Callable[..., Receipt],
    *,
    resumes: bool | None = None,
) -> Receipt:
    """Claim ``channel``'s send of ``update``, run ``deliver``, record the outcome.

    ``resumes``: whether the channel can be re-sent after a crash without posting twice
    (its capabilities, read once when it was added; default: read them now).
    """
    if resumes is None:
        resumes = resumes_itself(channel)
    try:
        claim = await journal.claim(update, channel.name)
    except JournalError as exc:
        log.error("%s: %s", channel.name, exc)
        return receipt(Outcome.FAILED, reason=f"not sent: {exc}")
    if (early := _claim_receipt(channel, claim, resumes=resumes)) is not None:
        log.log(_level(early), "%s: %s: %s", channel.name, early.outcome, early.reason)
        if claim.status == "claimed":  # in doubt: leave it so for whoever settles it
            with contextlib.suppress(JournalError):
                await journal.release(claim)
        return receipt(
            early.outcome,
            reason=early.reason,
            ids=early.ids,
            outcome_unknown=early.outcome_unknown,
            superseded=early.superseded,
        )
    if claim.in_doubt:
        log.warning("%s: resuming a send that a stopped run left unfinished", channel.name)
    renewing = asyncio.create_task(_renew(journal, claim), name=f"broadcast:lease:{claim.channel}")
    try:
        result = await deliver()
    except BaseException:
        with contextlib.suppress(Exception):
            await journal.release(claim)  # cancelled: a re-run finds it unfinished
        raise
    finally:
        renewing.cancel()
    try:
        if not resumes and _outcome_unknown(result):
            await journal.release(claim, result)
            log.warning("%s: left in doubt in the journal: it may have got through", claim.channel)
        else:
            state = _state(result)
            await journal.finish(claim, state, result)
            log.info("%s: recorded as %s in the journal", claim.channel, state)
    except JournalError as exc:
        log.error("%s: %s", channel.name, exc)
        note = f"{result.reason}; " if result.reason else ""
        return dataclasses.replace(result, reason=f"{note}not recorded: {exc}")
    return result


async def _renew(journal: Journal, claim: Claim) -> None:
    lease = float(getattr(journal, "lease", 60.0))
    while True:
        await asyncio.sleep(lease / 3)
        try:
            await journal.renew(claim)
        except JournalError as exc:
            log.error("%s: cannot renew the journal lease: %s", claim.channel, exc)


def _claim_receipt(channel: Channel[Any], claim: Claim, *, resumes: bool) -> Receipt | None:
    """The Receipt for a channel the journal says not to send on, else None."""
    name = channel.name
    if claim.status == "delivered":
        return Receipt(name, Outcome.SKIPPED, ids=claim.ids, reason="already delivered")
    if claim.status == "superseded":
        reason = f"superseded: the incident was resolved by {claim.by}"
        return Receipt(name, Outcome.SKIPPED, reason=reason, superseded=True)
    if claim.status == "busy":
        reason = (
            f"being sent by another process ({claim.holder}); not sent twice here. "
            "Run again later: once that process ends or its lease expires, a run takes over"
        )
        return Receipt(name, Outcome.BUSY, reason=reason)
    if claim.in_doubt and not resumes:
        reason = (
            "in doubt: a run that stopped was sending this and may or may not have got "
            f"through; check, then journal.settle({claim.update_key!r}, {name!r}, "
            "post_id=<its id, or None to send again>), or run: broadcast settle "
            f"{claim.update_key} {name} --post-id ID (or --resend)"
        )
        return Receipt(name, Outcome.FAILED, reason=reason, outcome_unknown=True)
    return None


def _level(receipt: Receipt) -> int:
    quiet = receipt.outcome not in {Outcome.FAILED, Outcome.BUSY}
    return logging.INFO if quiet else logging.ERROR


def _state(receipt: Receipt) -> SendState:
    if receipt.outcome is Outcome.SKIPPED:
        return "superseded" if receipt.superseded else "delivered"
    states: dict[Outcome, SendState] = {
        Outcome.DELIVERED: "delivered",
        Outcome.PARTIAL: "partial",
        Outcome.FAILED: "failed",
    }
    return states[receipt.outcome]


def _outcome_unknown(receipt: Receipt) -> bool:
    """A failure that may have got through (only asked of a channel that cannot tell)."""
    return receipt.outcome is Outcome.FAILED and receipt.outcome_unknown
