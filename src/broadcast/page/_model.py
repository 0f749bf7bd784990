"""What the status page shows, read from the journal: only what was actually sent.

An update appears once it was delivered (or partly delivered, to some recipients) on
at least one channel; one that failed everywhere, or is still being sent, does not.
The ``status-page`` channel adds the update it is publishing itself (``include``):
putting it on the page is its delivery. Pure data: no templates, no files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..journal._protocol import Journal, UpdateRecord

__all__ = [
    "DESCRIPTIONS",
    "RECENT",
    "PageIncident",
    "PageUpdate",
    "Site",
    "incident_path",
    "page_url",
    "read_site",
]

RECENT = timedelta(days=90)
"""How far back resolved incidents are listed on the front page and in the feed."""
FEED_ENTRIES = 50
"""The most entries the feed carries, newest first."""
DESCRIPTIONS = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major Service Outage",
}
"""The words for each status indicator, as Statuspage's ``status.json`` says them."""
_RANK = {"none": 0, "minor": 1, "major": 2, "critical": 3}


def incident_path(incident: str) -> str:
    """Where an incident's page lives in the site: ``incidents/<id>.html``."""
    return f"incidents/{incident}.html"


def page_url(base_url: str, incident: str) -> str:
    """The incident page's address on the published site at ``base_url``."""
    return f"{base_url.rstrip('/')}/{incident_path(incident)}"


@dataclass(frozen=True, slots=True)
class PageUpdate:
    """One update as the page shows it."""

    key: str
    incident: str
    status: str
    severity: str
    title: str
    created_at: datetime
    body: str = ""
    author: str | None = None
    url: str | None = None
    components: Mapping[str, str] = field(default_factory=dict)
    next_update_at: datetime | None = None
    language: str | None = None

    @property
    def paragraphs(self) -> tuple[str, ...]:
        """The body split at blank lines."""
        return tuple(p.strip() for p in self.body.split("\n\n")) if self.body else ()

    @classmethod
    def from_record(cls, record: UpdateRecord) -> PageUpdate:
        """From the journal's row; an update recorded before documents has no body."""
        doc: Mapping[str, Any] = record.document or {}
        return cls(
            key=record.key,
            incident=record.incident,
            status=record.status,
            severity=record.severity,
            title=record.title,
            created_at=record.created_at,
            body=str(doc.get("body") or ""),
            author=doc.get("author"),
            url=doc.get("url"),
            components=dict(doc.get("components") or {}),
            next_update_at=record.next_update_at,
            language=doc.get("language"),
        )


@dataclass(frozen=True, slots=True)
class PageIncident:
    """One incident and its sent updates, newest first."""

    id: str
    updates: tuple[PageUpdate, ...]

    @property
    def latest(self) -> PageUpdate:
        """The newest update: it decides the incident's title and status."""
        return self.updates[0]

    @property
    def title(self) -> str:
        """The newest update's title."""
        return self.latest.title

    @property
    def status(self) -> str:
        """The newest update's status."""
        return self.latest.status

    @property
    def severity(self) -> str:
        """The newest update's severity (Statuspage's impact)."""
        return self.latest.severity

    @property
    def resolved(self) -> bool:
        """Whether the newest update resolved it."""
        return self.status == "resolved"

    @property
    def started_at(self) -> datetime:
        """When its first sent update was written."""
        return self.updates[-1].created_at

    @property
    def updated_at(self) -> datetime:
        """When its newest update was written."""
        return self.latest.created_at

    @property
    def path(self) -> str:
        """Its page, relative to the site's root."""
        return incident_path(self.id)

    def first_at(self, status: str) -> datetime | None:
        """When it first reached ``status`` (``monitoring``, ``resolved``), if it did."""
        times = [u.created_at for u in self.updates if u.status == status]
        return min(times) if times else None


@dataclass(frozen=True, slots=True)
class Site:
    """Everything the site shows, as of ``generated_at``."""

    title: str
    generated_at: datetime
    incidents: tuple[PageIncident, ...]
    """Every incident with a sent update, most recently updated first."""
    base_url: str | None = None
    window: timedelta = RECENT

    @property
    def open_incidents(self) -> tuple[PageIncident, ...]:
        """The incidents not resolved yet."""
        return tuple(i for i in self.incidents if not i.resolved)

    @property
    def recently_resolved(self) -> tuple[PageIncident, ...]:
        """The incidents resolved within ``window`` of ``generated_at``."""
        since = self.generated_at - self.window
        return tuple(i for i in self.incidents if i.resolved and i.updated_at >= since)

    @property
    def indicator(self) -> str:
        """``none``, ``minor``, ``major`` or ``critical``: the worst open incident."""
        worst = max((_RANK.get(i.severity, 2) for i in self.open_incidents), default=0)
        return next(name for name, rank in _RANK.items() if rank == worst)

    @property
    def description(self) -> str:
        """The indicator in words: "All Systems Operational", ..."""
        return DESCRIPTIONS[self.indicator]

    @property
    def page_id(self) -> str:
        """A stable id for the page, from its address (or its title)."""
        return hashlib.sha256((self.base_url or self.title).encode()).hexdigest()[:12]

    def feed_updates(self) -> list[PageUpdate]:
        """The feed's updates: those of open and recent incidents, newest first."""
        shown = [*self.open_incidents, *self.recently_resolved]
        updates = [u for i in shown for u in i.updates]
        return sorted(updates, key=lambda u: (u.created_at, u.key), reverse=True)[:FEED_ENTRIES]

    def components(self) -> dict[str, tuple[str, datetime]]:
        """Each component any update named: its current status and since when.

        The newest update naming a component decides; a component of an incident that
        was resolved without naming it again is ``operational`` again.
        """
        current: dict[str, tuple[str, datetime]] = {}
        updates = sorted(
            (u for i in self.incidents for u in i.updates), key=lambda u: (u.created_at, u.key)
        )
        named: dict[str, set[str]] = {}
        for update in updates:
            for name, status in update.components.items():
                current[name] = (status, update.created_at)
                named.setdefault(update.incident, set()).add(name)
            if update.status == "resolved":
                for name in named.get(update.incident, set()) - set(update.components):
                    current[name] = ("operational", update.created_at)
        return dict(sorted(current.items()))

    def link(self, path: str) -> str:
        """``path`` on the published site: absolute with ``base_url``, else relative."""
        return f"{self.base_url.rstrip('/')}/{path}" if self.base_url else path


async def read_site(
    journal: Journal,
    *,
    title: str = "Status",
    base_url: str | None = None,
    now: datetime | None = None,
    window: timedelta = RECENT,
    include: Collection[str] = (),
) -> Site:
    """The site as the journal has it: every incident's sent updates.

    ``include`` names update keys to show though no channel delivered them yet (the
    one the ``status-page`` channel is publishing). ``now`` (aware; default the current
    time) decides which resolved incidents are recent.
    """
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware, e.g. datetime.now(UTC)")
    wanted = set(include)
    incidents: list[PageIncident] = []
    for state in await journal.incidents():
        history = await journal.history(state.incident)
        sent = [PageUpdate.from_record(r) for r in history if r.delivered or r.key in wanted]
        if sent:
            sent.sort(key=lambda u: (u.created_at, u.key), reverse=True)
            incidents.append(PageIncident(state.incident, tuple(sent)))
    incidents.sort(key=lambda i: (i.updated_at, i.id), reverse=True)
    return Site(
        title=title,
        generated_at=moment.astimezone(UTC),
        incidents=tuple(incidents),
        base_url=base_url,
        window=window,
    )
