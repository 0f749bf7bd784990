"""Checks a journal file passes when it opens, before anything is sent.

Three questions, cheapest first: is it a journal this broadcast can read (its schema
version), does it have the layout this broadcast writes (every table with its columns),
and are its pages sound (``PRAGMA quick_check``)? A file that fails any of them raises
``JournalError`` naming it and the fix, so a send never starts and then stops half way
through with "no such column" or "database disk image is malformed".

Nothing here writes to the file: a file that belongs to someone else is left as it was.
No error quotes a row: SQLite's own messages can carry a row's bytes (a column that is
not valid UTF-8 is quoted whole), so ``safe_error`` cuts them out.
"""

from __future__ import annotations

import functools
import logging
import re
import sqlite3
from pathlib import Path

from .._errors import JournalError

__all__ = [
    "FIX",
    "FULL_CHECK_BYTES",
    "check_integrity",
    "check_layout",
    "damaged",
    "read_ahead",
    "safe_error",
]

log = logging.getLogger(__name__)

FIX = "move it aside, or set BROADCAST_JOURNAL to another file; nothing was sent"
FULL_CHECK_BYTES = 256 * 1024 * 1024
"""Up to this size every page is checked at open (about 0.2 s per 100 MB, or per million
recipients); above it, every table but the per-recipient ``items``."""
_DAMAGED_FIX = (
    "move it aside but keep it (it records what was sent; sqlite3's .recover can often "
    "salvage its rows), or set BROADCAST_JOURNAL to another file; nothing was sent"
)
_QUOTED_ROW = re.compile(r" with text '.*", re.DOTALL)
"""The tail of "Could not decode to UTF-8 column 'x' with text '<the row's bytes>'"."""
_SMALL_TABLES = ("updates", "sends", "threads")


def safe_error(exc: BaseException) -> str:
    """SQLite's message for ``exc``, one printable line, with any quoted row cut out."""
    text, cut = _QUOTED_ROW.subn("", str(exc))
    if cut:
        text += " (a row holds bytes that are not text: the file may be damaged)"
    text = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(text.split())[:200] or type(exc).__name__


def check_layout(
    conn: sqlite3.Connection, path: Path, *, version: int, known: int, schema: str
) -> None:
    """Refuse a file that is not a journal of schema ``known`` as ``schema`` creates it.

    ``version`` is the file's ``user_version``: 0 for a new file (or one whose tables
    were being created when a run stopped), ``known`` for a journal. A new file may hold
    some of the tables already, each with its full layout, and nothing else. A journal
    must hold all of them; tables or indexes someone added beside them are left alone.
    """
    expected = _expected(schema)
    found = _layout(conn)
    ours, others = set(found) & set(expected), set(found) - set(expected)
    if (others and not ours) or (version == 0 and others):
        raise JournalError(f"{path} is some other SQLite database, not a journal; {FIX}")
    if version > known:
        raise JournalError(
            f"journal {path} was written by a newer broadcast (schema {version}; this one "
            f"knows {known}); upgrade broadcast, or {FIX}"
        )
    if version not in (0, known):
        raise JournalError(
            f"journal {path} says it is schema {version}, which no broadcast writes; {FIX}"
        )
    for name in sorted(ours):
        if found[name] != expected[name] and version == 0:
            raise JournalError(
                f"{path} is some other SQLite database, not a journal (its {name} is not "
                f"the journal's); {FIX}"
            )
        if found[name] != expected[name]:
            raise JournalError(
                f"journal {path} has another layout: {name} "
                f"{_difference(found[name], expected[name])}; it was changed by hand or by "
                f"another program; {FIX}"
            )
    if version == known and (missing := [n for n in expected if n not in found]):
        raise JournalError(
            f"journal {path} has another layout: it has no {missing[0]}; it was changed "
            f"by hand or by another program; {FIX}"
        )


Layout = tuple[str, tuple[tuple[object, ...], ...]]


def _layout(conn: sqlite3.Connection) -> dict[str, Layout]:
    """Each table and index: its kind and its columns (name, type, not null, key)."""
    objects = conn.execute(
        "SELECT name, type FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
    ).fetchall()
    layout: dict[str, Layout] = {}
    for name, kind in objects:
        if kind == "index":
            columns = conn.execute("SELECT name FROM pragma_index_info(?)", (name,)).fetchall()
        else:
            columns = conn.execute(
                'SELECT name, type, "notnull", pk FROM pragma_table_info(?)', (name,)
            ).fetchall()
        layout[name] = (kind, tuple(tuple(c) for c in columns))
    return layout


@functools.cache
def _expected(schema: str) -> dict[str, Layout]:
    """The layout ``schema`` makes, read from a scratch database in memory."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(schema)
        return _layout(conn)
    finally:
        conn.close()


def _difference(found: Layout, expected: Layout) -> str:
    if found[0] != expected[0]:
        return f"is a {found[0]}, not a {expected[0]}"
    have = {c[0]: c for c in found[1]}
    if missing := [c[0] for c in expected[1] if c[0] not in have]:
        return f"has no column {missing[0]}"
    if changed := [c[0] for c in expected[1] if have[c[0]] != c]:
        return f"column {changed[0]} is of another type"
    return "has columns this broadcast does not write"


def check_integrity(
    conn: sqlite3.Connection, path: Path, *, full_up_to: int = FULL_CHECK_BYTES
) -> None:
    """Refuse a file whose pages are damaged, by ``PRAGMA quick_check``.

    quick_check reads every page, so its cost grows with the file: above ``full_up_to``
    bytes only the small tables are checked, not the per-recipient rows.
    """
    size = (
        conn.execute("PRAGMA page_count").fetchone()[0]
        * conn.execute("PRAGMA page_size").fetchone()[0]
    )
    if size <= full_up_to:
        checks = ["PRAGMA quick_check(1)"]
    else:
        log.info("journal %s is %d MB: checking every table but items at open", path, size >> 20)
        present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        checks = [f"PRAGMA quick_check({t})" for t in _SMALL_TABLES if t in present]
    for check in checks:
        try:
            said = conn.execute(check).fetchone()[0]
        except sqlite3.DatabaseError as exc:
            said = safe_error(exc)
        if said != "ok":
            raise damaged(path, str(said).replace("*** in database main ***", ""))


def read_ahead(path: Path) -> None:
    """Read the file once, in order, so quick_check finds its pages in memory.

    quick_check walks the pages in tree order: from a cold disk that is a seek per
    page (2.4 s for 100 MB here), where reading the file straight through first takes
    0.2 s. Call it before this process connects to the file: closing any descriptor
    of a file drops every POSIX lock the process holds on it, SQLite's too, and a
    connection that lost its lock lets another process's last close delete the WAL
    under it (the other workers' commits with it).
    """
    buffer = bytearray(1 << 20)
    try:
        with path.open("rb", buffering=0) as file:
            while file.readinto(buffer):
                pass
    except OSError:
        pass  # only an optimisation: SQLite reads the file itself next


def damaged(path: Path, problem: str) -> JournalError:
    """The error for a journal whose pages SQLite cannot read."""
    said = safe_error(Exception(problem))
    return JournalError(f"journal {path} is damaged (SQLite finds: {said}); {_DAMAGED_FIX}")
