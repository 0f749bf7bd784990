"""PostgresJournal: the journal in a PostgreSQL database, shared by many workers.

The same Journal contract as ``SQLiteJournal`` (``docs/journal.md``), for processes on
many machines: psycopg 3's async driver with a ``psycopg_pool`` of connections (it
also works behind PgBouncer). Claims are ``INSERT ... ON CONFLICT`` plus a row lock
(``_pg_sql.take``); leases expire, so a dead worker's send is taken over; recipient
rows are group-committed by the same ``BatchWriter`` as SQLite's, one ``unnest``
statement per batch. The schema is made by the library (``_pg_schema``).

psycopg is imported on ``open``, never with ``broadcast``: ``pip install
'broadcast-crisis[postgres]'`` when it is missing, as the error says.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from .._errors import InDoubt, JournalError
from .._redact import redact
from . import _pg_sql as sql
from ._batch import BatchWriter, SQLiteRecipients
from ._check import safe_error
from ._lease import new_owner
from ._pg_dsn import masked
from ._pg_schema import migrate
from ._pg_settle import settle as settle_in
from ._protocol import Claim, IncidentState, ItemRecord, RecipientLog, SendState, UpdateRecord
from ._sql import part, stamp
from ._sqlite import LEASE_SECONDS
from ._threads import ThreadState

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg_pool import AsyncConnectionPool

    from .._report import Receipt
    from .._update import Update

__all__ = ["PostgresJournal"]

T = TypeVar("T")
Row = tuple[Any, ...]
INSTALL = "PostgresJournal needs psycopg: pip install 'broadcast-crisis[postgres]'"


async def _never(_: object) -> Any:
    """BatchWriter's and SQLiteRecipients' SQLite hook, never called here."""
    raise AssertionError("PostgresJournal commits through BatchWriter(commit=...)")


class PostgresJournal:
    """A Journal in a PostgreSQL database: ``postgresql://user:password@host/db``.

    ``dsn`` is a libpq URL or key=value string; its password never appears in a repr,
    log, error or report (``where`` is the masked form). Tables are created in schema
    ``broadcast`` on first ``open``. ``lease`` is how long a claim holds unrenewed;
    ``clock`` (seconds since the epoch) is injectable for tests; ``pool_size`` bounds
    this process's connections.
    """

    def __init__(
        self,
        dsn: str,
        *,
        lease: float = LEASE_SECONDS,
        clock: Callable[[], float] = time.time,
        pool_size: int = 4,
        connect_timeout: float = 10.0,
    ) -> None:
        self._dsn = dsn
        self.where = masked(dsn)
        """The database, password masked: what outputs show."""
        self.lease = lease
        self.owner = new_owner()
        """``host:pid:token``, written on every claim and pending mark this journal makes."""
        self._clock = clock
        self._pool_size = pool_size
        self._timeout = connect_timeout
        self._pool: AsyncConnectionPool[AsyncConnection[Row]] | None = None
        self._opening = asyncio.Lock()
        self._closed: JournalError | None = None
        self._writer = BatchWriter(_never, self._describe, commit=self._commit)

    def __repr__(self) -> str:
        return f"PostgresJournal({self.where!r})"

    def _describe(self, exc: BaseException) -> str:
        first = safe_error(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"{self.where}: {redact(first)}"  # where is masked already

    # -- connections ---------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, and create or check the schema; ``JournalError`` says what is wrong."""
        if self._closed is not None:
            raise self._closed
        async with self._opening:
            if self._pool is not None:
                return
            try:
                import psycopg  # noqa: PLC0415 - the postgres extra, only when used
                from psycopg_pool import AsyncConnectionPool  # noqa: PLC0415
            except ImportError:
                raise JournalError(INSTALL) from None
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._dsn, autocommit=True, connect_timeout=max(1, round(self._timeout))
                ) as conn:
                    await migrate(conn, self.where)
                pool: AsyncConnectionPool[AsyncConnection[Row]] = AsyncConnectionPool(
                    self._dsn,
                    min_size=1,
                    max_size=self._pool_size,
                    # No server-side prepared statements: session state that a
                    # transaction-mode PgBouncer (before 1.21) would not keep.
                    kwargs={"autocommit": True, "prepare_threshold": None},
                    timeout=self._timeout,
                    open=False,
                )
                await pool.open(wait=True, timeout=self._timeout)
            except JournalError as exc:
                self._closed = exc
                raise
            except psycopg.Error as exc:
                raise JournalError(
                    f"cannot open journal {self._describe(exc)}; check the database, or set "
                    "BROADCAST_JOURNAL to another one; nothing was sent"
                ) from None
            self._pool = pool

    async def _call(self, fn: Callable[[AsyncConnection[Row]], Awaitable[T]]) -> T:
        await self.open()
        assert self._pool is not None  # noqa: S101 - set by open()
        import psycopg  # noqa: PLC0415 - imported by open()

        try:
            async with self._pool.connection() as conn:
                return await fn(conn)
        except psycopg.Error as exc:
            raise JournalError(f"journal {self._describe(exc)}") from None

    async def _commit(self, rows: list[Row]) -> None:
        await self._call(lambda conn: sql.upsert_items(conn, rows))

    async def _write(self, statement: bytes, args: tuple[Any, ...]) -> None:
        async def run(conn: AsyncConnection[Row]) -> None:
            await conn.execute(statement, args)

        await self._call(run)

    async def aclose(self) -> None:
        """Commit what is queued, then close the pool."""
        if self._pool is None:
            return
        try:
            await self._writer.drain()
        finally:
            pool, self._pool = self._pool, None
            await pool.close()
            self._closed = JournalError(f"journal {self.where} is closed")

    # -- updates and claims --------------------------------------------------------------

    async def record_update(self, update: Update, /) -> None:
        """Add ``update`` to its incident's timeline (a no-op if already there)."""
        promise = update.next_update_at
        row = (
            update.key,
            update.incident,
            str(update.status),
            str(update.severity),
            update.title,
            stamp(update.created_at),
            stamp(promise) if promise else None,
            self._clock(),
            # The whole update, for the status page (as the SQLite journal keeps it).
            json.dumps(update.to_document(), ensure_ascii=False, separators=(",", ":")),
        )
        await self._write(
            b"INSERT INTO broadcast.updates VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
            b"ON CONFLICT (key) DO NOTHING",
            row,
        )

    async def superseded_by(self, update: Update, /) -> str | None:
        """The key of a later ``resolved`` update of the same incident, if any."""
        args = (update.incident, stamp(update.created_at), update.key)
        return await self._call(lambda conn: sql.superseding(conn, *args))

    async def claim(self, update: Update, channel: str, /) -> Claim:
        """Take the lease to send ``update`` on ``channel``, or say why not."""
        want = Claim(update.key, channel, "claimed", owner=self.owner)
        incident = (update.incident, stamp(update.created_at), update.key)
        now = self._clock()
        until = now + self.lease
        return await self._call(
            lambda conn: sql.take(conn, want, incident=incident, now=now, until=until)
        )

    async def renew(self, claim: Claim, /) -> None:
        """Extend a held lease."""
        await self._write(
            b"UPDATE broadcast.sends SET lease_until = %s "
            b"WHERE update_key = %s AND channel = %s AND owner = %s AND state = 'sending'",
            (self._clock() + self.lease, *_held(claim)),
        )

    async def finish(self, claim: Claim, state: SendState, receipt: Receipt, /) -> None:
        """Store the outcome and release the lease."""
        await self._writer.drain()
        rejected = len(receipt.rejected) if receipt.accepted is not None else None
        reason = redact(receipt.reason) if receipt.reason else None
        outcome = (state, json.dumps(list(receipt.ids)), reason, receipt.attempts)
        await self._write(
            b"UPDATE broadcast.sends SET state = %s, ids = %s, reason = %s, attempts = %s, "
            b"accepted = %s, rejected = %s, finished_at = %s, lease_until = NULL "
            b"WHERE update_key = %s AND channel = %s AND owner = %s",
            (*outcome, receipt.accepted, rejected, self._clock(), *_held(claim)),
        )

    async def release(self, claim: Claim, receipt: Receipt | None = None, /) -> None:
        """Give up a lease leaving the send in doubt (cancelled, or cut off unanswered)."""
        await self._writer.drain()
        reason = redact(receipt.reason) if receipt and receipt.reason else None
        said = (reason, receipt.attempts) if receipt is not None else (None, 0)
        await self._write(
            b"UPDATE broadcast.sends SET lease_until = NULL, reason = %s, attempts = %s, "
            b"finished_at = %s WHERE update_key = %s AND channel = %s AND owner = %s",
            (*said, self._clock(), *_held(claim)),
        )

    def recipients(self, update_key: str, channel: str, /) -> RecipientLog:
        """The per-recipient log of one fan-out."""
        return PostgresRecipients(
            self._call,
            self._writer,
            update_key=update_key,
            channel=channel,
            owner=self.owner,
            clock=self._clock,
        )

    # -- threads (the ThreadStore methods) ---------------------------------------------

    async def thread(self, channel: str, incident: str, /) -> ThreadState:
        """Where ``incident`` stands on ``channel``."""
        return await self._call(lambda conn: sql.thread(conn, channel, incident))

    async def posted_parts(self, channel: str, update_key: str, /) -> list[str]:
        """Ids of the parts of this update already posted, in order."""
        return await self._call(lambda conn: sql.posted_parts(conn, channel, update_key))

    async def start_part(self, channel: str, update_key: str, index: int, /) -> None:
        """Mark part ``index`` pending (durably); ``InDoubt`` if a stopped run left it so."""
        row = self._part_row(channel, update_key, index, "pending", None)
        if (stopped := await self._call(lambda conn: sql.start_part(conn, row))) is not None:
            raise InDoubt(
                f"part {index + 1} was being posted by a run that stopped ({stopped}); it may "
                "or may not be up. Check the account, then call journal.settle("
                f"{update_key!r}, {channel!r}, part={index}, post_id=<its id, or None to "
                f"post it again>), or run: broadcast settle {update_key} {channel} "
                f"--part {index} --post-id ID (or --resend)"
            )

    async def abandon_part(self, channel: str, update_key: str, index: int, /) -> None:
        """The provider refused part ``index``: drop this run's pending mark."""
        await self._write(
            b"DELETE FROM broadcast.items WHERE update_key = %s AND channel = %s AND item = %s "
            b"AND state = 'pending' AND owner = %s",
            (update_key, channel, part(index), self.owner),
        )

    async def record_part(
        self, channel: str, incident: str, update_key: str, index: int, post_id: str, /
    ) -> None:
        """Remember part ``index`` as ``post_id``; the incident's thread follows."""
        row = self._part_row(channel, update_key, index, "delivered", post_id)
        await self._call(lambda conn: sql.record_part(conn, row, incident))

    def _part_row(
        self, channel: str, update_key: str, index: int, state: str, post_id: str | None
    ) -> Row:
        item = part(index)
        return (update_key, channel, item, state, post_id, None, None, 0, self.owner, self._clock())

    async def settle(
        self,
        update_key: str,
        channel: str,
        /,
        *,
        part: int | None = None,
        post_id: str | None = None,
    ) -> None:
        """Resolve a send left in doubt: ``post_id`` if it got there, None to send it again.

        ``JournalError`` if that is not in doubt, saying why and what can be settled.
        """
        owner, now = self.owner, self._clock()

        async def run(conn: AsyncConnection[Row]) -> None:
            async with conn.transaction():
                await settle_in(
                    conn, update_key, channel, index=part, post_id=post_id, owner=owner, now=now
                )

        await self._call(run)

    # -- reading ------------------------------------------------------------------------

    async def history(self, incident: str, /) -> list[UpdateRecord]:
        """The incident's updates in order, each with its per-channel outcome."""
        return await self._call(lambda conn: sql.history(conn, incident))

    async def incidents(self) -> list[IncidentState]:
        """Every incident, with the status of its latest update."""
        return await self._call(sql.incidents)


