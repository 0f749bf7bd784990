from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from broadcast import Broadcaster, Outcome, RetryPolicy, SQLiteJournal, Update
from broadcast._errors import ConfigError
from broadcast.api._check import check_channels
from broadcast.channels._registry import spec
from broadcast.channels._teams import NO_PROBE, Teams
from broadcast.config._env import Env
from broadcast.testing import FakeClock, LoopbackServer, Reply
from broadcast.testing._providers.teams import TeamsFake
from broadcast.text._teams import MAX_TEAMS_BYTES, render_teams


@pytest.fixture
def teams() -> Iterator[TeamsFake]:
    with TeamsFake() as fake:
        yield fake


def policy(clock: FakeClock) -> RetryPolicy:
    return RetryPolicy(attempts=3, deadline=600, jitter=0, sleep=clock.sleep, clock=clock)


async def test_a_202_with_an_empty_body_is_delivered_once_and_never_retried(
    teams: TeamsFake, update: Update
) -> None:
    """Teams' 202 Accepted (empty body) is delivered-unconfirmed after exactly one POST."""
    clock = FakeClock()
    async with Broadcaster([Teams(teams.webhook_url)], retry=policy(clock)) as broadcaster:
        receipt = (await broadcaster.send(update)).receipts[0]
    assert teams.posts == 1
    assert receipt.outcome is Outcome.DELIVERED
    assert receipt.attempts == 1
    assert receipt.details["confirmed"] is False
    assert "no message id and no confirmation" in (receipt.reason or "")
    assert not clock.sleeps


def test_the_card_is_an_adaptive_card_with_the_same_facts(
    make_update: Callable[..., Update],
) -> None:
    """The envelope Teams wants, a 1.4 card, the incident in the title, every fact kept."""
    card = render_teams(make_update(severity="critical"))
    (attachment,) = card.payload()["attachments"]
    assert card.payload()["type"] == "message"
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    content = attachment["content"]
    assert content["version"] == "1.4"
    assert content["actions"][0]["url"] == "https://status.example.com/psn"
    for fact in (
        "[Investigating | Critical] PlayStation Network is down · incident psn-2011-04",
        "Severity: Critical",
        "Author: Head of Network Operations",
        "Next update: by 23:00 UTC",
        "Details: https://status.example.com/psn",
    ):
        assert fact in card.text


def test_a_long_update_is_cut_at_a_word_to_28_kb_counted_in_bytes(
    make_update: Callable[..., Update],
) -> None:
    """4-byte emoji make 19,500 characters 66 KB: the payload is cut to fit, link intact."""
    card = render_teams(make_update(body=" ".join(["😱😱😱😱"] * 3900)))
    assert card.shortened
    assert MAX_TEAMS_BYTES - 200 < card.size <= MAX_TEAMS_BYTES
    content = card.payload()["attachments"][0]["content"]
    assert content["body"][2]["text"].endswith(" 😱😱😱😱…")
    assert content["actions"][0]["url"] == "https://status.example.com/psn"
    assert "28,000 bytes" in card.preview()


async def test_a_re_run_posts_nothing_twice(
    teams: TeamsFake, update: Update, tmp_path: Path
) -> None:
    """The journal remembers the 202: the same update again posts nothing."""
    outcomes = []
    for _ in range(2):
        journal = SQLiteJournal(tmp_path / "j.db")
        async with Broadcaster([Teams(teams.webhook_url)], journal=journal) as broadcaster:
            outcomes.append((await broadcaster.send(update)).receipts[0].outcome)
        await journal.aclose()
    assert outcomes == [Outcome.DELIVERED, Outcome.SKIPPED]
    assert teams.posts == 1


async def test_an_unanswered_post_is_not_retried_and_left_in_doubt(
    update: Update, tmp_path: Path
) -> None:
    """No id, no idempotency key: a request that went out unanswered is not posted again."""
    clock = FakeClock()
    with LoopbackServer() as server:
        server.script(Reply(hang=True))
        teams = Teams(f"{server.url}/flow?sig=abcdefgh123", timeout=0.2)
        journal = SQLiteJournal(tmp_path / "j.db")
        async with Broadcaster([teams], retry=policy(clock), journal=journal) as broadcaster:
            first = (await broadcaster.send(update)).receipts[0]
            again = (await broadcaster.send(update)).receipts[0]
        await journal.aclose()
    assert len(server.requests) == 1
    assert first.outcome is Outcome.FAILED
    assert first.outcome_unknown
    assert "not posted again" in (first.reason or "")
    assert again.outcome_unknown
    assert "in doubt" in (again.reason or "")


async def test_throttling_waits_for_retry_after(teams: TeamsFake, update: Update) -> None:
    """429 with Retry-After is retried after that wait; one card arrives."""
    clock = FakeClock()
    teams.throttle(1, 4)
    async with Broadcaster([Teams(teams.webhook_url)], retry=policy(clock)) as broadcaster:
        receipt = (await broadcaster.send(update)).receipts[0]
    assert receipt.outcome is Outcome.DELIVERED
    assert clock.sleeps == [4]
    assert len(teams.cards) == 1


async def test_the_url_and_its_sig_never_show(
    teams: TeamsFake, update: Update, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong sig fails as 401; neither URL's sig is in logs, the report or the repr."""
    caplog.set_level(logging.DEBUG)
    wrong = Teams(teams.webhook_url.replace(teams.sig, "wrong-signature-987654"), name="wrong")
    good = Teams(teams.webhook_url)
    async with Broadcaster([good, wrong], journal=None) as broadcaster:
        report = await broadcaster.send(update)
    assert {r.channel: r.outcome for r in report.receipts} == {
        "teams": Outcome.DELIVERED,
        "wrong": Outcome.FAILED,
    }
    text = caplog.text + report.to_text() + json.dumps(report.to_dict()) + repr(good)
    assert teams.sig not in text
    assert "wrong-signature-987654" not in text


async def test_check_says_teams_cannot_be_probed_and_posts_nothing(teams: TeamsFake) -> None:
    """A probe would run the flow and post: check says so instead."""
    (result,) = await check_channels([Teams(teams.webhook_url)])
    assert result.ok
    assert result.detail == NO_PROBE
    assert "cannot be probed without posting" in result.detail
    assert teams.posts == 0


def test_configured_from_env_with_the_url_secret() -> None:
    """BROADCAST_TEAMS_URL builds the channel; the URL is a secret; a bad URL names it."""
    teams_spec = spec("teams")
    built = teams_spec.from_env(Env({"BROADCAST_TEAMS_URL": "https://x.logic.azure.com/w?sig=s1"}))
    assert isinstance(built, Teams)
    assert "url" in teams_spec.secret_keys()
    assert "threading" not in teams_spec.capabilities()
    with pytest.raises(ConfigError, match="BROADCAST_TEAMS_URL"):
        teams_spec.from_env(Env({"BROADCAST_TEAMS_URL": "ftp://x"}))
    with pytest.raises(ConfigError, match="BROADCAST_TEAMS_URL"):
        teams_spec.from_env(Env({"BROADCAST_TEAMS_TIMEOUT": "3"}))
