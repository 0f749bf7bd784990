"""SMS fan-out throughput of broadcast's TwilioSMS against raw aiohttp, in the same run.

What is measured
    A Twilio-shaped HTTP/1.1 keep-alive sink (``benchmarks/_twilio_sink.py``) runs in
    its own process on 127.0.0.1: it answers every ``POST
    /2010-04-01/Accounts/{sid}/Messages.json`` that carries the right basic auth with
    ``201`` and a small JSON body holding a ``"sid"``, and counts it. One update then
    goes to N recipients at concurrency C, several ways, alternating for a few rounds
    (the order rotates each round) so that machine noise hits all alike:

    * raw aiohttp, the baseline: one ``aiohttp.ClientSession`` (connector limit 100, as
      broadcast's clients) and C worker tasks sharing a generator of numbers, each
      POSTing the form Twilio expects (From, Body, To; the Body the library renders for
      this update, built once) with a basic-auth header, and reading the sid from the
      JSON answer;
    * the library, once per client variant: ``Broadcaster([TwilioSMS(sid, token,
      from_=..., recipients=<generator>, base_url=<sink>, concurrency=C, rate=1e9)])``
      with ``journal=None`` (``journal_overhead.py`` measures the journal), and ``await
      b.send(update)``. That covers rendering the SMS, normalising and de-duplicating
      every number (phonenumbers), the fan-out queue, the rate limiter,
      the per-recipient retry wrapper, httpx building and sending each request, the
      status check, reading the sid, the tally, the Receipt and Report. The variants
      differ only in the ``httpx.AsyncClient`` given as ``Broadcaster(http_client=...)``:

      - ``broadcast-default``: none given, so the Broadcaster makes ``new_client()``,
        whatever transport that uses (the first line printed names it);
      - ``httpcore``: ``httpx.AsyncClient`` with httpx's default transport (httpcore)
        and the settings ``new_client()`` had at first: ``Limits(100, keepalive 20)``,
        the same timeouts, no redirects, broadcast's user-agent;
      - ``httpcore-keepalive``: the same but ``max_keepalive_connections=100``, so at
        C > 20 connections are not closed and reopened after each request;
      - ``httpx-aiohttp``: the same settings over ``httpx_aiohttp.AiohttpTransport``
        (only when the ``httpx-aiohttp`` package is installed).

    Every run opens its own session or client, so all timings include opening the
    connections. One untimed run of each warms up, then the timed rounds follow, with a
    ``gc.collect()`` before each run. After every run the sink must have accepted
    exactly N more requests (and refused none), or the script stops.

    Each run reports messages/s and the CPU used during it, in seconds per second (100%
    is one core): by the client (this process), by the sink, and by every other process
    on the machine (from /proc/stat, less interrupt time, which is mostly this run's
    loopback traffic). The summary gives, per workload, the median rate, the
    ratio to raw aiohttp (the median of the per-round ratios: pairs run back to back)
    and the client CPU per message. Targets for the library: at least 3,000 msg/s and
    at least 0.45 of raw aiohttp.

    Unless ``--memory-recipients 0``, a fresh process (so the runs above do not inflate
    it) then sends one update to that many recipients from a generator through the
    library and reports its peak RSS (``VmHWM``, see ``_common.high_water_kb``): PASS
    under 200 MB.

    ``--profile VARIANT`` instead runs the library once under cProfile and prints where
    the time per message goes, by package and by function.

How to run
    Needs aiohttp (the baseline); httpx-aiohttp is optional (one more variant).

    .venv/bin/python benchmarks/sms_fanout.py [-n 10000] [-c 50] [--rounds 5]
        [--variants broadcast-default,httpcore,httpcore-keepalive,httpx-aiohttp]
        [--memory-recipients 1000000] [--memory-variant NAME] [--profile NAME]

    Nothing leaves 127.0.0.1; the sink process stops when the script ends.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import importlib.util
import logging
import os
import pstats
import statistics
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx
from _common import (  # sibling modules: this runs as a script
    Run,
    httpx_client,
    measure,
    paired_ratio,
    peak_rss,
    share,
    update,
)
from _twilio_sink import FROM, SID, Sink, auth_header, expect_accepted, phone_numbers, sms_channel

import broadcast
from broadcast.channels._http import new_client

RAW = "raw-aiohttp"
_TARGET_RATE = 3000.0
_TARGET_RATIO = 0.45
_MEMORY_LIMIT_MB = 200.0
_MAX_CONNECTIONS = 100
_CHILD_WAIT = 3600.0
"""Seconds the memory-check process may take before it is stopped."""
_BUSY_MACHINE = 0.15
_STDLIB_PACKAGES = frozenset({"asyncio", "http", "urllib", "email", "json", "concurrent"})


# --- client variants ----------------------------------------------------------------


def _httpx_client(*, keepalive: int = 20) -> httpx.AsyncClient:
    return httpx_client(max_connections=_MAX_CONNECTIONS, keepalive=keepalive)


def _aiohttp_transport_client() -> httpx.AsyncClient:
    from httpx_aiohttp import AiohttpTransport  # noqa: PLC0415 - optional package

    limits = httpx.Limits(max_connections=_MAX_CONNECTIONS, max_keepalive_connections=20)
    return httpx_client(transport=AiohttpTransport(limits=limits), max_connections=_MAX_CONNECTIONS)


ClientFactory = Callable[[], httpx.AsyncClient] | None
VARIANTS: dict[str, ClientFactory] = {
    "broadcast-default": None,  # the Broadcaster makes new_client()
    "httpcore": _httpx_client,
    "httpcore-keepalive": lambda: _httpx_client(keepalive=_MAX_CONNECTIONS),
    "httpx-aiohttp": _aiohttp_transport_client,
}
DEFAULT = "broadcast-default"


def _available(name: str) -> bool:
    return name != "httpx-aiohttp" or importlib.util.find_spec("httpx_aiohttp") is not None


async def _default_transport() -> str:
    """The transport of the client the Broadcaster makes, by module and class."""
    async with new_client() as client:
        transport = client._transport  # httpx keeps it private; only named in the report
    return f"{type(transport).__module__}.{type(transport).__qualname__}"


# --- workloads ----------------------------------------------------------------------


async def library(base_url: str, concurrency: int, factory: ClientFactory, count: int) -> None:
    """One ``b.send(update)`` to ``count`` numbers; raises unless all were accepted."""
    client = factory() if factory is not None else None
    try:
        sms = sms_channel(base_url, concurrency, count)
        async with broadcast.Broadcaster([sms], http_client=client, journal=None) as b:
            report = await b.send(update())
    finally:
        if client is not None:
            await client.aclose()
    receipt = report.receipts[0]
    if not report.ok or receipt.accepted != count:
        raise RuntimeError(f"library send accepted {receipt.accepted} of {count}:\n{report}")


async def _library_variant(base_url: str, concurrency: int, variant: str, count: int) -> None:
    """``library`` with the client variant named ``variant`` (a name crosses processes)."""
    await library(base_url, concurrency, VARIANTS[variant], count)


async def raw_aiohttp(base_url: str, concurrency: int, body: str, count: int) -> None:
    """C aiohttp tasks POST the same form to ``count`` numbers between them."""
    url = f"{base_url}/2010-04-01/Accounts/{SID}/Messages.json"
    headers = {"Authorization": auth_header()}  # aiohttp 3.14 deprecates auth=BasicAuth
    form = {"From": FROM, "Body": body}
    numbers = phone_numbers(count)
    connector = aiohttp.TCPConnector(limit=_MAX_CONNECTIONS)
    timeout = aiohttp.ClientTimeout(total=15.0, sock_connect=5.0)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            for to in numbers:  # workers share the generator: each number is taken once
                async with session.post(url, data={**form, "To": to}, headers=headers) as response:
                    answer = await response.json()
                    if response.status != 201 or not isinstance(answer.get("sid"), str):
                        raise RuntimeError(f"raw aiohttp got HTTP {response.status}")

        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(worker())


def _workloads(
    base_url: str, concurrency: int, variants: list[str]
) -> dict[str, Callable[[int], Awaitable[None]]]:
    body = sms_channel(base_url, concurrency, 0).render(update()).text

    def raw(count: int) -> Awaitable[None]:
        return raw_aiohttp(base_url, concurrency, body, count)

    def lib(factory: ClientFactory) -> Callable[[int], Awaitable[None]]:
        return lambda count: library(base_url, concurrency, factory, count)

    return {RAW: raw} | {name: lib(VARIANTS[name]) for name in variants}


# --- measuring ----------------------------------------------------------------------


async def _measure(sink: Sink, n: int, workload: Callable[[int], Awaitable[None]]) -> Run:
    """Time one run of ``workload``; check the sink accepted exactly ``n`` requests."""
    # Interrupt and softirq time is left out of the other processes' CPU: it is mostly
    # the loopback traffic of the run itself, which no process is charged for.
    return await measure(n, workload, sink.stats, expect_accepted(n), interrupts=False)


async def compare(sink: Sink, concurrency: int, variants: list[str], n: int, rounds: int) -> None:
    """Warm up, run every workload in rotating order each round, print rates and ratios."""
    work = _workloads(sink.base_url, concurrency, variants)
    names = list(work)
    for name in names:
        await _measure(sink, min(n, 1000), work[name])
    runs: dict[str, list[Run]] = {name: [] for name in names}
    print("  msg/s per run (the order rotates each round)")
    width = max(len(name) for name in names)
    print(f"  {'round':>5}  " + "  ".join(f"{name:>{width}}" for name in names))
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            runs[name].append(await _measure(sink, n, work[name]))
        print(
            f"  {r + 1:>5}  " + "  ".join(f"{runs[name][-1].rate:>{width},.0f}" for name in names)
        )
    print()
    print("  CPU columns: seconds of CPU per second of the run (median); µs: client CPU per msg")
    print(
        f"  {'workload':<{width}} {'msg/s':>7} {'vs raw':>7} {'client µs':>9} {'client':>6} "
        f"{'sink':>5} {'other':>5}  verdict (>= {_TARGET_RATE:,.0f} msg/s, >= {_TARGET_RATIO})"
    )
    raw = runs[RAW]
    for name in names:
        mine = runs[name]
        rate = statistics.median(run.rate for run in mine)
        ratio = paired_ratio((run.rate for run in raw), (run.rate for run in mine))
        client_us = statistics.median(run.client_cpu / run.rate for run in mine) * 1e6
        others = [run.other_cpu for run in mine if run.other_cpu is not None]
        verdict = ""
        if name != RAW:
            ok = rate >= _TARGET_RATE and ratio >= _TARGET_RATIO
            verdict = "PASS" if ok else "FAIL"
        print(
            f"  {name:<{width}} {rate:>7,.0f} {ratio:>7.2f} {client_us:>9.0f} "
            f"{share(statistics.median(r.client_cpu for r in mine)):>6} "
            f"{share(statistics.median(r.sink_cpu for r in mine)):>5} "
            f"{share(statistics.median(others) if others else None):>5}  {verdict}"
        )
    busy = [
        (run.other_cpu, name, r + 1)
        for name in names
        for r, run in enumerate(runs[name])
        if run.other_cpu is not None
    ]
    if busy and (worst := max(busy))[0] >= _BUSY_MACHINE:
        other, name, round_ = worst
        print(
            f"  note: other processes used up to {other:.0%} of a core during a run "
            f"({name}, round {round_}); rates are skewed where they did"
        )
    print()


# --- peak memory (a fresh process) --------------------------------------------------


def memory(sink: Sink, concurrency: int, variant: str, count: int) -> None:
    """Peak RSS of a fresh process sending to ``count`` generated numbers."""
    before = sink.stats()
    result = peak_rss(
        _library_variant,
        sink.base_url,
        concurrency,
        variant,
        count,
        name="bench-sms-memory",
        wait=_CHILD_WAIT,
    )
    accepted = sink.stats().accepted - before.accepted
    if accepted != count:
        raise RuntimeError(f"memory check: the sink accepted {accepted}, expected {count}")
    elapsed = result.elapsed
    print(f"peak memory: {count:,} numbers from a generator, library ({variant}), fresh process")
    print(f"  sent {count:,} in {elapsed:.1f} s ({count / elapsed:,.0f} msg/s)")
    print(result.verdict(_MEMORY_LIMIT_MB))
    print()


# --- profile ------------------------------------------------------------------------


def _package(filename: str) -> str:
    """Who owns a profiled function: a distribution, broadcast, a stdlib module, or C."""
    if filename == "~":
        return "(C builtins)"
    path = filename.replace("\\", "/")
    if "/broadcast/" in path:
        return "broadcast"
    if "/site-packages/" in path:
        return path.split("/site-packages/")[1].split("/")[0].removesuffix(".py")
    folder, _, module = path.rpartition("/")
    parent = folder.rpartition("/")[2]
    if parent in _STDLIB_PACKAGES or module == "__init__.py":
        return f"stdlib {parent}"
    return f"stdlib {module.removesuffix('.py')}"


def profile(sink: Sink, concurrency: int, variant: str, n: int) -> None:
    """Run the library once under cProfile; print µs per message by package and function."""
    asyncio.run(library(sink.base_url, concurrency, VARIANTS[variant], min(n, 1000)))
    gc.collect()
    cpu = time.process_time()
    asyncio.run(library(sink.base_url, concurrency, VARIANTS[variant], n))
    plain_us = (time.process_time() - cpu) / n * 1e6
    gc.collect()
    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(library(sink.base_url, concurrency, VARIANTS[variant], n))
    profiler.disable()
    stats = pstats.Stats(profiler)
    entries = stats.stats  # type: ignore[attr-defined]
    by_package: dict[str, float] = {}
    for (filename, _, _), (_, _, tottime, _, _) in entries.items():
        key = _package(filename)
        by_package[key] = by_package.get(key, 0.0) + tottime
    total = sum(by_package.values())
    print(f"cProfile, library ({variant}), {n:,} messages at C={concurrency}")
    print(
        f"  client CPU per message: {plain_us:.0f} µs unprofiled, {total / n * 1e6:.0f} µs "
        "profiled (cProfile's own cost per call inflates the call-heavy parts most)"
    )
    print("  own time per message by package, profiled (1% or more)")
    rest = 0.0
    for key, seconds in sorted(by_package.items(), key=lambda kv: -kv[1]):
        if seconds < total / 100:
            rest += seconds
            continue
        print(f"    {key:<18} {seconds / n * 1e6:7.1f} µs  {seconds / total:5.1%}")
    print(f"    {'the rest':<18} {rest / n * 1e6:7.1f} µs  {rest / total:5.1%}")
    print()
    for title, column in (("cumulative", 3), ("own", 2)):
        print(f"  functions by {title} time (µs per message; calls count resumptions)")
        rows = sorted(entries.items(), key=lambda kv: -kv[1][column])[:30]
        for (filename, line, func), (_, calls, tottime, cumtime, _) in rows:
            where = f"{_package(filename)}: {os.path.basename(filename)}:{line}({func})"
            print(
                f"    {cumtime / n * 1e6:7.1f} cum {tottime / n * 1e6:6.1f} own "
                f"{calls / n:5.2f}/msg  {where}"
            )
        print()


# --- driver -------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description="SMS fan-out throughput of broadcast's TwilioSMS vs raw aiohttp."
    )
    parser.add_argument("-n", "--recipients", type=int, default=10_000, help="messages per run")
    parser.add_argument("-c", "--concurrency", type=int, default=50, help="requests in flight")
    parser.add_argument("--rounds", type=int, default=5, help="runs of every workload")
    parser.add_argument(
        "--variants",
        default=",".join(name for name in VARIANTS if _available(name)),
        help=f"library client variants, comma-separated, of: {', '.join(VARIANTS)}",
    )
    parser.add_argument(
        "--memory-recipients",
        type=int,
        default=1_000_000,
        help="recipients for the peak-RSS check in a fresh process (0 skips it)",
    )
    parser.add_argument(
        "--memory-variant", default=DEFAULT, help="client variant for the memory check"
    )
    parser.add_argument("--profile", metavar="VARIANT", help="profile one library run instead")
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    chosen = [*variants, args.memory_variant, args.profile or DEFAULT]
    if unknown := sorted({v for v in chosen if v not in VARIANTS}):
        parser.error(f"unknown variant(s): {', '.join(unknown)}")
    if missing := sorted({v for v in chosen if not _available(v)}):
        parser.error(f"not installed for {', '.join(missing)}: pip install httpx-aiohttp")
    if args.recipients < 1 or args.concurrency < 1 or args.rounds < 1:
        parser.error("-n, -c and --rounds must be at least 1")
    if args.memory_recipients < 0:
        parser.error("--memory-recipients must be at least 0")
    logging.getLogger("broadcast").setLevel(logging.WARNING)
    with Sink(auth_header()) as sink:
        if args.profile:
            profile(sink, args.concurrency, args.profile, args.recipients)
            return
        print(
            f"broadcast {broadcast.__version__} TwilioSMS vs raw aiohttp {aiohttp.__version__} "
            f"(httpx {httpx.__version__}, Python {sys.version.split()[0]}, "
            f"{os.cpu_count()} CPUs), sink in its own process at {sink.base_url}: "
            f"N={args.recipients:,} messages per run, C={args.concurrency}, "
            f"{args.rounds} round(s); broadcast-default is {asyncio.run(_default_transport())}"
        )
        print()
        asyncio.run(compare(sink, args.concurrency, variants, args.recipients, args.rounds))
        if args.memory_recipients:
            memory(sink, args.concurrency, args.memory_variant, args.memory_recipients)


if __name__ == "__main__":
    main()
