"""The Report: exactly what reached where, one Receipt per channel.

And how each channel's delivery ended, in words (the Receipt's reason, details and
ids): pure functions over what the Broadcaster saw, no I/O but one log line each.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ._channel import Delivery, Rejection
from ._errors import ChannelError, DeliveryError, Unconfirmed
from ._redact import describe, redact
from ._retry import is_transient
from ._scope import SendScope

__all__ = [
    "MAX_LISTED",
    "STOP_GRACE",
    "Failure",
    "Outcome",
    "Receipt",
    "Report",
    "delivered_fields",
    "failure_fields",
    "fan_out_outcome",
    "safe_traceback",
]

MAX_LISTED = 1000
"""At most this many rejected recipients are listed in ``to_dict()``; all are counted."""


class Outcome(StrEnum):
    """What happened on one channel."""

    DELIVERED = "delivered"
    PARTIAL = "partial"
    """A fan-out reached some recipients but not all; ``rejected`` says who and why."""
    FAILED = "failed"
    SKIPPED = "skipped"
    """Nothing new was sent, on purpose: a dry run, a channel not selected by ``only=``,
    or the provider (or the thread store) already has this update."""
    BUSY = "busy"
    """Another process holds this channel's send of this update (the journal's lease):
    nothing was sent here, and it is not known yet whether that process will finish.
    Run again later; once its lease expires, the run takes over."""


@dataclass(frozen=True, slots=True)
class Receipt:
    """One channel's outcome."""

    channel: str
    outcome: Outcome
    attempts: int = 0
    """Calls made to ``deliver`` (0 when it never ran)."""
    elapsed: float = 0.0
    """Seconds from render to the final outcome, retries and waits included."""
    ids: tuple[str, ...] = ()
    """Provider ids of what was sent."""
    reason: str | None = None
    """One line saying why, when failed or skipped."""
    preview: str | None = None
    """The rendered text, on dry runs."""
    details: Mapping[str, Any] = field(default_factory=dict)
    """The provider's data and a fan-out's counts (``not_sent``, ``already_delivered``)."""
    accepted: int | None = None
    """Fan-out channels: recipients that got it."""
    rejected: tuple[Rejection, ...] = ()
    """Fan-out channels: recipients that did not, with the provider's code and reason."""
    outcome_unknown: bool = False
    """Failed, but it may have got through (no answer came, or a stopped run left it in
    doubt): the journal keeps it in doubt rather than sending it again blindly."""
    superseded: bool = False
    """Skipped because a later ``resolved`` update of the incident exists."""
    stopped_early: bool = False
    """A fan-out stopped before the end of its list (a deadline, a stop, the provider
    refusing more): the rest were not sent, and a re-run sends them."""
    permanent: bool = False
    """Failed in a way a re-run repeats (refused for good, or a crash): fix the reason
    first. The command does not suggest re-running for these."""

    def summary(self) -> str:
        """The provider ids when delivered (with the recipient count), else the reason."""
        if self.outcome is not Outcome.DELIVERED:
            return self.reason or ""
        said = ", ".join(self.ids[:3])
        if self.accepted is None:
            return said
        return f"{self.accepted} recipients; {said}" if said else f"{self.accepted} recipients"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; each of the typed flags only when it is set."""
        flags = ("outcome_unknown", "superseded", "stopped_early", "permanent")
        return self._fields() | {flag: True for flag in flags if getattr(self, flag)}

    def _fields(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "outcome": self.outcome.value,
            "attempts": self.attempts,
            "elapsed": round(self.elapsed, 6),
            "ids": list(self.ids),
            "reason": self.reason,
            "preview": self.preview,
            "details": dict(self.details),
            "accepted": self.accepted,
            "rejected": [r.to_dict() for r in self.rejected[:MAX_LISTED]],
            "rejected_count": len(self.rejected),
        }


@dataclass(frozen=True, slots=True)
class Report:
    """The result of one ``send``: a Receipt per channel, in the order given."""

    update_key: str
    incident: str
    receipts: tuple[Receipt, ...]
    dry_run: bool = False
    stopped: str | None = None
    """Why the send was ended early (``Broadcaster.stop``: a signal), else None."""

    @property
    def ok(self) -> bool:
        """True when every channel delivered in full (or was skipped on purpose)."""
        return not self.failed and not self.partial and not self.busy

    @property
    def reached_everyone(self) -> bool:
        """True when nobody the send was meant to reach is still waiting for it.

        Every channel delivered, had it already, or was skipped on purpose, and every
        recipient a fan-out missed was refused for a reason no retry fixes (an invalid
        number, a STOP, a 550). False after a transient failure, an unanswered send,
        an early stop, or while another process holds a channel (``busy``). The
        command exits 0 exactly when this is True.
        """
        if self.failed or self.busy or self.stopped:
            return False
        for receipt in self.partial:
            if receipt.stopped_early:
                return False
            if any(not r.permanent for r in receipt.rejected):
                return False
        return True

    @property
    def busy(self) -> tuple[Receipt, ...]:
        """Receipts of the channels another process is sending this update on."""
        return self._with(Outcome.BUSY)

    @property
    def failed(self) -> tuple[Receipt, ...]:
        """Receipts of the channels that failed."""
        return self._with(Outcome.FAILED)

    @property
    def partial(self) -> tuple[Receipt, ...]:
        """Receipts of fan-out channels that reached only some recipients."""
        return self._with(Outcome.PARTIAL)

    @property
    def delivered(self) -> tuple[Receipt, ...]:
        """Receipts of the channels that delivered."""
        return self._with(Outcome.DELIVERED)

    @property
    def skipped(self) -> tuple[Receipt, ...]:
        """Receipts of the channels that sent nothing on purpose."""
        return self._with(Outcome.SKIPPED)

    def _with(self, outcome: Outcome) -> tuple[Receipt, ...]:
        return tuple(r for r in self.receipts if r.outcome is outcome)

    def __getitem__(self, channel: str) -> Receipt:
        for receipt in self.receipts:
            if receipt.channel == channel:
                return receipt
        raise KeyError(channel)

    def __iter__(self) -> Iterator[Receipt]:
        return iter(self.receipts)

    def __len__(self) -> int:
        return len(self.receipts)

    def raise_for_failures(self) -> None:
        """Raise ``DeliveryError`` (a ``BroadcastError``) naming each failed or partial channel."""
        if not self.ok:
            raise DeliveryError(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, for logs, CI output and dashboards."""
        return {
            "update_key": self.update_key,
            "incident": self.incident,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "reached_everyone": self.reached_everyone,
            "stopped": self.stopped,
            "receipts": [r.to_dict() for r in self.receipts],
        }

    def to_text(self) -> str:
        """A plain aligned table, one row per channel."""
        header = ("channel", "outcome", "attempts", "time", "ids / reason")
        rows = [header]
        for r in self.receipts:
            rows.append(
                (r.channel, r.outcome.value, str(r.attempts), f"{r.elapsed:.2f}s", r.summary())
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True))
            + "  "
            + row[-1]
            for row in rows
        ]
        lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * len(header[-1]))
        counts = [
            f"{len(group)} {outcome.value}" for outcome in Outcome if (group := self._with(outcome))
        ]
        verdict = ", ".join(counts) or "no channels"
        mode = " (dry run: nothing sent)" if self.dry_run else ""
        title = f"Report for incident {self.incident}, update {self.update_key[:12]}{mode}"
        stopped = [f"Stopped early: {self.stopped}."] if self.stopped else []
        return "\n".join([title, *lines, f"-> {verdict}", *stopped]).rstrip()

    def __str__(self) -> str:
        return self.to_text()


