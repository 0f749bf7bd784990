"""The journal keeps each update whole (schema 2), and journals of schema 1 still open."""

from __future__ import annotations

import html
import sqlite3
from pathlib import Path

from broadcast import Broadcaster
from broadcast.demo import psn_timeline
from broadcast.journal import SQLiteJournal
from broadcast.journal._sql import SCHEMA_VERSION
from broadcast.page import build_site
from broadcast.testing import RecordingChannel, fast_retries

from .journal_store import Store
from .pages import AFTER, sent_journal

_V1 = """
CREATE TABLE updates (
    key TEXT PRIMARY KEY, incident TEXT NOT NULL, status TEXT NOT NULL,
    severity TEXT NOT NULL, title TEXT NOT NULL, created_at TEXT NOT NULL,
    next_update_at TEXT, recorded_at REAL NOT NULL
);
CREATE INDEX updates_by_incident ON updates (incident, created_at);
CREATE TABLE sends (
    update_key TEXT NOT NULL, channel TEXT NOT NULL, state TEXT NOT NULL,
    ids TEXT NOT NULL DEFAULT '[]', reason TEXT, attempts INTEGER NOT NULL DEFAULT 0,
    accepted INTEGER, rejected INTEGER, owner TEXT, lease_until REAL,
    runs INTEGER NOT NULL DEFAULT 1, started_at REAL NOT NULL, finished_at REAL,
    PRIMARY KEY (update_key, channel)
) WITHOUT ROWID;
CREATE TABLE items (
    update_key TEXT NOT NULL, channel TEXT NOT NULL, item TEXT NOT NULL,
    state TEXT NOT NULL, provider_id TEXT, reason TEXT, code TEXT,
    permanent INTEGER NOT NULL DEFAULT 0, owner TEXT, updated_at REAL NOT NULL,
    PRIMARY KEY (update_key, channel, item)
) WITHOUT ROWID;
CREATE TABLE threads (
    channel TEXT NOT NULL, incident TEXT NOT NULL, first_post TEXT NOT NULL,
    last_post TEXT NOT NULL, PRIMARY KEY (channel, incident)
) WITHOUT ROWID;
INSERT INTO updates VALUES ('oldkey', 'psn-2011-04', 'investigating', 'critical',
    'Recorded by an older broadcast', '2011-04-21T08:00:00.000000Z', NULL, 1303372800.0);
INSERT INTO sends (update_key, channel, state, ids, started_at, finished_at)
    VALUES ('oldkey', 'ok', 'delivered', '["id-1"]', 1303372800.0, 1303372801.0);
PRAGMA user_version = 1;
"""


async def test_history_returns_each_update_whole(tmp_path: Path) -> None:
    """history() gives back the document record_update stored: body, author, url."""
    journal = await sent_journal(tmp_path / "j.db")
    try:
        records = await journal.history("psn-2011-04")
    finally:
        await journal.aclose()
    sent = psn_timeline()
    assert [r.document for r in records] == [u.to_document() for u in sent]
    assert all(r.delivered for r in records)


async def test_a_schema_1_journal_is_upgraded_and_keeps_its_history(tmp_path: Path) -> None:
    """An old journal opens, gains the document column, and old and new updates both read."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(_V1)
    conn.close()
    journal = await sent_journal(path)
    try:
        records = await journal.history("psn-2011-04")
    finally:
        await journal.aclose()
    assert records[0].key == "oldkey"
    assert records[0].document is None
    assert records[0].delivered
    assert records[0].channels[0].ids == ("id-1",)
    assert [r.document for r in records[1:]] == [u.to_document() for u in psn_timeline()]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    conn.close()
    reopened = SQLiteJournal(path)  # a second open of the upgraded file is plain
    await reopened.open()
    assert len(await reopened.history("psn-2011-04")) == 4
    await reopened.aclose()


async def test_every_journal_keeps_the_whole_update_and_the_page_shows_it(
    store: Store, tmp_path: Path
) -> None:
    """On SQLite and on PostgreSQL: history() has each document, and the page its body."""
    journal = store.make()
    ok = RecordingChannel(name="ok")
    async with Broadcaster([ok], journal=journal, retry=fast_retries(1)) as broadcaster:
        for update in psn_timeline():
            await broadcaster.send(update)
    records = await journal.history("psn-2011-04")
    assert [r.document for r in records] == [u.to_document() for u in psn_timeline()]
    await build_site(journal, tmp_path / "out", base_url="https://status.example.com/", now=AFTER)
    page = (tmp_path / "out" / "incidents" / "psn-2011-04.html").read_text(encoding="utf-8")
    for update in psn_timeline():
        first = update.paragraphs[0] if update.paragraphs else update.title
        assert html.escape(first, quote=True).replace("&#x27;", "&#39;") in page
