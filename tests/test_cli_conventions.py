"""Cheap conventions: -t/-b, -V, -q, and progress counts for @file recipient lists."""

from __future__ import annotations

import json
from pathlib import Path

from broadcast import Broadcaster, __version__, make_update
from broadcast._scope import Progress
from broadcast.channels._recipients import FileSource
from broadcast.cli._output import counts
from broadcast.testing import ChaosServer, LoopbackServer, fast_retries

from .test_cli import BODY, FLAGS, hook_env, run


def test_short_flags_for_title_and_body(tmp_path: Path, server: LoopbackServer) -> None:
    """-t sets the title and -b the body; a body given twice is a usage error."""
    result = run("send", "-t", "PSN is down", "-b", BODY, "--json", env=hook_env(server))
    assert result.exit_code == 0, result.output
    sent = json.loads(server.requests[0].body)["data"]
    assert (sent["title"], sent["body"]) == ("PSN is down", BODY)
    twice = run("send", "-t", "PSN is down", "-b", BODY, BODY, env=hook_env(server))
    assert twice.exit_code == 2
    assert "give the body once" in twice.output
    assert len(server.requests) == 1


def test_capital_v_prints_the_version() -> None:
    """-V is --version."""
    result = run("-V")
    assert (result.exit_code, result.output.strip()) == (0, f"broadcast, version {__version__}")


def test_quiet_prints_only_errors_and_keeps_the_exit_code(
    tmp_path: Path, server: LoopbackServer
) -> None:
    """-q: nothing on success; on a failure only the errors, on stderr, and exit 1."""
    env = hook_env(server, BROADCAST_JOURNAL=str(tmp_path / "j.db"))
    ok = run("-q", "send", *FLAGS, BODY, env=env)
    assert (ok.exit_code, ok.stdout, ok.stderr) == (0, "", "")
    server.script(401)
    failed = run("-q", "send", *FLAGS, "--no-journal", f"{BODY} More.", env=env)
    assert failed.exit_code == 1
    assert failed.stdout == ""
    assert "error: Not everyone was reached: webhook." in failed.stderr
    assert "HTTP 401" in failed.stderr  # the error's reason, logged at ERROR
    as_json = run("-q", "send", *FLAGS, "--json", BODY, env=env)
    assert json.loads(as_json.stdout)["ok"] is True  # what --json asks for still comes
    late = run("-q", "overdue", env=env)
    assert (late.exit_code, late.output) == (0, "")
    both = run("-q", "-v", "send", *FLAGS, BODY, env=env)
    assert both.exit_code == 2
    assert "not both" in both.output


async def test_a_file_list_reports_progress_against_its_line_count(tmp_path: Path) -> None:
    """Progress for an @file list carries its total, so the display can say 'sms: 3/120'."""
    path = tmp_path / "numbers.txt"
    numbers = [f"+1415555{n:04d}" for n in range(120)]
    path.write_text("# list\n" + "\n".join(numbers) + "\n\n", encoding="utf-8")
    seen: list[Progress] = []
    with ChaosServer("twilio") as twilio:
        sms = twilio.channel(recipients=FileSource(path), rate=10_000)
        async with Broadcaster([sms], retry=fast_retries()) as broadcaster:
            report = await broadcaster.send(make_update(BODY), progress=seen.append)
    assert report.ok
    assert seen
    assert {p.total for p in seen} == {120}
    assert seen[-1].finished
    assert counts(seen[-1]) == "sms: 120/120"


def test_counts_read_like_a_person_would_write_them() -> None:
    """Thousands are separated; a stream shows no total; misses are counted."""
    assert counts(Progress("sms", 1_200, 0, 5_000)) == "sms: 1,200/5,000"
    assert counts(Progress("email", 40, 2, None)) == "email: 42 (2 not reached)"
