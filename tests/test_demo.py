from __future__ import annotations

import base64
import io
import logging
import re
from pathlib import Path

import pytest

from broadcast.channels._facebook import appsecret_proof
from broadcast.demo import GraphEndpoint, TwilioEndpoint, XEndpoint, main, psn_timeline
from broadcast.testing import fast_retries

ROOT = "<incident.psn-2011-04@example.com>"


def _credentials() -> list[str]:
    """Every credential the stand-ins hand to the channels, raw and derived."""
    basic = f"{TwilioEndpoint.account_sid}:{TwilioEndpoint.auth_token}"
    return [
        XEndpoint.consumer_secret,
        XEndpoint.access_token,
        XEndpoint.access_token_secret,
        GraphEndpoint.token,
        GraphEndpoint.app_secret,
        appsecret_proof(GraphEndpoint.token, GraphEndpoint.app_secret),
        TwilioEndpoint.auth_token,
        base64.b64encode(basic.encode()).decode(),
        "whsec_",  # the webhook receiver's generated signing secret
    ]


def _section(text: str, start: str, end: str | None = None) -> str:
    after = text.split(start, 1)[1]
    return after.split(end, 1)[0] if end else after


def _rows(report: str, channel: str) -> list[str]:
    return next(line for line in report.splitlines() if line.startswith(f"{channel} ")).split()


@pytest.fixture(scope="module")
def page_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the demo builds its status page."""
    return tmp_path_factory.mktemp("demo-page")


@pytest.fixture(scope="module")
def demo(page_dir: Path) -> tuple[int, str, str]:
    """The demo's exit status, its output, and what it logged."""
    out = io.StringIO()
    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    logger = logging.getLogger("broadcast")
    logger.addHandler(handler)
    try:
        status = main(out, retry=fast_retries(), page_dir=page_dir)
    finally:
        logger.removeHandler(handler)
    return status, out.getvalue(), logs.getvalue()


@pytest.fixture(scope="module")
def reports(demo: tuple[int, str, str]) -> list[str]:
    """The receipt tables of the three updates, in order."""
    sent = demo[1].split("sent again (the journal remembers)", 1)[0]
    tables = sent.split("Report for incident psn-2011-04, update ")[1:]
    assert len(tables) == 3, demo[1]
    return tables


@pytest.fixture(scope="module")
def receiving(demo: tuple[int, str, str]) -> dict[str, tuple[str, list[str]]]:
    """The receiving side, by channel: its verdict and its lines."""
    side = _section(demo[1], "On the receiving side, update by update:\n", "\n\nStatus page")
    channels: dict[str, tuple[str, list[str]]] = {}
    for line in side.splitlines():
        if line.startswith("    "):
            channels[next(reversed(channels))][1].append(line.strip())
        else:
            name, verdict = line.strip().split(": ")
            channels[name] = (verdict, [])
    return channels


@pytest.fixture(scope="module")
def received(receiving: dict[str, tuple[str, list[str]]]) -> dict[str, list[str]]:
    """The receiving side's lines, by channel."""
    return {name: lines for name, (_, lines) in receiving.items()}


def test_demo_exits_zero_after_three_updates(demo: tuple[int, str, str]) -> None:
    """The timeline replays acknowledge, details, resolved in order, and exits 0."""
    status, text, _ = demo
    assert status == 0, text
    headlines = [line for line in text.splitlines() if line.startswith("Update ")]
    assert headlines == [
        "Update 1 of 3: [Investigating | Critical] "
        "PlayStation Network is down; we are investigating",
        "Update 2 of 3: [Identified | Critical] "
        "An intrusion caused the outage; personal information may be exposed",
        "Update 3 of 3: [Resolved | Critical] "
        "PlayStation Network is back; please change your password",
        "Update 3 sent again (the journal remembers):",
    ]
    assert "  2011-04-21 09:00 UTC, by Head of Network Operations; next update by 10:00 UTC" in text
    assert "  2011-04-21 10:00 UTC, by Head of Network Operations; next update by 14:00 UTC" in text
    assert "  2011-04-21 14:00 UTC, by Head of Network Operations; no further updates" in text
    assert "PROBLEM" not in text


