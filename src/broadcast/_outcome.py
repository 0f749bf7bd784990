"""How a channel's delivery ended, in words: the Receipt's reason, details and ids.

Pure functions over what the Broadcaster saw (the error, the attempts, whether its
deadline passed, whether a stop was asked for); no I/O but the one log line each.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from typing import Any

from ._channel import Delivery
from ._errors import ChannelError, Unconfirmed
from ._redact import describe, redact
from ._report import Outcome
from ._retry import is_transient
from ._scope import SendScope

__all__ = [
    "STOP_GRACE",
    "Failure",
    "delivered_fields",
    "failure_fields",
    "fan_out_outcome",
    "safe_traceback",
]

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
