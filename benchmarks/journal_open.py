"""What the journal's checks at open cost, for journals of 100,000 and 1,000,000 recipients.

What is measured
    A journal file is filled the way a run leaves it: one update, one finished SMS
    fan-out, one ``delivered`` row per recipient (number, provider id, owner, time),
    written with the journal's own SQL and checkpointed into the file. Then the time
    of ``broadcast.journal._sql.connect()``, which opens it and runs every check of
    ``broadcast.journal._check`` before anything is written: the schema version, each table's
    columns, and ``PRAGMA quick_check`` over every page (the file read once in order
    first). Two ways:

    * full: the default, every page checked (files up to 256 MB);
    * small tables: what a larger file gets, every table but the per-recipient rows;

    each warm (the file in the page cache: the median of ``--repeat`` opens) and cold
    (the file dropped from the page cache first with ``posix_fadvise(DONTNEED)``, Linux
    only; the median of three).

How to run
    .venv/bin/python benchmarks/journal_open.py [--rows 100000 1000000] [--repeat 7]
        [--dir DIR]

    The files go in a temporary folder under ``--dir`` and are deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from broadcast.journal import _sql as sql

_BATCH = 50_000


def fill(path: Path, rows: int) -> None:
    """One update, one finished fan-out, ``rows`` delivered recipients."""
    conn = sql.connect(path)
    conn.execute(
        "INSERT INTO updates VALUES ('k1', 'outage', 'investigating', 'major', 'Down', "
        "'2011-04-20T22:00:00.000000Z', NULL, 1303336800.0, NULL)"
    )
    conn.execute(
        "INSERT INTO sends (update_key, channel, state, accepted, started_at) "
        "VALUES ('k1', 'sms', 'delivered', ?, 1303336800.0)",
        (rows,),
    )
    for start in range(0, rows, _BATCH):
        batch = [
            ("k1", "sms", f"+1415{i:07d}", "delivered", f"SM{i:032d}", None, None, 0,
             "host:4242:a1b2c3d4", 1303336800.0 + i / 1000)
            for i in range(start, min(rows, start + _BATCH))
        ]  # fmt: skip
        sql.upsert_items(conn, batch)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def evict(path: Path) -> bool:
    """Drop the file from the page cache; False where that cannot be done."""
    if not hasattr(os, "posix_fadvise"):
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return True


def timed(path: Path, full_check_up_to: int, repeat: int, before: Callable[[], object]) -> float:
    """The median seconds of ``repeat`` opens, ``before()`` ahead of each."""
    times = []
    for _ in range(repeat):
        before()
        start = time.perf_counter()
        sql.connect(path, full_check_up_to=full_check_up_to).close()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    ways = {"full": sql.FULL_CHECK_BYTES, "small tables": 0}
    print("## Journal checks at open\n")
    print(
        "`connect()` of a journal with one delivered row per recipient: schema, layout and "
        "`PRAGMA quick_check`; warm is the file in the page cache, cold dropped from it.\n"
    )
    print("| recipients | file | check | warm open | cold open |")
    print("|---:|---:|---|---:|---:|")
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        for rows in args.rows:
            path = Path(folder) / f"journal-{rows}.db"
            fill(path, rows)
            size = path.stat().st_size / 1e6
            for way, limit in ways.items():
                warm = timed(path, limit, args.repeat, lambda: None)
                cold = (
                    f"{timed(path, limit, 3, lambda p=path: evict(p)) * 1000:.0f} ms"
                    if evict(path)
                    else "n/a"
                )
                print(f"| {rows:,} | {size:.1f} MB | {way} | {warm * 1000:.1f} ms | {cold} |")
            path.unlink()


if __name__ == "__main__":
    main()