def test_demo_every_stand_in_checks_out(receiving: dict[str, tuple[str, list[str]]]) -> None:
    """Every outlet's receiver reports OK, in the order the channels are listed."""
    assert {name: verdict for name, (verdict, _) in receiving.items()} == {
        "webhook": "OK",
        "email": "OK",
        "twitter": "OK",
        "facebook": "OK",
        "sms": "OK",
        "slack": "OK",
        "discord": "OK",
        "telegram": "OK",
        "teams": "OK",
        "mastodon": "OK",
        "bluesky": "OK",
        "apprise": "OK",
        "statuspage": "OK",
    }
    assert list(receiving) == [
        "webhook",
        "email",
        "twitter",
        "facebook",
        "sms",
        "slack",
        "discord",
        "telegram",
        "teams",
        "mastodon",
        "bluesky",
        "apprise",
        "statuspage",
    ]


def test_demo_prints_a_report_per_update(reports: list[str]) -> None:
    """Each update's receipt table: all delivered but the STOP-partial SMS; retries once."""
    keys = [update.key[:12] for update in psn_timeline()]
    for number, (report, key) in enumerate(zip(reports, keys, strict=True), 1):
        assert report.startswith(key)
        assert "-> 12 delivered, 1 partial" in report
        first = number == 1
        assert _rows(report, "webhook")[1:3] == ["delivered", "2" if first else "1"]
        assert _rows(report, "facebook")[1:3] == ["delivered", "2" if first else "1"]
        assert _rows(report, "email")[1:5] == ["delivered", "1", _rows(report, "email")[3], "4"]
        assert _rows(report, "sms")[1:3] == ["partial", "1"]


def test_demo_resend_skips_everything(demo: tuple[int, str, str]) -> None:
    """The last update sent again: every channel skips it, SMS reports who already had it."""
    again = _section(demo[1], "sent again (the journal remembers):\n", "\n\n")
    lines = again.splitlines()
    assert lines[:4] == [
        f"  {name}: skipped (already delivered)"
        for name in ("webhook", "email", "twitter", "facebook")
    ]
    assert lines[4].startswith("  sms: partial (3 already had it, nothing sent twice;")
    names = (
        "slack",
        "discord",
        "telegram",
        "teams",
        "mastodon",
        "bluesky",
        "apprise",
        "statuspage",
    )
    assert lines[5:] == [f"  {name}: skipped (already delivered)" for name in names]


def test_demo_shows_x_threading(reports: list[str], received: dict[str, list[str]]) -> None:
    """On X update 1 starts the incident; each later one replies to the last post before."""
    x = received["twitter"]
    assert x[0].startswith(
        "OAuth 1.0a signature verified on every post; each post replies to the one before;"
    )
    pattern = re.compile(r"update (\d): (\d+) posts, first (\d+) replies to (.*)")
    found = [pattern.fullmatch(line) for line in x[1:]]
    assert all(found), x
    rows = [m.groups() for m in found if m]
    assert [r[0] for r in rows] == ["1", "2", "3"]
    assert rows[0][3] == "nothing: starts the incident"
    for (number, count, first, link), report in zip(rows, reports, strict=True):
        assert _rows(report, "twitter")[4].rstrip(",") == first
        if number != "1":
            _, prev_count, prev_first, _ = rows[int(number) - 2]
            last = str(int(prev_first) + int(prev_count) - 1)
            assert link == f"{last} (update {int(number) - 1}'s last)"
            assert int(first) == int(last) + 1
        assert int(count) >= 1


def test_demo_shows_facebook_comments(reports: list[str], received: dict[str, list[str]]) -> None:
    """On Facebook update 1 is a Page post; updates 2 and 3 are comments under it."""
    fb = received["facebook"]
    post, comment2, comment3 = (_rows(report, "facebook")[4] for report in reports)
    assert fb == [
        "appsecret_proof verified; answers 400, 200, 200, 200 (400 = throttled, code 4)",
        f"update 1: post {post} on the Page's feed",
        f"update 2: comment {comment2} under post {post}",
        f"update 3: comment {comment3} under post {post}",
    ]
    assert post.startswith(f"{GraphEndpoint.page_id}_")
    assert comment2 != comment3


