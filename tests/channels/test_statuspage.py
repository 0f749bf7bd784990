from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from broadcast import AuthError, Broadcaster, Outcome, Receipt, RetryPolicy, Update
from broadcast.channels._registry import spec
from broadcast.channels._sms import RateLimiter
from broadcast.channels._statuspage import Statuspage, parse_pairs
from broadcast.testing import FakeClock, StatuspageFake
from broadcast.testing._providers.statuspage import API_KEY, COMPONENTS
from broadcast.text._statuspage import StatuspageMessage


@pytest.fixture
def page() -> Iterator[StatuspageFake]:
    with StatuspageFake() as fake:
        yield fake


@pytest.fixture
def fast(clock: FakeClock) -> RetryPolicy:
    return RetryPolicy(attempts=3, deadline=3600, jitter=0, sleep=clock.sleep, clock=clock)


async def _send(channel: Statuspage, update: Update, retry: RetryPolicy) -> Receipt:
    async with Broadcaster([channel], retry=retry, journal=None) as broadcaster:
        return (await broadcaster.send(update))[channel.name]


def _writes(page: StatuspageFake) -> list[tuple[str, dict[str, object]]]:
    return [
        (r.method, json.loads(r.body)["incident"])
        for r in page.requests
        if r.method in ("POST", "PATCH")
    ]


def test_first_update_carries_every_incident_field(make_update: Callable[..., Update]) -> None:
    """The POST's incident: name, status, body with the facts, impact, components, notify."""
    channel = Statuspage("page1", "key", components={"Sign-in": "abc123"})
    update = make_update(severity="critical", components={"Sign-in": "major_outage"})
    fields = channel.render(update).fields(first=True, notify=False)
    assert fields["name"] == "PlayStation Network is down"
    assert fields["status"] == "investigating"
    assert fields["impact_override"] == "critical"
    assert fields["component_ids"] == ["abc123"]
    assert fields["components"] == {"abc123": "major_outage"}
    assert fields["deliver_notifications"] is False
    body = str(fields["body"])
    for fact in (
        "Sign-in and the Store are affected.",
        "Next update by 23:00 UTC.",
        "— Head of Network Operations",
        "Details: https://status.example.com/psn",
    ):
        assert fact in body
    follow_up = channel.render(update).fields(first=False, notify=True)
    assert "name" not in follow_up
    assert "impact_override" not in follow_up


def test_unmapped_components_are_named_in_the_body(make_update: Callable[..., Update]) -> None:
    """A component with no Statuspage id is not dropped: the body names it and its status."""
    channel = Statuspage("page1", "key", components="Sign-in=abc123")
    update = make_update(components={"Sign-in": "major_outage", "Store": "degraded_performance"})
    rendered = channel.render(update)
    assert rendered.components == (("abc123", "major_outage"),)
    assert "Affected: Store (degraded performance)." in rendered.body
    assert "Sign-in (" not in rendered.body


def test_impact_mapping_and_bad_settings_are_refused_by_name() -> None:
    """impact maps severities to impact_override; bad mappings and ids name the setting."""
    update = Update(title="Down", incident="i1", severity="minor")
    mapped = Statuspage("page1", "key", impact="minor=none").render(update)
    assert mapped.impact == "none"
    with pytest.raises(ValueError, match="impact"):
        Statuspage("page1", "key", impact="minor=huge")
    with pytest.raises(ValueError, match="components"):
        Statuspage("page1", "key", components="Sign-in")
    with pytest.raises(ValueError, match="page_id"):
        Statuspage("no/slash", "key")
    with pytest.raises(ValueError, match="api_key"):
        Statuspage("page1", " ")
    assert parse_pairs("a=b, c = d", "x") == {"a": "b", "c": "d"}


def test_preview_shows_the_incident_and_what_it_sets(make_update: Callable[..., Update]) -> None:
    """The preview: the status tag and title, the body, the impact and the components."""
    example = spec("statuspage").example()
    rendered = example.render(make_update(components={"Sign-in": "partial_outage"}))
    assert isinstance(rendered, StatuspageMessage)
    preview = rendered.preview()
    assert preview.startswith("[Investigating] PlayStation Network is down")
    assert "[impact: major]" in preview
    assert "[components set: Sign-in (partial outage) as ftgks51sfs2d]" in preview


