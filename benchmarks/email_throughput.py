"""Throughput of broadcast's Email channel against plain aiosmtplib, in the same run.

What is measured
    An SMTP sink runs in a separate process on 127.0.0.1 (so it does not share the
    client's GIL); it only counts each message and answers ``250 OK`` (see "Which sink"
    below). One update then goes to N recipients, one message each, over P pooled connections,
    two ways, alternating (baseline, library, baseline, ...) for a few rounds so that
    machine noise hits both alike:

    * baseline: plain aiosmtplib. P worker tasks each open one ``aiosmtplib.SMTP``
      connection and reuse it for their share of the recipients (the workers share one
      iterator), sending the message the library renders for this update, built once,
      with a per-recipient ``To:`` header prepended;
    * library: ``Broadcaster([Email("127.0.0.1", port, sender=..., recipients=<generator>,
      tls="none", pool_size=P)], journal=None)`` and ``await b.send(update)``. That
      covers rendering the MIME template, validating and de-duplicating every address,
      the queue to the pool, the per-recipient Message-ID and retry wrapper, the tally,
      the Receipt and Report.

    Both timings include opening the P connections. One untimed pair warms up, then the
    timed rounds follow, with a ``gc.collect()`` before each run. After every run the
    sink's count of messages received must have grown by exactly N, or the script stops.

    Each run reports messages/s and the CPU used during it, in seconds per second (100%
    is one core): by the client (this process), by the sink, and by everything else on
    the machine (from /proc/stat; other work skews the run). The summary gives the
    median rates, the ratio library/baseline (target: at least 0.85; the verdict uses
    the median of the per-round ratios) and the client CPU per message.

    A sink near 100% of a core is the bottleneck: both rates are then capped by the sink
    and the ratio hides broadcast's cost, which the client CPU per message still shows.

Which sink (``--sink``)
    * ``aiosmtpd`` (the default): a real SMTP server, whose ``handle_DATA`` counts the
      message. It checks what the client sends, but it sets the pace: at about 330 µs
      of CPU per message it is slower than the plain aiosmtplib client (about 250 µs),
      so on a 2-core machine both rates are capped by it and the ratio reads near 1.0
      whatever broadcast costs. Use it to check the library against a real server.
    * ``minimal``: a bare asyncio responder (``benchmarks/_minimal_smtp.py``) that
      replies to each command without parsing it and counts each message at its
      ``CRLF.CRLF``, for about 70 µs of CPU per message (mostly system calls). The
      client is then the bottleneck, so the ratio library/baseline shows broadcast's
      own cost. It announces the same ESMTP extensions as aiosmtpd, so the client does
      the same work against either; it checks nothing, so it is no test of correctness.

    Unless ``--memory-recipients 0``, a fresh process (so the runs above do not inflate
    it) then sends one update to that many recipients from a generator through the
    library and reports its peak RSS (``VmHWM``, see ``_common.high_water_kb``): PASS
    under 150 MB. Finally the library's per-recipient steps are timed alone (pure, no
    I/O).

DKIM, signed vs unsigned
    Then the library's workload runs unsigned and DKIM-signed with a fresh RSA-2048 key
    and a fresh Ed25519 key, alternated in each round against the same sink, with
    their ratio (target: signing must not halve the throughput, ratio >= 0.5) and the
    client CPU per message. Finally the per-recipient steps include the signature alone.

How to run
    .venv/bin/python benchmarks/email_throughput.py [-n 10000] [-p 8] [--rounds 5]
        [--memory-recipients 100000] [--sink {aiosmtpd,minimal}] [--no-dkim | --only-dkim]

    The defaults take about 70 s. Nothing leaves 127.0.0.1; the sink process stops when
    the script ends.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Protocol

import aiosmtpd
import aiosmtplib
from _common import (  # sibling modules: this runs as a script
    HOST,
    Run,
    SinkProcess,
    measure,
    paired_ratio,
    peak_rss,
    per_call_us,
    rate_header,
    rate_medians,
    rate_row,
    share,
    update,
)
from _minimal_smtp import MinimalServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

import broadcast
from broadcast.channels import Email
from broadcast.channels._email import normalise_address
from broadcast.channels._email_message import EmailTemplate
from broadcast.email import DKIM
from broadcast.testing._providers.smtp import SMTPServer

_SINKS = ("aiosmtpd", "minimal")
_SENDER = "Status <status@example.com>"
_ENVELOPE_FROM = "status@example.com"
_SINK_LIFETIME = 900.0
"""Seconds after which the sink stops on its own, should the parent never say so."""
_MEMORY_LIMIT_MB = 150.0
_TARGET_RATIO = 0.85
_SIGNED_TARGET = 0.5
"""Signing must not halve the throughput (issue 23)."""
_PEGGED = 0.9
"""A sink using this share of a core or more is the bottleneck."""
_BUSY_MACHINE = 0.15
"""Other processes using this share of a core or more during a run skew it."""
_MICRO_CALLS = 2000
_CHILD_WAIT = 900.0
"""Seconds the memory-check process may take before it is stopped."""


# --- the sink (runs in a child process) ---------------------------------------------


class _Counting:
    """An aiosmtpd handler that counts every message and accepts it."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.count += 1
        return "250 OK"


