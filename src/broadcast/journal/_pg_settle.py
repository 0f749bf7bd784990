"""Settling what a stopped run left in doubt, on PostgreSQL (``_settle.py``'s rules).

The same answers and messages as the SQLite journal's ``settle``: a row changes only
when it is in doubt, and anything else is a ``JournalError`` that says why and lists,
as commands, what of that incident can be settled.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .._errors import JournalError
from ._lease import holder_alive
from ._pg_sql import record_part
from ._sql import part

if TYPE_CHECKING:
    from psycopg import AsyncConnection

__all__ = ["settle"]

Row = tuple[Any, ...]


async def _one(conn: AsyncConnection[Row], sql: str, args: tuple[Any, ...]) -> Row | None:
    return await (await conn.execute(sql.encode(), args)).fetchone()


async def settle(
    conn: AsyncConnection[Row],
    key: str,
    channel: str,
    *,
    index: int | None,
    post_id: str | None,
    owner: str,
    now: float,
) -> None:
    """Resolve a send or a part left in doubt (see ``Journal.settle``)."""
    found = await _one(conn, "SELECT incident FROM broadcast.updates WHERE key = %s", (key,))
    if found is None:
        listing = await _listing(conn, now, None)
        raise JournalError(f"the journal has no update {key!r}{listing}")
    incident = str(found[0])
    if index is None:
        await _settle_send(conn, key, channel, incident, post_id=post_id, now=now)
        return
    item = await _one(
        conn,
        "SELECT state FROM broadcast.items WHERE update_key = %s AND channel = %s AND item = %s",
        (key, channel, part(index)),
    )
    state = "never started" if item is None else item[0]
    sent = await _one(
        conn,
        "SELECT 1 FROM broadcast.sends WHERE update_key = %s AND channel = %s",
        (key, channel),
    )
    if sent is None or state == "delivered" or (post_id is None and state != "pending"):
        why = (
            await _not_in_doubt(conn, key, channel, None)
            if sent is None
            else f"part {index} of {channel} for update {key} is not in doubt ({state})"
        )
        raise JournalError(f"nothing to settle: {why}{await _listing(conn, now, incident)}")
    if post_id is None:
        await conn.execute(
            "DELETE FROM broadcast.items WHERE update_key = %s AND channel = %s AND item = %s "
            "AND state = 'pending'",
            (key, channel, part(index)),
        )
    else:
        row = (key, channel, part(index), "delivered", post_id, None, None, 0, owner, now)
        await record_part(conn, row, incident)


async def _settle_send(
    conn: AsyncConnection[Row],
    key: str,
    channel: str,
    incident: str,
    *,
    post_id: str | None,
    now: float,
) -> None:
    row = await _one(
        conn,
        "SELECT state, ids, owner, lease_until FROM broadcast.sends "
        "WHERE update_key = %s AND channel = %s",
        (key, channel),
    )
    if row is None or row[0] != "sending" or holder_alive(row[2], row[3], now):
        why = await _not_in_doubt(conn, key, channel, row)
        raise JournalError(f"nothing to settle: {why}{await _listing(conn, now, incident)}")
    doubts = await in_doubt(conn, now, incident)
    if parts := [p for k, c, p in doubts if (k, c) == (key, channel) and p is not None]:
        raise JournalError(
            f"{channel} stopped while posting part {parts[0]} of update {key}: settle "
            f"that part with --part{await _listing(conn, now, incident)}"
        )
    state, ids = ("delivered", [post_id]) if post_id else ("failed", [])
    await conn.execute(
        "UPDATE broadcast.sends SET state = %s, ids = %s, reason = 'settled by hand', "
        "lease_until = NULL, finished_at = %s "
        "WHERE update_key = %s AND channel = %s AND state = 'sending'",
        (state, json.dumps(ids), now, key, channel),
    )


async def _not_in_doubt(conn: AsyncConnection[Row], key: str, channel: str, row: Row | None) -> str:
    """Why ``channel``'s send of ``key`` is not one to settle as a whole."""
    if row is None:
        cursor = await conn.execute(
            "SELECT channel FROM broadcast.sends WHERE update_key = %s ORDER BY channel", (key,)
        )
        names = ", ".join(r[0] for r in await cursor.fetchall()) or "none"
        return f"no send on {channel!r} is recorded for update {key} (channels: {names})"
    if row[0] == "sending":
        return f"{channel} is being sent right now by {row[2]}; wait for it to finish"
    ids = json.loads(row[1]) if row[1] else []
    said = f" ({', '.join(ids[:3])})" if ids else ""
    return f"{channel} is {row[0]}{said} for update {key}, not in doubt"


async def in_doubt(
    conn: AsyncConnection[Row], now: float, incident: str | None = None
) -> list[tuple[str, str, int | None]]:
    """``(update_key, channel, part)`` of every send (part None) and part left in doubt."""
    args = (incident, incident)
    cursor = await conn.execute(
        "SELECT s.update_key, s.channel, s.owner, s.lease_until FROM broadcast.sends s "
        "JOIN broadcast.updates u ON u.key = s.update_key WHERE s.state = 'sending' "
        "AND (%s::text IS NULL OR u.incident = %s) ORDER BY u.created_at, s.channel",
        args,
    )
    sends = await cursor.fetchall()
    cursor = await conn.execute(
        "SELECT i.update_key, i.channel, i.item FROM broadcast.items i "
        "JOIN broadcast.updates u ON u.key = i.update_key WHERE i.state = 'pending' "
        "AND i.item LIKE '#part:%%' AND (%s::text IS NULL OR u.incident = %s) "
        "ORDER BY u.created_at, i.channel, i.item",
        args,
    )
    in_parts = [(k, c, int(item.removeprefix("#part:"))) for k, c, item in await cursor.fetchall()]
    threads = {(k, c) for k, c, _ in in_parts}
    found: list[tuple[str, str, int | None]] = [
        (k, c, None)
        for k, c, o, until in sends
        if not holder_alive(o, until, now) and (k, c) not in threads
    ]
    return found + in_parts


async def _listing(conn: AsyncConnection[Row], now: float, incident: str | None) -> str:
    """What can be settled, as the commands that settle it."""
    found = await in_doubt(conn, now, incident)
    scope = f"of incident {incident}" if incident is not None else "in this journal"
    if not found:
        return f". Nothing {scope} is in doubt."
    lines = [
        f"  broadcast settle {k} {c}{'' if p is None else f' --part {p}'} "
        "--post-id ID (or --resend)"
        for k, c, p in found
    ]
    return f". In doubt {scope}, and can be settled:\n" + "\n".join(lines)
