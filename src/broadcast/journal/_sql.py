"""The journal's SQL: schema and one function per question, each on a sqlite3 connection.

Pure storage, no asyncio: ``SQLiteJournal`` runs these on its own thread. Times are
stored as fixed-width UTC text (update times, comparable as strings) or epoch seconds
(when things happened).
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._errors import JournalError
from ._check import (
    FIX,
    FULL_CHECK_BYTES,
    check_integrity,
    check_layout,
    damaged,
    read_ahead,
    safe_error,
)
from ._lease import holder_alive
from ._protocol import ChannelRecord, Claim, IncidentState, UpdateRecord
from ._threads import ThreadState

__all__ = [
    "SCHEMA_VERSION",
    "UPSERT_ITEM",
    "busy",
    "checkpoint",
    "connect",
    "connect_writer",
    "part",
    "stamp",
    "transaction",
]

SCHEMA_VERSION = 2
"""2 added ``updates.document``: the whole update (``Update.to_document()``) as JSON."""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS updates (
    key TEXT PRIMARY KEY, incident TEXT NOT NULL, status TEXT NOT NULL,
    severity TEXT NOT NULL, title TEXT NOT NULL, created_at TEXT NOT NULL,
    next_update_at TEXT, recorded_at REAL NOT NULL, document TEXT
);
CREATE INDEX IF NOT EXISTS updates_by_incident ON updates (incident, created_at);
CREATE TABLE IF NOT EXISTS sends (
    update_key TEXT NOT NULL, channel TEXT NOT NULL, state TEXT NOT NULL,
    ids TEXT NOT NULL DEFAULT '[]', reason TEXT, attempts INTEGER NOT NULL DEFAULT 0,
    accepted INTEGER, rejected INTEGER, owner TEXT, lease_until REAL,
    runs INTEGER NOT NULL DEFAULT 1, started_at REAL NOT NULL, finished_at REAL,
    PRIMARY KEY (update_key, channel)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS items (
    update_key TEXT NOT NULL, channel TEXT NOT NULL, item TEXT NOT NULL,
    state TEXT NOT NULL, provider_id TEXT, reason TEXT, code TEXT,
    permanent INTEGER NOT NULL DEFAULT 0, owner TEXT, updated_at REAL NOT NULL,
    PRIMARY KEY (update_key, channel, item)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS threads (
    channel TEXT NOT NULL, incident TEXT NOT NULL, first_post TEXT NOT NULL,
    last_post TEXT NOT NULL, PRIMARY KEY (channel, incident)
) WITHOUT ROWID;
"""

_DOCUMENT = ", document TEXT"
_MIGRATIONS = {1: (_SCHEMA.replace(_DOCUMENT, ""), "ALTER TABLE updates ADD COLUMN document TEXT")}
"""From each older schema: its layout (checked first) and the statement that upgrades it.
An update recorded before 2 has no document (NULL): its title and status still show."""

_INSERT_ITEMS = """
INSERT INTO items (update_key, channel, item, state, provider_id, reason, code, permanent,
                   owner, updated_at)
VALUES {values}
ON CONFLICT (update_key, channel, item) DO UPDATE SET
    state = excluded.state, provider_id = excluded.provider_id, reason = excluded.reason,
    code = excluded.code, permanent = excluded.permanent, owner = excluded.owner,
    updated_at = excluded.updated_at
WHERE items.state != 'delivered'
"""
_ITEM_MARKS = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
UPSERT_ITEM = _INSERT_ITEMS.format(values=_ITEM_MARKS)
_ROWS_PER_STATEMENT = 500


