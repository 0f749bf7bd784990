"""Per-send overhead of broadcast's Webhook channel, against raw httpx in the same run.

What is measured
    A fast HTTP/1.1 keep-alive sink runs in a separate process on 127.0.0.1 and answers
    every POST with ``200 OK`` and an empty body (it counts them; ``vs_apprise.py``
    asks it for the count with ``Sink.stats()``). Two workloads then POST to it, N
    requests each at concurrency C, alternating (baseline, library, baseline, ...) for a
    few rounds so that machine noise hits both alike:

    * baseline: one ``httpx.AsyncClient`` (same timeouts, limits and user-agent as the
      Broadcaster's default client) POSTs one pre-rendered, pre-signed JSON body with
      the same headers a Webhook sends;
    * library: one shared ``Broadcaster([Webhook(url, secret=...)], http_client=...,
      journal=None)`` is asked to ``send`` N distinct, pre-built ``Update`` objects.
      That covers render (JSON document, the update key), signing, the retry wrapper,
      the timeout, the task per channel, the post and its status check, and the Receipt
      and Report.

    Both send through the same client, so they share one connection pool and only
    broadcast's layer differs (separate pools drift apart: httpcore's pool gets slower
    with more pooled connections and drops idle ones after 5 s). One untimed round
    warms up, then the timed rounds follow, with a ``gc.collect()`` before each run.

    Each run reports requests/s. The summary gives the median rates, the ratio
    library/baseline (1.0 means no overhead) and the overhead per send in microseconds,
    ``1/lib_rate - 1/base_rate``. The client is one Python thread and CPU-bound here,
    so that difference is broadcast's CPU cost per send.

    The same comparison is then repeated without sockets, on ``httpx.MockTransport``.
    Over a real socket httpcore's connection pool does work per request that grows with
    the requests queued in it and the connections it holds, so at high C it dominates
    and swings from run to run; and broadcast's own work between requests keeps that
    queue shorter, which flatters the library. Without the pool the difference is
    broadcast's cost alone, and far less noisy. Finally ``Webhook.render`` and signing
    are timed alone (pure, no I/O).

How to run
    make bench
    .venv/bin/python benchmarks/webhook_overhead.py [-n 2000] [-c 20] [--rounds 3]
    .venv/bin/python benchmarks/webhook_overhead.py --profile [-n 3000]  (cProfile only)

Nothing leaves 127.0.0.1; the sink process stops when the script ends.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import functools
import gc
import pstats
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection

import httpx
from _common import (  # a sibling module: this runs as a script
    HOST,
    SinkProcess,
    httpx_client,
    paired_ratio,
    per_call_us,
    rate_header,
    rate_medians,
    rate_row,
    serve_until_closed,
    update,
)

import broadcast
from broadcast.channels import Webhook
from broadcast.channels._webhook import sign

_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
_MAX_HEADER_BYTES = 64 * 1024
_SINK_LIFETIME = 600.0
"""Seconds after which the sink stops on its own, should the parent never say so."""
_MICRO_CALLS = 2000


# --- the sink (runs in a child process) ---------------------------------------------


@dataclass
class _Count:
    requests: int = 0


async def _serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, count: _Count
) -> None:
    """Answer every request on one keep-alive connection until the client closes it."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
                    break
            if length:
                await reader.readexactly(length)
            count.requests += 1
            writer.write(_RESPONSE)
            await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass
    finally:
        writer.close()


async def _sink_main(conn: Connection) -> None:
    count = _Count()
    server = await asyncio.start_server(
        functools.partial(_serve_connection, count=count),
        HOST,
        0,
        limit=_MAX_HEADER_BYTES,
        backlog=256,
    )
    stats = lambda: (count.requests, time.process_time())  # noqa: E731
    await serve_until_closed(conn, server, stats, _SINK_LIFETIME)


def _sink_process(conn: Connection) -> None:
    asyncio.run(_sink_main(conn))


class Sink(SinkProcess):
    """``with Sink() as sink:`` runs the sink in a child process for the block's duration."""

    def __init__(self) -> None:
        super().__init__(_sink_process, name="bench-sink", stop_wait=5.0)

    @property
    def url(self) -> str:
        """Where the Webhook posts."""
        return f"http://{HOST}:{self.port}/hook"

    def stats(self) -> SinkStats:
        """Ask the sink for its count and CPU time (a blocking round trip on the pipe)."""
        return SinkStats(*self.ask("stats"))


