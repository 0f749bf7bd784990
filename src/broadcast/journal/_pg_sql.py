"""PostgresJournal's SQL: one async function per question, on a psycopg connection.

The same questions as ``_sql.py`` asks SQLite, worded for PostgreSQL's concurrency.
SQLite serialises writers (``BEGIN IMMEDIATE``); here many workers write at once, so a
claim is an ``INSERT ... ON CONFLICT DO NOTHING`` (the first one in wins a new send)
and, when the send exists, ``SELECT ... FOR UPDATE`` on its row: two claimers of the
same send queue on that row lock and the second sees what the first did.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ._lease import holder_alive
from ._protocol import ChannelRecord, Claim, IncidentState, UpdateRecord
from ._sql import part
from ._threads import ThreadState

if TYPE_CHECKING:
    from psycopg import AsyncConnection

__all__ = [
    "history",
    "incidents",
    "posted_parts",
    "record_part",
    "start_part",
    "superseding",
    "take",
    "thread",
    "upsert_items",
]

Row = tuple[Any, ...]

_UPSERT_ITEMS = """
INSERT INTO broadcast.items (update_key, channel, item, state, provider_id, reason, code,
                             permanent, owner, updated_at)
SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
                     %s::text[], %s::integer[], %s::text[], %s::double precision[])
ON CONFLICT (update_key, channel, item) DO UPDATE SET
    state = excluded.state, provider_id = excluded.provider_id, reason = excluded.reason,
    code = excluded.code, permanent = excluded.permanent, owner = excluded.owner,
    updated_at = excluded.updated_at
WHERE broadcast.items.state <> 'delivered'
"""
_THREAD = (
    "INSERT INTO broadcast.threads VALUES (%s, %s, %s, %s) ON CONFLICT (channel, incident) "
    "DO UPDATE SET last_post = excluded.last_post"
)


def _last_per_item(rows: list[Row]) -> list[Row]:
    """One row per item, as applying them in order would leave it.

    One ``INSERT ... ON CONFLICT`` may not touch a row twice, and a batch can hold an
    item's ``pending`` and then its ``delivered``; a ``delivered`` is never replaced.
    """
    kept: dict[tuple[Any, Any, Any], Row] = {}
    for row in rows:
        key = (row[0], row[1], row[2])
        if (old := kept.get(key)) is None or old[3] != "delivered":
            kept[key] = row
    return list(kept.values())


async def upsert_items(conn: AsyncConnection[Row], rows: list[Row]) -> None:
    """Write a batch of item rows in one statement (arrays unnested on the server)."""
    unique = _last_per_item(rows)
    columns = [list(column) for column in zip(*unique, strict=True)]
    async with conn.transaction():
        await conn.execute(_UPSERT_ITEMS, columns)


async def superseding(
    conn: AsyncConnection[Row], incident: str, created: str, key: str
) -> str | None:
    """The first ``resolved`` update of ``incident`` created after ``created``."""
    cursor = await conn.execute(
        "SELECT key FROM broadcast.updates WHERE incident = %s AND status = 'resolved' "
        "AND created_at > %s AND key <> %s ORDER BY created_at LIMIT 1",
        (incident, created, key),
    )
    row = await cursor.fetchone()
    return None if row is None else str(row[0])


async def take(
    conn: AsyncConnection[Row],
    claim: Claim,
    *,
    incident: tuple[str, str, str],
    now: float,
    until: float,
) -> Claim:
    """Claim ``claim``'s send in one transaction, or say why not."""
    key, channel = claim.update_key, claim.channel
    async with conn.transaction():
        if (by := await superseding(conn, *incident)) is not None:
            await conn.execute(
                "INSERT INTO broadcast.sends (update_key, channel, state, reason, started_at, "
                "finished_at) VALUES (%s, %s, 'superseded', %s, %s, %s) "
                "ON CONFLICT (update_key, channel) DO NOTHING",
                (key, channel, f"superseded by {by}", now, now),
            )
        else:
            cursor = await conn.execute(
                "INSERT INTO broadcast.sends (update_key, channel, state, owner, lease_until, "
                "started_at) VALUES (%s, %s, 'sending', %s, %s, %s) "
                "ON CONFLICT (update_key, channel) DO NOTHING RETURNING 1",
                (key, channel, claim.owner, until, now),
            )
            if await cursor.fetchone() is not None:
                return Claim(key, channel, "claimed", owner=claim.owner)
        cursor = await conn.execute(
            "SELECT state, ids, owner, lease_until FROM broadcast.sends "
            "WHERE update_key = %s AND channel = %s FOR UPDATE",
            (key, channel),
        )
        row = await cursor.fetchone()
        assert row is not None  # noqa: S101 - inserted above or already there, and locked
        if row[0] == "delivered":
            return Claim(key, channel, "delivered", ids=tuple(json.loads(row[1])))
        if row[0] == "sending" and holder_alive(row[2], row[3], now):
            return Claim(key, channel, "busy", holder=row[2])
        if by is not None:
            await conn.execute(
                "UPDATE broadcast.sends SET state = 'superseded', reason = %s, "
                "lease_until = NULL WHERE update_key = %s AND channel = %s",
                (f"superseded by {by}", key, channel),
            )
            return Claim(key, channel, "superseded", by=by)
        await conn.execute(
            "UPDATE broadcast.sends SET state = 'sending', owner = %s, lease_until = %s, "
            "runs = runs + 1, finished_at = NULL WHERE update_key = %s AND channel = %s",
            (claim.owner, until, key, channel),
        )
        in_doubt = row[0] == "sending"
        return Claim(key, channel, "claimed", owner=claim.owner, in_doubt=in_doubt)