def test_demo_shows_email_threading(received: dict[str, list[str]]) -> None:
    """Email: update 1 starts the incident's thread; 2 and 3 reply into it."""
    assert received["email"] == [
        "one private message per person, multipart/alternative (plain+html)",
        f"update 1: 4 messages; starts the thread {ROOT}",
        f"update 2: 4 messages; In-Reply-To and References {ROOT}",
        f"update 3: 4 messages; In-Reply-To and References {ROOT}",
    ]


def test_demo_shows_webhook_status_changes(received: dict[str, list[str]]) -> None:
    """Webhook: the same incident id each time, the status moving on, one forced retry."""
    assert received["webhook"] == [
        "Standard Webhooks signature verified on every request",
        "update 1: incident psn-2011-04, status investigating; answered 503, 201 "
        "(a forced 503; the retry kept its webhook-id)",
        "update 2: incident psn-2011-04, status identified; answered 201",
        "update 3: incident psn-2011-04, status resolved; answered 201",
    ]


def test_demo_shows_one_text_per_update(received: dict[str, list[str]]) -> None:
    """SMS: each update texts every subscriber once; the STOP number is refused each time."""
    sms = received["sms"]
    assert sms[0] == (
        "Basic auth verified; subscribers +14155550101, +14155550102, +442079460958; "
        "+14155550199 replied STOP"
    )
    pattern = r"update {}: 3 texts \(\d segments GSM-7 each\); \+14155550199 refused \(21610\)"
    assert len(sms) == 4
    for number, line in enumerate(sms[1:], 1):
        assert re.fullmatch(pattern.format(number), line), line


def test_demo_prints_no_credentials(demo: tuple[int, str, str]) -> None:
    """No stand-in credential appears in the output or the logs."""
    _, text, logs = demo
    assert "webhook: attempt 1 failed" in logs  # the logs were captured
    for secret in _credentials():
        assert secret not in text
        assert secret not in logs


def test_demo_shows_slack_and_discord_threading(received: dict[str, list[str]]) -> None:
    """Slack: updates 2 and 3 reply in update 1's thread; Discord: they go into the forum
    post that update 1 started."""
    slack, discord = received["slack"], received["discord"]
    root = slack[0].split("ts ")[1].split(" ")[0]
    assert all(f"in the thread of {root}" in line for line in slack[1:])
    assert "starting forum post" in discord[0]
    threads = {line.rsplit("in thread ", 1)[1] for line in discord[1:]}
    assert len(threads) == 1
    assert len(slack) == len(discord) == 3


def test_demo_shows_telegram_replies_in_each_chat_and_teams_cards(
    received: dict[str, list[str]],
) -> None:
    """Telegram's follow-ups reply to each chat's first message; Teams gets a card per update."""
    chats = received["telegram"]
    assert len(chats) == 2
    for line in chats:
        first, *follow_ups = re.findall(r"update (\d): #(\d+)(?: replying to #(\d+))?", line)
        assert first[0] == "1"
        assert not first[2]
        assert [(n, to) for n, _, to in follow_ups] == [("2", first[1]), ("3", first[1])]
    cards = received["teams"]
    assert [line.split(":")[0] for line in cards] == ["update 1", "update 2", "update 3"]
    assert all("· incident psn-2011-04" in line for line in cards)


def test_the_demo_ends_by_building_the_status_page(
    demo: tuple[int, str, str], page_dir: Path
) -> None:
    """Its last line is the path of the page built from its journal: the whole timeline."""
    last = demo[1].rstrip().splitlines()[-1]
    assert last == f"Status page of the replay, built from the journal: {page_dir / 'index.html'}"
    incident = (page_dir / "incidents" / "psn-2011-04.html").read_text(encoding="utf-8")
    for update in psn_timeline():
        assert update.title.replace("'", "&#39;") in incident


def test_demo_shows_mastodon_and_bluesky_threads(received: dict[str, list[str]]) -> None:
    """Both start the incident with update 1; updates 2 and 3 reply; Bluesky signs in once."""
    mastodon, bluesky = received["mastodon"], received["bluesky"]
    assert [line.split(":")[0] for line in mastodon] == ["update 1", "update 2", "update 3"]
    assert "starts the incident" in mastodon[0]
    assert all("replies to 11" in line for line in mastodon[1:])
    assert bluesky[0] == "sessions created: 1"
    assert "starts the incident" in bluesky[1]
    assert all("replies to at://" in line for line in bluesky[2:])
