"""A dry run: each channel's rendering, and every fan-out's recipient list read and counted.

``preview`` needs nothing but the update; a dry run reads the configured lists as a
send would (the same parsing, in ``channels._recipients``), so a bad line in an
``@file`` list shows before anything is sent. Nothing is sent and the journal is not
touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ._preview import Preview, render_previews

if TYPE_CHECKING:
    from .._channel import Channel
    from ..channels._recipients import Audience, Audit

__all__ = ["Rehearsal", "rehearse"]


@runtime_checkable
class _FansOut(Protocol):
    """A channel sending to a list of recipients (email, SMS)."""

    def audience(self) -> Audience: ...


@dataclass(frozen=True, slots=True)
class Rehearsal:
    """One channel in a dry run: what it would say, and to how many."""

    preview: Preview
    audit: Audit | None = None
    """The recipient list, read and checked; None for a channel that posts once."""

    @property
    def invalid(self) -> int:
        """Invalid entries in its list (0 for a channel that posts once)."""
        return self.audit.invalid if self.audit is not None else 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        p, a = self.preview, self.audit
        row: dict[str, Any] = {"channel": p.channel, "kind": p.kind, "text": p.text}
        row["error"] = p.error
        if a is not None:
            row["recipients"] = {
                "source": a.source,
                "count": a.recipients,
                "duplicates": a.duplicates,
                "invalid": a.invalid,
                "invalid_lines": [
                    {"where": b.where, "recipient": b.recipient, "reason": b.reason}
                    for b in a.bad_lines
                ],
                "error": a.error,
            }
        return row


async def rehearse(channels: Sequence[Channel[Any]], update: Any) -> list[Rehearsal]:
    """Render ``update`` for each channel and read each fan-out's list, sending nothing."""
    from ..channels._recipients import audit  # noqa: PLC0415 - channels load lazily

    rows = []
    for channel, preview in zip(channels, render_previews(channels, update), strict=True):
        found = await audit(channel.audience()) if isinstance(channel, _FansOut) else None
        rows.append(Rehearsal(preview, found))
    return rows
