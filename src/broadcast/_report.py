"""The Report: exactly what reached where, one Receipt per channel."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ._channel import Rejection
from ._errors import DeliveryError

__all__ = ["MAX_LISTED", "Outcome", "Receipt", "Report"]

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
        return f"{self.accepted} recipients; {said}" if self.accepted is not None else said

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