def upsert_items(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Write item rows in one transaction, many rows per statement.

    One statement per few hundred rows rather than per row: each statement hands the
    GIL back and forth once, and the event loop's thread is waiting for it. Rows for the
    same item apply in order (a ``pending`` then its ``delivered``).
    """
    if len(rows) <= _ROWS_PER_STATEMENT:
        # One statement is one transaction in autocommit mode: no BEGIN and COMMIT of
        # its own, so the journal's thread takes the GIL back twice fewer per batch.
        conn.execute(_statement(len(rows)), [value for row in rows for value in row])
        return
    with transaction(conn):
        for start in range(0, len(rows), _ROWS_PER_STATEMENT):
            chunk = rows[start : start + _ROWS_PER_STATEMENT]
            conn.execute(_statement(len(chunk)), [value for row in chunk for value in row])


@functools.cache
def _statement(count: int) -> str:
    """The upsert of ``count`` rows (at most ``_ROWS_PER_STATEMENT`` texts are kept)."""
    return _INSERT_ITEMS.format(values=",".join([_ITEM_MARKS] * count))


_THREAD = (
    "INSERT INTO threads VALUES (?, ?, ?, ?) ON CONFLICT (channel, incident) "
    "DO UPDATE SET last_post = excluded.last_post"
)


def stamp(moment: datetime) -> str:
    """Fixed-width UTC text, so stored times compare as strings."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _at(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def part(index: int) -> str:
    """The item name of a post part. '#' never starts a recipient (lists skip '#' lines)."""
    return f"#part:{index:04d}"


def connect(path: Path, *, full_check_up_to: int = FULL_CHECK_BYTES) -> sqlite3.Connection:
    """Open (creating, mode 0600) and check the journal at ``path``.

    The checks (``_check``) run before anything is written: its schema
    version, its tables and columns, and its pages (every page up to
    ``full_check_up_to`` bytes).
    """
    if path.is_dir():
        raise JournalError(f"journal {path} is a directory; {FIX}")
    if not path.exists():
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as exc:
            raise JournalError(f"cannot create journal {path}: {exc.strerror}; {FIX}") from None
    elif path.stat().st_size <= full_check_up_to:
        read_ahead(path)  # before connecting: see read_ahead
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise JournalError(f"cannot open journal {path}: {safe_error(exc)}; {FIX}") from None
    try:
        _prepare(conn, path, full_check_up_to)
    except sqlite3.DatabaseError as exc:
        conn.close()
        if "malformed" in str(exc):
            raise damaged(path, str(exc)) from None
        raise JournalError(f"journal {path} is unusable ({safe_error(exc)}); {FIX}") from None
    except JournalError:
        conn.close()
        raise
    return conn


def connect_writer(path: Path) -> sqlite3.Connection:
    """A second connection to an open journal that never waits: for the loop's thread.

    It writes recipient rows only (``upsert_items``), when the file is free at once: a
    lock held elsewhere raises ``SQLITE_BUSY`` at once (``busy_timeout`` 0) instead of
    waiting, and it never checkpoints (``wal_autocheckpoint`` 0), so it never syncs
    the disk. Its commits are the journal's (WAL, ``synchronous=NORMAL``).
    """
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0)
    try:
        conn.execute("PRAGMA busy_timeout = 0")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            raise sqlite3.OperationalError("the journal is not in WAL mode")
    except BaseException:
        conn.close()
        raise
    return conn


