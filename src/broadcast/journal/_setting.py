"""The journal a ``BROADCAST_JOURNAL`` (or ``[settings] journal``) value names, and where.

``off`` is none; a ``postgresql://`` URL is a ``PostgresJournal`` (shared by workers on
many machines); anything else is an ``SQLiteJournal`` file, the per-user one when
unset. ``location`` is what outputs show: the file, or the URL with its password masked.
"""

from __future__ import annotations

from ._pg_dsn import is_postgres
from ._postgres import PostgresJournal
from ._sqlite import SQLiteJournal
from ._sqlite import journal_from_setting as sqlite_from_setting

__all__ = ["AnyJournal", "exists", "journal_from_setting", "location"]

AnyJournal = SQLiteJournal | PostgresJournal


def journal_from_setting(value: str | None) -> AnyJournal | None:
    """None for ``off``; PostgresJournal for a ``postgresql://`` URL; else an SQLite file."""
    if is_postgres(value):
        assert value is not None  # noqa: S101 - is_postgres(None) is False
        return PostgresJournal(value.strip())
    return sqlite_from_setting(value)


def location(journal: AnyJournal) -> str:
    """The file, or the database URL with its password masked."""
    return journal.where if isinstance(journal, PostgresJournal) else str(journal.path)


def exists(journal: AnyJournal) -> bool:
    """Whether there may be something in it: a file made, or any database (asked on open)."""
    return isinstance(journal, PostgresJournal) or journal.path.exists()