class _Server(Protocol):
    """What the sink process needs of a server running on its own thread."""

    @property
    def port(self) -> int: ...
    @property
    def count(self) -> int: ...
    def stop(self) -> None: ...


class _Aiosmtpd:
    """aiosmtpd's ``Controller`` with a counting handler."""

    def __init__(self) -> None:
        self._handler = _Counting()
        self._server = SMTPServer(self._handler).start()
        self.port: int = self._server.port

    @property
    def count(self) -> int:
        return self._handler.count

    def stop(self) -> None:
        self._server.stop()


def _start_server(kind: str) -> _Server:
    if kind == "aiosmtpd":
        return _Aiosmtpd()
    server = MinimalServer(HOST)
    server.start()
    return server


def _sink_process(conn: Connection, kind: str) -> None:
    """Serve SMTP on a thread; answer ``"stats"`` on the pipe until the parent closes it."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    server = _start_server(kind)
    try:
        conn.send(server.port)
        deadline = time.monotonic() + _SINK_LIFETIME
        while (left := deadline - time.monotonic()) > 0 and conn.poll(left):
            try:
                command = conn.recv()
            except EOFError:  # the parent closed its end (or died): time to stop
                break
            if command == "stats":
                conn.send((server.count, time.process_time()))
    finally:
        server.stop()


@dataclass(frozen=True)
class SinkStats:
    """Messages the sink has received, and CPU seconds its process has used, so far."""

    count: int
    cpu: float


class Sink(SinkProcess):
    """``with Sink() as sink:`` runs the sink in a child process for the block's duration.

    ``kind`` is ``"aiosmtpd"`` (a real server) or ``"minimal"`` (see ``_minimal_smtp``).
    """

    def __init__(self, kind: str = "aiosmtpd") -> None:
        if kind not in _SINKS:
            raise ValueError(f"unknown sink {kind!r}, expected one of {_SINKS}")
        self.kind = kind
        super().__init__(_sink_process, kind, name=f"bench-smtp-sink-{kind}")

    def stats(self) -> SinkStats:
        """Ask the sink for its count and CPU time (a blocking round trip on the pipe)."""
        count, cpu = self.ask("stats")
        return SinkStats(count, cpu)


# --- workloads ----------------------------------------------------------------------


def _addresses(count: int) -> Iterator[str]:
    """``count`` distinct recipients, generated as they are read (nothing held)."""
    return (f"player{i}@example.com" for i in range(count))


def _email(port: int, pool: int, count: int, dkim: DKIM | None = None) -> Email:
    return Email(
        HOST,
        port,
        sender=_SENDER,
        recipients=_addresses(count),
        tls="none",
        pool_size=pool,
        dkim=dkim,
    )


def _signers() -> dict[str, DKIM]:
    """A fresh RSA-2048 key (signing in threads, the default, and on the event loop)
    and a fresh Ed25519 key, as DKIM signers for example.com."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    pems = {
        "RSA-2048": rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        "Ed25519": ed_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    }
    signers = {
        name: DKIM(selector="bench", domain="example.com", private_key=pem)
        for name, pem in pems.items()
    }
    signers["RSA-2048 on the loop"] = DKIM(
        selector="bench", domain="example.com", private_key=pems["RSA-2048"], threads=False
    )
    return signers


async def _library_send(port: int, pool: int, count: int, dkim: DKIM | None = None) -> None:
    """One ``b.send(update)`` to ``count`` recipients; raises unless all were accepted."""
    async with broadcast.Broadcaster([_email(port, pool, count, dkim)], journal=None) as b:
        report = await b.send(update())
    receipt = report.receipts[0]
    if not report.ok or receipt.accepted != count:
        raise RuntimeError(f"library send accepted {receipt.accepted} of {count}:\n{report}")


async def _quiet_library_send(port: int, pool: int, count: int) -> None:
    """``_library_send`` without the warning each ``Email(tls="none")`` logs."""
    logging.getLogger("broadcast").setLevel(logging.ERROR)
    await _library_send(port, pool, count)


