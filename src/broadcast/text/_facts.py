"""The facts every channel states the same way: status, next update, signature, components.

Renderers format freely around these, but take the words for the facts from here, so
an update says the same thing by email, on X and by SMS.

Times are written as people read them: ``06:47 UTC`` on the day of the update (its
``created_at``, in UTC), ``06:47 UTC on 4 Dec`` on another day, and ``06:47 UTC on
1 Jan 2027`` in another year. The day of the update is the reference, not the clock,
so a rendering never depends on when it is made.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from .._update import ComponentStatus, Severity, Update

__all__ = [
    "COMPONENTS_ROOM",
    "affected_components",
    "component_status_words",
    "components_line",
    "next_update_phrase",
    "next_update_time",
    "readable_time",
    "signature",
    "status_tag",
    "utc_minute",
]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
"""English month names, whatever the machine's locale (``%b`` follows it)."""


def status_tag(update: Update) -> str:
    """``[Investigating]``, with ``| Critical`` added for critical incidents."""
    tag = update.status.value.capitalize()
    if update.severity is Severity.CRITICAL:
        tag += " | Critical"
    return f"[{tag}]"


def readable_time(moment: datetime, *, today: date | None = None) -> str:
    """``06:47 UTC``; ``06:47 UTC on 4 Dec`` when not ``today``; the year when not its year.

    ``moment`` is read in UTC; ``today`` is a UTC date. Without one, the date is always
    given, with its year.
    """
    utc = moment.astimezone(UTC)
    clock = f"{utc:%H:%M} UTC"
    day = utc.date()
    if today is not None and day == today:
        return clock
    year = "" if today is not None and day.year == today.year else f" {day.year}"
    return f"{clock} on {day.day} {_MONTHS[day.month - 1]}{year}"


def next_update_time(update: Update) -> str | None:
    """The promised next update as ``10:00 UTC`` (or ``10:00 UTC on 22 Apr``), or ``None``.

    The date is given when it is not the day of the update (``created_at``, UTC).
    """
    if update.next_update_at is None:
        return None
    return readable_time(update.next_update_at, today=update.created_at.astimezone(UTC).date())


def utc_minute(update: Update) -> str | None:
    """The promised next update as ``2011-04-21T10:00Z``, for machines; or ``None``."""
    if update.next_update_at is None:
        return None
    return update.next_update_at.strftime("%Y-%m-%dT%H:%MZ")


def next_update_phrase(update: Update) -> str | None:
    """``Next update by 10:00 UTC.``, or ``None`` when nothing is promised."""
    when = next_update_time(update)
    return f"Next update by {when}." if when else None


def signature(update: Update) -> str | None:
    """``— Head of Network Operations``, or ``None``."""
    return f"— {update.author}" if update.author else None


def component_status_words(status: ComponentStatus) -> str:
    """``major outage`` for ``major_outage``: a component status as people read it."""
    return status.value.replace("_", " ")


COMPONENTS_ROOM = 400
"""Most characters of the components' list; past it, the rest are counted, not named."""


def affected_components(update: Update, *, room: int = COMPONENTS_ROOM) -> str | None:
    """``Sign-in (major outage), Store (degraded performance)``, or ``None``.

    In the order the update names them. A list longer than ``room`` characters names
    the first ones and ends ``and 12 more``, so the line stays short on every outlet.
    """
    named = [f"{n} ({component_status_words(s)})" for n, s in update.components.items()]
    if not named:
        return None
    kept = list(named)
    while len(", ".join(kept)) > room and len(kept) > 1:
        kept.pop()
        while kept and len(", ".join(kept)) + len(f", and {len(named) - len(kept)} more") > room:
            kept.pop()
    if not kept:
        return f"{len(named)} components"
    more = len(named) - len(kept)
    return ", ".join(kept) + (f", and {more} more" if more else "")


def components_line(update: Update) -> str | None:
    """``Affected: Sign-in (major outage), Store (degraded performance).``, or ``None``."""
    named = affected_components(update)
    return f"Affected: {named}." if named else None
