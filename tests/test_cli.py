"""The ``broadcast`` command, through click's runner, against real loopback servers."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from broadcast import Outcome, Receipt, Report, SQLiteJournal, Update, make_update
from broadcast._scope import Progress
from broadcast.channels import Rejection
from broadcast.cli import main
from broadcast.cli._inputs import parse_when
from broadcast.cli._output import ProgressDisplay, exit_code
from broadcast.testing import LoopbackServer

from .conftest import SECRET
from .test_journal import _dead_owner

BODY = "Sign-in, online play and the Store are unavailable. We are investigating."
FLAGS = ["--title", "PlayStation Network is down", "--incident", "psn-2011-04"]


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty directory, with no BROADCAST_* channel variables inherited."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def second() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        yield srv


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, input=stdin, catch_exceptions=False)


def hook_env(server: LoopbackServer, **extra: str) -> dict[str, str]:
    return {"BROADCAST_WEBHOOK_URL": server.url, "BROADCAST_WEBHOOK_SECRET": SECRET, **extra}


def test_send_delivers_and_exits_0(here: Path, server: LoopbackServer) -> None:
    """broadcast send posts the update once and prints the table; exit 0."""
    result = run("send", *FLAGS, BODY, env=hook_env(server))
    assert result.exit_code == 0, result.output
    assert "webhook  delivered" in result.output
    [request] = server.requests
    document = json.loads(request.body)
    assert document["data"]["title"] == "PlayStation Network is down"
    assert document["data"]["body"] == BODY


def test_body_from_stdin_and_json_report(here: Path, server: LoopbackServer) -> None:
    """The body can come from stdin; --json prints only the Report, as JSON."""
    result = run("send", *FLAGS, "--json", "--next-update", "2h", env=hook_env(server), stdin=BODY)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert [r["outcome"] for r in report["receipts"]] == ["delivered"]
    sent = json.loads(server.requests[0].body)["data"]
    assert sent["body"] == BODY
    promised = datetime.fromisoformat(sent["next_update_at"])
    assert timedelta(minutes=119) < promised - datetime.now(UTC) <= timedelta(hours=2)


def test_a_title_alone_is_an_update(here: Path, server: LoopbackServer) -> None:
    """--title with no body sends a title-only update; nothing is said twice."""
    result = run("send", *FLAGS, env=hook_env(server), stdin="")
    assert result.exit_code == 0, result.output
    sent = json.loads(server.requests[0].body)["data"]
    assert (sent["title"], sent["body"]) == ("PlayStation Network is down", "")


def test_history_without_a_journal_names_where_it_looked(
    here: Path, server: LoopbackServer
) -> None:
    """history before any send says which journal file it looked for."""
    env = hook_env(server) | {"BROADCAST_JOURNAL": str(here / "nowhere.db")}
    result = run("history", env=env)
    assert result.exit_code == 0, result.output
    assert f"No journal yet at {here / 'nowhere.db'}" in result.output


def test_body_file(here: Path, server: LoopbackServer) -> None:
    """--body-file reads the body from a file."""
    (here / "update.txt").write_text(f"{BODY}\n\nGames you own still work offline.\n")
    result = run("send", *FLAGS, "--body-file", "update.txt", env=hook_env(server))
    assert result.exit_code == 0, result.output
    assert json.loads(server.requests[0].body)["data"]["paragraphs"][1] == (
        "Games you own still work offline."
    )


def test_dry_run_sends_nothing(here: Path, server: LoopbackServer) -> None:
    """--dry-run renders every channel and nothing reaches the sink."""
    result = run("send", *FLAGS, "--dry-run", BODY, env=hook_env(server))
    assert result.exit_code == 0, result.output
    assert "Dry run: nothing was sent." in result.output
    assert server.requests == []
    assert not (here / "broadcast.db").exists()


def test_failed_channel_exits_1(here: Path, server: LoopbackServer) -> None:
    """A channel that fails makes the command exit 1, and says what to do."""
    server.script(401)
    result = run("send", *FLAGS, BODY, env=hook_env(server))
    assert result.exit_code == 1
    assert "webhook  failed" in result.output
    assert "Not everyone was reached: webhook" in result.output


def test_resend_is_skipped_by_the_journal(here: Path, server: LoopbackServer) -> None:
    """The same command twice posts once: the second run exits 0 with 'already delivered'."""
    env = hook_env(server)
    assert run("send", *FLAGS, BODY, env=env).exit_code == 0
    again = run("send", *FLAGS, BODY, env=env)
    assert again.exit_code == 0
    assert "already delivered" in again.output
    assert len(server.requests) == 1
    fresh = run("send", *FLAGS, "--no-journal", BODY, env=env)
    assert fresh.exit_code == 0
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--incident", "psn-2011-04"], "no body: give it as an argument, with --body-file"),
        ([*FLAGS, "--severity", "huge", BODY], "Invalid value for '--severity'"),
        ([*FLAGS, "--next-update", "soon", BODY], "use a delay like 30m"),
        ([*FLAGS, "--url", "status.example.com", BODY], "error: --url: "),
        (["--title", "x" * 300, BODY], "error: --title: "),
        (
            [*FLAGS, "--only", "twiter", BODY],
            "unknown channel twiter; configured channels: webhook",
        ),
        ([*FLAGS, "--to", "affected", BODY], "unknown tag affected; configured tags: none"),
        ([*FLAGS, "--bogus", BODY], "No such option '--bogus'"),
    ],
)
def test_usage_and_input_errors_exit_2(
    here: Path, server: LoopbackServer, args: list[str], message: str
) -> None:
    """Bad flags, input and selections exit 2 naming the flag, and send nothing."""
    result = run("send", *args, env=hook_env(server), stdin="")
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert server.requests == []


def test_no_configuration_exits_2_saying_what_to_set(here: Path) -> None:
    """With nothing configured, send says which variables or file to write."""
    result = run("send", *FLAGS, BODY)
    assert result.exit_code == 2
    assert "no channel is configured: set BROADCAST_WEBHOOK_URL" in result.stderr
    assert "broadcast.toml" in result.stderr


def test_bad_config_file_names_file_and_key(here: Path, server: LoopbackServer) -> None:
    """A typo in broadcast.toml exits 2 naming the file, the table and the key."""
    (here / "broadcast.toml").write_text(
        f'[channels.blog]\ntype = "webhook"\nurl = "{server.url}"\nsecrt = "x"\n'
    )
    result = run("send", *FLAGS, BODY)
    assert result.exit_code == 2
    assert (
        "error: broadcast.toml: [channels.blog] unknown key 'secrt'; did you mean secret?"
        in result.stderr
    )
    assert server.requests == []


def test_to_tag_picks_the_tagged_channels(
    here: Path, server: LoopbackServer, second: LoopbackServer
) -> None:
    """--to affected reaches only the channels tagged affected."""
    (here / "broadcast.toml").write_text(
        f'[channels.affected-hook]\ntype = "webhook"\ntags = ["affected", "everyone"]\n'
        f'url = "{server.url}"\n\n'
        f'[channels.public-hook]\ntype = "webhook"\ntags = ["everyone"]\nurl = "{second.url}"\n'
    )
    result = run("send", *FLAGS, "--to", "affected", "--json", BODY)
    assert result.exit_code == 0, result.output
    assert [r["channel"] for r in json.loads(result.stdout)["receipts"]] == ["affected-hook"]
    assert (len(server.requests), len(second.requests)) == (1, 0)
    result = run("send", *FLAGS, "--to", "everyone", "--json", f"{BODY} More.")
    assert result.exit_code == 0, result.output
    assert (len(server.requests), len(second.requests)) == (2, 1)


def test_preview_needs_no_credentials(here: Path) -> None:
    """preview with nothing configured shows every built-in channel's rendering."""
    result = run("preview", *FLAGS, "--url", "https://status.example.com/psn", BODY)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "showing each built-in channel with examples" in out
    for header in ("webhook (Webhook)", "email (Email)", "twitter (Twitter)", "sms (TwilioSMS)"):
        assert f"=== {header} ===" in out
    assert "--- post 1/1 (" in out
    assert "/280) ---" in out
    assert "Subject: [Investigating] PlayStation Network is down" in out
    assert "segment (GSM-7" in out
    assert '"incident": "psn-2011-04"' in out


