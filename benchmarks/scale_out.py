"""Scale-out: one SMS send on 1 worker process, then on 2, to a sink in its own process.

What it measures
    ``N`` texts (default 40,000) queued with ``Broadcaster.send(distributed=...)`` in
    shards of ``N / 40`` (so no worker idles long at the end), sent by ``broadcast
    worker`` processes (taskiq's ZeroMQ broker, one SQLite journal file) to the
    Twilio-shaped sink of ``_twilio_sink.py`` in its own process. Each round times
    from the kick to the sink's last accepted text, with 1 worker, then 2, alternating
    for ``--rounds``; the figures are the medians of the same run, and the scaling
    ratio is 2-worker rate / 1-worker rate (target >= 1.7 on a 2-core machine). The
    workers' CPU per text comes from their rusage; the best pair is printed too, as a
    machine shared with other work slows some rounds more than others.

    Then the cost model for 77 million recipients: throughput per worker (the 1-worker
    rate), workers needed to reach everyone in one hour, and the journal's rows and
    bytes per recipient (the SQLite file after the run). The journal's write rate alone
    on PostgreSQL is ``journal_pg_write_rate.py``'s.

How to run
    .venv/bin/python benchmarks/scale_out.py [-n 40000] [--rounds 3]

    The machine may be shared: the load average before and after is printed, and
    every figure is wall-clock time on it.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import resource
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _twilio_sink import FROM, SID, TOKEN, Sink, auth_header

from broadcast import Broadcaster, SQLiteJournal, Update
from broadcast.channels import TwilioSMS
from broadcast.channels._recipients import from_file
from broadcast.distributed import Distributed, SQLiteShards
from broadcast.distributed.tasks import TaskiqQueue, broker_from

PSN = 77_000_000
WAIT = 600.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Round:
    """One send of ``n`` texts by ``workers`` worker processes."""

    def __init__(self, root: Path, sink: Sink, n: int, workers: int, concurrency: int) -> None:
        self.dir = Path(tempfile.mkdtemp(dir=root))
        self.journal = self.dir / "journal.db"
        self.numbers = self.dir / "numbers.txt"
        self.numbers.write_text("".join(f"+1415{2_000_000 + i:07d}\n" for i in range(n)))
        self.sink, self.n, self.workers = sink, n, workers
        self.broker = f"zmq://127.0.0.1:{free_port()}"
        keep = {k: v for k, v in os.environ.items() if not k.startswith("BROADCAST_")}
        self.env = keep | {
            "BROADCAST_JOURNAL": str(self.journal),
            "BROADCAST_BROKER": self.broker,
            "BROADCAST_TWILIO_ACCOUNT_SID": SID,
            "BROADCAST_TWILIO_AUTH_TOKEN": TOKEN,
            "BROADCAST_TWILIO_FROM": FROM,
            "BROADCAST_TWILIO_BASE_URL": sink.base_url,
            "BROADCAST_SMS_RECIPIENTS": f"@{self.numbers}",
            "BROADCAST_SMS_RATE": "1000000000",
            "BROADCAST_SMS_CONCURRENCY": str(concurrency),
        }

    async def run(self) -> tuple[float, float]:
        """Seconds from the kick to the last text, and the workers' CPU seconds."""
        queue = TaskiqQueue(broker_from(self.broker))
        await queue.start()
        made = SQLiteShards(self.journal)  # the file made once, before the workers open it
        await made.open()
        await made.aclose()
        cpu_before = children_cpu()
        logs = [self.dir / f"worker-{i}.log" for i in range(self.workers)]
        procs = [
            subprocess.Popen(  # noqa: ASYNC220 - started once per round, before timing
                [sys.executable, "-m", "broadcast", "worker", "--sweep-every", "0.5"],
                env=self.env,
                cwd=self.dir,
                stdout=subprocess.DEVNULL,
                stderr=log.open("w"),
            )
            for log in logs
        ]
        deadline = time.monotonic() + 60
        while not all("ready" in log.read_text() for log in logs):
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError(
                    "a worker did not start: " + " / ".join(x.read_text() for x in logs)
                )
            await asyncio.sleep(0.05)
        channel = TwilioSMS(
            SID, TOKEN, from_=FROM, recipients=from_file(self.numbers), base_url=self.sink.base_url
        )
        plan = Distributed(SQLiteShards(self.journal), queue, shard_size=max(1, self.n // 40))
        journal = SQLiteJournal(self.journal)
        update = Update(title="PSN is down", body="We are investigating.", incident="psn-2011-04")
        before = self.sink.stats().accepted
        started = time.perf_counter()
        async with Broadcaster([channel], journal=journal) as broadcaster:
            await broadcaster.send(update, distributed=plan)
        while self.sink.stats().accepted - before < self.n:
            if time.perf_counter() - started > WAIT:
                raise RuntimeError("the workers did not finish")
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(60)
        await journal.aclose()
        await plan.store.aclose()
        await queue.aclose()
        return elapsed, children_cpu() - cpu_before

    def journal_bytes(self) -> tuple[float, float]:
        """Rows and bytes of the journal file per recipient."""
        with sqlite3.connect(self.journal) as conn:
            rows = sum(
                conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 - constants
                for t in ("items", "dist_shards", "sends", "updates", "dist_updates")
            )
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return rows / self.n, self.journal.stat().st_size / self.n


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=40_000, help="texts per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    rates: dict[int, list[float]] = {1: [], 2: []}
    cpu: dict[int, list[float]] = {1: [], 2: []}
    per_row = (0.0, 0.0)
    with tempfile.TemporaryDirectory() as root, Sink(auth_header()) as sink:
        for _ in range(args.rounds):
            for workers in (1, 2):
                one = Round(Path(root), sink, args.n, workers, args.concurrency)
                elapsed, used = await one.run()
                rates[workers].append(args.n / elapsed)
                cpu[workers].append(used / args.n * 1e6)
                per_row = one.journal_bytes()
                print(
                    f"  {workers} worker(s): {args.n:,} texts in {elapsed:.2f} s = "
                    f"{args.n / elapsed:,.0f}/s; workers' CPU {used / args.n * 1e6:.0f} µs/text"
                )
    one_rate, two_rate = statistics.median(rates[1]), statistics.median(rates[2])
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(f"1 worker:  {one_rate:,.0f} texts/s (median of {args.rounds})")
    print(f"2 workers: {two_rate:,.0f} texts/s (median of {args.rounds})")
    print(f"scaling 2 vs 1: {two_rate / one_rate:.2f}x (target >= 1.7x)")
    best = max(two / one for one, two in zip(rates[1], rates[2], strict=True))
    print(f"best round pair: {best:.2f}x")
    hour = PSN / 3600
    print(
        f"cost model, {PSN:,} recipients: {one_rate:,.0f} texts/s per worker -> "
        f"{math.ceil(hour / one_rate)} workers for one hour (at {hour:,.0f} texts/s), "
        f"{PSN / one_rate / 3600:.1f} h on one; journal {per_row[0]:.4f} rows and "
        f"{per_row[1]:.0f} bytes per recipient (SQLite file) -> "
        f"{per_row[1] * PSN / 1e9:.1f} GB for everyone"
    )


if __name__ == "__main__":
    asyncio.run(main())