# ==============================================================================
# How a channel's delivery ended, in words: the Receipt's reason, details and ids.
#
# Pure functions over what the Broadcaster saw (the error, the attempts, whether its
# deadline passed, whether a stop was asked for); no I/O but the one log line each.
# (Was _outcome.py.)
# ==============================================================================

log = logging.getLogger("broadcast")

STOP_GRACE = 12.0
"""Seconds the sends in flight get after ``stop()`` (SIGTERM, Ctrl-C) before they are cut off."""


def safe_traceback(exc: BaseException) -> str:
    """The traceback of a channel's bug, for the log, with secrets masked.

    Logged as text rather than with ``exc_info`` so the redaction cannot be bypassed
    by a handler that formats the exception itself.
    """
    return redact("".join(traceback.format_exception(exc)).rstrip())


@dataclass(frozen=True, slots=True)
class Failure:
    """How one channel's delivery ended badly."""

    exc: BaseException
    last_error: BaseException | None
    attempts: int
    expired: bool
    backstop: float | None
    scope: SendScope


def failure_fields(channel: str, failure: Failure) -> dict[str, Any]:
    """The failed Receipt's reason, details and ids, logged once."""
    exc, last_error, expired = failure.exc, failure.last_error, failure.expired
    reason = _failure_reason(exc, expired, failure.backstop, failure.attempts, last_error)
    if expired and failure.scope.stop.is_set():
        reason = f"{failure.scope.reason}: no answer within {STOP_GRACE:g}s; {reason}"
    crashed = not expired and not isinstance(exc, ChannelError)
    if crashed and not is_transient(exc):
        log.error("%s: deliver crashed: %s", channel, safe_traceback(exc))
    else:
        log.error("%s: failed: %s", channel, reason)
    unknown = (
        expired
        or not isinstance(exc, ChannelError)
        or isinstance(exc, Unconfirmed)
        or isinstance(last_error, Unconfirmed)
    )
    ids = tuple(getattr(last_error, "ids", ()) or getattr(exc, "ids", ()))
    return {
        "reason": reason,
        "outcome_unknown": unknown,
        # Refused for good, or a crash (a bug, or a setting the channel cannot use):
        # sending the same again fails the same way.
        "permanent": not expired and not is_transient(exc),
        "ids": ids,
    }