def _template(port: int, pool: int) -> bytes:
    """The message the library sends for this update, without the per-recipient lines."""
    return _email(port, pool, 0).render(update()).template


@dataclass(frozen=True)
class Workloads:
    """The two workloads, against one sink, with one pool size."""

    port: int
    pool: int
    template: bytes
    """The baseline's message, built once (the library renders its own on each send)."""

    async def baseline(self, count: int) -> None:
        """P plain aiosmtplib connections send ``count`` messages between them."""
        shared = _addresses(count)

        async def worker() -> None:
            task = asyncio.current_task()
            smtp = aiosmtplib.SMTP(
                hostname=HOST, port=self.port, use_tls=False, start_tls=False, timeout=30.0
            )
            await smtp.connect()
            try:
                for recipient in shared:  # workers share the iterator: each is taken once
                    message = b"To: " + recipient.encode("ascii") + b"\r\n" + self.template
                    await smtp.sendmail(_ENVELOPE_FROM, [recipient], message)
                    if task is not None and task.cancelling():
                        # On Python 3.11 aiosmtplib's asyncio.wait_for can swallow a
                        # cancellation (Ctrl-C); stop anyway, as the library's workers do.
                        raise asyncio.CancelledError
            finally:
                smtp.close()

        async with asyncio.TaskGroup() as group:
            for _ in range(self.pool):
                group.create_task(worker())

    async def library(self, count: int) -> None:
        """``b.send`` of one update to ``count`` recipients from a generator."""
        await _library_send(self.port, self.pool, count)

    def signed(self, dkim: DKIM) -> Callable[[int], Awaitable[None]]:
        """The library workload, every message DKIM-signed with ``dkim``."""

        async def run(count: int) -> None:
            await _library_send(self.port, self.pool, count, dkim)

        return run


def _received(n: int) -> Callable[[SinkStats, SinkStats], int]:
    """Check that the sink received exactly ``n`` messages between two stats."""

    def check(before: SinkStats, after: SinkStats) -> int:
        received = after.count - before.count
        if received != n:
            raise RuntimeError(f"the sink received {received} messages, expected {n}")
        return received

    return check


async def _measure(sink: Sink, n: int, workload: Callable[[int], Awaitable[None]]) -> Run:
    """Time one run of ``workload``, and check the sink received exactly ``n`` messages."""
    # Interrupt time counts as the machine's: the whole machine busy, less idle and iowait.
    return await measure(n, workload, sink.stats, _received(n), interrupts=True)


async def compare(sink: Sink, work: Workloads, n: int, rounds: int) -> None:
    """Warm up, alternate baseline and library runs, print a table and a summary."""
    await _measure(sink, min(n, 1000), work.baseline)
    await _measure(sink, min(n, 1000), work.library)

    print("  CPU columns: seconds of CPU per second of the run, baseline / library")
    print(
        rate_header("msg/s")
        + f"  {'client CPU':>11}  {'sink CPU':>11}  {'other CPU':>11}  {'sink got':>15}"
    )
    base: list[Run] = []
    lib: list[Run] = []
    for r in range(rounds):
        base.append(await _measure(sink, n, work.baseline))
        lib.append(await _measure(sink, n, work.library))
        b, x = base[-1], lib[-1]
        print(
            rate_row(r + 1, b.rate, x.rate)
            + f"  {share(b.client_cpu):>4} / {share(x.client_cpu):>4}  "
            f"{share(b.sink_cpu):>4} / {share(x.sink_cpu):>4}  "
            f"{share(b.other_cpu):>4} / {share(x.other_cpu):>4}  "
            f"{b.received:>6} / {x.received:>6}"
        )
    base_rate, lib_rate = rate_medians([run.rate for run in base], [run.rate for run in lib])
    paired = paired_ratio((run.rate for run in base), (run.rate for run in lib))
    # Pairs run back to back, so the per-round ratio cancels slow drifts in machine load.
    verdict = "PASS" if paired >= _TARGET_RATIO else "FAIL"
    print(
        f"  ratio library/baseline: {paired:.2f} median per round, "
        f"{lib_rate / base_rate:.2f} of medians (target >= {_TARGET_RATIO}: {verdict})"
    )
    base_us = statistics.median(run.client_cpu / run.rate for run in base) * 1e6
    lib_us = statistics.median(run.client_cpu / run.rate for run in lib) * 1e6
    sink_us = statistics.median(run.sink_cpu / run.rate for run in base + lib) * 1e6
    print(
        f"  client CPU per message: baseline {base_us:.0f} µs, library {lib_us:.0f} µs "
        f"(broadcast {lib_us - base_us:+.0f} µs); sink CPU per message {sink_us:.0f} µs"
    )
    sink_peak = max(run.sink_cpu for run in base + lib)
    if sink_peak >= _PEGGED:
        print(
            f"  note: the sink process ({sink.kind}) used up to {sink_peak:.0%} of a core: "
            "the sink, not the client, sets the pace, so both rates are capped by it and the "
            "ratio hides broadcast's cost; the client CPU per message shows it (roughly: a "
            "client that waits more also spends more per message on waking up)"
            + ("; try --sink minimal" if sink.kind == "aiosmtpd" else "")
        )
    others = [run.other_cpu for run in base + lib if run.other_cpu is not None]
    if others and max(others) >= _BUSY_MACHINE:
        print(
            f"  note: other processes used up to {max(others):.0%} of a core during a run; "
            "rates are skewed where they did"
        )
    print()


