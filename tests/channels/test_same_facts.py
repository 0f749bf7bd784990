"""Every registered channel states the same facts of one crisis update."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from broadcast import Update
from broadcast.channels import available
from broadcast.channels._registry import spec
from broadcast.text import COMPONENTS_ROOM, components_line, next_update_time, status_tag

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


NO_COMPONENTS = ("sms", "status-page")
"""SMS has no room for them: its segments carry the required facts (docs/channels/sms.md).
The status page is a site, not a post: its ``summary.json`` lists the components."""


@pytest.mark.parametrize("name", [n for n in available() if n not in (*MACHINE, *NO_COMPONENTS)])
def test_every_channel_names_the_affected_components(
    name: str, make_update: Callable[..., Update]
) -> None:
    """Each component and its status, in the shared words, on each outlet that has room."""
    update = make_update(components={"Sign-in": "major_outage", "Store": "degraded_performance"})
    preview = spec(name).example().render(update).preview()
    for fact in ("Sign-in (major outage)", "Store (degraded performance)"):
        assert fact in preview, f"{name} lacks {fact!r}"


def test_sms_leaves_the_components_out(make_update: Callable[..., Update]) -> None:
    """An SMS is the same with or without components: no required fact gives way to them."""
    sms = spec("sms").example()
    with_them = make_update(components={"Sign-in": "major_outage"})
    assert sms.render(with_them).preview() == sms.render(make_update()).preview()


def test_components_line_names_each_and_stays_short() -> None:
    """The shared line: each component and its status in order; a long list counts the rest."""
    two = Update(
        title="Down",
        incident="i1",
        components={"Sign-in": "major_outage", "Store": "degraded_performance"},
    )
    assert components_line(two) == "Affected: Sign-in (major outage), Store (degraded performance)."
    many = Update(
        title="Down",
        incident="i1",
        components={f"Region {i:02d}": "partial_outage" for i in range(50)},
    )
    line = components_line(many)
    assert line is not None
    assert len(line) <= COMPONENTS_ROOM + len("Affected: .")
    assert line.startswith("Affected: Region 00 (partial outage), Region 01")
    assert line.endswith(" more.")
    assert components_line(Update(title="Down", incident="i1")) is None
