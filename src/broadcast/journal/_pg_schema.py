"""PostgresJournal's schema: created from an empty database, version-checked on open.

The tables live in their own PostgreSQL schema, ``broadcast``, so they never meet an
application's own ``items`` or ``updates``; every statement names them in full (no
``search_path``, which a transaction-mode PgBouncer would not keep). Columns and their
meaning are those of the SQLite journal (``_sql.py``): update times as fixed-width UTC
text, event times as epoch seconds.

``broadcast.schema_version`` holds one row. ``migrate`` takes a transaction-scoped
advisory lock first, so several workers opening one new database at once create it
once; a database written by a newer broadcast is refused with both versions named.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import JournalError

if TYPE_CHECKING:
    from psycopg import AsyncConnection

__all__ = ["SCHEMA_VERSION", "migrate"]

SCHEMA_VERSION = 1
_LOCK = 0x62726F6164  # "broad": the advisory lock that serialises migrations

_MIGRATIONS: dict[int, str] = {
    1: """
CREATE SCHEMA IF NOT EXISTS broadcast;
CREATE TABLE broadcast.updates (
    key text PRIMARY KEY, incident text NOT NULL, status text NOT NULL,
    severity text NOT NULL, title text NOT NULL, created_at text NOT NULL,
    next_update_at text, recorded_at double precision NOT NULL, document text
);
CREATE INDEX updates_by_incident ON broadcast.updates (incident, created_at);
CREATE TABLE broadcast.sends (
    update_key text NOT NULL, channel text NOT NULL, state text NOT NULL,
    ids text NOT NULL DEFAULT '[]', reason text, attempts integer NOT NULL DEFAULT 0,
    accepted integer, rejected integer, owner text, lease_until double precision,
    runs integer NOT NULL DEFAULT 1, started_at double precision NOT NULL,
    finished_at double precision,
    PRIMARY KEY (update_key, channel)
);
CREATE TABLE broadcast.items (
    update_key text NOT NULL, channel text NOT NULL, item text NOT NULL,
    state text NOT NULL, provider_id text, reason text, code text,
    permanent integer NOT NULL DEFAULT 0, owner text, updated_at double precision NOT NULL,
    PRIMARY KEY (update_key, channel, item)
);
CREATE TABLE broadcast.threads (
    channel text NOT NULL, incident text NOT NULL, first_post text NOT NULL,
    last_post text NOT NULL, PRIMARY KEY (channel, incident)
);
""",
}


async def migrate(conn: AsyncConnection[tuple[Any, ...]], where: str) -> int:
    """Bring the database to ``SCHEMA_VERSION``; the version it was at before (0: new).

    ``where`` names the journal (password masked) in the error for a newer database.
    """
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        cursor = await conn.execute("SELECT to_regclass('broadcast.schema_version')")
        exists = (await cursor.fetchone() or (None,))[0] is not None
        found = 0
        if exists:
            cursor = await conn.execute("SELECT max(version) FROM broadcast.schema_version")
            found = int((await cursor.fetchone() or (0,))[0] or 0)
        if found > SCHEMA_VERSION:
            raise JournalError(
                f"journal {where} was written by a newer broadcast (schema {found}; this one "
                f"knows {SCHEMA_VERSION}); upgrade broadcast, or set BROADCAST_JOURNAL to "
                "another database; nothing was sent"
            )
        for version in range(found + 1, SCHEMA_VERSION + 1):
            await conn.execute(_MIGRATIONS[version].encode())
        if not exists:
            await conn.execute("CREATE TABLE broadcast.schema_version (version integer NOT NULL)")
            await conn.execute("INSERT INTO broadcast.schema_version VALUES (0)")
        if found < SCHEMA_VERSION:
            await conn.execute(
                "UPDATE broadcast.schema_version SET version = %s", (SCHEMA_VERSION,)
            )
    return found
