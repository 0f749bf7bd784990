"""PostgresShards: the shard store in the PostgreSQL journal's database, for many machines.

Tables sit in the journal's ``broadcast`` schema, made (if missing) on open under the
journal's migration lock. A worker takes a shard with ``SELECT ... FOR UPDATE SKIP
LOCKED``: two workers asking at once get different shards and never wait on each
other. A holder's lease expires after ``lease`` seconds unrenewed; on the holder's own
host a dead process gives its shard up at once. Rate buckets are rows locked for the
few microseconds of a take.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from .._errors import JournalError
from .._redact import redact
from ..journal._check import safe_error
from ..journal._lease import holder_alive, new_owner
from ..journal._pg_dsn import masked
from ..journal._pg_schema import migrate
from ._shards import Shard, ShardClaim, ShardKind, ShardRecord, ShardState
from ._sqlite import SHARD_LEASE

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg_pool import AsyncConnectionPool

    from .._update import Update

__all__ = ["PostgresShards"]

T = TypeVar("T")
Row = tuple[Any, ...]
_LOCK = 0x62726F6164  # the journal's migration lock
_SCHEMA = """
CREATE TABLE IF NOT EXISTS broadcast.dist_updates (
    key text PRIMARY KEY, body text NOT NULL, planned_at double precision NOT NULL
);
CREATE TABLE IF NOT EXISTS broadcast.dist_shards (
    update_key text NOT NULL, channel text NOT NULL, idx integer NOT NULL,
    kind text NOT NULL, start bigint NOT NULL, stop bigint NOT NULL,
    state text NOT NULL DEFAULT 'pending', owner text, lease_until double precision,
    runs integer NOT NULL DEFAULT 0, result text,
    PRIMARY KEY (update_key, channel, idx)
);
CREATE INDEX IF NOT EXISTS dist_shards_open ON broadcast.dist_shards (state, update_key);
CREATE TABLE IF NOT EXISTS broadcast.dist_buckets (
    account text PRIMARY KEY, tokens double precision NOT NULL, stamp double precision NOT NULL
);
"""
_COLUMNS = "update_key, channel, idx, kind, start, stop, state, owner, lease_until, runs, result"
_KEY = "update_key = %s AND channel = %s AND idx = %s"


class PostgresShards:
    """A ``ShardStore`` in the PostgreSQL database ``dsn`` (the journal's).

    ``lease`` is how long a claim holds unrenewed; ``clock`` (seconds since the epoch)
    is injectable for tests. The password is never shown (``where`` is masked).
    """

    def __init__(
        self,
        dsn: str,
        *,
        lease: float = SHARD_LEASE,
        clock: Callable[[], float] = time.time,
        pool_size: int = 2,
    ) -> None:
        self._dsn = dsn
        self.where = masked(dsn)
        self.lease = lease
        self.owner = new_owner()
        self._clock = clock
        self._pool_size = pool_size
        self._pool: AsyncConnectionPool[AsyncConnection[Row]] | None = None
        self._opening = asyncio.Lock()

    def __repr__(self) -> str:
        return f"PostgresShards({self.where!r})"

    async def open(self) -> None:
        """Connect; create the journal's schema and the shard tables if missing."""
        async with self._opening:
            if self._pool is not None:
                return
            import psycopg  # noqa: PLC0415 - the postgres extra, only when used
            from psycopg_pool import AsyncConnectionPool  # noqa: PLC0415

            try:
                async with await psycopg.AsyncConnection.connect(
                    self._dsn, autocommit=True
                ) as conn:
                    await migrate(conn, self.where)
                    async with conn.transaction():
                        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
                        await conn.execute(_SCHEMA.encode())
                pool: AsyncConnectionPool[AsyncConnection[Row]] = AsyncConnectionPool(
                    self._dsn,
                    min_size=1,
                    max_size=self._pool_size,
                    kwargs={"autocommit": True, "prepare_threshold": None},
                    open=False,
                )
                await pool.open(wait=True)
            except psycopg.Error as exc:
                raise JournalError(f"shards in {self._describe(exc)}") from None
            self._pool = pool

    def _describe(self, exc: BaseException) -> str:
        first = safe_error(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return redact(f"{self.where}: {first}")

    async def _tx(self, fn: Callable[[AsyncConnection[Row]], Awaitable[T]]) -> T:
        """``fn`` in one transaction."""
        await self.open()
        assert self._pool is not None  # noqa: S101 - set by open()
        import psycopg  # noqa: PLC0415

        try:
            async with self._pool.connection() as conn, conn.transaction():
                return await fn(conn)
        except psycopg.Error as exc:
            raise JournalError(f"shards in {self._describe(exc)}") from None

    async def aclose(self) -> None:
        """Close the pool."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def plan(self, update: Update, shards: Sequence[Shard], /) -> bool:
        """Store ``update`` and its ``shards``; False (changing nothing) if already planned."""
        body, now = update.model_dump_json(), self._clock()
        rows = [(s.update_key, s.channel, s.index, s.kind, s.start, s.stop) for s in shards]

        async def write(conn: AsyncConnection[Row]) -> bool:
            cursor = await conn.execute(
                "INSERT INTO broadcast.dist_updates VALUES (%s, %s, %s) "
                "ON CONFLICT DO NOTHING RETURNING key",
                (update.key, body, now),
            )
            if await cursor.fetchone() is None:
                return False
            async with conn.cursor() as many:
                await many.executemany(
                    "INSERT INTO broadcast.dist_shards "
                    "(update_key, channel, idx, kind, start, stop) "
                    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    rows,
                )
            return True

        return await self._tx(write)

    async def update(self, update_key: str, /) -> Update | None:
        """The update a send stored, or None."""
        from .._update import Update  # noqa: PLC0415

        async def read(conn: AsyncConnection[Row]) -> Row | None:
            cursor = await conn.execute(
                "SELECT body FROM broadcast.dist_updates WHERE key = %s", (update_key,)
            )
            return await cursor.fetchone()

        row = await self._tx(read)
        return None if row is None else Update.model_validate_json(row[0])

    async def claim(self, shard: Shard, /) -> ShardClaim:
        """Take ``shard``'s lease, or say why not (done, or held by a live worker)."""
        key = (shard.update_key, shard.channel, shard.index)

        async def take(conn: AsyncConnection[Row]) -> ShardClaim:
            cursor = await conn.execute(
                f"SELECT {_COLUMNS} FROM broadcast.dist_shards WHERE {_KEY} FOR UPDATE",  # noqa: S608 - constants
                key,
            )
            row = await cursor.fetchone()
            if row is None:
                raise JournalError(
                    f"no shard {shard.key} in {self.where}: the send was planned in another "
                    "store (check BROADCAST_JOURNAL on the workers)"
                )
            return await self._take(conn, row)

        return await self._tx(take)

    async def claim_next(self, update_key: str | None = None, /) -> ShardClaim | None:
        """Take a shard nobody holds, skipping rows other workers have locked."""
        only, args = ("AND update_key = %s", (update_key,)) if update_key else ("", ())

        async def take(conn: AsyncConnection[Row]) -> ShardClaim | None:
            free = (
                f"SELECT {_COLUMNS} FROM broadcast.dist_shards "  # noqa: S608 - constants
                "WHERE (state = 'pending' OR (state = 'running' AND lease_until < %s)) "
                f"{only} ORDER BY update_key, channel, idx LIMIT 1 FOR UPDATE SKIP LOCKED"
            )
            cursor = await conn.execute(free, (self._clock(), *args))
            row = await cursor.fetchone()
            if row is not None:
                return await self._take(conn, row)
            held = (
                f"SELECT {_COLUMNS} FROM broadcast.dist_shards "  # noqa: S608 - constants
                f"WHERE state = 'running' {only} ORDER BY update_key, channel, idx "
                "FOR UPDATE SKIP LOCKED"
            )
            cursor = await conn.execute(held, args)
            for row in await cursor.fetchall():  # a holder on this host whose process died
                claim = await self._take(conn, row)
                if claim.status == "claimed":
                    return claim
            return None

        return await self._tx(take)

    async def _take(self, conn: AsyncConnection[Row], row: Row) -> ShardClaim:
        shard, state, owner, lease_until = _shard(row), row[6], row[7], row[8]
        now = self._clock()
        if state == "done":
            return ShardClaim(shard, "done")
        if state == "running" and owner and holder_alive(owner, lease_until, now):
            return ShardClaim(shard, "busy", owner=owner)
        await conn.execute(
            "UPDATE broadcast.dist_shards SET state = 'running', owner = %s, "
            "lease_until = %s, runs = runs + 1 WHERE update_key = %s AND channel = %s AND idx = %s",
            (self.owner, now + self.lease, shard.update_key, shard.channel, shard.index),
        )
        return ShardClaim(shard, "claimed", owner=self.owner, taken_over=state == "running")

    async def _write(self, statement: str, args: tuple[Any, ...]) -> None:
        async def run(conn: AsyncConnection[Row]) -> None:
            await conn.execute(statement.encode(), args)

        await self._tx(run)

    async def renew(self, claim: ShardClaim, /) -> None:
        """Extend a held lease."""
        s = claim.shard
        await self._write(
            "UPDATE broadcast.dist_shards SET lease_until = %s WHERE update_key = %s "
            "AND channel = %s AND idx = %s AND owner = %s AND state = 'running'",
            (self._clock() + self.lease, s.update_key, s.channel, s.index, claim.owner),
        )

    async def release(self, claim: ShardClaim, /) -> None:
        """Give a shard back unfinished (another worker takes it)."""
        s = claim.shard
        await self._write(
            "UPDATE broadcast.dist_shards SET state = 'pending', owner = NULL, "
            "lease_until = NULL WHERE update_key = %s AND channel = %s AND idx = %s "
            "AND owner = %s AND state = 'running'",
            (s.update_key, s.channel, s.index, claim.owner),
        )

    async def finish(self, claim: ShardClaim, result: Mapping[str, Any], /) -> bool:
        """Record the shard done; True when it was the last unfinished one of its channel."""
        s = claim.shard
        text = json.dumps(dict(result), ensure_ascii=False)

        async def run(conn: AsyncConnection[Row]) -> bool:
            # The channel's rows locked in one order, so two last finishers serialise.
            await conn.execute(
                "SELECT 1 FROM broadcast.dist_shards WHERE update_key = %s AND channel = %s "
                "ORDER BY idx FOR UPDATE",
                (s.update_key, s.channel),
            )
            cursor = await conn.execute(
                "UPDATE broadcast.dist_shards SET state = 'done', result = %s, "
                "lease_until = NULL WHERE update_key = %s AND channel = %s AND idx = %s "
                "AND owner = %s AND state = 'running'",
                (text, s.update_key, s.channel, s.index, claim.owner),
            )
            changed = cursor.rowcount
            cursor = await conn.execute(
                "SELECT count(*) FROM broadcast.dist_shards WHERE update_key = %s "
                "AND channel = %s AND state != 'done'",
                (s.update_key, s.channel),
            )
            left = (await cursor.fetchone() or (1,))[0]
            return bool(changed) and left == 0

        return await self._tx(run)

    async def shards(self, update_key: str, /) -> list[ShardRecord]:
        """Every shard of a send, by channel and index."""

        async def read(conn: AsyncConnection[Row]) -> list[Row]:
            cursor = await conn.execute(
                f"SELECT {_COLUMNS} FROM broadcast.dist_shards WHERE update_key = %s "  # noqa: S608
                "ORDER BY channel, idx",
                (update_key,),
            )
            return await cursor.fetchall()

        return [
            ShardRecord(
                _shard(r),
                cast("ShardState", r[6]),
                owner=r[7],
                runs=r[9],
                result=json.loads(r[10]) if r[10] else {},
            )
            for r in await self._tx(read)
        ]

    async def take_tokens(
        self, account: str, /, *, rate: float, capacity: float, want: int
    ) -> tuple[int, float]:
        """Take up to ``want`` tokens of ``account``'s bucket (a row locked for the take)."""

        async def run(conn: AsyncConnection[Row]) -> tuple[int, float]:
            now = self._clock()
            await conn.execute(
                "INSERT INTO broadcast.dist_buckets VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                (account, capacity, now),
            )
            cursor = await conn.execute(
                "SELECT tokens, stamp FROM broadcast.dist_buckets WHERE account = %s FOR UPDATE",
                (account,),
            )
            tokens, stamp = await cursor.fetchone() or (capacity, now)
            tokens = min(capacity, tokens + max(0.0, now - stamp) * rate)
            granted = max(0, min(want, math.floor(tokens)))
            tokens -= granted
            await conn.execute(
                "UPDATE broadcast.dist_buckets SET tokens = %s, stamp = %s WHERE account = %s",
                (tokens, now, account),
            )
            return granted, 0.0 if granted else (1.0 - tokens) / rate

        return await self._tx(run)


def _shard(row: Row) -> Shard:
    return Shard(row[0], row[1], row[2], cast("ShardKind", row[3]), row[4], row[5])
