"""broadcast against a raw client and against Apprise, per channel, in the same run.

What is measured
    Three comparisons, each against the sink another script uses, in its own process
    on 127.0.0.1. Each sends N messages per run three ways, run in rotating order for a
    few rounds (after one untimed run of each) so that machine noise hits all alike.
    Every run opens its own session, client or ``Apprise`` object, so every timing
    includes opening connections; after every run the sink must have counted exactly N
    more messages, or the script stops.

    webhook (the sink of ``webhook_overhead.py``: ``200 OK`` to every POST), C in flight:
      * raw aiohttp: one ``aiohttp.ClientSession``; C tasks POST one pre-rendered,
        pre-signed body with the headers a Webhook sends;
      * broadcast: ``Broadcaster([Webhook(url, secret=...)], journal=None)`` with its
        default client (httpx over aiohttp); C tasks each ``send`` one of N distinct,
        pre-built updates;
      * Apprise: one ``json://`` URL, ``async_notify`` once per update, C at a time.

    SMS fan-out (the Twilio-shaped sink of ``sms_fanout.py``), C in flight:
      * raw aiohttp: ``sms_fanout.raw_aiohttp``, C tasks POSTing the Twilio form;
      * broadcast: ``sms_fanout.library``, one ``send`` to a generator of N numbers;
      * Apprise: one ``json://`` URL per number, one ``async_notify``.

    email fan-out (the SMTP sink of ``email_throughput.py``, ``minimal`` by default so
    that the client, not the sink, sets the pace), P connections:
      * raw aiosmtplib: ``email_throughput.Workloads.baseline``;
      * broadcast: ``email_throughput.Workloads.library``, one ``send`` to N addresses;
      * Apprise: P ``mailto://`` URLs (plain SMTP), N addresses dealt between them,
        one ``async_notify``.

    ``benchmarks/_apprise.py`` says why these are the fair Apprise equivalents. Each
    run records messages/s and CPU seconds: this process's (Apprise's worker threads
    included) and the sink's. The output, on stdout, is one markdown section per
    comparison: medians, and ratios as the median of the per-round ratios (the three
    runs of a round run back to back). Progress goes to stderr.

How to run
    Needs apprise: ``make bench`` installs it into ``.venv-bench``.

    .venv-bench/bin/python benchmarks/vs_apprise.py [-n 2000] [--rounds 5] [-c 20]
        [--sms-concurrency 50] [-p 8] [--sink {aiosmtpd,minimal}] [--only webhook,sms,email]

Nothing leaves 127.0.0.1; the sink processes stop when the script ends.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from _apprise import VERSION as APPRISE_VERSION  # sibling modules: this runs as a script
from _apprise import email_urls, notify, notify_each, sms_urls, webhook_url
from _common import Run, measure, paired_ratio, update
from _twilio_sink import Sink as TwilioSink
from _twilio_sink import auth_header, expect_accepted, sms_channel
from email_throughput import _SINKS, _addresses, _received, _template
from email_throughput import Sink as SmtpSink
from email_throughput import Workloads as EmailWorkloads
from sms_fanout import library as sms_library
from sms_fanout import raw_aiohttp as sms_raw_aiohttp
from webhook_overhead import Sink as WebhookSink
from webhook_overhead import SinkStats as WebhookStats
from webhook_overhead import Workloads as WebhookWorkloads
from webhook_overhead import _make_updates, _run_concurrently

import broadcast
from broadcast.channels import Webhook

BASE, LIB, APPRISE = "baseline", "broadcast", "Apprise"
COMPARISONS = ("webhook", "sms", "email")
APPRISE_THREADS = min(32, (os.cpu_count() or 1) + 4)
"""The size of Apprise's shared thread pool (``ThreadPoolExecutor``'s default)."""
_WARM_UP = 200
"""Messages in the untimed run of each workload."""
_BUSY_MACHINE = 0.15

Workload = Callable[[int], Awaitable[None]]
Measure = Callable[[int, Workload], Awaitable[Run]]


@dataclass(frozen=True)
class Comparison:
    """Three workloads against one sink, and how to describe them."""

    title: str
    setup: str
    """A markdown paragraph: what each workload does."""
    baseline: str
    """The baseline's name in the table, e.g. ``raw aiohttp``."""
    apprise: str
    """Apprise's column name, e.g. ``Apprise json://``."""
    workloads: dict[str, Workload]
    measure: Measure


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def rotate(comparison: Comparison, n: int, rounds: int) -> dict[str, list[Run]]:
    """Warm up, then run every workload once per round, in rotating order."""
    names = [BASE, LIB, APPRISE]
    for name in names:
        await comparison.measure(min(n, _WARM_UP), comparison.workloads[name])
    runs: dict[str, list[Run]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            runs[name].append(await comparison.measure(n, comparison.workloads[name]))
        rates = ", ".join(f"{name} {runs[name][-1].rate:,.0f}" for name in names)
        _progress(f"  {comparison.title}, round {r + 1}: msg/s {rates}")
    return runs


# --- the markdown section -----------------------------------------------------------


def _us_per_message(cpu: float, run: Run) -> float:
    return cpu / run.rate * 1e6


def section(comparison: Comparison, runs: dict[str, list[Run]]) -> str:
    """The comparison's markdown: setup, table, one line of interpretation, rounds."""
    rounds = len(runs[BASE])
    figures: list[tuple[str, Callable[[Run], float], str]] = [
        ("messages per second", lambda run: run.rate, ",.0f"),
        ("client CPU per message, µs", lambda run: _us_per_message(run.client_cpu, run), ",.0f"),
        ("sink CPU per message, µs", lambda run: _us_per_message(run.sink_cpu, run), ",.0f"),
    ]
    short = comparison.baseline
    lines = [
        f"## {comparison.title}",
        "",
        comparison.setup,
        "",
        f"| median of {rounds} run{'s' if rounds > 1 else ''} | {comparison.baseline} "
        f"| broadcast | {comparison.apprise} | broadcast / {short} | broadcast / Apprise |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    ratios: dict[str, tuple[float, float]] = {}
    for label, value, spec in figures:
        values = {name: [value(run) for run in runs[name]] for name in runs}
        vs_base = paired_ratio(values[BASE], values[LIB])
        vs_apprise = paired_ratio(values[APPRISE], values[LIB])
        ratios[label] = (vs_base, vs_apprise)
        medians = " | ".join(f"{statistics.median(values[name]):{spec}}" for name in runs)
        lines.append(f"| {label} | {medians} | {vs_base:.2f} | {vs_apprise:.2f} |")
    rate_base, rate_apprise = ratios["messages per second"]
    cpu_base, cpu_apprise = ratios["client CPU per message, µs"]
    lines += [
        "",
        f"broadcast's rate was {rate_apprise:.1f}x Apprise's and {rate_base:.2f}x "
        f"{short}'s; its client CPU per message was {cpu_apprise:.2f}x Apprise's and "
        f"{cpu_base:.2f}x {short}'s.",
        "",
        "Messages per second in each round (baseline / broadcast / Apprise): "
        + "; ".join(
            " / ".join(f"{runs[name][r].rate:,.0f}" for name in runs) for r in range(rounds)
        )
        + ".",
    ]
    others = [run.other_cpu for name in runs for run in runs[name] if run.other_cpu is not None]
    if others and max(others) >= _BUSY_MACHINE:
        lines += [
            "",
            f"Other processes used up to {max(others):.0%} of a core during a run "
            f"(median {statistics.median(others):.0%}); rates are skewed where they did.",
        ]
    return "\n".join(lines) + "\n"


# --- the three comparisons ----------------------------------------------------------


def _counted(n: int) -> Callable[[WebhookStats, WebhookStats], int]:
    """Check that the webhook sink answered exactly ``n`` requests between two stats."""

    def check(before: WebhookStats, after: WebhookStats) -> int:
        got = after.requests - before.requests
        if got != n:
            raise RuntimeError(f"the webhook sink answered {got} requests, expected {n}")
        return got

    return check


def webhook(sink: WebhookSink, n: int, concurrency: int) -> Comparison:
    """Raw aiohttp, broadcast's Webhook and Apprise's ``json://``, one POST per update."""
    secret = Webhook.generate_secret()
    work = WebhookWorkloads(url=sink.url, secret=secret, concurrency=concurrency)
    updates = _make_updates("vs apprise", n)
    body, headers = work.signed_request()

    async def raw(count: int) -> None:
        connector = aiohttp.TCPConnector(limit=100)
        timeout = aiohttp.ClientTimeout(total=15.0, sock_connect=5.0)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

            async def one(_: object) -> None:
                async with session.post(sink.url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"raw aiohttp got HTTP {response.status}")

            await _run_concurrently(range(count), concurrency, one)

    async def library(count: int) -> None:
        channel = Webhook(sink.url, secret=secret)
        async with broadcast.Broadcaster([channel], journal=None) as b:
            await work.library(b, updates[:count])

    async def with_apprise(count: int) -> None:
        await notify_each(webhook_url(sink.port), updates[:count], concurrency)

    def timed(count: int, workload: Workload) -> Awaitable[Run]:
        return measure(count, workload, sink.stats, _counted(count), interrupts=False)

    return Comparison(
        title="Webhook: one POST per update",
        setup=(
            f"N={n:,} updates per run, C={concurrency} in flight, to a keep-alive HTTP sink "
            "that answers `200 OK`. Raw aiohttp POSTs one pre-signed body; broadcast "
            "`send`s N distinct updates through `Broadcaster([Webhook(url, secret=...)])` "
            "with its default client (httpx over aiohttp); Apprise `async_notify`s one "
            "`json://` URL once per update, C at a time (Apprise posts with requests, a new "
            f"connection per post, from its thread pool of {APPRISE_THREADS})."
        ),
        baseline="raw aiohttp",
        apprise="Apprise `json://`",
        workloads={BASE: raw, LIB: library, APPRISE: with_apprise},
        measure=timed,
    )


def sms(sink: TwilioSink, n: int, concurrency: int) -> Comparison:
    """Raw aiohttp, broadcast's TwilioSMS and Apprise's ``json://``, one update to N."""
    url = sink.base_url
    text = sms_channel(url, concurrency, 0).render(update()).text

    def raw(count: int) -> Awaitable[None]:
        return sms_raw_aiohttp(url, concurrency, text, count)

    def library(count: int) -> Awaitable[None]:
        return sms_library(url, concurrency, None, count)

    def with_apprise(count: int) -> Awaitable[None]:
        return notify(sms_urls(sink.port, count), title="", body=text)

    def timed(count: int, workload: Workload) -> Awaitable[Run]:
        return measure(count, workload, sink.stats, expect_accepted(count), interrupts=False)

    return Comparison(
        title="SMS fan-out: one update to N numbers",
        setup=(
            f"N={n:,} numbers per run, C={concurrency} in flight, to a Twilio-shaped sink "
            "that checks the path and basic auth and answers `201` with a sid. Raw aiohttp "
            "POSTs the Twilio form with the text broadcast renders; broadcast `send`s one "
            "update through `TwilioSMS(recipients=<generator of N numbers>)` (numbers "
            "normalised and de-duplicated, retry per recipient); Apprise gets one `json://` "
            "URL per number (the number in the JSON payload, the sink's basic auth in the "
            f"URL) and one `async_notify` (its thread pool of {APPRISE_THREADS} runs the "
            "URLs; requests opens a connection per post). The URLs are built and parsed "
            "inside the timing."
        ),
        baseline="raw aiohttp",
        apprise="Apprise `json://`",
        workloads={BASE: raw, LIB: library, APPRISE: with_apprise},
        measure=timed,
    )


def email(sink: SmtpSink, n: int, pool: int) -> Comparison:
    """Raw aiosmtplib, broadcast's Email and Apprise's ``mailto://``, one update to N."""
    work = EmailWorkloads(sink.port, pool, _template(sink.port, pool))
    message = update()

    def with_apprise(count: int) -> Awaitable[None]:
        urls = email_urls(sink.port, pool, _addresses(count))
        return notify(urls, title=message.title, body=message.body)

    def timed(count: int, workload: Workload) -> Awaitable[Run]:
        return measure(count, workload, sink.stats, _received(count), interrupts=True)

    kind = (
        "a bare SMTP responder (`benchmarks/_minimal_smtp.py`, so the client sets the pace)"
        if sink.kind == "minimal"
        else "aiosmtpd (a real server, which caps every rate near its own)"
    )
    return Comparison(
        title="Email fan-out: one update to N addresses",
        setup=(
            f"N={n:,} addresses per run, one message each, over P={pool} SMTP connections "
            f"to {kind}. Raw aiosmtplib sends the message broadcast renders, built once, "
            "with a `To:` line per recipient; broadcast `send`s one update through "
            '`Email(recipients=<generator of N addresses>, tls="none", pool_size=P)` '
            "(addresses validated, a multipart text and HTML message, a Message-ID and "
            "retry per recipient); Apprise gets P `mailto://127.0.0.1:PORT/?mode=insecure` "
            "URLs with the addresses dealt between them and one `async_notify` (one "
            "smtplib connection per URL, one message per address, "
            f"{min(pool, APPRISE_THREADS)} URLs at a time on its thread pool of "
            f"{APPRISE_THREADS}). Apprise's message is its own (the update's title as "
            "subject, its body as text and HTML)."
        ),
        baseline="raw aiosmtplib",
        apprise="Apprise `mailto://`",
        workloads={BASE: work.baseline, LIB: work.library, APPRISE: with_apprise},
        measure=timed,
    )


# --- driver -------------------------------------------------------------------------


def run(name: str, args: argparse.Namespace) -> str:
    """Run the comparison called ``name`` with its sink; return its markdown section."""
    sink: Any
    if name == "webhook":
        with WebhookSink() as sink:
            comparison = webhook(sink, args.messages, args.concurrency)
            runs = asyncio.run(rotate(comparison, args.messages, args.rounds))
    elif name == "sms":
        with TwilioSink(auth_header()) as sink:
            comparison = sms(sink, args.messages, args.sms_concurrency)
            runs = asyncio.run(rotate(comparison, args.messages, args.rounds))
    else:
        with SmtpSink(args.sink) as sink:
            comparison = email(sink, args.messages, args.pool)
            runs = asyncio.run(rotate(comparison, args.messages, args.rounds))
    return section(comparison, runs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description="broadcast vs a raw client vs Apprise: webhook, SMS and email fan-out."
    )
    parser.add_argument("-n", "--messages", type=int, default=2000, help="messages per run")
    parser.add_argument("--rounds", type=int, default=5, help="runs of every workload")
    parser.add_argument("-c", "--concurrency", type=int, default=20, help="webhook sends in flight")
    parser.add_argument("--sms-concurrency", type=int, default=50, help="SMS requests in flight")
    parser.add_argument("-p", "--pool", type=int, default=8, help="SMTP connections (P)")
    parser.add_argument(
        "--sink", choices=_SINKS, default="minimal", help="SMTP sink (see email_throughput.py)"
    )
    parser.add_argument(
        "--only",
        default=",".join(COMPARISONS),
        help=f"comparisons to run, comma-separated, of: {', '.join(COMPARISONS)}",
    )
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    if unknown := sorted(set(chosen) - set(COMPARISONS)):
        parser.error(f"unknown comparison(s): {', '.join(unknown)}")
    if min(args.messages, args.rounds, args.concurrency, args.sms_concurrency, args.pool) < 1:
        parser.error("-n, --rounds, -c, --sms-concurrency and -p must be at least 1")
    # Email(tls="none") warns on every construction, and each run constructs one.
    logging.getLogger("broadcast").setLevel(logging.ERROR)
    _progress(f"broadcast {broadcast.__version__} vs Apprise {APPRISE_VERSION}")
    print("\n".join(run(name, args) for name in chosen), end="")


if __name__ == "__main__":
    main()
