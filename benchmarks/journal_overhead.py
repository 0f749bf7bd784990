"""SMS fan-out throughput with broadcast's delivery journal against without it, in the same run.

What is measured
    The Twilio-shaped keep-alive sink of ``sms_fanout.py`` (``benchmarks/_twilio_sink.py``)
    runs in its own process on 127.0.0.1 and answers every authorised ``POST
    .../Messages.json`` with ``201`` and a ``"sid"``, counting it. One update then goes
    to N recipients (a generator of numbers) at concurrency C through ``Broadcaster(
    [TwilioSMS(sid, token, from_=..., base_url=<sink>, concurrency=C, rate=1e9)], ...)``
    and ``await b.send(update)``, two ways, alternating for a few rounds (the order
    rotates each round) so that machine noise hits both alike:

    * no journal: ``journal=None``;
    * journal: ``journal=SQLiteJournal(<a fresh file>)``, closed after the Broadcaster.
      Each recipient gets a ``pending`` row before its request and a ``delivered`` row
      after it, and a worker waits until its ``delivered`` row is committed (group
      commit on the journal's own thread; WAL, ``synchronous=NORMAL``) before it takes
      the next recipient. The timing covers creating the file and its tables, the rows,
      and ``aclose()`` (the last commit, closing the file).

    Every run builds its own Broadcaster and client, so both timings include opening
    the connections. One untimed run of each warms up, with a ``gc.collect()`` before
    every run. After every run the sink must have accepted exactly N more requests (and
    refused none) and the Receipt must say ``accepted == N``; after a journal run the
    file must hold N ``delivered`` rows (read with the stdlib ``sqlite3``). Otherwise
    the script stops.

    The summary gives each way's median msg/s, the client CPU per message (this process,
    the journal's thread included) and the CPU of the sink and of everything else, and
    the median of the per-round ratios journal / no journal: PASS at 0.90 or more.

    Two more sends follow each journal run on the same file, not in the ratio: the cost
    of sending an update again.

    * re-run: the same update again. The journal has the send as delivered, so the
      channel is skipped at its claim, before any recipient is read;
    * resume: the same, after the send's row in the file is set to what a killed run
      leaves (``state='sending'``, no lease). Now the fan-out reads every recipient,
      finds it delivered in the journal (looked up 500 at a time) and skips it: the
      Receipt counts all N as accepted and ``already_delivered``.

    Both are timed as the sends above (a new Broadcaster, client and SQLiteJournal each)
    and must send nothing (the sink counts 0 new requests), or the script stops.

How to run
    .venv/bin/python benchmarks/journal_overhead.py [-n 20000] [-c 20] [--rounds 5]
        [--dir DIR]

    The journal files go in a temporary folder under ``--dir`` (the system's temporary
    folder by default) and are deleted as the script goes. Nothing leaves 127.0.0.1;
    the sink process stops when the script ends.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sqlite3
import statistics
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from _common import Run, measure, paired_ratio, share, update  # sibling modules: a script
from _twilio_sink import Sink, auth_header, expect_accepted, sms_channel

import broadcast
from broadcast import Broadcaster, Outcome, Receipt, SQLiteJournal

PLAIN = "no journal"
JOURNAL = "journal"
_TARGET_RATIO = 0.90
_BUSY_MACHINE = 0.15


# --- one send -----------------------------------------------------------------------


async def send(base_url: str, concurrency: int, count: int, path: Path | None) -> Receipt:
    """One ``b.send(update)`` to ``count`` numbers, with the journal at ``path`` if any."""
    journal = SQLiteJournal(path) if path is not None else None
    try:
        async with Broadcaster([sms_channel(base_url, concurrency, count)], journal=journal) as b:
            report = await b.send(update())
    finally:
        if journal is not None:
            await journal.aclose()  # given, not opened by the Broadcaster: ours to close
    return report.receipts[0]


async def fan_out(base_url: str, concurrency: int, path: Path | None, count: int) -> None:
    """A first send: every recipient must be accepted."""
    receipt = await send(base_url, concurrency, count, path)
    if receipt.outcome is not Outcome.DELIVERED or receipt.accepted != count:
        raise RuntimeError(f"the send accepted {receipt.accepted} of {count}: {receipt}")


async def re_run(base_url: str, concurrency: int, path: Path, count: int) -> None:
    """The same update again: the channel must be skipped as already delivered."""
    receipt = await send(base_url, concurrency, count, path)
    if receipt.outcome is not Outcome.SKIPPED or receipt.reason != "already delivered":
        raise RuntimeError(f"the re-run was not skipped as already delivered: {receipt}")


def as_if_killed(path: Path) -> None:
    """Leave the journal's sends as a run killed while sending leaves them."""
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE sends SET state = 'sending', lease_until = NULL")


