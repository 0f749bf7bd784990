"""Crisis fidelity: every outlet people read tells the same facts of the same update."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given

from broadcast import Update
from broadcast.channels._registry import spec
from broadcast.demo import demo_update
from broadcast.testing._providers.telegram import visible_text
from broadcast.text._cut import utf16_length
from broadcast.text._teams import MAX_TEAMS_BYTES, render_teams
from broadcast.text._telegram import MAX_TELEGRAM_TEXT, render_telegram

from .test_fuzz import FUZZ, UPDATES

READ_BY_PEOPLE = ["email", "twitter", "facebook", "telegram", "teams"]
"""Outlets whose preview is what readers see in full (SMS trims to its segments; the
webhook is JSON for machines)."""


@pytest.mark.parametrize("name", READ_BY_PEOPLE)
def test_each_outlet_carries_status_severity_author_link_and_next_update(name: str) -> None:
    """The same update's status, severity, author, link and promised time, on each outlet."""
    update = demo_update(datetime(2011, 4, 21, 9, 0, tzinfo=UTC))
    preview = str(spec(name).example().render(update).preview())
    for fact in ("Investigating", "Critical", str(update.author), str(update.url), "10:00 UTC"):
        assert fact in preview, (name, fact)


@FUZZ
@given(UPDATES)
def test_telegram_fits_parses_back_and_keeps_the_link(update: Update) -> None:
    """Any valid update: within 4,096 UTF-16 units, HTML that parses to the counted text."""
    message = render_telegram(update)
    assert message.length == utf16_length(message.text) <= MAX_TELEGRAM_TEXT
    assert visible_text(message.html) == message.text
    if message.link:
        assert message.text.endswith(f"Details: {message.link}")


@FUZZ
@given(UPDATES)
def test_teams_fits_28_kb_and_keeps_the_link(update: Update) -> None:
    """Any valid update: a payload of at most 28,000 bytes whose button is the link."""
    card = render_teams(update)
    assert card.size <= MAX_TEAMS_BYTES
    content = card.payload()["attachments"][0]["content"]
    if card.link:
        assert content["actions"][0]["url"] == card.link
