"""The journal's write rate alone: recipient rows per second, PostgreSQL and SQLite.

What is measured
    What a fan-out asks of its journal, with no provider at all: per recipient, a
    ``pending`` row (``log.sending``, buffered) and then a ``delivered`` row (``await
    log.delivered``, which returns once it is committed), by C concurrent senders per
    process, as ``FanOut`` does (20 is TwilioSMS's default concurrency). Rows are
    group-committed by the journal's ``BatchWriter``: one transaction (for PostgreSQL
    one ``INSERT ... SELECT FROM unnest(...) ON CONFLICT``) per batch of whatever
    gathered while the last commit ran, at most C rows per process: C decides how
    much each commit carries.

    * PostgresJournal on a real PostgreSQL 16 (the ``pgserver`` wheel, started here with
      its durable defaults: ``fsync=on``, ``synchronous_commit=on``), or ``--dsn``. P
      worker processes write at once, each its own journal (pool of 4 connections) and
      its own channel of the same update, as P sharded workers do.
    * SQLiteJournal on a file in ``--dir`` (WAL, ``synchronous=NORMAL``), same loads;
      several processes share the one file's write lock.

    The rate is recipients made durable per second, wall time from a barrier all
    processes wait at until the last one's ``flush()``; each count is checked in the
    database afterwards. The last line says at how many workers, each sending at the
    measured per-worker rate (``--per-worker``, 4,000 msg/s from benchmarks/RESULTS.md),
    the best PostgreSQL rate here would be the bottleneck.

How to run
    .venv/bin/python benchmarks/journal_pg_write_rate.py [-n 20000] [-c 20 500]
        [--processes 1 2 4] [--dsn postgresql://...] [--dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import shutil
import sqlite3
import sys
import tempfile
import time
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import psycopg

from broadcast import PostgresJournal, SQLiteJournal, Update

ROOT = Path(__file__).resolve().parent.parent
UPDATE = Update(title="PlayStation Network is down", body="We are investigating.", incident="psn")


def _journal(target: str) -> Any:
    return PostgresJournal(target) if target.startswith("postgresql://") else SQLiteJournal(target)


async def _write(target: str, channel: str, n: int, concurrency: int, barrier: Barrier) -> None:
    journal = _journal(target)
    await journal.record_update(UPDATE)
    await journal.claim(UPDATE, channel)
    log = journal.recipients(UPDATE.key, channel)
    numbers = iter(range(n))
    await asyncio.to_thread(barrier.wait)

    async def sender() -> None:
        for i in numbers:
            number = f"+1415{i:07d}"
            log.sending(number)
            await log.delivered(number, f"SM{i:032d}")

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    await log.flush()
    await journal.aclose()


def _child(target: str, channel: str, n: int, concurrency: int, barrier: Barrier) -> None:
    asyncio.run(_write(target, channel, n, concurrency, barrier))


def server_cpu(data: Path | None) -> float:
    """CPU seconds the server's processes have used: the postmaster and every backend
    it has reaped (``children_*``), so connections closed since are counted too."""
    if data is None:
        return 0.0
    import psutil  # noqa: PLC0415 - pgserver's dependency, there when the server is

    pid = int((data / "postmaster.pid").read_text().split()[0])
    process = psutil.Process(pid)
    times = process.cpu_times()
    live = 0.0
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):  # a backend that just closed
            live += sum(child.cpu_times()[:2])
    return float(times.user + times.system + times.children_user + times.children_system + live)


def run(target: str, processes: int, n: int, concurrency: int, tag: str) -> float:
    """Recipient rows made durable per second by ``processes`` writers of ``n`` each."""
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(processes + 1)
    children = [
        spawn.Process(target=_child, args=(target, f"sms-{tag}-{i}", n, concurrency, barrier))
        for i in range(processes)
    ]
    for child in children:
        child.start()
    barrier.wait(timeout=120)
    start = time.perf_counter()
    for child in children:
        child.join(600)
        assert child.exitcode == 0, f"a writer failed ({child.exitcode})"
    seconds = time.perf_counter() - start
    _check(target, f"sms-{tag}-%", processes * n)
    return processes * n / seconds


def _check(target: str, channels: str, expected: int) -> None:
    if target.startswith("postgresql://"):
        with psycopg.connect(target) as conn:
            row = conn.execute(
                "SELECT count(*) FROM broadcast.items WHERE channel LIKE %s "
                "AND state = 'delivered'",
                (channels,),
            ).fetchone()
    else:
        with sqlite3.connect(target) as conn:
            row = conn.execute(
                "SELECT count(*) FROM items WHERE channel LIKE ? AND state = 'delivered'",
                (channels,),
            ).fetchone()
    assert row is not None
    assert row[0] == expected, (row, expected)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000, help="recipients per process")
    parser.add_argument(
        "-c", type=int, nargs="+", default=[20, 500], help="concurrent senders per process"
    )
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--dsn", help="an existing PostgreSQL (else one is started here)")
    parser.add_argument("--dir", help="where the SQLite file and the server's data go")
    parser.add_argument("--per-worker", type=float, default=4000.0, help="msg/s per worker")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="bench-pg-", dir=args.dir))
    server = None
    if args.dsn is None:
        sys.path.insert(0, str(ROOT))
        from tests.pg import start_server, stop_server  # noqa: PLC0415 - the wheel's server

        # Its own folder in the temporary directory: as root, the server runs as nobody.
        server_root = Path(tempfile.mkdtemp(prefix="bench-pgdata-"))
        server = start_server(server_root, durable=True)
        dsn = server.dsn()
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        where = f"PostgreSQL {version[0] if version else '?'} (pgserver wheel, fsync on)"
    else:
        dsn, where = args.dsn, "PostgreSQL at --dsn"
    sqlite_file = str(scratch / "journal.db")
    print(
        f"Journal write rate: N={args.n:,} recipients per process, C senders each; "
        f"{where}; SQLite {sqlite3.sqlite_version} in {scratch}; "
        f"Python {sys.version.split()[0]}, {multiprocessing.cpu_count()} CPUs"
    )
    print(f"  {'journal':<10} {'C':>4} {'processes':>9} {'rows/s':>10} {'server CPU µs/row':>18}")
    best, costs = 0.0, []
    data = server.data if server is not None else None
    try:
        for c in args.c:
            for processes in args.processes:
                for name, target in (("postgres", dsn), ("sqlite", sqlite_file)):
                    before = server_cpu(data)
                    rate = run(target, processes, args.n, c, f"{name}{c}x{processes}")
                    cost = ""
                    if name == "postgres":
                        best = max(best, rate)
                        if data is not None:
                            used = server_cpu(data) - before
                            costs.append(used / (processes * args.n) * 1e6)
                            cost = f"{costs[-1]:.0f}"
                    line = f"  {name:<10} {c:>4} {processes:>9} {rate:>10,.0f} {cost:>18}"
                    print(line, flush=True)
        print(
            f"  PostgreSQL's best here, {best:,.0f} rows/s (writers and server on the same "
            f"cores), is the bottleneck from about {best / args.per_worker:.0f} workers at "
            f"{args.per_worker:,.0f} msg/s each (one row per recipient)"
        )
        if costs:
            low, high = min(costs), max(costs)
            print(
                f"  the server's own CPU: {low:.0f} to {high:.0f} µs per row (large to small "
                f"batches): about {1e6 / high / args.per_worker:.0f} to "
                f"{1e6 / low / args.per_worker:.0f} workers per core of a database machine "
                "of its own"
            )
    finally:
        if server is not None:
            stop_server(server)
            shutil.rmtree(server.data.parent, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