async def resume(base_url: str, concurrency: int, path: Path, count: int) -> None:
    """Again after ``as_if_killed``: every recipient must be found delivered and skipped."""
    receipt = await send(base_url, concurrency, count, path)
    already = receipt.details.get("already_delivered")
    if receipt.accepted != count or already != count:
        raise RuntimeError(f"the resume found {already} of {count} delivered: {receipt}")


def delivered_rows(path: Path) -> int:
    """``delivered`` rows in the journal at ``path``."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        (count,) = conn.execute("SELECT COUNT(*) FROM items WHERE state = 'delivered'").fetchone()
    return int(count)


def file_size(path: Path) -> int:
    """Bytes of the journal with its WAL and shared-memory files, if any are left."""
    files = (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"))
    return sum(f.stat().st_size for f in files if f.exists())


def remove(path: Path) -> None:
    """Delete the journal at ``path`` and its WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


# --- measuring ----------------------------------------------------------------------


@dataclass
class Rounds:
    """What the rounds measured."""

    runs: dict[str, list[Run]]
    re_runs: list[float]
    """Seconds per re-run."""
    resumes: list[float]
    """Seconds per resume."""
    sizes: list[int]
    """Bytes of the journal file after each journal run."""


async def _timed(sink: Sink, n: int, sent: int, work: Callable[[int], Awaitable[None]]) -> Run:
    """Time one run of ``work(n)``; the sink must have accepted ``sent`` requests."""
    return await measure(n, work, sink.stats, expect_accepted(sent), interrupts=False)


def _on(
    send: Callable[[str, int, Path, int], Awaitable[None]], url: str, c: int, path: Path
) -> Callable[[int], Awaitable[None]]:
    """``send`` again on the journal at ``path``, as a workload for ``_timed``."""
    return lambda count: send(url, c, path, count)


async def _journal_run(sink: Sink, c: int, n: int, path: Path) -> tuple[Run, int]:
    """A journal run on a fresh file at ``path``; its Run and the file's size after it."""
    remove(path)
    run = await _timed(sink, n, n, lambda count: fan_out(sink.base_url, c, path, count))
    if (rows := delivered_rows(path)) != n:
        raise RuntimeError(f"the journal holds {rows} delivered rows, expected {n}")
    return run, file_size(path)


async def compare(sink: Sink, c: int, n: int, rounds: int, folder: Path) -> Rounds:
    """Warm up, then run both ways in rotating order each round; print each round."""
    url = sink.base_url
    await _timed(sink, min(n, 1000), min(n, 1000), lambda k: fan_out(url, c, None, k))
    await _journal_run(sink, c, min(n, 1000), folder / "warm-up.db")
    remove(folder / "warm-up.db")
    result = Rounds({PLAIN: [], JOURNAL: []}, [], [], [])
    print("  msg/s per run (the order rotates each round); re-run and resume: ms per send")
    print(f"  {'round':>5}  {PLAIN:>10}  {JOURNAL:>10}  {'ratio':>5}  {'re-run':>7}  {'resume':>7}")
    for r in range(rounds):
        path = folder / f"round-{r + 1}.db"
        for name in (PLAIN, JOURNAL) if r % 2 == 0 else (JOURNAL, PLAIN):
            if name == PLAIN:
                run = await _timed(sink, n, n, lambda k: fan_out(url, c, None, k))
            else:
                run, size = await _journal_run(sink, c, n, path)
                result.sizes.append(size)
            result.runs[name].append(run)
        result.re_runs.append(n / (await _timed(sink, n, 0, _on(re_run, url, c, path))).rate)
        as_if_killed(path)
        result.resumes.append(n / (await _timed(sink, n, 0, _on(resume, url, c, path))).rate)
        remove(path)
        plain, journal = result.runs[PLAIN][-1].rate, result.runs[JOURNAL][-1].rate
        print(
            f"  {r + 1:>5}  {plain:>10,.0f}  {journal:>10,.0f}  {journal / plain:>5.2f}  "
            f"{result.re_runs[-1] * 1e3:>7.1f}  {result.resumes[-1] * 1e3:>7.0f}"
        )
    print()
    return result


