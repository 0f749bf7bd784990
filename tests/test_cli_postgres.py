"""`broadcast` with BROADCAST_JOURNAL=postgresql://...: a real send, a re-run, no password shown."""

from __future__ import annotations

import json
import re
from pathlib import Path

import psycopg
import pytest

from broadcast.testing import LoopbackServer

from .canaries import CANARIES, assert_clean
from .pg import PostgresServer
from .test_cli import BODY, FLAGS, hook_env, run

PASSWORD = CANARIES["pg_pass"]


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def canary_dsn(postgres_server: PostgresServer, postgres_dsn: str) -> str:
    """The test's database, owned by a role whose password is the audit's canary."""
    name = postgres_dsn.rsplit("/", 1)[1]
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'canary'").fetchone() is None:
            conn.execute(f"CREATE ROLE canary LOGIN PASSWORD '{PASSWORD}'")
        conn.execute(f'ALTER DATABASE "{name}" OWNER TO canary')
    server = postgres_server
    return f"postgresql://canary:{PASSWORD}@{server.host}:{server.port}/{name}"


def _rows(dsn: str) -> str:
    with psycopg.connect(dsn) as conn:
        tables = ("updates", "sends", "items", "threads", "schema_version")
        rows = [conn.execute(f"SELECT * FROM broadcast.{t}").fetchall() for t in tables]  # noqa: S608
    return json.dumps(rows, default=str)


def test_send_records_in_postgresql_and_a_re_run_skips(
    here: Path, server: LoopbackServer, canary_dsn: str
) -> None:
    """send journals to the database; again, it skips; check and -v mask the password."""
    env = hook_env(server, BROADCAST_JOURNAL=canary_dsn)
    first = run("-v", "send", *FLAGS, BODY, env=env)
    assert first.exit_code == 0, first.output
    assert "webhook  delivered" in first.stdout
    masked = canary_dsn.replace(PASSWORD, "***")
    where = masked.partition("@")[2]  # the log masks the user name too: postgresql://***@
    assert re.search(rf"journal: postgresql://(canary:)?\*\*\*@{re.escape(where)}", first.stderr)
    again = run("send", *FLAGS, BODY, env=env)
    assert again.exit_code == 0, again.output
    assert "already delivered" in again.stdout
    assert len(server.requests) == 1
    check = run("check", env=env)
    assert f"journal: {masked}" in check.stdout
    history = run("history", "psn-2011-04", env=env)
    assert history.exit_code == 0, history.output
    assert "delivered" in history.stdout
    rows = _rows(canary_dsn)
    assert '"delivered"' in rows
    for where, text in {
        "send -v": first.stdout + first.stderr,
        "send again": again.stdout + again.stderr,
        "check": check.stdout + check.stderr,
        "history": history.stdout + history.stderr,
        "journal rows": rows,
    }.items():
        assert_clean(where, text)


def test_settings_journal_in_the_file_selects_postgresql(
    here: Path, server: LoopbackServer, canary_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """[settings] journal = "postgresql://..." is used as is (not as a file), and masked."""
    monkeypatch.delenv("BROADCAST_JOURNAL")  # the environment would win over the file
    (here / "broadcast.toml").write_text(
        f'[settings]\njournal = "{canary_dsn}"\n\n[channels.hook]\ntype = "webhook"\n'
        f'url = "{server.url}"\n'
    )
    sent = run("send", *FLAGS, BODY, env={})
    assert sent.exit_code == 0, sent.output
    check = run("check", env={})
    assert f"journal: {canary_dsn.replace(PASSWORD, '***')}" in check.stdout
    assert "psn-2011-04" in _rows(canary_dsn)
    assert not list(here.glob("postgresql*"))
    assert_clean("send", sent.stdout + sent.stderr)
    assert_clean("check", check.stdout + check.stderr)
