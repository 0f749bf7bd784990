"""SQLiteShards: the shard store in the journal's own SQLite file, for one machine.

Several worker processes on one machine share it as they share the journal. Every
change runs in a ``BEGIN IMMEDIATE`` transaction, so claims are serialised by SQLite's
write lock: two workers never hold one shard. The tables sit beside the journal's
(which ``SQLiteJournal`` leaves alone); the file is opened and checked as a journal first.
"""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from .._errors import JournalError
from ..journal import _sql as journal_sql
from ..journal._check import safe_error
from ..journal._lease import holder_alive, new_owner
from ..journal._sql import transaction
from ._shards import Shard, ShardClaim, ShardKind, ShardRecord, ShardState

if TYPE_CHECKING:
    from .._update import Update

__all__ = ["SHARD_LEASE", "SQLiteShards"]

SHARD_LEASE = 60.0
"""Seconds a shard's claim holds unrenewed; a worker renews it every third of that."""
T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dist_updates (
    key TEXT PRIMARY KEY, body TEXT NOT NULL, planned_at REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dist_shards (
    update_key TEXT NOT NULL, channel TEXT NOT NULL, idx INTEGER NOT NULL,
    kind TEXT NOT NULL, start INTEGER NOT NULL, stop INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', owner TEXT, lease_until REAL,
    runs INTEGER NOT NULL DEFAULT 0, result TEXT,
    PRIMARY KEY (update_key, channel, idx)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dist_shards_open ON dist_shards (state, update_key);
CREATE TABLE IF NOT EXISTS dist_buckets (
    account TEXT PRIMARY KEY, tokens REAL NOT NULL, stamp REAL NOT NULL
) WITHOUT ROWID;
"""
_COLUMNS = "update_key, channel, idx, kind, start, stop, state, owner, lease_until, runs, result"


class SQLiteShards:
    """A ``ShardStore`` in the SQLite file at ``path`` (the journal's file).

    ``lease`` is how long a claim holds unrenewed; ``clock`` (seconds since the epoch,
    shared by every process: the rate buckets use it too) is injectable for tests.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        lease: float = SHARD_LEASE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.lease = lease
        self.owner = new_owner()
        self._clock = clock
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"SQLiteShards({str(self.path)!r})"

    async def open(self) -> None:
        """Open (creating) the file as a journal, then add the shard tables."""
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="broadcast-shards")
        await self._call(lambda _: None)

    def _connect(self) -> sqlite3.Connection:
        if not self.path.exists():
            journal_sql.connect(self.path).close()  # made and checked as a journal
        # Not through journal_sql.connect on an existing file: its read-ahead opens and
        # closes the file, and closing any descriptor of a file drops every POSIX lock
        # this process holds on it, the journal connection's too (then another process
        # may checkpoint under it). Open the journal first, then this store.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.executescript(_SCHEMA)
        return conn

    async def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._executor is None:
            await self.open()
        assert self._executor is not None  # noqa: S101 - set by open()

        def run() -> T:
            if self._conn is None:
                self._conn = self._connect()
            return fn(self._conn)

        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, run)
        except sqlite3.Error as exc:
            raise JournalError(f"shards in {self.path}: {safe_error(exc)}") from None

    async def aclose(self) -> None:
        """Close the file."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(executor, conn.close)
        executor.shutdown(wait=False)

    async def plan(self, update: Update, shards: Sequence[Shard], /) -> bool:
        """Store ``update`` and its ``shards``; False (changing nothing) if already planned."""
        body, now = update.model_dump_json(), self._clock()
        rows = [(s.update_key, s.channel, s.index, s.kind, s.start, s.stop) for s in shards]

        def write(conn: sqlite3.Connection) -> bool:
            with transaction(conn):
                added = conn.execute(
                    "INSERT INTO dist_updates VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (update.key, body, now),
                ).rowcount
                if added:
                    conn.executemany(
                        "INSERT INTO dist_shards (update_key, channel, idx, kind, start, stop) "
                        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        rows,
                    )
                return bool(added)

        return await self._call(write)

    async def update(self, update_key: str, /) -> Update | None:
        """The update a send stored, or None."""
        from .._update import Update  # noqa: PLC0415 - pydantic model, loaded on use

        row = await self._call(
            lambda conn: conn.execute(
                "SELECT body FROM dist_updates WHERE key = ?", (update_key,)
            ).fetchone()
        )
        return None if row is None else Update.model_validate_json(row[0])

    async def claim(self, shard: Shard, /) -> ShardClaim:
        """Take ``shard``'s lease, or say why not (done, or held by a live worker)."""
        key = (shard.update_key, shard.channel, shard.index)

        def take(conn: sqlite3.Connection) -> ShardClaim:
            with transaction(conn):
                row = conn.execute(
                    f"SELECT {_COLUMNS} FROM dist_shards "  # noqa: S608 - constant columns
                    "WHERE update_key = ? AND channel = ? AND idx = ?",
                    key,
                ).fetchone()
                if row is None:
                    raise JournalError(
                        f"no shard {shard.key} in {self.path}: the send was planned in "
                        "another store (check BROADCAST_JOURNAL on the workers)"
                    )
                return self._take(conn, row)

        return await self._call(take)

    async def claim_next(self, update_key: str | None = None, /) -> ShardClaim | None:
        """Take any shard nobody holds (of ``update_key``, or of any send); None if none."""

        def take(conn: sqlite3.Connection) -> ShardClaim | None:
            where, args = "state != 'done'", tuple[str, ...]()
            if update_key is not None:
                where, args = "state != 'done' AND update_key = ?", (update_key,)
            with transaction(conn):
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM dist_shards WHERE {where} "  # noqa: S608 - constants
                    "ORDER BY update_key, channel, idx",
                    args,
                ).fetchall()
                for row in rows:
                    claim = self._take(conn, row)
                    if claim.status == "claimed":
                        return claim
            return None

        return await self._call(take)

    def _take(self, conn: sqlite3.Connection, row: tuple[Any, ...]) -> ShardClaim:
        shard, state, owner, lease_until = _shard(row), row[6], row[7], row[8]
        now = self._clock()
        if state == "done":
            return ShardClaim(shard, "done")
        if state == "running" and owner and holder_alive(owner, lease_until, now):
            return ShardClaim(shard, "busy", owner=owner)
        conn.execute(
            "UPDATE dist_shards SET state = 'running', owner = ?, lease_until = ?, "
            "runs = runs + 1 WHERE update_key = ? AND channel = ? AND idx = ?",
            (self.owner, now + self.lease, shard.update_key, shard.channel, shard.index),
        )
        return ShardClaim(shard, "claimed", owner=self.owner, taken_over=state == "running")

    async def renew(self, claim: ShardClaim, /) -> None:
        """Extend a held lease."""
        s = claim.shard
        args = (self._clock() + self.lease, s.update_key, s.channel, s.index, claim.owner)
        await self._write(
            "UPDATE dist_shards SET lease_until = ? WHERE update_key = ? AND channel = ? "
            "AND idx = ? AND owner = ? AND state = 'running'",
            args,
        )

    async def release(self, claim: ShardClaim, /) -> None:
        """Give a shard back unfinished (another worker takes it)."""
        s = claim.shard
        await self._write(
            "UPDATE dist_shards SET state = 'pending', owner = NULL, lease_until = NULL "
            "WHERE update_key = ? AND channel = ? AND idx = ? AND owner = ? "
            "AND state = 'running'",
            (s.update_key, s.channel, s.index, claim.owner),
        )

    async def _write(self, statement: str, args: tuple[Any, ...]) -> None:
        def run(conn: sqlite3.Connection) -> None:
            with transaction(conn):
                conn.execute(statement, args)

        await self._call(run)

    async def finish(self, claim: ShardClaim, result: Mapping[str, Any], /) -> bool:
        """Record the shard done; True when it was the last unfinished one of its channel."""
        s = claim.shard
        text = json.dumps(dict(result), ensure_ascii=False)

        def run(conn: sqlite3.Connection) -> bool:
            with transaction(conn):
                changed = conn.execute(
                    "UPDATE dist_shards SET state = 'done', result = ?, lease_until = NULL "
                    "WHERE update_key = ? AND channel = ? AND idx = ? AND owner = ? "
                    "AND state = 'running'",
                    (text, s.update_key, s.channel, s.index, claim.owner),
                ).rowcount
                left = conn.execute(
                    "SELECT count(*) FROM dist_shards WHERE update_key = ? AND channel = ? "
                    "AND state != 'done'",
                    (s.update_key, s.channel),
                ).fetchone()[0]
            return bool(changed) and left == 0

        return await self._call(run)

    async def shards(self, update_key: str, /) -> list[ShardRecord]:
        """Every shard of a send, by channel and index."""

        def read(conn: sqlite3.Connection) -> list[ShardRecord]:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM dist_shards WHERE update_key = ? "  # noqa: S608
                "ORDER BY channel, idx",
                (update_key,),
            ).fetchall()
            return [
                ShardRecord(
                    _shard(r),
                    cast("ShardState", r[6]),
                    owner=r[7],
                    runs=r[9],
                    result=json.loads(r[10]) if r[10] else {},
                )
                for r in rows
            ]

        return await self._call(read)

    async def take_tokens(
        self, account: str, /, *, rate: float, capacity: float, want: int
    ) -> tuple[int, float]:
        """Take up to ``want`` tokens of ``account``'s bucket: (granted, seconds to wait if 0).

        The bucket refills at ``rate`` per second up to ``capacity``; every worker on the
        file shares it, so together they never exceed ``rate`` (plus one ``capacity``).
        """

        def run(conn: sqlite3.Connection) -> tuple[int, float]:
            now = self._clock()
            with transaction(conn):
                row = conn.execute(
                    "SELECT tokens, stamp FROM dist_buckets WHERE account = ?", (account,)
                ).fetchone()
                tokens = capacity if row is None else row[0] + max(0.0, now - row[1]) * rate
                tokens = min(capacity, tokens)
                granted = max(0, min(want, math.floor(tokens)))
                tokens -= granted
                conn.execute(
                    "INSERT INTO dist_buckets VALUES (?, ?, ?) ON CONFLICT (account) "
                    "DO UPDATE SET tokens = excluded.tokens, stamp = excluded.stamp",
                    (account, tokens, now),
                )
            return granted, 0.0 if granted else (1.0 - tokens) / rate

        return await self._call(run)


def _shard(row: tuple[Any, ...]) -> Shard:
    return Shard(row[0], row[1], row[2], cast("ShardKind", row[3]), row[4], row[5])