def test_preview_of_a_config_with_unset_credentials(here: Path) -> None:
    """preview renders configured channels even when their ${VAR} credentials are unset."""
    (here / "broadcast.toml").write_text(
        '[channels.x-main]\ntype = "twitter"\nbearer_token = "${X_TOKEN}"\n\n'
        '[channels.page]\ntype = "facebook"\npage_id = "123"\npage_token = "${FB_TOKEN}"\n'
    )
    result = run("preview", *FLAGS, "--json", BODY)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["channel"], r["kind"]) for r in rows] == [
        ("x-main", "Twitter"),
        ("page", "FacebookPage"),
    ]
    assert all(r["error"] is None and "PlayStation Network is down" in r["text"] for r in rows)
    # send, by contrast, needs them and says which one is missing.
    result = run("send", *FLAGS, BODY)
    assert result.exit_code == 2
    assert "[channels.x-main]: bearer_token refers to ${X_TOKEN}, which is not set" in (
        result.stderr
    )


def _record(path: Path, update: Update) -> None:
    async def write() -> None:
        journal = SQLiteJournal(path)
        await journal.open()
        await journal.record_update(update)
        await journal.aclose()

    asyncio.run(write())


def test_overdue_exits_1_when_a_promise_is_late(here: Path) -> None:
    """overdue lists the incident whose promised next update has passed, and exits 1."""
    journal = here / "j.db"
    env = {"BROADCAST_JOURNAL": str(journal)}
    assert run("overdue", env=env).exit_code == 0  # no journal yet: nothing is late
    assert not journal.exists()
    past = datetime.now(UTC) - timedelta(hours=3)
    late = Update(
        title="PlayStation Network is down",
        body=BODY,
        incident="psn-2011-04",
        created_at=past,
        next_update_at=past + timedelta(hours=1),
    )
    _record(journal, late)
    result = run("overdue", env=env)
    assert result.exit_code == 1
    assert "OVERDUE psn-2011-04 (investigating): next update was promised by" in result.output
    [row] = json.loads(run("overdue", "--json", env=env).stdout)
    assert row["incident"] == "psn-2011-04"
    assert 7100 < row["overdue_by"] < 7300
    fields = late.model_dump() | {"status": "resolved", "next_update_at": None}
    _record(journal, Update.model_validate(fields | {"created_at": past + timedelta(hours=2)}))
    result = run("overdue", env=env)
    assert (result.exit_code, result.output.strip()) == (0, "No incident is overdue.")


