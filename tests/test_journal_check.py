"""A journal that is not one, has another layout, or is damaged is refused when it opens.

Each file is refused by the real ``broadcast send`` with exit 2 before any channel
sends (the loopback stand-in counts the requests), and no error shows a row's bytes.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from broadcast import JournalError, Outcome, Receipt, SQLiteJournal, Update, make_update
from broadcast.cli import main
from broadcast.journal._check import check_integrity
from broadcast.journal._sql import SCHEMA_VERSION, connect
from broadcast.testing import LoopbackServer

from .conftest import SECRET, T0

NUMBERS = [f"+1415555{i:04d}" for i in range(600)]
"""Enough per-recipient rows for the items table to span many pages."""
UPDATE = ["--title", "Sign-in is failing", "--incident", "signin", "We are investigating."]


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def send(journal: Path, server: LoopbackServer) -> Result:
    env = {
        "BROADCAST_JOURNAL": str(journal),
        "BROADCAST_WEBHOOK_URL": server.url,
        "BROADCAST_WEBHOOK_SECRET": SECRET,
    }
    return CliRunner().invoke(main, ["send", *UPDATE], env=env, catch_exceptions=False)


def real_journal(path: Path) -> None:
    """A journal as a run leaves it: an update, a finished fan-out, a row per recipient."""

    async def fill() -> None:
        journal = SQLiteJournal(path)
        update = make_update(Update(title="Earlier", body="x", incident="old", created_at=T0))
        await journal.record_update(update)
        claim = await journal.claim(update, "sms")
        log = journal.recipients(update.key, "sms")
        await asyncio.gather(*(log.delivered(n, f"SM{n[1:]:0>32}") for n in NUMBERS))
        receipt = Receipt("sms", Outcome.DELIVERED, accepted=len(NUMBERS))
        await journal.finish(claim, "delivered", receipt)
        await journal.aclose()

    asyncio.run(fill())


def garbage(seed: int, size: int) -> bytes:
    """The same bytes on every run, so a failure can be replayed."""
    return random.Random(seed).randbytes(size)  # noqa: S311 - noise, not a secret


def overwrite_page(path: Path, page: int, data: bytes) -> None:
    with sqlite3.connect(path) as conn:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with path.open("r+b") as file:
        file.seek((page - 1) * size)
        file.write(data[:size])


def quick_check(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA quick_check").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        conn.close()


def damage_a_recipient_page(path: Path) -> None:
    """Garbage over the last page of the file: one of the per-recipient rows' pages."""
    real_journal(path)
    conn = sqlite3.connect(path)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    overwrite_page(path, pages, garbage(15, 65536))
    assert quick_check(path) != "ok"  # the damage is of a kind quick_check sees


def missing_column(path: Path) -> None:
    real_journal(path)
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE sends DROP COLUMN reason")
    conn.close()