@dataclass(frozen=True)
class SinkStats:
    """Requests the sink has answered, and CPU seconds its process has used, so far."""

    requests: int
    cpu: float


# --- workloads ----------------------------------------------------------------------


async def _run_concurrently(
    items: Iterable[object], concurrency: int, one: Callable[[object], Awaitable[None]]
) -> float:
    """Seconds to push every item through ``one`` with ``concurrency`` worker tasks."""
    shared: Iterator[object] = iter(items)

    async def worker() -> None:
        for item in shared:  # workers share the iterator: each item is taken once
            await one(item)

    start = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker())
    return time.perf_counter() - start


def _make_updates(prefix: str, count: int) -> list[broadcast.Update]:
    return [update(f"PlayStation Network is down ({prefix} {i})") for i in range(count)]


def _secret_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


@dataclass(frozen=True)
class Workloads:
    """The two workloads, against one URL, with one secret, at one concurrency."""

    url: str
    secret: str
    concurrency: int

    def signed_request(self) -> tuple[bytes, dict[str, str]]:
        """The body and headers a Webhook would send, rendered and signed once."""
        rendered = Webhook(self.url, secret=self.secret).render(_make_updates("base", 1)[0])
        timestamp = int(time.time())
        signature = sign(_secret_key(self.secret), rendered.message_id, timestamp, rendered.body)
        headers = {
            "content-type": "application/json",
            "webhook-id": rendered.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature,
        }
        return rendered.body, headers

    async def baseline(self, client: httpx.AsyncClient, count: int) -> float:
        """Seconds for ``count`` raw POSTs of the same signed body."""
        body, headers = self.signed_request()

        async def one(_: object) -> None:
            response = await client.post(self.url, content=body, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"baseline got HTTP {response.status_code}")

        return await _run_concurrently(range(count), self.concurrency, one)

    async def library(self, b: broadcast.Broadcaster, updates: list[broadcast.Update]) -> float:
        """Seconds for ``b.send`` of every update."""

        async def one(update: object) -> None:
            assert isinstance(update, broadcast.Update)
            report = await b.send(update)
            if not report.ok:
                raise RuntimeError(f"library send failed:\n{report}")

        return await _run_concurrently(updates, self.concurrency, one)

    async def compare(
        self,
        title: str,
        *,
        client: httpx.AsyncClient,
        b: broadcast.Broadcaster,
        n: int,
        rounds: int,
    ) -> None:
        """Warm up, alternate baseline and library runs, print a table and a summary."""
        # Distinct updates for every library run, built before any timing starts.
        warm_updates = _make_updates(f"{title} warm", n)
        round_updates = [_make_updates(f"{title} {r}", n) for r in range(rounds)]
        # One untimed round: opens the keep-alive connections, settles the pool, fills caches.
        await self.baseline(client, n)
        await self.library(b, warm_updates)

        print(title)
        print(rate_header("req/s"))
        base_rates: list[float] = []
        lib_rates: list[float] = []
        for r in range(rounds):
            gc.collect()
            base_rates.append(n / await self.baseline(client, n))
            gc.collect()
            lib_rates.append(n / await self.library(b, round_updates[r]))
            print(rate_row(r + 1, base_rates[-1], lib_rates[-1]))
        base, lib = rate_medians(base_rates, lib_rates)
        paired = paired_ratio(base_rates, lib_rates)
        print(f"  ratio library/baseline: {lib / base:.2f} of medians, {paired:.2f} per round")
        print(
            f"  per send: baseline {1e6 / base:.1f} µs, library {1e6 / lib:.1f} µs, "
            f"broadcast overhead {1e6 / lib - 1e6 / base:+.1f} µs"
        )
        print()


# --- micro-benchmarks (pure, no I/O) ------------------------------------------------


