"""The facts every channel states the same way: status tag, next-update time, signature.

Renderers format freely around these, but take the words for the facts from here, so
an update says the same thing by email, on X and by SMS.
"""

from __future__ import annotations

from .._update import Severity, Update

__all__ = ["next_update_phrase", "signature", "status_tag", "utc_minute"]


def status_tag(update: Update) -> str:
    """``[Investigating]``, with ``| Critical`` added for critical incidents."""
    tag = update.status.value.capitalize()
    if update.severity is Severity.CRITICAL:
        tag += " | Critical"
    return f"[{tag}]"


def utc_minute(update: Update) -> str | None:
    """The promised next update as ``2011-04-21T10:00Z``, or ``None``."""
    if update.next_update_at is None:
        return None
    return update.next_update_at.strftime("%Y-%m-%dT%H:%MZ")


def next_update_phrase(update: Update) -> str | None:
    """``Next update by 2011-04-21T10:00Z (UTC).``, or ``None`` when nothing is promised."""
    when = utc_minute(update)
    return f"Next update by {when} (UTC)." if when else None


def signature(update: Update) -> str | None:
    """``— Head of Network Operations``, or ``None``."""
    return f"— {update.author}" if update.author else None
