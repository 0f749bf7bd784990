"""What the benchmark scripts share: the sink process, CPU accounting, timing, tables, RSS.

The scripts import it as a sibling module (``from _common import ...``), which works
because they run as scripts (``.venv/bin/python benchmarks/<script>.py``): Python puts
their folder first on ``sys.path``, and ``multiprocessing``'s spawn passes that path on
to the child processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import os
import resource
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Protocol, Self, TypeVar

import httpx

import broadcast

HOST = "127.0.0.1"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_START_WAIT = 30.0
"""Seconds a sink may take to start, or to answer a command on its pipe."""


# --- inputs -------------------------------------------------------------------------


def update(title: str = "PlayStation Network is down") -> broadcast.Update:
    """The update every benchmark sends (``title`` lets a run make distinct ones)."""
    return broadcast.Update(
        title=title,
        body=(
            "We are investigating reports that sign-in fails for some players.\n\n"
            "Online play and the store are affected. Next update within the hour."
        ),
        incident="psn-2011-04",
        author="Head of Network Operations",
        severity=broadcast.Severity.CRITICAL,
        url="https://status.example.com/incidents/psn-2011-04",
    )


def httpx_client(
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    max_connections: int = 100,
    keepalive: int = 20,
) -> httpx.AsyncClient:
    """A client set up as ``new_client()`` sets up broadcast's, but for the pool limits."""
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(15.0, connect=5.0),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=keepalive),
        follow_redirects=False,
        headers={"user-agent": f"broadcast/{broadcast.__version__}"},
    )


# --- the sink's child process -------------------------------------------------------


class SinkProcess:
    """``with SinkProcess(target, *args, name=...) as sink:`` runs a sink meanwhile.

    ``target(conn, *args)`` runs in a spawned child process: it sends its port on
    ``conn`` once it listens, may answer commands sent with ``ask``, and must stop when
    the parent closes its end of the pipe (or dies).
    """

    def __init__(
        self, target: Callable[..., None], *args: object, name: str, stop_wait: float = 10.0
    ) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, self._child_conn = ctx.Pipe()
        self._process = ctx.Process(
            target=target, args=(self._child_conn, *args), name=name, daemon=True
        )
        self._stop_wait = stop_wait
        self.port = 0

    def __enter__(self) -> Self:
        self._process.start()
        self._child_conn.close()
        if not self._conn.poll(_START_WAIT):
            self._stop()
            raise RuntimeError(f"the sink did not start within {_START_WAIT:g} s")
        try:
            self.port = self._conn.recv()
        except EOFError:
            self._stop()
            raise RuntimeError("the sink exited before it was ready") from None
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop()

    def ask(self, command: str) -> Any:
        """Send ``command`` and return the answer (a blocking round trip on the pipe)."""
        self._conn.send(command)
        if not self._conn.poll(_START_WAIT):
            raise RuntimeError(f"the sink did not answer within {_START_WAIT:g} s")
        return self._conn.recv()

    def _stop(self) -> None:
        self._conn.close()
        stop_child(self._process, self._stop_wait)


async def serve_until_closed(
    conn: Connection,
    server: asyncio.Server,
    stats: Callable[[], tuple[object, ...]],
    lifetime: float,
) -> None:
    """Serve a sink's ``server`` in its child process until the parent lets go.

    Sends the port on ``conn``, answers each "stats" with ``stats()``, and stops when the
    parent closes its end (or after ``lifetime`` seconds).
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def command() -> None:
        try:
            if conn.recv() == "stats":
                conn.send(stats())
        except (EOFError, OSError):  # the parent closed its end (or died): time to stop
            loop.remove_reader(conn.fileno())
            stop.set()

    loop.add_reader(conn.fileno(), command)
    conn.send(server.sockets[0].getsockname()[1])
    async with server:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=lifetime)


def stop_child(process: multiprocessing.process.BaseProcess, wait: float) -> None:
    """Wait up to ``wait`` s for ``process`` to end, then terminate it."""
    process.join(timeout=wait)
    if process.is_alive():
        process.terminate()
        process.join(timeout=5)


# --- measuring a run ----------------------------------------------------------------


def machine_busy(*, interrupts: bool) -> float | None:
    """CPU seconds the whole machine has been busy, from /proc/stat (None elsewhere).

    user + nice + system + steal, and with ``interrupts`` irq + softirq as well (the
    loopback traffic of a run is mostly interrupt time, which no process is charged for).
    """
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = (int(v) for v in stat.readline().split()[1:9])
            user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    except (OSError, ValueError):
        return None
    busy = user + nice + system + steal + (irq + softirq if interrupts else 0)
    return busy / CLOCK_TICKS


@dataclass(frozen=True)
class Run:
    """One timed run: messages/s, and CPU used per second of it (1.0 = one whole core)."""

    rate: float
    client_cpu: float
    sink_cpu: float
    other_cpu: float | None
    """What the rest of the machine used meanwhile: other work skews the run."""
    received: int
    """What the sink counted during the run."""


class _Stats(Protocol):
    @property
    def cpu(self) -> float: ...


StatsT = TypeVar("StatsT", bound=_Stats)


async def measure(
    n: int,
    workload: Callable[[int], Awaitable[None]],
    stats: Callable[[], StatsT],
    received: Callable[[StatsT, StatsT], int],
    *,
    interrupts: bool,
) -> Run:
    """Time one run of ``workload(n)`` and the CPU it used: here, in the sink, elsewhere.

    ``stats()`` reads the sink's counters; ``received(before, after)`` checks what it
    counted meanwhile (raising if that is wrong) and returns it. ``interrupts``: whether
    interrupt time counts towards the rest of the machine (see ``machine_busy``).
    """
    gc.collect()
    before = stats()
    busy = machine_busy(interrupts=interrupts)
    cpu = time.process_time()
    wall = time.perf_counter()
    await workload(n)
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    busy_after = machine_busy(interrupts=interrupts)
    after = stats()
    got = received(before, after)
    sink_cpu = after.cpu - before.cpu
    other = None
    if busy is not None and busy_after is not None:
        other = max(0.0, busy_after - busy - cpu - sink_cpu) / wall
    return Run(n / wall, cpu / wall, sink_cpu / wall, other, got)


def per_call_us(fn: Callable[[], object], calls: int) -> float:
    """Mean µs per call of ``fn`` over ``calls`` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