def _micro_round(webhook: Webhook, key: bytes, prefix: str) -> tuple[float, float, float]:
    updates = _make_updates(prefix, _MICRO_CALLS)
    fresh = iter(updates)
    render_us = per_call_us(lambda: webhook.render(next(fresh)), _MICRO_CALLS)
    fresh = iter(_make_updates(f"{prefix} key", _MICRO_CALLS))  # not rendered: no key yet
    key_us = per_call_us(lambda: next(fresh).key, _MICRO_CALLS)
    rendered = webhook.render(updates[0])
    sign_us = per_call_us(
        lambda: sign(key, rendered.message_id, 1_700_000_000, rendered.body), _MICRO_CALLS
    )
    return render_us, key_us, sign_us


def micro(url: str, secret: str, rounds: int) -> None:
    """Print median µs per call of render, of the update key and of signing."""
    webhook = Webhook(url, secret=secret)
    key = _secret_key(secret)
    render, update_key, signing = zip(
        *(_micro_round(webhook, key, f"micro {r}") for r in range(rounds)), strict=True
    )
    print(f"pure parts, no I/O (median of {rounds} x {_MICRO_CALLS} calls)")
    for label, values in (
        ("Webhook.render (JSON document, key, body)", render),
        ("Update.key, first read (then kept)", update_key),
        ("sign (HMAC-SHA256 + base64)", signing),
    ):
        print(f"  {label:<42} {statistics.median(values):7.1f} µs")


# --- driver -------------------------------------------------------------------------


async def run(url: str, n: int, concurrency: int, rounds: int) -> None:
    """Both comparisons, then the micro-benchmarks."""
    secret = Webhook.generate_secret()
    work = Workloads(url=url, secret=secret, concurrency=concurrency)
    print(
        f"broadcast {broadcast.__version__} Webhook overhead vs raw httpx {httpx.__version__} "
        f"(Python {sys.version.split()[0]}): N={n} sends per run, C={concurrency} in flight, "
        f"{rounds} round(s), body {len(work.signed_request()[0])} bytes"
    )
    print()
    async with (
        httpx_client() as client,
        broadcast.Broadcaster([Webhook(url, secret=secret)], http_client=client, journal=None) as b,
    ):
        await work.compare(
            f"over a socket to the sink at {url}", client=client, b=b, n=n, rounds=rounds
        )

    def ok(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200)

    async with (
        httpx_client(transport=httpx.MockTransport(ok)) as client,
        broadcast.Broadcaster([Webhook(url, secret=secret)], http_client=client, journal=None) as b,
    ):
        await work.compare(
            "no socket, httpx.MockTransport (broadcast's own cost)",
            client=client,
            b=b,
            n=n,
            rounds=rounds,
        )
    micro(url, secret, rounds)


async def profile(url: str, n: int, concurrency: int) -> None:
    """``b.send`` of ``n`` updates under cProfile, over broadcast's default client."""
    secret = Webhook.generate_secret()
    work = Workloads(url=url, secret=secret, concurrency=concurrency)
    warm, updates = _make_updates("profile warm", 500), _make_updates("profile", n)
    async with broadcast.Broadcaster([Webhook(url, secret=secret)], journal=None) as b:
        await work.library(b, warm)
        cpu = time.process_time()
        await work.library(b, updates)
        plain_us = (time.process_time() - cpu) / n * 1e6
        updates = _make_updates("profile again", n)
        profiler = cProfile.Profile()
        profiler.enable()
        await work.library(b, updates)
        profiler.disable()
    print(f"cProfile, Broadcaster.send over the default client, {n:,} sends at C={concurrency}")
    print(f"  client CPU per send: {plain_us:.0f} µs unprofiled")
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Per-send overhead of broadcast's Webhook channel vs raw httpx."
    )
    parser.add_argument("-n", "--sends", type=int, default=2000, help="sends per run")
    parser.add_argument("-c", "--concurrency", type=int, default=20, help="in-flight sends")
    parser.add_argument("--rounds", type=int, default=3, help="baseline/library run pairs")
    parser.add_argument(
        "--profile", action="store_true", help="profile the default client's sends instead"
    )
    args = parser.parse_args()
    if args.sends < 1 or args.concurrency < 1 or args.rounds < 1:
        parser.error("--sends, --concurrency and --rounds must be at least 1")
    with Sink() as sink:
        if args.profile:
            asyncio.run(profile(sink.url, args.sends, args.concurrency))
            return
        asyncio.run(run(sink.url, args.sends, args.concurrency, args.rounds))


if __name__ == "__main__":
    main()
