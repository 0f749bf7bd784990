"""SQLiteJournal: the embedded journal, one stdlib sqlite3 file in WAL mode.

Every call runs on one dedicated thread that owns the connection, so a busy disk or a
lock held by another process never blocks the event loop (and the other channels).
One exception, the hot path: a fan-out's batch of recipient rows is written on the
loop's thread through a second connection that never waits (``connect_writer``), when
the file is free at that instant; it is an append to the WAL, with no disk sync. When
the file is locked, the batch goes to the thread as everything else does. The hand-off
to the thread cost more than the write (issue 24: benchmarks/PROFILE.md).
Commits use ``synchronous=NORMAL``: durable across a crash or kill of the process; on
power loss the last commits before it may be lost (see docs/journal.md). The SQL
itself is in ``_sql.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .._errors import InDoubt, JournalError
from .._redact import redact
from . import _sql as sql
from ._batch import BatchWriter, SQLiteRecipients
from ._check import safe_error
from ._lease import new_owner
from ._protocol import Claim, IncidentState, RecipientLog, SendState, UpdateRecord
from ._settle import settle as settle_in
from ._threads import ThreadState

if TYPE_CHECKING:
    from .._report import Receipt
    from .._update import Update

__all__ = [
    "LEASE_SECONDS",
    "SQLiteJournal",
    "default_journal",
    "default_journal_path",
    "journal_from_setting",
]

CHECKPOINT_ROWS = 4000
"""Rows written on the loop's thread between checkpoints (roughly SQLite's own 1,000
WAL pages), which the journal's thread then runs."""
LEASE_SECONDS = 60.0
"""How long a claim holds without renewal; a live sender renews it every third of that."""

T = TypeVar("T")


def default_journal_path() -> Path:
    """The per-user journal: ``journal.db`` in the platform's state directory for broadcast.

    ``$XDG_STATE_HOME/broadcast/journal.db`` on Linux (``~/.local/state/...`` when unset),
    ``~/Library/Application Support/broadcast/journal.db`` on macOS, and
    and under ``%LOCALAPPDATA%`` on Windows (platformdirs decides).
    One file per user, whatever directory a command runs from.
    """
    from platformdirs import user_state_path  # noqa: PLC0415 - only when a journal is made

    return user_state_path("broadcast", appauthor=False) / "journal.db"


def default_journal(path: str | os.PathLike[str] | None = None) -> SQLiteJournal:
    """``SQLiteJournal`` at ``path``, else ``$BROADCAST_JOURNAL``, else the per-user journal."""
    chosen = path or os.environ.get("BROADCAST_JOURNAL") or default_journal_path()
    return SQLiteJournal(Path(chosen).expanduser())


def journal_from_setting(value: str | None) -> SQLiteJournal | None:
    """The journal a ``BROADCAST_JOURNAL`` value names: None for ``off``, else a file.

    Unset (None) means the per-user journal, ``default_journal_path()``; a relative
    path is taken from the working directory, and shown absolute.
    """
    if value is not None and value.strip().lower() == "off":
        return None
    return SQLiteJournal(Path(value).expanduser().absolute() if value else default_journal_path())


