"""broadcast's own httpx-on-aiohttp transport against the ``httpx-aiohttp`` package.

Why
    ``broadcast/channels/_aiohttp.py`` is a hand-written httpx transport over aiohttp.
    The maintained ``httpx-aiohttp`` package does the same job. This script gives the
    figures and the checks the choice between them rests on (the decision and its
    reasons are in that module's docstring and in docs/architecture.md).

What is measured
    1. Throughput, same run, alternating: the SMS fan-out of ``sms_fanout.py`` (one
       update to N numbers at concurrency C through ``TwilioSMS`` against the
       Twilio-shaped sink in its own process on 127.0.0.1), once with broadcast's
       default client (``new_client()``: our ``AiohttpTransport``) and once with the
       same settings over ``httpx_aiohttp.AiohttpTransport``, with raw aiohttp as the
       baseline. The order rotates each round; medians and per-round ratios as there.
    2. What each transport tells broadcast about a failure, against loopback servers:
       a port nobody listens on (nothing can have been sent), and a server that reads
       the whole request and hangs up without answering (the provider may have acted
       on it). For each: the httpx error the transport raised, whether it reported the
       request as written (``SendProgress``, fed by our aiohttp trace hook), and what
       broadcast makes of it: ``NotSent`` (safe to retry) or ``Unconfirmed`` (may
       have gone out: retried only where the provider de-duplicates, reported so).

How to run
    pip install httpx-aiohttp   (benchmarks/requirements.txt; never a broadcast dependency)
    .venv-bench/bin/python benchmarks/transport_choice.py [-n 2000] [-c 50] [--rounds 5]

    Nothing leaves 127.0.0.1; the sink process stops when the script ends.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import logging
import socket
import sys
from collections.abc import Callable

import httpx
from _common import httpx_client  # sibling modules: this runs as a script
from _twilio_sink import Sink, auth_header
from sms_fanout import compare

from broadcast import ChannelError
from broadcast.channels._http import PROGRESS, SendProgress, new_client, request

OURS = "broadcast-default"
THEIRS = "httpx-aiohttp"


def _theirs() -> httpx.AsyncClient:
    from httpx_aiohttp import AiohttpTransport  # noqa: PLC0415 - optional package

    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    return httpx_client(transport=AiohttpTransport(limits=limits), max_connections=100)


CLIENTS: dict[str, Callable[[], httpx.AsyncClient]] = {OURS: new_client, THEIRS: _theirs}


# --- what a failure tells broadcast -------------------------------------------------


async def _hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read the request head and its body, then close without a word."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    await reader.readexactly(length)
    writer.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _classify(make: Callable[[], httpx.AsyncClient], url: str) -> tuple[str, str, str]:
    """(httpx error, written as the transport reported it, broadcast's verdict)."""
    async with make() as client:
        progress = SendProgress()
        built = client.build_request("POST", url, data={"To": "+14155550101"})
        built.extensions[PROGRESS] = progress
        try:
            await client.send(built)
        except httpx.TransportError as exc:
            raised = type(exc).__name__
        else:
            raised = "(an answer)"
        written = "yes" if progress.written else ("no" if progress.tracked else "not tracked")
        try:
            await request(client, "POST", url, data={"To": "+14155550101"}, timeout=5.0)
        except ChannelError as exc:
            verdict = type(exc).__name__
        else:
            verdict = "(an answer)"
    return raised, written, verdict


async def failures() -> None:
    """Print, per transport and failure, what broadcast learns from it."""
    server = await asyncio.start_server(_hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    cases = {
        "connection refused (nothing sent)": f"http://127.0.0.1:{_free_port()}/messages",
        "hung up after the request (maybe sent)": f"http://127.0.0.1:{port}/messages",
    }
    print("  What a failure tells broadcast (right: refused -> NotSent, hung up -> Unconfirmed)")
    print(f"  {'transport':<17} {'failure':<40} {'httpx error':<20} {'written':<11} broadcast")
    async with server:
        for name, make in CLIENTS.items():
            for case, url in cases.items():
                raised, written, verdict = await _classify(make, url)
                print(f"  {name:<17} {case:<40} {raised:<20} {written:<11} {verdict}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(
        description="broadcast's AiohttpTransport vs httpx-aiohttp: SMS fan-out and failures."
    )
    parser.add_argument("-n", "--recipients", type=int, default=2_000, help="messages per run")
    parser.add_argument("-c", "--concurrency", type=int, default=50, help="requests in flight")
    parser.add_argument("--rounds", type=int, default=5, help="runs of every workload")
    args = parser.parse_args()
    try:
        version = importlib.metadata.version("httpx-aiohttp")
    except importlib.metadata.PackageNotFoundError:
        sys.exit("needs httpx-aiohttp: pip install -r benchmarks/requirements.txt")
    if args.recipients < 1 or args.concurrency < 1 or args.rounds < 1:
        parser.error("-n, -c and --rounds must be at least 1")
    logging.getLogger("broadcast").setLevel(logging.CRITICAL)
    print(
        f"broadcast's AiohttpTransport ({OURS}) vs httpx-aiohttp {version} "
        f"(aiohttp {importlib.metadata.version('aiohttp')}, httpx {httpx.__version__}, "
        f"Python {sys.version.split()[0]}): N={args.recipients:,}, C={args.concurrency}, "
        f"{args.rounds} round(s)"
    )
    print()
    asyncio.run(failures())
    with Sink(auth_header()) as sink:
        asyncio.run(compare(sink, args.concurrency, [OURS, THEIRS], args.recipients, args.rounds))


if __name__ == "__main__":
    main()