async def compare_signed(sink: Sink, work: Workloads, n: int, rounds: int) -> None:
    """The library unsigned, then DKIM-signed with each key, alternated in each round."""
    signers = _signers()
    kinds: dict[str, Callable[[int], Awaitable[None]]] = {"unsigned": work.library}
    kinds |= {name: work.signed(dkim) for name, dkim in signers.items()}
    for workload in kinds.values():  # warm up
        await _measure(sink, min(n, 1000), workload)
    runs: dict[str, list[Run]] = {name: [] for name in kinds}
    names = list(kinds)
    print("DKIM: the library unsigned vs signed (relaxed/relaxed, 10 headers), same run")
    print(f"  {'round':>5}  " + "  ".join(f"{name:>20}" for name in names) + "  (msg/s)")
    for r in range(rounds):
        for name, workload in kinds.items():
            runs[name].append(await _measure(sink, n, workload))
        print(f"  {r + 1:>5}  " + "  ".join(f"{runs[k][-1].rate:>20,.0f}" for k in names))
    unsigned = runs["unsigned"]
    base_us = statistics.median(run.client_cpu / run.rate for run in unsigned) * 1e6
    base_rate = statistics.median(run.rate for run in unsigned)
    print(f"  unsigned: {base_rate:,.0f} msg/s, client CPU {base_us:.0f} µs per message")
    for name in names[1:]:
        paired = paired_ratio((run.rate for run in unsigned), (run.rate for run in runs[name]))
        rate = statistics.median(run.rate for run in runs[name])
        cpu_us = statistics.median(run.client_cpu / run.rate for run in runs[name]) * 1e6
        verdict = "PASS" if paired >= _SIGNED_TARGET else "FAIL"
        print(
            f"  {name}: {rate:,.0f} msg/s, signed/unsigned {paired:.2f} median per round "
            f"(target >= {_SIGNED_TARGET}: {verdict}); client CPU {cpu_us:.0f} µs per "
            f"message ({cpu_us - base_us:+.0f} µs for signing): a client-bound send on one "
            f"core would run at {base_us / cpu_us:.2f} of unsigned"
        )
    print()


# --- peak memory (a fresh process) --------------------------------------------------


def memory(sink: Sink, pool: int, count: int) -> None:
    """Peak RSS of a fresh process sending to ``count`` generated recipients."""
    before = sink.stats()
    result = peak_rss(
        _quiet_library_send, sink.port, pool, count, name="bench-email-memory", wait=_CHILD_WAIT
    )
    received = sink.stats().count - before.count
    if received != count:
        raise RuntimeError(f"memory check: the sink received {received}, expected {count}")
    elapsed = result.elapsed
    print(f"peak memory: {count:,} recipients from a generator, library, in a fresh process")
    print(
        f"  sent {count:,} in {elapsed:.1f} s ({count / elapsed:,.0f} msg/s); sink got {received:,}"
    )
    print(result.verdict(_MEMORY_LIMIT_MB))
    print()


# --- micro-benchmarks (pure, no I/O) ------------------------------------------------


async def _retry_call_us(policy: broadcast.RetryPolicy, calls: int) -> float:
    async def succeed() -> None:
        return None

    start = time.perf_counter()
    for _ in range(calls):
        await policy.call(succeed, label="email")
    return (time.perf_counter() - start) / calls * 1e6


def _signing_step(template: EmailTemplate, dkim: DKIM) -> Callable[[Iterator[str]], float]:
    prepared = dkim.prepare(template.template, ["To", "Message-ID"])
    return lambda fresh: per_call_us(
        lambda: prepared.header(template.lines_for(next(fresh))), _MICRO_CALLS
    )


