"""Every registered channel states the same facts of one crisis update."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from broadcast import Update
from broadcast.channels import available
from broadcast.channels._registry import spec
from broadcast.text import next_update_time, status_tag

PLAIN = ("email", "sms")
"""Channels whose preview words the link and author their own way (checked in their tests)."""


MACHINE = ("webhook",)
"""The webhook carries the facts as JSON fields (tests/channels/test_webhook_schema.py)."""


@pytest.mark.parametrize("name", [n for n in available() if n not in MACHINE])
def test_every_channel_states_the_same_facts(name: str, make_update: Callable[..., Update]) -> None:
    """Status, severity, title, next-update time, author and link are in each preview."""
    update = make_update(severity="critical", status="identified")
    preview = spec(name).example().render(update).preview()
    when = next_update_time(update)
    assert when is not None
    facts = [status_tag(update), update.title, when, "https://status.example.com/psn"]
    if name not in PLAIN:
        facts.append("Head of Network Operations")
    for fact in facts:
        assert fact in preview, f"{name} lacks {fact!r}"
