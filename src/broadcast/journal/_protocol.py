"""The delivery journal: what was sent where, so nothing is lost and nothing sent twice.

``Journal`` is the contract; ``SQLiteJournal`` (in ``_sqlite.py``) is the
embedded default, and a shared database can implement the same Protocol to back
several workers. The Broadcaster drives it:

1. ``record_update`` when a send starts: the incident's timeline and current status.
2. ``claim`` per channel: a lease, so two processes never send the same update on the
   same channel at once; it also says when there is nothing to do (already delivered,
   superseded by a resolution) and when a crashed run left a send in doubt.
3. The channel works through the journal's ``ThreadStore`` methods (posts and their
   thread) or a ``RecipientLog`` (one row per email address or phone number).
4. ``finish`` with the channel's outcome, which releases the lease.

``docs/journal.md`` states the guarantees this buys and their bounds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from ._threads import ThreadStore

if TYPE_CHECKING:
    from .._report import Receipt
    from .._update import Update

__all__ = [
    "ChannelRecord",
    "Claim",
    "IncidentState",
    "ItemRecord",
    "Journal",
    "Overdue",
    "RecipientLog",
    "SendState",
    "UpdateRecord",
    "UsesJournal",
    "overdue",
]

SendState = Literal["sending", "delivered", "partial", "failed", "superseded", "in_doubt"]
"""A channel's state for one update. ``sending`` is held under a lease; ``in_doubt`` is
what a send left when it stopped without knowing whether it got through."""


@dataclass(frozen=True, slots=True)
class Claim:
    """The answer to ``Journal.claim``: go ahead, or why not.

    ``status`` is ``claimed`` (this process now holds the lease), ``delivered`` (done
    before: ``ids`` are the provider's ids), ``busy`` (another live process holds it:
    ``holder``) or ``superseded`` (a later ``resolved`` update exists: ``by``).
    """

    update_key: str
    channel: str
    status: Literal["claimed", "delivered", "busy", "superseded"]
    owner: str = ""
    ids: tuple[str, ...] = ()
    holder: str | None = None
    by: str | None = None
    in_doubt: bool = False
    """Claimed, but an earlier run stopped while sending: it may have got through."""


@dataclass(frozen=True, slots=True)
class ItemRecord:
    """One recipient (or one post part) of one update on one channel."""

    item: str
    state: Literal["pending", "delivered", "failed"]
    provider_id: str | None = None
    reason: str | None = None
    code: str | None = None
    permanent: bool = False


@dataclass(frozen=True, slots=True)
class ChannelRecord:
    """How one update went on one channel, as the journal last saw it."""

    channel: str
    state: SendState
    ids: tuple[str, ...] = ()
    reason: str | None = None
    attempts: int = 0
    accepted: int | None = None
    rejected: int | None = None
    runs: int = 1
    """How many sends worked on it (more than one after a re-run)."""
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class UpdateRecord:
    """One update in an incident's timeline, and its outcome per channel."""

    key: str
    incident: str
    status: str
    severity: str
    title: str
    created_at: datetime
    next_update_at: datetime | None
    recorded_at: datetime
    """When a send of it first started."""
    channels: tuple[ChannelRecord, ...] = field(default_factory=tuple)
    document: Mapping[str, Any] | None = None
    """The whole update as ``Update.to_document()`` made it (body, author, url,
    components...); None for one recorded before the journal kept it."""

    @property
    def delivered(self) -> bool:
        """Whether it reached anyone: delivered (or partly, to some recipients) somewhere."""
        return any(c.state in ("delivered", "partial") for c in self.channels)


@dataclass(frozen=True, slots=True)
class IncidentState:
    """An incident as the journal knows it: its latest update decides its status."""

    incident: str
    status: str
    title: str
    updates: int
    last_update_key: str
    last_update_at: datetime
    next_update_at: datetime | None