def test_history_shows_the_timeline(here: Path, server: LoopbackServer) -> None:
    """history lists incidents, then one incident's updates with what reached where."""
    env = hook_env(server)
    assert run("send", *FLAGS, "--next-update", "1h", BODY, env=env).exit_code == 0
    follow_up = ["--status", "resolved", "Service is restored."]
    assert run("send", *FLAGS, *follow_up, env=env).exit_code == 0
    listing = run("history", env=env)
    assert listing.exit_code == 0
    assert "psn-2011-04  resolved" in listing.output
    assert "2 update(s)" in listing.output
    timeline = run("history", "psn-2011-04", env=env)
    lines = timeline.output.splitlines()
    assert "[investigating] PlayStation Network is down" in lines[0]
    assert lines[1].strip().startswith("next update promised by")
    assert lines[2].split()[:2] == ["webhook", "delivered"]
    assert "[resolved] PlayStation Network is down" in lines[3]
    missing = run("history", "nope", env=env)
    assert missing.exit_code == 2
    assert "no incident 'nope'" in missing.stderr


def test_settle_requires_a_verdict(here: Path) -> None:
    """settle needs exactly one of --post-id or --resend."""
    result = run("settle", "k" * 32, "twitter")
    assert result.exit_code == 2
    assert "give exactly one of --post-id ID (it got there) or --resend" in result.output


CANARY = "CANARY-tok-7f3a9c"


def test_secrets_never_printed_even_with_debug(here: Path, server: LoopbackServer) -> None:
    """Under --debug, on success and failure, with --json: no credential is ever printed."""
    secret_url = f"{server.url}/hooks/{CANARY}-path"
    (here / ".env").write_text(f"HOOK_URL={secret_url}\nX_TOKEN={CANARY}-bearer\n")
    (here / "broadcast.toml").write_text(
        "[settings]\nretry_attempts = 1\n\n"
        '[channels.blog]\ntype = "webhook"\nurl = "${HOOK_URL}"\n'
        f'secret = "{SECRET}"\n\n'
        '[channels.x]\ntype = "twitter"\nbearer_token = "${X_TOKEN}"\n'
        f'base_url = "{server.url}"\n'
    )
    server.script(500, 401, 200)
    outputs = [
        run("--debug", "send", *FLAGS, BODY),
        run("-v", "send", *FLAGS, "--json", BODY),
        run("--debug", "check"),
        run("--debug", "preview", *FLAGS, "--json", BODY),
    ]
    assert outputs[0].exit_code == 1  # one channel failed, with its reason logged
    assert "DEBUG" in outputs[0].stderr or "INFO" in outputs[0].stderr
    for result in outputs:
        text = result.stdout + result.stderr
        assert CANARY not in text
        assert SECRET.removeprefix("whsec_") not in text
    assert any(
        CANARY in r.body.decode(errors="replace") or CANARY in r.path for r in server.requests
    )