# --- tables -------------------------------------------------------------------------


def share(value: float | None) -> str:
    """A share of a core as a percentage, or ``n/a``."""
    return "n/a" if value is None else f"{value:.0%}"


def paired_ratio(base: Iterable[float], lib: Iterable[float]) -> float:
    """The median of the per-round ratios ``lib / base`` (pairs run back to back)."""
    return statistics.median(x / b for b, x in zip(base, lib, strict=True))


def rate_header(unit: str) -> str:
    """The head of a baseline/library table of rates, in ``unit`` (``req/s``, ``msg/s``)."""
    return f"  {'round':>5}  {'baseline ' + unit:>14}  {'library ' + unit:>13}  {'lib/base':>8}"


def rate_row(label: object, base: float, lib: float) -> str:
    """One row of that table: both rates and their ratio."""
    return f"  {label:>5}  {base:>14,.0f}  {lib:>13,.0f}  {lib / base:>8.2f}"


def rate_medians(base_rates: Sequence[float], lib_rates: Sequence[float]) -> tuple[float, float]:
    """Print the table's last rows, the medians, and return them (baseline, library)."""
    base = statistics.median(base_rates)
    lib = statistics.median(lib_rates)
    print(f"  {'-' * 5}  {'-' * 14}  {'-' * 13}  {'-' * 8}")
    print(rate_row("med.", base, lib))
    return base, lib


# --- peak memory in a fresh process -------------------------------------------------

Send = Callable[..., Coroutine[Any, Any, None]]


def high_water_kb() -> int:
    """This process's peak RSS so far, in KiB.

    On Linux, ``VmHWM`` from /proc/self/status: ``ru_maxrss`` would not do in a spawned
    child, as it carries over the parent's peak across fork and exec (a child of a
    300 MB parent reports 300 MB at its first line). Elsewhere ``ru_maxrss`` (KiB on
    most systems, bytes on macOS).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def _rss_process(send: Send, args: tuple[object, ...], conn: Connection) -> None:
    floor_kb = high_water_kb()
    start = time.perf_counter()
    try:
        asyncio.run(send(*args))
    except RuntimeError as exc:
        conn.send(str(exc))
        return
    elapsed = time.perf_counter() - start
    conn.send((floor_kb, high_water_kb(), elapsed))


@dataclass(frozen=True)
class PeakRss:
    """What a fresh process used: peak RSS after imports, peak RSS (KiB), seconds to send."""

    floor_kb: int
    peak_kb: int
    elapsed: float

    def verdict(self, limit_mb: float) -> str:
        """The line that compares the peak with ``limit_mb``: PASS under it."""
        peak_mb = self.peak_kb / 1024
        verdict = "PASS" if peak_mb < limit_mb else "FAIL"
        return (
            f"  peak RSS {peak_mb:.1f} MB ({self.floor_kb / 1024:.1f} MB after imports), "
            f"limit {limit_mb:.0f} MB: {verdict}"
        )


def peak_rss(send: Send, *args: object, name: str, wait: float) -> PeakRss:
    """Run ``send(*args)`` in a fresh process (a module-level coroutine function)."""
    ctx = multiprocessing.get_context("spawn")
    parent_conn, child_conn = ctx.Pipe(duplex=False)
    process = ctx.Process(
        target=_rss_process, args=(send, args, child_conn), name=name, daemon=True
    )
    process.start()
    child_conn.close()
    try:
        if not parent_conn.poll(wait):
            raise RuntimeError(f"the memory check did not finish within {wait:g} s")
        try:
            result = parent_conn.recv()
        except EOFError:
            raise RuntimeError("the memory check exited without a result") from None
    finally:
        stop_child(process, 10)
    if isinstance(result, str):
        raise RuntimeError(f"memory check: {result}")
    return PeakRss(*result)
