"""``settle`` that changes nothing exits 2 and says what can be settled; ``history`` aligns."""

from __future__ import annotations

import asyncio
from pathlib import Path

from broadcast import SQLiteJournal, Update, make_update
from broadcast.cli._journal import aligned
from broadcast.testing import LoopbackServer

from .test_cli import BODY, FLAGS, hook_env, run
from .test_journal import _dead_owner


def _crash_mid_post(journal: Path, update: Update) -> None:
    """A run that died while posting part 0 of the tweet."""

    async def crash() -> None:
        crashed = SQLiteJournal(journal)
        crashed.owner = _dead_owner()
        await crashed.record_update(update)
        await crashed.claim(update, "twitter")
        await crashed.start_part("twitter", update.key, 0)
        await crashed.aclose()

    asyncio.run(crash())


def test_settle_a_misspelled_channel_exits_2_listing_what_can_be_settled(tmp_path: Path) -> None:
    """A typo in the channel changes nothing: exit 2, why, and the commands that would work."""
    journal = tmp_path / "j.db"
    update = make_update(BODY, title=FLAGS[1], incident=FLAGS[3])
    _crash_mid_post(journal, update)
    env = {"BROADCAST_JOURNAL": str(journal)}
    typo = run("settle", update.key, "twiter", "--post-id", "1399", env=env)
    assert typo.exit_code == 2, typo.output
    assert "Settled" not in typo.output
    assert "nothing to settle: no send on 'twiter' is recorded" in typo.stderr
    assert f"broadcast settle {update.key} twitter --part 0 --post-id ID (or --resend)" in (
        typo.stderr
    )
    whole = run("settle", update.key, "twitter", "--resend", env=env)
    assert whole.exit_code == 2
    assert "--part 0" in whole.stderr
    wrong_part = run("settle", update.key, "twitter", "--part", "1", "--resend", env=env)
    assert wrong_part.exit_code == 2
    assert "part 1 of twitter for update" in wrong_part.stderr
    assert "not in doubt (never started)" in wrong_part.stderr
    right = run("settle", update.key, "twitter", "--part", "0", "--post-id", "1399", env=env)
    assert right.exit_code == 0, right.output
    again = run("settle", update.key, "twitter", "--part", "0", "--post-id", "1399", env=env)
    assert again.exit_code == 2
    assert "not in doubt (delivered)" in again.stderr
    assert f"settle {update.key} twitter --part" not in again.stderr  # part 0 is settled


def test_settle_a_delivered_send_exits_2(tmp_path: Path, server: LoopbackServer) -> None:
    """Settling a send that was delivered says so and changes nothing."""
    env = hook_env(server, BROADCAST_JOURNAL=str(tmp_path / "j.db"))
    sent = run("send", *FLAGS, "--json", BODY, env=env)
    assert sent.exit_code == 0, sent.output
    key = make_update(BODY, title=FLAGS[1], incident=FLAGS[3]).key
    result = run("settle", key, "webhook", "--resend", env=env)
    assert result.exit_code == 2
    assert "nothing to settle: webhook is delivered" in result.stderr
    unknown = run("settle", "0" * 32, "webhook", "--resend", env=env)
    assert unknown.exit_code == 2
    assert "the journal has no update '0000" in unknown.stderr
    assert "Nothing in this journal is in doubt." in unknown.stderr
    again = run("send", *FLAGS, BODY, env=env)
    assert "already delivered" in again.output
    assert len(server.requests) == 1


def test_history_columns_line_up(tmp_path: Path, server: LoopbackServer) -> None:
    """Incidents and channels of different widths start each column at the same place."""
    env = hook_env(server, BROADCAST_JOURNAL=str(tmp_path / "j.db"))
    for incident in ("psn-2011-04", "db"):
        sent = run("send", "--title", "Down", "--incident", incident, "--yes", BODY, env=env)
        assert sent.exit_code == 0, sent.output
    lines = run("history", env=env).output.splitlines()
    assert len(lines) == 2
    for word in ("investigating", "1 update(s)", "last ", "next promised"):
        assert len({line.index(word) for line in lines}) == 1, (word, lines)


def test_aligned_pads_every_column_but_the_last() -> None:
    """aligned() pads to the widest cell of each column and leaves the last as it is."""
    rows = [("twitter", "delivered", "1399"), ("sms", "partial", "2 reached, 1 not")]
    assert aligned(rows) == ["twitter  delivered  1399", "sms      partial    2 reached, 1 not"]
    assert aligned([]) == []