def summary(result: Rounds, n: int) -> None:
    """Print the medians, the paired ratio and its verdict, the file size and re-runs."""
    runs = result.runs
    print("  CPU columns: seconds of CPU per second of the run (median); µs: client CPU per msg")
    columns = f"{'msg/s':>7}  {'client µs':>9}  {'client':>6}  {'sink':>5}  {'other':>5}"
    print(f"  {'workload':<10}  {columns}")
    for name in (PLAIN, JOURNAL):
        mine = runs[name]
        others = [run.other_cpu for run in mine if run.other_cpu is not None]
        print(
            f"  {name:<10}  {statistics.median(run.rate for run in mine):>7,.0f}  "
            f"{statistics.median(run.client_cpu / run.rate for run in mine) * 1e6:>9.0f}  "
            f"{share(statistics.median(run.client_cpu for run in mine)):>6}  "
            f"{share(statistics.median(run.sink_cpu for run in mine)):>5}  "
            f"{share(statistics.median(others) if others else None):>5}"
        )
    ratio = paired_ratio((run.rate for run in runs[PLAIN]), (run.rate for run in runs[JOURNAL]))
    verdict = "PASS" if ratio >= _TARGET_RATIO else "FAIL"
    print(
        f"  journal / no journal, median of the per-round ratios: {ratio:.3f} "
        f"(target >= {_TARGET_RATIO:.2f}): {verdict}"
    )
    size = result.sizes[-1]
    print(f"  journal file after a run: {size:,} bytes, {size / n:.0f} bytes per recipient")
    re_run, resumed = statistics.median(result.re_runs), statistics.median(result.resumes)
    print(f"  re-run (skipped at the claim), median: {re_run * 1e3:.1f} ms, 0 requests sent")
    print(
        f"  resume (every recipient looked up and skipped), median: {resumed * 1e3:.0f} ms, "
        f"{n / resumed:,.0f} recipients/s, 0 requests sent"
    )
    busy = [(run.other_cpu, name) for name in runs for run in runs[name] if run.other_cpu]
    if busy and (worst := max(busy))[0] >= _BUSY_MACHINE:
        print(
            f"  note: other processes used up to {worst[0]:.0%} of a core during a run "
            f"({worst[1]}); rates are skewed where they did"
        )
    print()


# --- driver -------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description="SMS fan-out throughput with the delivery journal vs without it."
    )
    parser.add_argument("-n", "--recipients", type=int, default=20_000, help="messages per run")
    parser.add_argument("-c", "--concurrency", type=int, default=20, help="requests in flight")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each way")
    parser.add_argument("--dir", type=Path, help="where the journal files go (a temp folder)")
    args = parser.parse_args()
    if args.recipients < 1 or args.concurrency < 1 or args.rounds < 1:
        parser.error("-n, -c and --rounds must be at least 1")
    # ERROR, not WARNING: every resume warns, as it should, that it resumes a stopped send.
    logging.getLogger("broadcast").setLevel(logging.ERROR)
    with (
        tempfile.TemporaryDirectory(prefix="bench-journal-", dir=args.dir) as folder,
        Sink(auth_header()) as sink,
    ):
        print(
            f"broadcast {broadcast.__version__} TwilioSMS with SQLiteJournal vs journal=None "
            f"(SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}, "
            f"{os.cpu_count()} CPUs), sink in its own process at {sink.base_url}: "
            f"N={args.recipients:,} messages per run, C={args.concurrency}, "
            f"{args.rounds} round(s); journal files in {folder}"
        )
        print()
        result = asyncio.run(
            compare(sink, args.concurrency, args.recipients, args.rounds, Path(folder))
        )
        summary(result, args.recipients)


if __name__ == "__main__":
    main()