def busy(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` says the file is locked by someone else (try again, elsewhere)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def checkpoint(conn: sqlite3.Connection) -> None:
    """Copy committed WAL pages into the file, without waiting for anyone (PASSIVE)."""
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def _prepare(conn: sqlite3.Connection, path: Path, full_check_up_to: int) -> None:
    conn.execute("PRAGMA busy_timeout = 10000")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    older, upgrade = _MIGRATIONS.get(version, (None, None))
    if older is not None:
        check_layout(conn, path, version=version, known=version, schema=older)
    else:
        check_layout(conn, path, version=version, known=SCHEMA_VERSION, schema=_SCHEMA)
    check_integrity(conn, path, full_up_to=full_check_up_to)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    if upgrade is not None:
        with transaction(conn):
            # Under the write lock: another process may have upgraded it meanwhile.
            if conn.execute("PRAGMA user_version").fetchone()[0] == version:
                conn.execute(upgrade)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.executescript(_SCHEMA)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def record_update(conn: sqlite3.Connection, row: tuple[Any, ...]) -> None:
    """Insert an update row unless it is there."""
    with transaction(conn):
        conn.execute(
            "INSERT INTO updates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
            row,
        )


def superseding(conn: sqlite3.Connection, incident: str, created: str, key: str) -> str | None:
    """The first ``resolved`` update of ``incident`` created after ``created``."""
    row = conn.execute(
        "SELECT key FROM updates WHERE incident = ? AND status = 'resolved' "
        "AND created_at > ? AND key != ? ORDER BY created_at LIMIT 1",
        (incident, created, key),
    ).fetchone()
    return None if row is None else str(row[0])


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, holding the lock from its first read.

    The connection is in autocommit mode (``isolation_level=None``), where ``with
    conn:`` would not open a transaction at all: every statement would commit alone.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def take(
    conn: sqlite3.Connection,
    claim: Claim,
    *,
    incident: tuple[str, str, str],
    now: float,
    until: float,
) -> Claim:
    """Claim ``claim``'s send in one write transaction, or say why not."""
    with transaction(conn):
        key, channel = claim.update_key, claim.channel
        row = conn.execute(
            "SELECT state, ids, owner, lease_until FROM sends WHERE update_key = ? AND channel = ?",
            (key, channel),
        ).fetchone()
        if row is not None and row[0] == "delivered":
            return Claim(key, channel, "delivered", ids=tuple(json.loads(row[1])))
        if row is not None and row[0] == "sending" and holder_alive(row[2], row[3], now):
            return Claim(key, channel, "busy", holder=row[2])
        if (by := superseding(conn, *incident)) is not None:
            conn.execute(
                "INSERT INTO sends (update_key, channel, state, reason, started_at, finished_at) "
                "VALUES (?, ?, 'superseded', ?, ?, ?) ON CONFLICT (update_key, channel) DO UPDATE "
                "SET state = 'superseded', reason = excluded.reason, lease_until = NULL",
                (key, channel, f"superseded by {by}", now, now),
            )
            return Claim(key, channel, "superseded", by=by)
        conn.execute(
            "INSERT INTO sends (update_key, channel, state, owner, lease_until, started_at) "
            "VALUES (?, ?, 'sending', ?, ?, ?) ON CONFLICT (update_key, channel) DO UPDATE SET "
            "state = 'sending', owner = excluded.owner, lease_until = excluded.lease_until, "
            "runs = runs + 1, finished_at = NULL",
            (key, channel, claim.owner, until, now),
        )
        in_doubt = row is not None and row[0] == "sending"
        return Claim(key, channel, "claimed", owner=claim.owner, in_doubt=in_doubt)


def write(conn: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> None:
    """One statement in its own transaction."""
    with transaction(conn):
        conn.execute(sql, args)


def thread(conn: sqlite3.Connection, channel: str, incident: str) -> ThreadState:
    """The incident's first and last post on ``channel``, and how many updates it has had."""
    row = conn.execute(
        "SELECT first_post, last_post FROM threads WHERE channel = ? AND incident = ?",
        (channel, incident),
    ).fetchone()
    count = conn.execute(
        "SELECT COUNT(*) FROM items i JOIN updates u ON u.key = i.update_key "
        "WHERE i.channel = ? AND u.incident = ? AND i.item = ? AND i.state = 'delivered'",
        (channel, incident, part(0)),
    ).fetchone()[0]
    if row is None:
        return ThreadState(updates=count)
    return ThreadState(first=row[0], last=row[1], updates=count)


def posted_parts(conn: sqlite3.Connection, channel: str, update_key: str) -> list[str]:
    """The ids of the delivered parts of an update, in order."""
    rows = conn.execute(
        "SELECT provider_id FROM items WHERE update_key = ? AND channel = ? "
        "AND item LIKE '#part:%' AND state = 'delivered' ORDER BY item",
        (update_key, channel),
    ).fetchall()
    return [r[0] for r in rows]


def start_part(conn: sqlite3.Connection, row: tuple[Any, ...]) -> str | None:
    """Mark a part pending; the owner of a pending mark left by another run, if any."""
    update_key, channel, item, owner = row[0], row[1], row[2], row[8]
    with transaction(conn):
        found = conn.execute(
            "SELECT state, owner FROM items WHERE update_key = ? AND channel = ? AND item = ?",
            (update_key, channel, item),
        ).fetchone()
        if found is not None and found[0] == "pending" and found[1] != owner:
            return str(found[1])
        conn.execute(UPSERT_ITEM, row)
    return None


def record_part(conn: sqlite3.Connection, row: tuple[Any, ...], incident: str) -> None:
    """Mark a part delivered and move the incident's thread to it."""
    with transaction(conn):
        conn.execute(UPSERT_ITEM, row)
        conn.execute(_THREAD, (row[1], incident, row[4], row[4]))


def history(conn: sqlite3.Connection, incident: str) -> list[UpdateRecord]:
    """The incident's updates in order, each with its per-channel outcome."""
    updates = conn.execute(
        "SELECT key, incident, status, severity, title, created_at, next_update_at, "
        "recorded_at, document FROM updates WHERE incident = ? ORDER BY created_at, recorded_at",
        (incident,),
    ).fetchall()
    return [_update_record(conn, row) for row in updates]


def incidents(conn: sqlite3.Connection) -> list[IncidentState]:
    """Every incident, by its latest update."""
    rows = conn.execute(
        "SELECT u.incident, u.status, u.title, u.key, u.created_at, u.next_update_at, "
        "(SELECT COUNT(*) FROM updates c WHERE c.incident = u.incident) "
        "FROM updates u WHERE u.key = (SELECT l.key FROM updates l "
        "WHERE l.incident = u.incident ORDER BY l.created_at DESC, l.recorded_at DESC "
        "LIMIT 1) ORDER BY u.created_at"
    ).fetchall()
    return [
        IncidentState(
            incident=r[0],
            status=r[1],
            title=r[2],
            updates=r[6],
            last_update_key=r[3],
            last_update_at=_parse(r[4]) or datetime.min.replace(tzinfo=UTC),
            next_update_at=_parse(r[5]),
        )
        for r in rows
    ]


def _update_record(conn: sqlite3.Connection, row: tuple[Any, ...]) -> UpdateRecord:
    sends = conn.execute(
        "SELECT channel, CASE WHEN state = 'sending' AND lease_until IS NULL THEN 'in_doubt' "
        "ELSE state END, ids, reason, attempts, accepted, rejected, runs, started_at, "
        "finished_at FROM sends WHERE update_key = ? ORDER BY channel",
        (row[0],),
    ).fetchall()
    return UpdateRecord(
        key=row[0],
        incident=row[1],
        status=row[2],
        severity=row[3],
        title=row[4],
        created_at=_parse(row[5]) or datetime.min.replace(tzinfo=UTC),
        next_update_at=_parse(row[6]),
        recorded_at=_at(row[7]) or datetime.min.replace(tzinfo=UTC),
        channels=tuple(
            ChannelRecord(
                channel=s[0],
                state=s[1],
                ids=tuple(json.loads(s[2])),
                reason=s[3],
                attempts=s[4],
                accepted=s[5],
                rejected=s[6],
                runs=s[7],
                started_at=_at(s[8]),
                finished_at=_at(s[9]),
            )
            for s in sends
        ),
        document=json.loads(row[8]) if row[8] is not None else None,
    )