async def test_create_then_patch_sets_the_page_components(
    page: StatuspageFake, make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """The first update opens an incident, the next PATCHes it: one incident, two updates,
    and the page's components follow each update's statuses."""
    channel = page.channel(deliver_notifications=False)
    first = await _send(
        channel,
        make_update(components={"Sign-in": "major_outage", "Store": "partial_outage"}),
        fast,
    )
    assert page.component_status("Sign-in") == "major_outage"
    assert page.component_status("Store") == "partial_outage"
    second = await _send(
        channel,
        make_update(status="resolved", body="Fixed.", components={"Sign-in": "operational"}),
        fast,
    )
    assert (first.outcome, second.outcome) == (Outcome.DELIVERED, Outcome.DELIVERED)
    (incident,) = page.incidents
    assert incident.status == "resolved"
    assert [u["status"] for u in incident.updates] == ["resolved", "investigating"]
    assert page.component_status("Sign-in") == "operational"
    assert page.component_status("Store") == "partial_outage"
    assert [m for m, _ in _writes(page)] == ["POST", "PATCH"]
    assert incident.notified == [False, False]
    assert first.ids == (incident.id,)
    assert second.ids == (incident.id, incident.updates[0]["id"])


async def test_rate_limited_to_one_request_a_second(
    page: StatuspageFake, make_update: Callable[..., Update], fast: RetryPolicy, clock: FakeClock
) -> None:
    """Requests are spaced about a second apart: three updates wait twice, a second each."""
    limiter = RateLimiter(1.0, clock=clock, sleep=clock.sleep)
    channel = page.channel(limiter=limiter)
    for status in ("investigating", "identified", "monitoring"):
        assert (await _send(channel, make_update(status=status), fast)).outcome is Outcome.DELIVERED
    assert clock.sleeps == [1.0, 1.0]


@pytest.mark.parametrize("status", [420, 429])
async def test_420_and_429_are_retried_after_retry_after(
    page: StatuspageFake, update: Update, fast: RetryPolicy, clock: FakeClock, status: int
) -> None:
    """Statuspage's 420 and 429 are transient: retried after Retry-After, created once."""
    page.throttle(1, status=status, retry_after=7)
    receipt = await _send(page.channel(), update, fast)
    assert receipt.outcome is Outcome.DELIVERED
    assert 7.0 in clock.sleeps
    assert len(page.incidents) == 1
    assert len(_writes(page)) == 2


async def test_401_is_permanent_and_stops_the_channel(
    page: StatuspageFake, make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """A rejected key fails once, and the channel sends nothing more in this process."""
    channel = Statuspage(page.page_id, "wrong-key", base_url=page.url, rate=1000)
    first = await _send(channel, make_update(), fast)
    assert first.outcome is Outcome.FAILED
    assert first.permanent
    assert "API key was rejected" in (first.reason or "")
    seen = len(page.requests)
    second = await _send(channel, make_update(status="identified"), fast)
    assert second.outcome is Outcome.FAILED
    assert "not tried again" in (second.reason or "")
    assert len(page.requests) == seen == 1


async def test_404_says_whether_page_or_incident_is_missing(
    page: StatuspageFake, make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """An unknown page and a deleted incident are permanent, and the reason says which."""
    wrong = Statuspage("nosuchpage", API_KEY, base_url=page.url, rate=1000)
    missing = await _send(wrong, make_update(), fast)
    assert missing.permanent
    assert "page nosuchpage not found" in (missing.reason or "")
    channel = page.channel()
    await _send(channel, make_update(), fast)
    page.delete(page.incidents[0].id)
    gone = await _send(channel, make_update(status="identified"), fast)
    assert gone.permanent
    assert "incident p31zjtct" in (gone.reason or "")
    assert "not found" in (gone.reason or "")


async def test_unknown_component_id_is_named(
    page: StatuspageFake, make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """A mapped component id the page does not have: permanent, and the reason says so."""
    channel = page.channel(components={"Sign-in": "nosuchcomp01"})
    receipt = await _send(channel, make_update(components={"Sign-in": "major_outage"}), fast)
    assert receipt.permanent
    assert "a component id of `components` is not on this page" in (receipt.reason or "")
    assert not page.incidents


async def test_422_is_permanent_and_names_the_field(
    page: StatuspageFake, update: Update, fast: RetryPolicy
) -> None:
    """A validation error is sent once and its reason names the refused field."""
    page.fail((422, "Impact override is not included in the list"))
    receipt = await _send(page.channel(), update, fast)
    assert receipt.outcome is Outcome.FAILED
    assert receipt.permanent
    assert "incident.impact_override" in (receipt.reason or "")
    assert len(_writes(page)) == 1


async def test_lost_answer_to_the_post_is_found_not_opened_twice(
    page: StatuspageFake, make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """A POST whose answer was lost is looked up in incidents/unresolved (same name and
    body) and recorded; a lost PATCH answer is found on the incident: nothing twice."""
    channel = page.channel()
    page.lose_answers(1)
    first = await _send(channel, make_update(), fast)
    assert first.outcome is Outcome.DELIVERED
    (incident,) = page.incidents
    assert first.ids == (incident.id,)
    page.lose_answers(1)
    second = await _send(channel, make_update(status="identified", body="Found it."), fast)
    assert second.outcome is Outcome.DELIVERED
    assert len(incident.updates) == 2
    paths = [r.path for r in page.requests if r.method == "GET"]
    assert paths == [
        f"/v1/pages/{page.page_id}/incidents/unresolved",
        f"/v1/pages/{page.page_id}/incidents/{incident.id}",
    ]


async def test_check_reads_the_page(page: StatuspageFake) -> None:
    """check() is GET /v1/pages/{page_id}, posts nothing; a wrong key is an AuthError."""
    channel = page.channel()
    assert "'PlayStation Network'" in await channel.check()
    await channel.aclose()
    assert [r.method for r in page.requests] == ["GET"]
    wrong = Statuspage(page.page_id, "wrong-key", base_url=page.url)
    with pytest.raises(AuthError, match="rejected"):
        await wrong.check()
    await wrong.aclose()


async def test_key_in_no_repr_or_log(
    page: StatuspageFake, update: Update, fast: RetryPolicy, caplog: pytest.LogCaptureFixture
) -> None:
    """The API key travels in the header only: not in the repr nor in httpx's log."""
    caplog.set_level(logging.DEBUG)
    channel = page.channel()
    await _send(channel, update, fast)
    assert API_KEY not in repr(channel) + caplog.text
    assert page.requests[0].headers["authorization"] == f"OAuth {API_KEY}"


_RUN = """
import asyncio, sys
from broadcast import Broadcaster, SQLiteJournal, Update
from broadcast.testing import StatuspageFake
from broadcast.channels._statuspage import Statuspage

async def main():
    update = Update(title="PSN is down", incident="psn-2011-04", status=sys.argv[3],
                    body=sys.argv[4], components={"Sign-in": sys.argv[5]})
    channel = Statuspage("kctbh9vrtdwd", "fake-statuspage-api-key-0001", base_url=sys.argv[1],
                         components={"Sign-in": "ftgks51sfs2d"})
    async with Broadcaster([channel], journal=SQLiteJournal(sys.argv[2])) as b:
        print((await b.send(update))["statuspage"].outcome.value)

asyncio.run(main())
"""


def test_follow_up_from_another_process_patches_the_incident(
    page: StatuspageFake, tmp_path: Path
) -> None:
    """Two processes sharing an SQLite journal: the second PATCHes the first's incident,
    and the page's component follows."""
    journal = tmp_path / "journal.db"
    runs = (
        ("investigating", "Looking.", "major_outage"),
        ("resolved", "Restored.", "operational"),
    )
    for status, body, component in runs:
        done = subprocess.run(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", _RUN, page.url, str(journal), status, body, component],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert done.stdout.strip() == "delivered", done.stderr
        assert page.component_status("Sign-in") == component
    (incident,) = page.incidents
    assert [m for m, _ in _writes(page)] == ["POST", "PATCH"]
    assert [u["body"] for u in incident.updates] == ["Restored.", "Looking."]
    assert incident.status == "resolved"
    assert COMPONENTS["Sign-in"] in incident.component_ids


async def test_configured_from_broadcast_toml(
    page: StatuspageFake, tmp_path: Path, fast: RetryPolicy
) -> None:
    """A [channels.NAME] table with type = "statuspage": its components mapping is used,
    and deliver_notifications = false (a TOML boolean) tells Statuspage not to notify."""
    from broadcast.config import load_config  # noqa: PLC0415

    (tmp_path / "broadcast.toml").write_text(
        f"""
[channels.status]
type = "statuspage"
api_key = "{API_KEY}"
page_id = "{page.page_id}"
components = "Store={COMPONENTS["Store"]}"
deliver_notifications = false
rate = 1000
base_url = "{page.url}"
""",
        encoding="utf-8",
    )
    config = load_config(tmp_path / "broadcast.toml", env_file=None)
    (configured,) = config.channels
    channel = configured.channel
    assert isinstance(channel, Statuspage)
    update = Update(title="Store is down", incident="store-1", components={"Store": "major_outage"})
    assert (await _send(channel, update, fast)).outcome is Outcome.DELIVERED
    assert page.component_status("Store") == "major_outage"
    assert page.incidents[0].notified == [False]
