"""When the next update is promised, in the words people write it.

A delay (``30m``, ``2h``, ``1d12h``), a clock time (``15:00``, the next one, local
time) or an ISO 8601 date-time.

One parser for the API (``next_update_at="1h"`` or a ``timedelta``) and the command
line (``--next-update 1h``), so both read the same words the same way.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

__all__ = ["WHEN_FORMS", "parse_when", "resolve_when"]

WHEN_FORMS = "a delay like 30m, 2h or 1d, a time like 15:00, or a date-time like 2026-11-21T15:00Z"
"""What ``parse_when`` understands, for error messages."""
_RELATIVE = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?:in)?)?")


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """``30m``, ``2h``, ``1d12h`` after ``now``; ``15:00`` (the next one, local time); ISO 8601.

    A date-time written without a zone is local time. Raises ``ValueError`` naming the
    forms it understands.
    """
    now = now or datetime.now(UTC)
    value = text.strip().lower().replace(" ", "")
    if value and (match := _RELATIVE.fullmatch(value)) and any(match.groups()):
        days, hours, minutes = (int(g or 0) for g in match.groups())
        return now + timedelta(days=days, hours=hours, minutes=minutes)
    try:
        if re.fullmatch(r"\d{1,2}:\d{2}", value):
            local = now.astimezone()
            hour, minute = (int(p) for p in value.split(":"))
            moment = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
            return moment if moment > local else moment + timedelta(days=1)
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        pass
    else:
        return moment if moment.tzinfo else moment.astimezone()
    raise ValueError(f"{text!r} is not a time: use {WHEN_FORMS}")


def resolve_when(value: object, *, now: datetime) -> object:
    """A ``timedelta`` or text as the moment it names (after ``now``); anything else as is."""
    if isinstance(value, timedelta):
        return now + value
    if isinstance(value, str):
        return parse_when(value, now=now)
    return value
