"""A minimal SMTP responder for benchmarks: it counts messages and accepts everything.

Just enough SMTP for aiosmtplib's ``connect``/``sendmail``/``quit``: a 220 greeting,
EHLO/HELO, 250 to MAIL, RCPT, RSET and NOOP, 354 to DATA then one 250 per message
(up to the ``CRLF.CRLF`` that ends it), 221 to QUIT, 500 to anything else. It parses
nothing, stores nothing and checks nothing, so it uses about 70 µs of CPU per message,
mostly the socket system calls of its four replies, where aiosmtpd uses about 330 µs:
a client talking to it is the bottleneck. Not a real server.

``MinimalServer`` runs on its own thread with ``start()``/``stop()`` and ``port``, as
aiosmtpd's ``Controller`` does, so the benchmark's sink process drives either alike.
Input is bounded: a command line longer than ``MAX_LINE`` or a message longer than
``MAX_MESSAGE`` closes the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

MAX_LINE = 1000
"""Bytes in a command line, CRLF excluded (RFC 5321 allows 512; be lenient)."""
MAX_MESSAGE = 33_554_432
"""Bytes in one message, as the SIZE extension announces (aiosmtpd's default too)."""
# The same extensions aiosmtpd 1.4 announces, so aiosmtplib does the same work with
# either sink (it adds SIZE= to MAIL FROM when SIZE is announced, for one).
_EHLO = (
    b"250-%s\r\n250-SIZE " + str(MAX_MESSAGE).encode("ascii") + b"\r\n"
    b"250-8BITMIME\r\n250-SMTPUTF8\r\n250 HELP\r\n"
)
_OK = b"250 OK\r\n"
_END_OF_DATA = b"\r\n.\r\n"


class _Session(asyncio.Protocol):
    """One SMTP connection."""

    def __init__(self, server: MinimalServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._in_data = False
        self._scanned = 0
        """In DATA, where to resume the search for the end marker."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._server.transports.add(transport)
        transport.write(b"220 %s minimal benchmark sink ESMTP\r\n" % self._server.name)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._server.transports.discard(self._transport)
        self._buffer.clear()

    def data_received(self, data: bytes) -> None:
        transport = self._transport
        assert transport is not None
        self._buffer += data
        while not transport.is_closing():
            if self._in_data:
                end = self._buffer.find(_END_OF_DATA, self._scanned)
                if end < 0:
                    if len(self._buffer) > MAX_MESSAGE + len(_END_OF_DATA):
                        self._drop(b"552 5.3.4 Message too big\r\n")
                    else:  # the marker may straddle this chunk and the next
                        self._scanned = max(0, len(self._buffer) - len(_END_OF_DATA) + 1)
                    return
                del self._buffer[: end + len(_END_OF_DATA)]
                self._in_data = False
                self._server.count += 1
                transport.write(_OK)
                continue
            end = self._buffer.find(b"\r\n")
            if end < 0:
                if len(self._buffer) > MAX_LINE:
                    self._drop(b"500 5.5.2 Line too long\r\n")
                return
            if end > MAX_LINE:
                self._drop(b"500 5.5.2 Line too long\r\n")
                return
            verb = bytes(self._buffer[:end]).split(b" ", 1)[0].upper()
            if verb == b"DATA":
                # Keep this line's CRLF: the message then ends at the first CRLF.CRLF
                # even when it is empty (a body line "." arrives dot-stuffed as "..").
                del self._buffer[:end]
                self._in_data = True
                self._scanned = 0
                transport.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                continue
            del self._buffer[: end + 2]
            self._reply(transport, verb)

    def _reply(self, transport: asyncio.Transport, verb: bytes) -> None:
        if verb == b"EHLO":
            transport.write(_EHLO % self._server.name)
        elif verb == b"HELO":
            transport.write(b"250 %s\r\n" % self._server.name)
        elif verb in {b"MAIL", b"RCPT", b"RSET", b"NOOP"}:
            transport.write(_OK)
        elif verb == b"QUIT":
            transport.write(b"221 Bye\r\n")
            transport.close()
        else:
            transport.write(b"500 5.5.1 Command not recognized\r\n")

    def _drop(self, reply: bytes) -> None:
        assert self._transport is not None
        self._transport.write(reply)
        self._transport.close()
        self._buffer.clear()


class MinimalServer:
    """Serve on ``host`` (a free port) from an event loop on a thread; count messages.

    ``count`` is only written on that thread; reading it elsewhere is safe (an int).
    """

    def __init__(self, host: str) -> None:
        self.host = host
        self.name = host.encode("ascii")
        self.port = 0
        self.count = 0
        self.transports: set[asyncio.Transport] = set()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="minimal-smtp-sink", daemon=True
        )

    def start(self, timeout: float = 10.0) -> None:
        """Start the loop's thread and listen on it; return once ``port`` is set."""
        self._thread.start()
        listening = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        try:
            self.port = listening.result(timeout)
        except BaseException:
            self.stop()
            raise

    async def _listen(self) -> int:
        self._server = await self._loop.create_server(lambda: _Session(self), self.host, 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def stop(self, timeout: float = 10.0) -> None:
        """Stop listening, close every connection, stop the loop (each step bounded)."""
        if self._thread.is_alive():
            future = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
            with contextlib.suppress(TimeoutError):
                future.result(timeout)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
        if not self._thread.is_alive():
            self._loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for transport in list(self.transports):
            transport.abort()
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5.0)