class SQLiteJournal:
    """A Journal in one SQLite file; safe to share between processes on one machine.

    ``path`` is created (mode 0600: it holds recipient addresses; a missing directory
    is made with mode 0700) with its tables on first use. Without ``path``, it is the
    per-user journal the command uses (``default_journal_path()``). ``lease`` is how
    long a claim holds unrenewed; ``clock`` (seconds since the epoch) is injectable for
    tests.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        lease: float = LEASE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path) if path is not None else default_journal_path()
        self.lease = lease
        self.owner = new_owner()
        """``host:pid:token``, written on every claim and pending mark this journal makes."""
        self._clock = clock
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._connecting: Future[None] | None = None
        self._closed: JournalError | None = None
        self._fast: sqlite3.Connection | None = None
        """``connect_writer``'s connection, used on the loop's thread only."""
        self._unchecked_rows = 0
        """Rows written through ``_fast`` since the last checkpoint was asked for."""
        self._checkpointing = False
        self._writer = BatchWriter(
            self._call,
            lambda exc: f"{self.path}: {safe_error(exc)}",
            commit_here=self._commit_here,
        )

    def __repr__(self) -> str:
        return f"SQLiteJournal({str(self.path)!r})"

    async def open(self) -> None:
        """Create or check the file; ``JournalError`` names it and what is wrong."""
        if self._closed is not None:
            raise self._closed
        if self._conn is not None and self._connecting is not None and self._connecting.done():
            return  # open already: no future to wrap, no loop wake-up
        if self._connecting is None:
            # Submitted before any other call: the one thread runs them in order.
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="broadcast-journal")
            self._connecting = self._executor.submit(self._connect)
        try:
            await asyncio.wrap_future(self._connecting)
        except JournalError as exc:
            self._closed = exc
            if self._executor is not None:
                self._executor.shutdown(wait=False)
            raise

    def _connect(self) -> None:
        self._conn = sql.connect(self.path)
        try:
            self._fast = sql.connect_writer(self.path)
        except sqlite3.Error:
            self._fast = None  # every batch goes to the thread, as before

    def _commit_here(self, rows: list[tuple[Any, ...]]) -> bool:
        """Write ``rows`` now on the loop's thread; False if the file is not free at once."""
        fast = self._fast
        if fast is None or self._conn is None:
            return False
        try:
            sql.upsert_items(fast, rows)
        except sqlite3.Error as exc:
            if sql.busy(exc):
                return False
            raise
        self._unchecked_rows += len(rows)
        if self._unchecked_rows >= CHECKPOINT_ROWS and not self._checkpointing:
            self._unchecked_rows = 0
            self._checkpoint_soon()
        return True

    def _checkpoint_soon(self) -> None:
        """Ask the thread to checkpoint the WAL (the fast connection never does)."""
        executor = self._executor
        if executor is None:
            return
        self._checkpointing = True

        def run() -> None:
            try:
                if self._conn is not None:
                    sql.checkpoint(self._conn)
            except sqlite3.Error:
                pass  # the next one, or closing the file, checkpoints instead
            finally:
                self._checkpointing = False

        executor.submit(run)

    async def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        await self.open()
        assert self._executor is not None  # noqa: S101 - set by open()

        def run() -> T:
            assert self._conn is not None  # noqa: S101 - set by open()
            return fn(self._conn)

        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, run)
        except (sqlite3.Error, ValueError) as exc:
            # ValueError: a stored time or id list that no longer parses. Neither error
            # is quoted with its row: a damaged row's bytes are not for a terminal.
            raise JournalError(f"journal {self.path}: {_unreadable(exc)}") from None

    async def aclose(self) -> None:
        """Commit what is queued, then close the file."""
        if self._executor is None or self._conn is None:
            return
        try:
            await self._writer.drain()
        finally:
            conn, self._conn = self._conn, None
            fast, self._fast = self._fast, None
            executor, self._executor = self._executor, None
            loop = asyncio.get_running_loop()
            if fast is not None:
                await loop.run_in_executor(executor, fast.close)
            await loop.run_in_executor(executor, conn.close)  # the last: it checkpoints
            executor.shutdown(wait=False)
            self._closed = JournalError(f"journal {self.path} is closed")

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
            sql.stamp(update.created_at),
            sql.stamp(promise) if promise else None,
            self._clock(),
            json.dumps(update.to_document(), ensure_ascii=False, separators=(",", ":")),
        )
        await self._call(lambda conn: sql.record_update(conn, row))

    async def superseded_by(self, update: Update, /) -> str | None:
        """The key of a later ``resolved`` update of the same incident, if any."""
        args = (update.incident, sql.stamp(update.created_at), update.key)
        return await self._call(lambda conn: sql.superseding(conn, *args))

    async def claim(self, update: Update, channel: str, /) -> Claim:
        """Take the lease to send ``update`` on ``channel``, or say why not."""
        want = Claim(update.key, channel, "claimed", owner=self.owner)
        incident = (update.incident, sql.stamp(update.created_at), update.key)
        now = self._clock()
        until = now + self.lease
        return await self._call(
            lambda conn: sql.take(conn, want, incident=incident, now=now, until=until)
        )

    async def renew(self, claim: Claim, /) -> None:
        """Extend a held lease."""
        args = (self._clock() + self.lease, claim.update_key, claim.channel, claim.owner)
        statement = (
            "UPDATE sends SET lease_until = ? "
            "WHERE update_key = ? AND channel = ? AND owner = ? AND state = 'sending'"
        )
        await self._call(lambda conn: sql.write(conn, statement, args))

    async def finish(self, claim: Claim, state: SendState, receipt: Receipt, /) -> None:
        """Store the outcome and release the lease."""
        await self._writer.drain()
        rejected = len(receipt.rejected) if receipt.accepted is not None else None
        reason = redact(receipt.reason) if receipt.reason else None
        outcome = (state, json.dumps(list(receipt.ids)), reason, receipt.attempts)
        args = (*outcome, receipt.accepted, rejected, self._clock(), *_held(claim))
        statement = (
            "UPDATE sends SET state = ?, ids = ?, reason = ?, attempts = ?, accepted = ?, "
            "rejected = ?, finished_at = ?, lease_until = NULL "
            "WHERE update_key = ? AND channel = ? AND owner = ?"
        )
        await self._call(lambda conn: sql.write(conn, statement, args))

    async def release(self, claim: Claim, receipt: Receipt | None = None, /) -> None:
        """Give up a lease leaving the send in doubt (cancelled, or cut off unanswered).

        The next run finds it ``in_doubt``; ``receipt`` (if any) says what happened.
        """
        await self._writer.drain()
        reason = redact(receipt.reason) if receipt and receipt.reason else None
        said = (reason, receipt.attempts) if receipt is not None else (None, 0)
        statement = (
            "UPDATE sends SET lease_until = NULL, reason = ?, attempts = ?, finished_at = ? "
            "WHERE update_key = ? AND channel = ? AND owner = ?"
        )
        args = (*said, self._clock(), *_held(claim))
        await self._call(lambda conn: sql.write(conn, statement, args))

    def recipients(self, update_key: str, channel: str, /) -> RecipientLog:
        """The per-recipient log of one fan-out."""
        return SQLiteRecipients(
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
        args = (update_key, channel, sql.part(index), self.owner)
        statement = (
            "DELETE FROM items WHERE update_key = ? AND channel = ? AND item = ? "
            "AND state = 'pending' AND owner = ?"
        )
        await self._call(lambda conn: sql.write(conn, statement, args))

    async def record_part(
        self, channel: str, incident: str, update_key: str, index: int, post_id: str, /
    ) -> None:
        """Remember part ``index`` as ``post_id``; the incident's thread follows."""
        row = self._part_row(channel, update_key, index, "delivered", post_id)
        await self._call(lambda conn: sql.record_part(conn, row, incident))

    def _part_row(
        self, channel: str, update_key: str, index: int, state: str, post_id: str | None
    ) -> tuple[Any, ...]:
        item = sql.part(index)
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

        ``part`` names one part of a thread (as the in-doubt message says); None means
        the whole channel. ``JournalError`` if that is not in doubt (a misspelled
        channel, a send already delivered): it says why, and what can be settled.
        """
        owner, now = self.owner, self._clock()
        await self._call(
            lambda conn: settle_in(
                conn, update_key, channel, index=part, post_id=post_id, owner=owner, now=now
            )
        )

    # -- reading ------------------------------------------------------------------------

    async def history(self, incident: str, /) -> list[UpdateRecord]:
        """The incident's updates in order, each with its per-channel outcome."""
        return await self._call(lambda conn: sql.history(conn, incident))

    async def incidents(self) -> list[IncidentState]:
        """Every incident, with the status of its latest update."""
        return await self._call(sql.incidents)


def _unreadable(exc: BaseException) -> str:
    if isinstance(exc, sqlite3.Error):
        return safe_error(exc)
    return (
        "a row cannot be read back (the file may be damaged); check it with "
        "sqlite3 FILE 'PRAGMA integrity_check'"
    )


def _held(claim: Claim) -> tuple[str, str, str]:
    return (claim.update_key, claim.channel, claim.owner)
