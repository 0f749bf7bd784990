"""Where the journal lives: one per user for the command and ``send()``, none for code."""

from __future__ import annotations

import json
import os
import stat
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import broadcast
from broadcast import Broadcaster, JournalError, Outcome, SQLiteJournal, Update, load_config
from broadcast.cli import main
from broadcast.journal._sqlite import default_journal_path
from broadcast.testing import LoopbackServer, RecordingChannel, isolated_journal

from .conftest import SECRET

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="XDG/HOME decide the path")

BODY = "Sign-in and the Store are unavailable. We are investigating."
FLAGS = ["--title", "PlayStation Network is down", "--incident", "psn-2011-04", "--yes"]


@pytest.fixture
def per_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No BROADCAST_JOURNAL: the per-user default, under the test's XDG_STATE_HOME."""
    monkeypatch.delenv("BROADCAST_JOURNAL")
    return default_journal_path()


def _dirs(tmp_path: Path) -> tuple[Path, Path]:
    first, second = tmp_path / "ops", tmp_path / "elsewhere"
    first.mkdir()
    second.mkdir()
    return first, second


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_the_per_user_journal_follows_xdg_state_home(tmp_path: Path, per_user: Path) -> None:
    """Unset BROADCAST_JOURNAL means $XDG_STATE_HOME/broadcast/journal.db, not ./broadcast.db."""
    if sys.platform.startswith("linux"):
        assert per_user == tmp_path / "state" / "broadcast" / "journal.db"
    assert per_user.is_relative_to(tmp_path)
    assert SQLiteJournal().path == per_user


def test_send_from_two_directories_finds_one_journal(
    tmp_path: Path, per_user: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """broadcast.send() run again from another directory says already delivered."""
    update = Update(title="PSN is down", body=BODY, incident="psn-2011-04")
    reports = []
    for directory in _dirs(tmp_path):
        monkeypatch.chdir(directory)
        channel = RecordingChannel()
        reports.append(broadcast.send(update, channels=[channel]))
        assert os.listdir(directory) == []  # nothing written where the command ran
    assert [r.receipts[0].outcome for r in reports] == [Outcome.DELIVERED, Outcome.SKIPPED]
    assert reports[1].receipts[0].reason == "already delivered"
    assert per_user.is_file()
    assert stat.S_IMODE(per_user.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(per_user.stat().st_mode) == 0o600


def test_the_command_in_two_directories_sends_once(
    tmp_path: Path, per_user: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`broadcast send` run again from another directory posts nothing more."""
    env = {"BROADCAST_WEBHOOK_URL": server.url, "BROADCAST_WEBHOOK_SECRET": SECRET}
    first, second = _dirs(tmp_path)
    monkeypatch.chdir(first)
    sent = run("send", *FLAGS, BODY, env=env)
    assert sent.exit_code == 0, sent.output
    monkeypatch.chdir(second)
    again = run("send", *FLAGS, BODY, env=env)
    assert again.exit_code == 0, again.output
    assert "already delivered" in again.output
    assert len(server.requests) == 1
    assert [*first.iterdir(), *second.iterdir()] == []


def test_overdue_in_another_directory_sees_the_incident(
    tmp_path: Path, per_user: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An update sent from one directory is overdue for `broadcast overdue` run elsewhere."""
    first, second = _dirs(tmp_path)
    past = datetime.now(UTC) - timedelta(hours=2)
    late = Update(
        title="PSN is down",
        body=BODY,
        incident="psn-2011-04",
        created_at=past,
        next_update_at=past + timedelta(hours=1),
    )
    monkeypatch.chdir(first)
    assert broadcast.send(late, channels=[RecordingChannel()]).ok
    monkeypatch.chdir(second)
    overdue = run("overdue", "--json")
    assert overdue.exit_code == 1, overdue.output
    [row] = json.loads(overdue.stdout)
    assert row["incident"] == "psn-2011-04"


def test_two_broadcasters_built_in_code_share_nothing(tmp_path: Path, update: Update) -> None:
    """Broadcaster(...) without journal= keeps none: the same update goes out each time."""
    for _ in range(2):
        channel = RecordingChannel()
        async_report = _send_in_code(channel, update)
        assert async_report.receipts[0].outcome is Outcome.DELIVERED
        assert len(channel.sent) == 1
    assert not Path(os.environ["BROADCAST_JOURNAL"]).exists()
    assert not (tmp_path / "state").exists()


def _send_in_code(channel: RecordingChannel, update: Update) -> broadcast.Report:
    import asyncio  # noqa: PLC0415

    async def go() -> broadcast.Report:
        async with Broadcaster([channel]) as broadcaster:
            assert broadcaster.journal is None
            return await broadcaster.send(update)

    return asyncio.run(go())


async def test_a_journal_the_configuration_made_is_closed_with_the_broadcaster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, update: Update, server: LoopbackServer
) -> None:
    """[settings] journal: the Broadcaster closes it, so no -wal file is left behind."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BROADCAST_JOURNAL")
    (tmp_path / "broadcast.toml").write_text(
        f'[settings]\njournal = "j.db"\n\n[channels.hook]\ntype = "webhook"\nurl = "{server.url}"\n'
    )
    broadcaster = load_config().broadcaster()
    assert isinstance(broadcaster.journal, SQLiteJournal)
    assert broadcaster.journal.path.resolve() == tmp_path / "j.db"
    async with broadcaster:
        assert (await broadcaster.send(update)).ok
    assert (tmp_path / "j.db").is_file()
    assert len(server.requests) == 1
    assert not (tmp_path / "j.db-wal").exists()
    with pytest.raises(JournalError, match="closed"):
        await broadcaster.journal.history("psn-2011-04")


def test_verbose_send_and_check_name_the_journal(
    tmp_path: Path, per_user: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """-v send logs the journal's path; check prints it after the probes."""
    monkeypatch.chdir(tmp_path)
    env = {"BROADCAST_WEBHOOK_URL": server.url}
    sent = run("-v", "send", *FLAGS, BODY, env=env)
    assert sent.exit_code == 0, sent.output
    assert f"journal: {per_user} (the per-user default)" in sent.stderr
    checked = run("check", env=env)
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.splitlines()[-1] == f"journal: {per_user}"
    off = run("check", env={**env, "BROADCAST_JOURNAL": "off"})
    assert off.stdout.splitlines()[-1].startswith("journal: off")


def test_isolated_journal_keeps_send_away_from_the_per_user_journal(
    tmp_path: Path, per_user: Path, update: Update
) -> None:
    """Inside isolated_journal() send() records to the test's file; outside, unchanged."""
    with isolated_journal() as path:
        first = broadcast.send(update, channels=[RecordingChannel()])
        second = broadcast.send(update, channels=[RecordingChannel()])
        assert path.is_file()
    with isolated_journal(tmp_path / "mine.db") as mine:
        third = broadcast.send(update, channels=[RecordingChannel()])
    assert [r.receipts[0].outcome for r in (first, second, third)] == [
        Outcome.DELIVERED,
        Outcome.SKIPPED,
        Outcome.DELIVERED,
    ]
    assert not path.exists()  # its temporary directory is gone
    assert mine.is_file()
    assert "BROADCAST_JOURNAL" not in os.environ
    assert not per_user.exists()
