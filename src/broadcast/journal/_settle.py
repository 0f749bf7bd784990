"""Settling what a stopped run left in doubt, and saying what can be settled.

``broadcast settle`` and ``Journal.settle`` change a row only when it is in doubt: a
send whose holder is gone, or a thread part marked pending. Anything else (a typo in
the channel, a send already delivered) is a ``JournalError`` that says why and lists
what of that incident can be settled, as the commands that settle it.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .._errors import JournalError
from ._lease import holder_alive
from ._sql import part, record_part, write

__all__ = ["in_doubt", "settle"]


def settle(
    conn: sqlite3.Connection,
    key: str,
    channel: str,
    *,
    index: int | None,
    post_id: str | None,
    owner: str,
    now: float,
) -> None:
    """Resolve a send or a part left in doubt (see ``Journal.settle``).

    ``JournalError`` when there is nothing of the kind to settle, saying why and what
    of that update (or its incident) can be settled.
    """
    found = conn.execute("SELECT incident FROM updates WHERE key = ?", (key,)).fetchone()
    if found is None:
        raise JournalError(f"the journal has no update {key!r}{_listing(conn, now, None)}")
    if index is None:
        row = conn.execute(
            "SELECT state, ids, owner, lease_until FROM sends WHERE update_key = ? AND channel = ?",
            (key, channel),
        ).fetchone()
        if row is None or row[0] != "sending" or holder_alive(row[2], row[3], now):
            why = _not_in_doubt(conn, key, channel, row, now)
            raise JournalError(f"nothing to settle: {why}{_listing(conn, now, found[0])}")
        doubts = in_doubt(conn, now, found[0])
        if parts := [p for k, c, p in doubts if (k, c) == (key, channel) and p is not None]:
            raise JournalError(
                f"{channel} stopped while posting part {parts[0]} of update {key}: settle "
                f"that part with --part{_listing(conn, now, found[0])}"
            )
        state, ids = ("delivered", [post_id]) if post_id else ("failed", [])
        write(
            conn,
            "UPDATE sends SET state = ?, ids = ?, reason = 'settled by hand', "
            "lease_until = NULL, finished_at = ? "
            "WHERE update_key = ? AND channel = ? AND state = 'sending'",
            (state, json.dumps(ids), now, key, channel),
        )
        return
    item = conn.execute(
        "SELECT state FROM items WHERE update_key = ? AND channel = ? AND item = ?",
        (key, channel, part(index)),
    ).fetchone()
    state = "never started" if item is None else item[0]
    sent = conn.execute(
        "SELECT 1 FROM sends WHERE update_key = ? AND channel = ?", (key, channel)
    ).fetchone()
    # An id may be given for a part with no pending mark (its answer was lost and the
    # provider refused the retry as a duplicate), but not for one already recorded.
    if sent is None or state == "delivered" or (post_id is None and state != "pending"):
        why = (
            _not_in_doubt(conn, key, channel, None, now)
            if sent is None
            else f"part {index} of {channel} for update {key} is not in doubt ({state})"
        )
        raise JournalError(f"nothing to settle: {why}{_listing(conn, now, found[0])}")
    if post_id is None:
        write(
            conn,
            "DELETE FROM items WHERE update_key = ? AND channel = ? AND item = ? "
            "AND state = 'pending'",
            (key, channel, part(index)),
        )
    else:
        row = (key, channel, part(index), "delivered", post_id, None, None, 0, owner, now)
        record_part(conn, row, found[0])


def _not_in_doubt(
    conn: sqlite3.Connection, key: str, channel: str, row: tuple[Any, ...] | None, now: float
) -> str:
    """Why ``channel``'s send of ``key`` is not one to settle as a whole."""
    if row is None:
        sent = [r[0] for r in conn.execute(
            "SELECT channel FROM sends WHERE update_key = ? ORDER BY channel", (key,)
        )]  # fmt: skip
        names = ", ".join(sent) or "none"
        return f"no send on {channel!r} is recorded for update {key} (channels: {names})"
    if row[0] == "sending":
        return f"{channel} is being sent right now by {row[2]}; wait for it to finish"
    ids = json.loads(row[1]) if row[1] else []
    said = f" ({', '.join(ids[:3])})" if ids else ""
    return f"{channel} is {row[0]}{said} for update {key}, not in doubt"


def in_doubt(
    conn: sqlite3.Connection, now: float, incident: str | None = None
) -> list[tuple[str, str, int | None]]:
    """``(update_key, channel, part)`` of every send (part None) and part left in doubt."""
    args = (incident, incident)
    sends = conn.execute(
        "SELECT s.update_key, s.channel, s.owner, s.lease_until FROM sends s "
        "JOIN updates u ON u.key = s.update_key WHERE s.state = 'sending' "
        "AND (? IS NULL OR u.incident = ?) ORDER BY u.created_at, s.channel",
        args,
    ).fetchall()
    parts = conn.execute(
        "SELECT i.update_key, i.channel, i.item FROM items i "
        "JOIN updates u ON u.key = i.update_key WHERE i.state = 'pending' "
        "AND i.item LIKE '#part:%' AND (? IS NULL OR u.incident = ?) "
        "ORDER BY u.created_at, i.channel, i.item",
        args,
    ).fetchall()
    in_parts = [(k, c, int(item.removeprefix("#part:"))) for k, c, item in parts]
    threads = {(k, c) for k, c, _ in in_parts}  # settled part by part, not as a whole
    found: list[tuple[str, str, int | None]] = [
        (k, c, None)
        for k, c, o, until in sends
        if not holder_alive(o, until, now) and (k, c) not in threads
    ]
    return found + in_parts


def _listing(conn: sqlite3.Connection, now: float, incident: str | None) -> str:
    """What can be settled, as the commands that settle it."""
    found = in_doubt(conn, now, incident)
    scope = f"of incident {incident}" if incident is not None else "in this journal"
    if not found:
        return f". Nothing {scope} is in doubt."
    lines = [
        f"  broadcast settle {k} {c}{'' if p is None else f' --part {p}'} "
        "--post-id ID (or --resend)"
        for k, c, p in found
    ]
    return f". In doubt {scope}, and can be settled:\n" + "\n".join(lines)