def micro(port: int, pool: int, rounds: int) -> None:
    """Median µs per call of the library's per-recipient steps, and the baseline's."""
    template = _email(port, pool, 0).render(update())
    shared = template.template
    addresses = list(_addresses(_MICRO_CALLS))
    # The policy Email uses per recipient when none is given.
    policy = broadcast.RetryPolicy(attempts=4, deadline=60.0, max_wait=10.0)
    steps: dict[str, Callable[[Iterator[str]], float]] = {
        "normalise_address (email_validator)": lambda fresh: per_call_us(
            lambda: normalise_address(next(fresh)), _MICRO_CALLS
        ),
        "EmailTemplate.message_for (To, Message-ID)": lambda fresh: per_call_us(
            lambda: template.message_for(next(fresh)), _MICRO_CALLS
        ),
        "EmailTemplate.message_id (again, for the tally)": lambda fresh: per_call_us(
            lambda: template.message_id(next(fresh)), _MICRO_CALLS
        ),
        "RetryPolicy.call around a no-op (tenacity)": lambda _: asyncio.run(
            _retry_call_us(policy, _MICRO_CALLS)
        ),
        **{
            f"DKIM-Signature, {name} (PreparedSignature.header)": _signing_step(template, dkim)
            for name, dkim in _signers().items()
        },
        "baseline: To: line + shared bytes": lambda fresh: per_call_us(
            lambda: b"To: " + next(fresh).encode("ascii") + b"\r\n" + shared, _MICRO_CALLS
        ),
    }
    print(f"per-recipient steps, pure, no I/O (median of {rounds} x {_MICRO_CALLS} calls)")
    for label, step in steps.items():
        us = statistics.median(step(iter(addresses)) for _ in range(rounds))
        print(f"  {label:<52} {us:7.1f} µs")


# --- driver -------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Throughput of broadcast's Email channel vs plain aiosmtplib."
    )
    parser.add_argument("-n", "--recipients", type=int, default=10_000, help="messages per run")
    parser.add_argument("-p", "--pool", type=int, default=8, help="SMTP connections (P)")
    parser.add_argument("--rounds", type=int, default=5, help="baseline/library run pairs")
    parser.add_argument(
        "--memory-recipients",
        type=int,
        default=100_000,
        help="recipients for the peak-RSS check in a fresh process (0 skips it)",
    )
    parser.add_argument(
        "--sink",
        choices=_SINKS,
        default="aiosmtpd",
        help="SMTP sink: aiosmtpd, a real server that sets the pace (default); or minimal, "
        "a bare responder, so the client is the bottleneck and the ratio shows broadcast's "
        "own cost",
    )
    parser.add_argument(
        "--no-dkim",
        dest="dkim",
        action="store_false",
        help="skip the unsigned vs DKIM-signed (RSA-2048, Ed25519) comparison",
    )
    parser.add_argument(
        "--only-dkim",
        action="store_true",
        help="run only the unsigned vs DKIM-signed comparison (and the steps below)",
    )
    args = parser.parse_args()
    if args.only_dkim:
        args.memory_recipients = 0
    if args.recipients < 1 or args.pool < 1 or args.rounds < 1 or args.memory_recipients < 0:
        parser.error("-n, -p and --rounds must be at least 1; --memory-recipients at least 0")
    # Email(tls="none") warns on every construction, and each run constructs one.
    logging.getLogger("broadcast").setLevel(logging.ERROR)
    with Sink(args.sink) as sink:
        work = Workloads(sink.port, args.pool, _template(sink.port, args.pool))
        sink_name = (
            f"aiosmtpd {aiosmtpd.__version__}" if sink.kind == "aiosmtpd" else "minimal responder"
        )
        print(
            f"broadcast {broadcast.__version__} Email vs plain aiosmtplib {aiosmtplib.__version__}"
            f" (Python {sys.version.split()[0]}), sink {sink_name} in its "
            f"own process at {HOST}:{sink.port}: N={args.recipients:,} messages per run, "
            f"P={args.pool} connections, {args.rounds} round(s), "
            f"message {len(work.template):,} bytes + headers"
        )
        print()
        if not args.only_dkim:
            asyncio.run(compare(sink, work, args.recipients, args.rounds))
        if args.dkim:
            asyncio.run(compare_signed(sink, work, args.recipients, args.rounds))
        if args.memory_recipients:
            memory(sink, args.pool, args.memory_recipients)
        micro(sink.port, args.pool, args.rounds)


if __name__ == "__main__":
    main()
