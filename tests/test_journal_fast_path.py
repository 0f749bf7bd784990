"""SQLiteJournal's hot path: recipient rows written on the loop's thread, never waiting.

A fan-out's batch of rows is written through a second connection on the event loop's
thread when the file is free at that instant; when it is locked (another process, or
the journal's own thread mid-claim), the batch goes to the journal's thread, which
waits for the lock there, and the loop keeps running. That connection never
checkpoints; the journal's thread does, every ``CHECKPOINT_ROWS`` rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest

from broadcast import JournalError, SQLiteJournal
from broadcast.journal import _sqlite

KEY = "0123456789abcdef" * 2
CHANNEL = "sms"


def _rows(path: Path, *, state: str = "delivered", ignore_wal: bool = False) -> int:
    """Rows in ``state``; with ``ignore_wal``, only those checkpointed into the file."""
    target = f"file:{path}?immutable=1" if ignore_wal else f"file:{path}"
    with contextlib.closing(sqlite3.connect(target, uri=True)) as conn:
        (count,) = conn.execute("SELECT COUNT(*) FROM items WHERE state = ?", (state,)).fetchone()
    return int(count)


async def test_an_unlocked_file_is_written_on_the_loop_thread(tmp_path: Path) -> None:
    """No contention: the batch goes through the fast connection, not the thread."""
    journal = SQLiteJournal(tmp_path / "j.db")
    try:
        log = journal.recipients(KEY, CHANNEL)
        await log.resuming()  # opens the journal
        assert journal._fast is not None
        log.sending("+14155550100")
        await log.delivered("+14155550100", "SM1")
        assert journal._unchecked_rows == 2  # both rows, through the fast connection
        assert _rows(journal.path) == 1
    finally:
        await journal.aclose()


async def test_a_locked_file_sends_the_batch_to_the_thread_and_the_loop_runs_on(
    tmp_path: Path,
) -> None:
    """Another writer holds the lock: the commit waits on the thread, not on the loop."""
    journal = SQLiteJournal(tmp_path / "j.db")
    other = None
    try:
        log = journal.recipients(KEY, CHANNEL)
        await log.resuming()
        other = sqlite3.connect(journal.path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # as another process mid-claim would
        durable = asyncio.ensure_future(log.delivered("+14155550100", "SM1"))
        turns = 0
        while turns < 300:  # the loop keeps turning while the row waits for the lock
            await asyncio.sleep(0)
            turns += 1
        assert not durable.done(), "committed through a lock another connection holds"
        assert journal._unchecked_rows == 0  # the fast connection gave way at once
        other.execute("ROLLBACK")
        await asyncio.wait_for(durable, 30)
        assert _rows(journal.path) == 1
    finally:
        if other is not None:
            other.close()
        await journal.aclose()


async def test_rows_written_on_the_loop_thread_are_checkpointed_by_the_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast connection never checkpoints; past CHECKPOINT_ROWS the thread does."""
    monkeypatch.setattr(_sqlite, "CHECKPOINT_ROWS", 50)
    journal = SQLiteJournal(tmp_path / "j.db")
    try:
        log = journal.recipients(KEY, CHANNEL)
        await log.resuming()
        await journal._call(lambda conn: conn.execute("PRAGMA wal_checkpoint(TRUNCATE)"))
        assert _rows(journal.path, ignore_wal=True) == 0  # the tables are in the file
        for i in range(20):
            await log.delivered(f"+1415555{i:04d}", f"SM{i}")
        assert _rows(journal.path) == 20
        assert _rows(journal.path, ignore_wal=True) == 0  # all still in the WAL
        for i in range(20, 60):
            await log.delivered(f"+1415555{i:04d}", f"SM{i}")
        await journal._call(lambda conn: None)  # the thread runs jobs in order
        assert _rows(journal.path, ignore_wal=True) >= 50
    finally:
        await journal.aclose()


async def test_a_write_error_on_the_loop_thread_is_a_journal_error(tmp_path: Path) -> None:
    """Not a lock, a real failure: the fan-out's wait raises JournalError naming the file."""
    journal = SQLiteJournal(tmp_path / "j.db")
    try:
        log = journal.recipients(KEY, CHANNEL)
        await log.resuming()
        assert journal._fast is not None
        journal._fast.execute("PRAGMA query_only = 1")  # every write now fails, not busy
        with pytest.raises(JournalError, match=r"j\.db"):
            await log.delivered("+14155550100", "SM1")
    finally:
        with contextlib.suppress(JournalError):
            await journal.aclose()
