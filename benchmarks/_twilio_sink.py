"""A fast Twilio-shaped HTTP sink for benchmarks: it counts messages and accepts them all.

Just enough HTTP/1.1 for a keep-alive client: it reads a request head up to the blank
line, then ``Content-Length`` bytes of body, and answers at once. A ``POST`` to
``/2010-04-01/Accounts/{sid}/Messages.json`` carrying the expected basic-auth header is
counted and answered ``201 Created`` with a small JSON body holding a fresh ``"sid"``, as
Twilio's CreateMessage does; anything else gets a ``404`` or a ``401`` and is counted as
refused. It parses no form, stores nothing and never closes a connection itself, so it
uses a few tens of µs of CPU per request: a client talking to it is the bottleneck. Not
a real server.

It runs in a child process (so it does not share the client's GIL), on one asyncio loop
that also answers ``"stats"`` on a pipe with ``(accepted, refused, cpu_seconds)``. The
child stops when the parent closes its end of the pipe, or dies.

The client side that the SMS benchmarks share is here too: the account the sink
expects (``SID``, ``TOKEN``, ``auth_header()``), the numbers to text, a ``TwilioSMS``
aimed at the sink, and the check of the sink's counts after a run.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection

from _common import (  # a sibling module, as the scripts import this one
    HOST,
    SinkProcess,
    serve_until_closed,
)

import broadcast
from broadcast.channels import TwilioSMS
from broadcast.testing._providers.twilio import MESSAGES_PATH, message_resource, message_sid

__all__ = [
    "FROM",
    "SID",
    "TOKEN",
    "Sink",
    "SinkStats",
    "auth_header",
    "expect_accepted",
    "phone_numbers",
    "sms_channel",
]

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "bench-twilio-auth-token"  # noqa: S105 - the sink's fake credential
FROM = "+15017122661"

MAX_REQUEST = 64 * 1024
"""Bytes buffered for one request; a longer one closes the connection."""
LIFETIME = 3600.0
"""Seconds after which the sink stops on its own, should the parent never say so."""
# The request line and the answer are Twilio's, from the one Twilio fake; the sink
# only matches bytes (lower-cased) instead of parsing, so it never becomes the bottleneck.
_BEFORE_SID, _AFTER_SID = MESSAGES_PATH.lower().encode().split(b"{sid}")
_PATH_START = b"post " + _BEFORE_SID
_PATH_END = _AFTER_SID + b" http/1.1"
_CREATED = json.dumps(message_resource(message_sid(0)), separators=(",", ":")).encode()
_CREATED_BODY = _CREATED.replace(message_sid(0).encode(), b"SM%032x")
_LENGTH = b"\r\ncontent-length:"
_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
_UNAUTHORIZED_BODY = b'{"code":20003,"message":"Authenticate","status":401}'
_UNAUTHORIZED = (
    b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(_UNAUTHORIZED_BODY), _UNAUTHORIZED_BODY)
)


@dataclass
class _Counts:
    auth_line: bytes
    """``\\r\\nauthorization: basic ...``, lower-cased as the heads are."""
    accepted: int = 0
    refused: int = 0

    def answer(self, head: bytes) -> bytes:
        """The reply to one request, from its lower-cased head."""
        line = head[: head.find(b"\r\n")]
        if not (line.startswith(_PATH_START) and line.endswith(_PATH_END)):
            self.refused += 1
            return _NOT_FOUND
        if self.auth_line not in head:
            self.refused += 1
            return _UNAUTHORIZED
        self.accepted += 1
        body = _CREATED_BODY % self.accepted
        return (
            b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )


class _Session(asyncio.Protocol):
    """One keep-alive connection: answer each complete request as it arrives."""

    def __init__(self, counts: _Counts) -> None:
        self._counts = counts
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        replies: list[bytes] = []
        while (end := buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(buffer[:end]).lower()
            length = 0
            if (at := head.find(_LENGTH)) >= 0:
                stop = head.find(b"\r\n", at + 2)
                length = int(head[at + len(_LENGTH) : stop if stop >= 0 else None])
            total = end + 4 + length
            if len(buffer) < total:
                break
            replies.append(self._counts.answer(head))
            del buffer[:total]
        if len(buffer) > MAX_REQUEST and self._transport is not None:
            self._transport.close()
        elif replies and self._transport is not None:
            self._transport.write(b"".join(replies))


async def _serve(conn: Connection, auth_header: str) -> None:
    counts = _Counts(b"\r\nauthorization: " + auth_header.lower().encode("ascii"))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Session(counts), HOST, 0, backlog=1024)
    stats = lambda: (counts.accepted, counts.refused, time.process_time())  # noqa: E731
    await serve_until_closed(conn, server, stats, LIFETIME)


def _sink_process(conn: Connection, auth_header: str) -> None:
    asyncio.run(_serve(conn, auth_header))


@dataclass(frozen=True)
class SinkStats:
    """Requests the sink has accepted and refused, and CPU seconds it has used, so far."""

    accepted: int
    refused: int
    cpu: float


class Sink(SinkProcess):
    """``with Sink(auth_header) as sink:`` runs the sink in a child process meanwhile.

    ``auth_header`` is the ``Authorization`` value every request must carry.
    """

    def __init__(self, auth_header: str) -> None:
        super().__init__(_sink_process, auth_header, name="bench-twilio-sink")

    @property
    def base_url(self) -> str:
        """What to pass as ``TwilioSMS(base_url=...)``."""
        return f"http://{HOST}:{self.port}"

    def stats(self) -> SinkStats:
        """Ask the sink for its counts and CPU time (a blocking round trip on the pipe)."""
        return SinkStats(*self.ask("stats"))


# --- the client side ----------------------------------------------------------------


def auth_header() -> str:
    """The ``Authorization`` value for ``SID`` and ``TOKEN``: what ``Sink`` should expect."""
    return "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode("ascii")


def phone_numbers(count: int) -> Iterator[str]:
    """``count`` distinct valid US numbers in E.164, generated as they are read."""
    return (f"+1415{2_000_000 + i:07d}" for i in range(count))


def sms_channel(base_url: str, concurrency: int, count: int) -> TwilioSMS:
    """A ``TwilioSMS`` texting ``phone_numbers(count)`` through the sink at ``base_url``."""
    return TwilioSMS(
        SID,
        TOKEN,
        from_=FROM,
        recipients=phone_numbers(count),
        base_url=base_url,
        concurrency=concurrency,
        rate=1e9,  # the limiter must not be the bottleneck
        retry=broadcast.RetryPolicy(attempts=4, deadline=60.0, max_wait=10.0),
    )


def expect_accepted(n: int) -> Callable[[SinkStats, SinkStats], int]:
    """Check that the sink accepted exactly ``n`` requests, and refused none, meanwhile."""

    def check(before: SinkStats, after: SinkStats) -> int:
        got, refused = after.accepted - before.accepted, after.refused - before.refused
        if got != n or refused:
            raise RuntimeError(f"the sink accepted {got} and refused {refused}, expected {n}")
        return got

    return check