def test_parse_when_forms() -> None:
    """--next-update accepts delays, a clock time and ISO 8601."""
    now = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    assert parse_when("90m", now=now) == now + timedelta(minutes=90)
    assert parse_when("1d2h", now=now) == now + timedelta(days=1, hours=2)
    assert parse_when("2026-11-21T15:00Z", now=now) == datetime(2026, 11, 21, 15, tzinfo=UTC)
    at = parse_when("15:00", now=now)
    assert at > now
    assert (at.astimezone().hour, at.astimezone().minute) == (15, 0)


def test_plain_progress_lines_when_not_a_terminal() -> None:
    """Off a terminal, progress is a line at the start, every few seconds, and at the end."""
    stream = io.StringIO()
    now = [0.0]
    display = ProgressDisplay(stream=stream, clock=lambda: now[0])
    with display:
        display(Progress("sms", 50, 0, 20_000))
        now[0] = 1.0
        display(Progress("sms", 100, 0, 20_000))  # too soon: not printed
        now[0] = 6.0
        display(Progress("sms", 9_000, 2, 20_000))
        display(Progress("sms", 19_990, 10, 20_000, finished=True))
        display(Progress("email", 3, 0, None, finished=True))  # short: the Report says it
    assert stream.getvalue().splitlines() == [
        "sms: sending, 50 of 20,000 reached, 0 not reached",
        "sms: sending, 9,000 of 20,000 reached, 2 not reached",
        "sms: done, 19,990 of 20,000 reached, 10 not reached",
    ]


def test_settle_a_tweet_left_in_doubt(here: Path, server: LoopbackServer) -> None:
    """The Report names the settle command; running it lets the next send finish."""
    journal = here / "j.db"
    env = {
        "BROADCAST_JOURNAL": str(journal),
        "BROADCAST_TWITTER_BEARER_TOKEN": "t" * 20,
        "BROADCAST_TWITTER_BASE_URL": server.url,
    }
    update = make_update(BODY, title=FLAGS[1], incident=FLAGS[3])

    async def crash_mid_post() -> None:
        crashed = SQLiteJournal(journal)
        crashed.owner = _dead_owner()
        await crashed.record_update(update)
        await crashed.claim(update, "twitter")
        await crashed.start_part("twitter", update.key, 0)  # ...and the process dies here
        await crashed.aclose()

    asyncio.run(crash_mid_post())
    stuck = run("send", *FLAGS, BODY, env=env)
    assert stuck.exit_code == 1
    command = f"broadcast settle {update.key} twitter --part 0 --post-id ID (or --resend)"
    assert command in " ".join(stuck.output.split())
    assert server.requests == []
    settled = run("settle", update.key, "twitter", "--part", "0", "--post-id", "1399", env=env)
    assert settled.exit_code == 0, settled.output
    assert "recorded as posted (1399)" in settled.output
    again = run("send", *FLAGS, BODY, env=env)
    assert again.exit_code == 0, again.output
    assert "already posted as 1399" in again.output
    assert server.requests == []


def test_rerun_with_a_relative_next_update_is_the_same_update(
    here: Path, server: LoopbackServer
) -> None:
    """--next-update 1h run again later is a new moment; the re-run keeps the first one."""
    env = hook_env(server)
    # The first run, ten minutes ago, promised "1h" from then.
    earlier = (datetime.now(UTC) + timedelta(minutes=50)).isoformat()
    first = run("send", *FLAGS, "--next-update", earlier, "--json", BODY, env=env)
    assert first.exit_code == 0, first.output
    again = run("send", *FLAGS, "--next-update", "1h", "--json", BODY, env=env)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["update_key"] == json.loads(first.stdout)["update_key"]
    assert "keeping its next-update time" in again.stderr
    assert len(server.requests) == 1
    # Different words are a new update, whatever the promise.
    changed = run("send", *FLAGS, "--next-update", "1h", "--json", f"{BODY} More.", env=env)
    assert json.loads(changed.stdout)["update_key"] != json.loads(first.stdout)["update_key"]
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("rejection", "code"),
    [
        (Rejection("+14155550199", "Twilio 21610: unsubscribed", 21610, permanent=True), 0),
        (Rejection("+14155550102", "invalid: not a phone number", permanent=True), 0),
        (Rejection("+14155550101", "ReadTimeout ...; not sent again", unanswered=True), 1),
        (Rejection("+14155550103", "HTTP 503 ...; gave up after 4 attempts", 503), 1),
    ],
)
def test_a_partial_fan_out_fails_only_on_a_miss_the_provider_did_not_answer(
    rejection: Rejection, code: int
) -> None:
    """A STOP reply is the channel's job done; an unanswered or 503'd send needs another run."""
    sms = Receipt("sms", Outcome.PARTIAL, attempts=1, accepted=2, rejected=(rejection,))
    assert exit_code(Report("key", "psn-2011-04", (sms,))) == code