class PostgresRecipients(SQLiteRecipients):
    """A RecipientLog over ``broadcast.items``: SQLite's rows, PostgreSQL's reads."""

    def __init__(
        self,
        call: Callable[[Callable[[AsyncConnection[Row]], Awaitable[Any]]], Awaitable[Any]],
        writer: BatchWriter,
        *,
        update_key: str,
        channel: str,
        owner: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            _never, writer, update_key=update_key, channel=channel, owner=owner, clock=clock
        )
        self._pg = call

    async def resuming(self) -> bool:
        """Whether an earlier run wrote rows for this fan-out."""

        async def query(conn: AsyncConnection[Row]) -> bool:
            cursor = await conn.execute(
                "SELECT 1 FROM broadcast.items WHERE update_key = %s AND channel = %s LIMIT 1",
                (self._key, self._channel),
            )
            return await cursor.fetchone() is not None

        return bool(await self._pg(query))

    async def settled(self, recipients: Sequence[str], /) -> dict[str, ItemRecord]:
        """The rows an earlier run left for any of ``recipients``."""

        async def query(conn: AsyncConnection[Row]) -> dict[str, ItemRecord]:
            cursor = await conn.execute(
                "SELECT item, state, provider_id, reason, code, permanent FROM broadcast.items "
                "WHERE update_key = %s AND channel = %s AND item = ANY(%s::text[])",
                (self._key, self._channel, list(recipients)),
            )
            rows = await cursor.fetchall()
            return {r[0]: ItemRecord(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows}

        found: dict[str, ItemRecord] = await self._pg(query)
        return found


def _held(claim: Claim) -> tuple[str, str, str]:
    return (claim.update_key, claim.channel, claim.owner)
