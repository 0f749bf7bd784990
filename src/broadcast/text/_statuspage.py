"""Statuspage's incident update, rendered: pure data in, data out.

The incident's name is the title; its body holds the paragraphs, the next-update
time, the signature and the link. Components with a Statuspage id are set natively
(``components: {id: status}``); any the channel cannot map are named in the body
(``Affected: ...``), so no fact is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._update import Update
from ._facts import (
    component_status_words,
    components_line,
    next_update_phrase,
    signature,
    status_tag,
)

__all__ = ["DEFAULT_IMPACT", "IMPACTS", "StatuspageMessage", "render_statuspage"]

IMPACTS = ("none", "minor", "major", "critical")
"""Statuspage's ``impact_override`` values."""
DEFAULT_IMPACT = {"minor": "minor", "major": "major", "critical": "critical"}
"""Our severity -> Statuspage impact, unless the channel's ``impact`` says otherwise."""


@dataclass(frozen=True, slots=True)
class StatuspageMessage:
    """A rendered update: the incident's name, status, body, impact and components."""

    name: str
    status: str
    body: str
    impact: str
    components: tuple[tuple[str, str], ...]
    """``(component id, status)`` for each mapped component of the update."""
    heading: str
    incident: str
    update_key: str
    set_here: str = ""
    """The mapped components as people read them: ``Sign-in (major outage) as abc123``."""

    def fields(self, *, first: bool, notify: bool) -> dict[str, Any]:
        """The ``incident`` object of the POST (``first``) or of a follow-up's PATCH."""
        fields: dict[str, Any] = {"status": self.status, "body": self.body}
        if first:
            fields = {"name": self.name, **fields, "impact_override": self.impact}
        if self.components:
            fields["component_ids"] = [c for c, _ in self.components]
            fields["components"] = dict(self.components)
        fields["deliver_notifications"] = notify
        return fields

    def preview(self) -> str:
        """The incident as the page shows it, and what the call sets."""
        parts = [p for p in (self.heading, self.body, f"[impact: {self.impact}]") if p]
        if self.set_here:
            parts.append(f"[components set: {self.set_here}]")
        return "\n\n".join(parts)


def render_statuspage(
    update: Update, *, components: Mapping[str, str], impacts: Mapping[str, str]
) -> StatuspageMessage:
    """The incident update for ``update``; pure.

    Components with a Statuspage id are set natively; any others are named in the body
    ("Affected: ..."), so no fact is dropped.
    """
    named = {n: s for n, s in update.components.items() if n in components}
    mapped = tuple((components[n], s.value) for n, s in named.items())
    set_here = ", ".join(
        f"{n} ({component_status_words(s)}) as {components[n]}" for n, s in named.items()
    )
    unmapped = {n: s for n, s in update.components.items() if n not in components}
    closing = [
        components_line(update.model_copy(update={"components": unmapped})) if unmapped else None,
        next_update_phrase(update),
        signature(update),
        f"Details: {update.url}" if update.url else None,
    ]
    body = "\n\n".join([*update.paragraphs, *(c for c in closing if c)])
    return StatuspageMessage(
        name=update.title,
        status=update.status.value,
        body=body,
        impact=impacts.get(update.severity.value, DEFAULT_IMPACT[update.severity.value]),
        components=mapped,
        heading=f"{status_tag(update)} {update.title}",
        incident=update.incident,
        update_key=update.key,
        set_here=set_here,
    )