def _failure_reason(
    exc: BaseException,
    timed_out: bool,
    timeout: float | None,
    attempts: int,
    last_error: BaseException | None,
) -> str:
    if timed_out:
        reason = f"timed out after {timeout:g}s"
        if last_error is not None:
            reason += f" ({attempts} attempts; last error: {describe(last_error)})"
        return reason
    reason = describe(exc)
    if is_transient(exc):
        noun = "attempt" if attempts == 1 else "attempts"
        reason = f"{reason}; gave up after {attempts} {noun}"
        wait = getattr(exc, "retry_after", None)
        if isinstance(wait, int | float) and wait > 0:
            reason += f" (the provider asked to wait {wait:g}s, past the retry deadline)"
    return reason


def fan_out_outcome(delivery: Delivery) -> tuple[Outcome, str | None]:
    """Delivered, partial or failed, from who the provider accepted and rejected."""
    note = f"; {redact(delivery.note)}" if delivery.note else ""
    accepted = delivery.accepted or 0
    if not delivery.rejected and not delivery.incomplete:
        return Outcome.DELIVERED, (redact(delivery.note) if delivery.note else None)
    outcome = Outcome.PARTIAL if accepted else Outcome.FAILED
    if not delivery.rejected:
        return outcome, f"stopped after {accepted} recipients{note}"
    first = delivery.rejected[0]
    example = redact(f"first: {first.recipient}: {first.reason}")
    rejected = len(delivery.rejected)
    if delivery.incomplete:
        return outcome, f"{accepted} reached, {rejected} rejected ({example}){note}"
    if not accepted:
        return outcome, f"all {rejected} recipients rejected ({example}){note}"
    total = rejected + accepted
    return outcome, f"{rejected} of {total} recipients not reached ({example}){note}"


def delivered_fields(
    channel: str, delivery: Delivery, attempts: int
) -> tuple[Outcome, dict[str, Any]]:
    """The Receipt's outcome and fields for a ``deliver`` that returned, logged once."""
    outcome, summary = fan_out_outcome(delivery)
    level = logging.INFO if outcome is Outcome.DELIVERED else logging.ERROR
    log.log(level, "%s: %s after %d attempt(s)", channel, summary or outcome, attempts)
    return outcome, {
        "ids": tuple(str(i) for i in delivery.ids),
        "details": dict(delivery.details),
        "reason": summary,
        "accepted": delivery.accepted,
        "rejected": tuple(delivery.rejected),
        "stopped_early": delivery.incomplete,
    }
