"""The delivery journal: what was sent where, so nothing is lost and nothing sent twice.

``Journal`` is the contract (``_protocol.py``), ``SQLiteJournal`` the embedded default
(``_sqlite.py`` over ``_sql.py``, with batching in ``_batch.py``, leases in
``_lease.py``, the in-doubt settlement in ``_settle.py`` and the file checks in
``_check.py``). ``ThreadStore`` (``_threads.py``) is where each incident's posts are;
a Journal is one. ``_run.py`` is the Broadcaster's use of a journal for one channel.

``PostgresJournal`` (``_postgres.py`` over ``_pg_sql.py``, ``_pg_schema.py`` and
``_pg_settle.py``) is the same contract on a shared PostgreSQL database; it imports
psycopg only when opened.

The names users need most (``Journal``, ``SQLiteJournal``) are also in ``broadcast``.
"""

from ._postgres import PostgresJournal
from ._protocol import (
    ChannelRecord,
    Claim,
    IncidentState,
    ItemRecord,
    Journal,
    Overdue,
    RecipientLog,
    UpdateRecord,
    UsesJournal,
    overdue,
)
from ._sqlite import SQLiteJournal, default_journal
from ._threads import MemoryThreads, ThreadState, ThreadStore

__all__ = [
    "ChannelRecord",
    "Claim",
    "IncidentState",
    "ItemRecord",
    "Journal",
    "MemoryThreads",
    "Overdue",
    "PostgresJournal",
    "RecipientLog",
    "SQLiteJournal",
    "ThreadState",
    "ThreadStore",
    "UpdateRecord",
    "UsesJournal",
    "default_journal",
    "overdue",
]