async def thread(conn: AsyncConnection[Row], channel: str, incident: str) -> ThreadState:
    """The incident's first and last post on ``channel``, and how many updates it has had."""
    cursor = await conn.execute(
        "SELECT first_post, last_post FROM broadcast.threads WHERE channel = %s AND incident = %s",
        (channel, incident),
    )
    row = await cursor.fetchone()
    cursor = await conn.execute(
        "SELECT count(*) FROM broadcast.items i JOIN broadcast.updates u ON u.key = i.update_key "
        "WHERE i.channel = %s AND u.incident = %s AND i.item = %s AND i.state = 'delivered'",
        (channel, incident, part(0)),
    )
    count = int((await cursor.fetchone() or (0,))[0])
    if row is None:
        return ThreadState(updates=count)
    return ThreadState(first=row[0], last=row[1], updates=count)


async def posted_parts(conn: AsyncConnection[Row], channel: str, update_key: str) -> list[str]:
    """The ids of the delivered parts of an update, in order."""
    cursor = await conn.execute(
        "SELECT provider_id FROM broadcast.items WHERE update_key = %s AND channel = %s "
        "AND item LIKE '#part:%%' AND state = 'delivered' ORDER BY item",
        (update_key, channel),
    )
    return [r[0] for r in await cursor.fetchall()]


async def start_part(conn: AsyncConnection[Row], row: Row) -> str | None:
    """Mark a part pending; the owner of a pending mark left by another run, if any."""
    update_key, channel, item, owner = row[0], row[1], row[2], row[8]
    async with conn.transaction():
        cursor = await conn.execute(
            "SELECT state, owner FROM broadcast.items WHERE update_key = %s AND channel = %s "
            "AND item = %s FOR UPDATE",
            (update_key, channel, item),
        )
        found = await cursor.fetchone()
        if found is not None and found[0] == "pending" and found[1] != owner:
            return str(found[1])
        await upsert_items(conn, [row])
    return None


async def record_part(conn: AsyncConnection[Row], row: Row, incident: str) -> None:
    """Mark a part delivered and move the incident's thread to it."""
    async with conn.transaction():
        await upsert_items(conn, [row])
        await conn.execute(_THREAD, (row[1], incident, row[4], row[4]))


def _parse(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _at(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


_EPOCH = datetime.min.replace(tzinfo=UTC)


async def history(conn: AsyncConnection[Row], incident: str) -> list[UpdateRecord]:
    """The incident's updates in order, each with its per-channel outcome."""
    cursor = await conn.execute(
        "SELECT key, incident, status, severity, title, created_at, next_update_at, "
        "recorded_at, document FROM broadcast.updates WHERE incident = %s "
        "ORDER BY created_at, recorded_at",
        (incident,),
    )
    return [await _update_record(conn, row) for row in await cursor.fetchall()]


async def incidents(conn: AsyncConnection[Row]) -> list[IncidentState]:
    """Every incident, by its latest update."""
    cursor = await conn.execute(
        "SELECT DISTINCT ON (incident) incident, status, title, key, created_at, "
        "next_update_at, count(*) OVER (PARTITION BY incident) FROM broadcast.updates "
        "ORDER BY incident, created_at DESC, recorded_at DESC"
    )
    rows = sorted(await cursor.fetchall(), key=lambda r: r[4])
    return [
        IncidentState(
            incident=r[0],
            status=r[1],
            title=r[2],
            updates=int(r[6]),
            last_update_key=r[3],
            last_update_at=_parse(r[4]) or _EPOCH,
            next_update_at=_parse(r[5]),
        )
        for r in rows
    ]


async def _update_record(conn: AsyncConnection[Row], row: Row) -> UpdateRecord:
    cursor = await conn.execute(
        "SELECT channel, CASE WHEN state = 'sending' AND lease_until IS NULL THEN 'in_doubt' "
        "ELSE state END, ids, reason, attempts, accepted, rejected, runs, started_at, "
        "finished_at FROM broadcast.sends WHERE update_key = %s ORDER BY channel",
        (row[0],),
    )
    sends = await cursor.fetchall()
    return UpdateRecord(
        key=row[0],
        incident=row[1],
        status=row[2],
        severity=row[3],
        title=row[4],
        created_at=_parse(row[5]) or _EPOCH,
        next_update_at=_parse(row[6]),
        recorded_at=_at(row[7]) or _EPOCH,
        document=json.loads(row[8]) if row[8] is not None else None,
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
    )