def other_app(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        conn.execute("INSERT INTO notes (text) VALUES ('call the printer people')")
    conn.close()


def other_app_with_a_sends_table(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE sends (id INTEGER PRIMARY KEY, recipient TEXT, body TEXT)")
        conn.execute("INSERT INTO sends (recipient, body) VALUES ('+14155550100', 'hello')")
    conn.close()


def newer(path: Path) -> None:
    real_journal(path)
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()


def not_sqlite(path: Path) -> None:
    path.write_bytes(b"PK\x03\x04" + garbage(7, 20000))


@pytest.mark.parametrize(
    ("prepare", "said"),
    [
        (missing_column, "has another layout: sends has no column reason"),
        (other_app, "is some other SQLite database, not a journal"),
        (other_app_with_a_sends_table, "is some other SQLite database, not a journal"),
        (damage_a_recipient_page, "is damaged"),
        (not_sqlite, "is unusable (file is not a database)"),
        (newer, f"newer broadcast (schema {SCHEMA_VERSION + 1}"),
    ],
    ids=["missing-column", "other-app", "other-app-sends", "damaged-page", "not-sqlite", "newer"],
)
def test_send_refuses_an_unusable_journal_at_open_with_exit_2(
    here: Path,
    server: LoopbackServer,
    prepare: Callable[[Path], None],
    said: str,
) -> None:
    """broadcast send exits 2 naming the file, the problem and the fix; nothing is sent."""
    path = here / "broadcast.db"
    prepare(path)
    before = path.read_bytes()
    result = send(path, server)
    assert result.exit_code == 2, result.output
    assert server.requests == []
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith((f"error: journal {path}", f"error: {path}"))
    assert said in line
    assert "or set BROADCAST_JOURNAL to another file; nothing was sent" in line
    assert line.isprintable()
    assert not any(n in line for n in ("+1415555", "SM1415555", "printer", "hello"))
    assert path.read_bytes() == before  # refused before anything was written to it


def test_a_damaged_journal_says_to_keep_the_file(here: Path, server: LoopbackServer) -> None:
    """The damaged-file error says to keep it (it records what was sent) and how to salvage."""
    path = here / "broadcast.db"
    damage_a_recipient_page(path)
    result = send(path, server)
    assert result.exit_code == 2
    assert "move it aside but keep it (it records what was sent" in result.stderr
    assert ".recover" in result.stderr


def test_a_garbled_row_is_never_echoed(here: Path, server: LoopbackServer) -> None:
    """Bytes garbled inside a row (sound pages) fail the send without printing them."""
    path = here / "broadcast.db"
    assert send(path, server).exit_code == 0
    webhook_id = server.requests[0].headers["webhook-id"].encode()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every row into the file itself
    conn.close()
    data = path.read_bytes()
    at = data.index(webhook_id) + 4
    path.write_bytes(data[:at] + b"\xff\xfe\x1b[2J\x07" + data[at + 7 :])
    assert quick_check(path) == "ok"  # not damage quick_check can see: found when read
    result = send(path, server)
    assert result.exit_code == 1
    assert len(server.requests) == 1  # not sent again
    assert "the file may be damaged" in result.output
    assert webhook_id[:4].decode() not in result.output.replace("webhook", "")
    assert all(c.isprintable() or c == "\n" for c in result.output)


@pytest.mark.parametrize("kind", ["table", "index"])
def test_a_journal_others_added_to_is_still_a_journal(here: Path, kind: str) -> None:
    """A table or index someone added beside the journal's own does not make it unusable."""
    path = here / "broadcast.db"
    real_journal(path)
    with sqlite3.connect(path) as conn:
        if kind == "table":
            conn.execute("CREATE TABLE notes (text TEXT)")
        else:
            conn.execute("CREATE INDEX items_by_state ON items (state)")
    conn.close()
    connect(path).close()


def test_a_file_whose_tables_were_half_made_is_completed(here: Path) -> None:
    """A run stopped while creating the tables left some of them: the next open finishes."""
    path = here / "broadcast.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE threads (channel TEXT NOT NULL, incident TEXT NOT NULL, "
            "first_post TEXT NOT NULL, last_post TEXT NOT NULL, "
            "PRIMARY KEY (channel, incident)) WITHOUT ROWID"
        )
    conn.close()
    connect(path).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT count(*) FROM sends").fetchone()[0] == 0
    conn.close()


def test_a_large_journal_checks_every_table_but_the_recipients(
    here: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Over the size limit the small tables' pages are checked (and the log says so)."""
    path = here / "broadcast.db"
    real_journal(path)
    conn = sqlite3.connect(path)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'sends'").fetchone()[0]
    conn.close()
    overwrite_page(path, root, b"\x0d" + garbage(3, 65535))
    conn = sqlite3.connect(path)
    caplog.set_level(logging.INFO, "broadcast")
    with pytest.raises(JournalError, match="is damaged"):
        check_integrity(conn, path, full_up_to=0)
    conn.close()
    assert "checking every table but items" in caplog.text


def test_the_partial_check_leaves_the_recipients_pages_unread(here: Path) -> None:
    """Over the size limit, damage among the per-recipient rows passes the open check."""
    path = here / "broadcast.db"
    damage_a_recipient_page(path)
    conn = sqlite3.connect(path)
    check_integrity(conn, path, full_up_to=0)
    with pytest.raises(JournalError, match="is damaged"):
        check_integrity(conn, path)
    conn.close()


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ("DROP TABLE threads", "has another layout: it has no threads"),
        ("DROP TABLE threads; CREATE VIEW threads AS SELECT 1", "threads is a view, not a table"),
        (
            "DROP TABLE threads; CREATE TABLE threads (channel TEXT NOT NULL, incident TEXT "
            "NOT NULL, first_post TEXT NOT NULL, last_post INTEGER NOT NULL, "
            "PRIMARY KEY (channel, incident)) WITHOUT ROWID",
            "column last_post is of another type",
        ),
        ("ALTER TABLE sends ADD COLUMN note TEXT", "sends has columns this broadcast does not"),
        ("PRAGMA user_version = -1", "says it is schema -1, which no broadcast writes"),
    ],
    ids=["no-table", "view", "column-type", "extra-column", "odd-version"],
)
def test_each_layout_difference_is_named(here: Path, change: str, said: str) -> None:
    """The error says what differs: a table, its kind, a column's type, an extra column."""
    path = here / "broadcast.db"
    real_journal(path)
    conn = sqlite3.connect(path)
    conn.executescript(change)
    conn.close()
    with pytest.raises(JournalError, match=said) as caught:
        connect(path).close()
    assert "by hand or by another program" in str(caught.value) or "schema -1" in said
