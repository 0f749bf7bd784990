"""The Microsoft Teams card for an update: an Adaptive Card, sized in bytes as posted.

A Teams Workflows webhook takes ``{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "content": <AdaptiveCard>}]}``, at most
28 KB for the whole payload. The card is 1.4 (every Teams client renders it). Teams
cannot thread through a webhook, so the title names the incident.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .._update import Update
from ._cut import cut_at_word
from ._facts import affected_components, next_update_time, status_tag

__all__ = ["CARD_VERSION", "MAX_TEAMS_BYTES", "TeamsCard", "render_teams"]

MAX_TEAMS_BYTES = 28_000
"""Teams' 28 KB message limit, read as 28,000 bytes of the JSON payload, to be safe."""
CARD_VERSION = "1.4"


@dataclass(frozen=True, slots=True)
class TeamsCard:
    """A rendered update: the exact bytes posted, and a plain reading of them."""

    body: bytes
    text: str
    link: str | None
    shortened: bool = False

    @property
    def size(self) -> int:
        """Bytes of the payload, as Teams counts them."""
        return len(self.body)

    def payload(self) -> dict[str, Any]:
        """The message envelope, parsed back."""
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    def preview(self) -> str:
        """The card as text, and its size."""
        cut = "; shortened to fit" if self.shortened else ""
        return (
            f"{self.text}\n[Adaptive Card {CARD_VERSION}, {self.size:,}/{MAX_TEAMS_BYTES:,} "
            f"bytes{cut}]"
        )


def _card(update: Update, headline: str, body: str) -> dict[str, Any]:
    facts = [
        {"title": "Status", "value": update.status.value.capitalize()},
        {"title": "Severity", "value": update.severity.value.capitalize()},
    ]
    if update.author:
        facts.append({"title": "Author", "value": update.author})
    if affected := affected_components(update):
        facts.append({"title": "Affected", "value": affected})
    if when := next_update_time(update):
        facts.append({"title": "Next update", "value": f"by {when}"})
    blocks: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": headline, "weight": "Bolder", "size": "Medium", "wrap": True},
        {"type": "FactSet", "facts": facts},
    ]
    if body:
        blocks.append({"type": "TextBlock", "text": body, "wrap": True})
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "body": blocks,
        "msteams": {"width": "Full"},
    }
    if update.url:
        blocks.append({"type": "TextBlock", "text": f"Details: {update.url}", "wrap": True})
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Details", "url": update.url}]
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        ],
    }


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def render_teams(update: Update, *, limit: int = MAX_TEAMS_BYTES) -> TeamsCard:
    """The card for ``update``; over ``limit`` bytes, the body is cut at a word."""
    headline = f"{status_tag(update)} {update.title} · incident {update.incident}"
    full = "\n\n".join(update.paragraphs)
    body = cut_at_word(full, lambda b: len(_encode(_card(update, headline, b))) <= limit)
    encoded = _encode(_card(update, headline, body))
    card = _card(update, headline, body)["attachments"][0]["content"]
    facts = [f"{f['title']}: {f['value']}" for f in card["body"][1]["facts"]]
    text = "\n".join([headline, *facts, *([body] if body else [])])
    if update.url:
        text += f"\nDetails: {update.url}"
    return TeamsCard(encoded, text, update.url, shortened=body != full)