@dataclass(frozen=True, slots=True)
class Overdue:
    """An open incident whose promised next update is late."""

    incident: str
    status: str
    title: str
    promised_at: datetime
    overdue_by: timedelta
    last_update_key: str

    def __str__(self) -> str:
        minutes = int(self.overdue_by.total_seconds() // 60)
        return (
            f"{self.incident} ({self.status}): next update was promised by "
            f"{self.promised_at:%Y-%m-%d %H:%M} UTC, {minutes} min ago"
        )


@runtime_checkable
class RecipientLog(Protocol):
    """One fan-out (an update on an email or SMS channel), one row per recipient.

    ``delivered`` returns once the row is durable; the fan-out engine waits for it
    before a worker takes its next recipient, which bounds what a crash can re-send to
    one recipient per worker. ``sending`` and ``failed`` may be buffered; ``flush``
    makes everything durable.
    """

    async def resuming(self) -> bool:
        """Whether an earlier run wrote rows for this fan-out (a re-run)."""
        ...

    async def settled(self, recipients: Sequence[str], /) -> dict[str, ItemRecord]:
        """The rows an earlier run left for any of ``recipients``."""
        ...

    def sending(self, recipient: str, /) -> None:
        """``recipient`` is about to be sent to (``pending``)."""
        ...

    def delivered(self, recipient: str, provider_id: str, /) -> Awaitable[None]:
        """The provider accepted it; the awaitable is done when that is durable.

        An ``async def`` satisfies this too; the built-in journals return a future.
        """
        ...

    def failed(
        self, recipient: str, reason: str, code: int | str | None, *, permanent: bool
    ) -> None:
        """The provider refused it; ``permanent`` ones are not retried by a re-run."""
        ...

    async def flush(self) -> None:
        """Make every buffered row durable."""
        ...


@runtime_checkable
class Journal(ThreadStore, Protocol):
    """Durable delivery state: claims, outcomes, recipients, threads and incidents.

    All methods may raise ``JournalError``; none of them may fail silently.
    """

    async def open(self) -> None:
        """Create or check the store; idempotent. ``JournalError`` says what is wrong."""
        ...

    async def aclose(self) -> None:
        """Flush and release the store."""
        ...

    async def record_update(self, update: Update, /) -> None:
        """Add ``update`` to its incident's timeline (a no-op if already there)."""
        ...

    async def claim(self, update: Update, channel: str, /) -> Claim:
        """Take the lease to send ``update`` on ``channel``, or say why not."""
        ...

    async def renew(self, claim: Claim, /) -> None:
        """Extend a held lease; a long fan-out calls it while it runs."""
        ...

    async def superseded_by(self, update: Update, /) -> str | None:
        """The key of a later ``resolved`` update of the same incident, if any."""
        ...

    async def finish(self, claim: Claim, state: SendState, receipt: Receipt, /) -> None:
        """Store the outcome and release the lease."""
        ...

    async def release(self, claim: Claim, receipt: Receipt | None = None, /) -> None:
        """Give up a lease leaving the send in doubt (cancelled, or cut off unanswered)."""
        ...

    def recipients(self, update_key: str, channel: str, /) -> RecipientLog:
        """The per-recipient log of one fan-out."""
        ...

    async def settle(
        self,
        update_key: str,
        channel: str,
        /,
        *,
        part: int | None = None,
        post_id: str | None = None,
    ) -> None:
        """Resolve a send left in doubt: ``post_id`` if it got there, None to send it again.

        ``part`` names one part of a thread; None means the whole channel. Raises
        ``JournalError`` when that is not in doubt, saying what can be settled.
        """
        ...

    async def history(self, incident: str, /) -> list[UpdateRecord]:
        """The incident's updates in order, each with its per-channel outcome."""
        ...

    async def incidents(self) -> list[IncidentState]:
        """Every incident, with the status of its latest update."""
        ...


@runtime_checkable
class UsesJournal(Protocol):
    """Optional: channels that keep their own per-post or per-recipient state."""

    def use_journal(self, journal: Journal, /) -> None:
        """Keep state in ``journal``; the Broadcaster owns it."""
        ...


async def overdue(journal: Journal, now: datetime | None = None) -> list[Overdue]:
    """Open incidents whose latest update promised a next one by now, most late first.

    Run it from cron, CI or a monitor to nag the communications team before customers
    notice the silence. ``now`` defaults to the current time (UTC).
    """
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware, e.g. datetime.now(UTC)")
    late = [
        Overdue(
            incident=i.incident,
            status=i.status,
            title=i.title,
            promised_at=i.next_update_at,
            overdue_by=moment - i.next_update_at,
            last_update_key=i.last_update_key,
        )
        for i in await journal.incidents()
        if i.status != "resolved" and i.next_update_at is not None and i.next_update_at < moment
    ]
    return sorted(late, key=lambda o: o.overdue_by, reverse=True)
