"""A DNS stand-in on 127.0.0.1 (UDP) answering TXT queries from a dict.

``txt_server`` serves on the test's own event loop and yields a dnspython resolver
that asks only it; ``threaded_txt_server`` serves from a thread, for a command run
in its own loop (``BROADCAST_SMTP_DNS_SERVER=127.0.0.1:port``).
"""

from __future__ import annotations

import asyncio
import socketserver
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import dns.asyncresolver
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

__all__ = ["threaded_txt_server", "txt_server"]


def _chunks(text: str) -> str:
    """A TXT value as quoted strings of at most 255 bytes (as long DKIM keys are published)."""
    parts = [text[i : i + 255] for i in range(0, len(text), 255)] or [""]
    return " ".join(f'"{p}"' for p in parts)


def _answer(data: bytes, records: Mapping[str, list[str]], asked: list[str]) -> bytes:
    query = dns.message.from_wire(data)
    response = dns.message.make_response(query)
    question = query.question[0]
    name = question.name.to_text().lower().rstrip(".")
    asked.append(name)
    values = {k.lower().rstrip("."): v for k, v in records.items()}.get(name)
    if values is None:
        response.set_rcode(dns.rcode.NXDOMAIN)
    elif question.rdtype == dns.rdatatype.TXT:
        txt = dns.rrset.from_text(question.name, 60, "IN", "TXT", *(_chunks(v) for v in values))
        response.answer.append(txt)
    return bytes(response.to_wire())


class _Answering(asyncio.DatagramProtocol):
    def __init__(self, records: Mapping[str, list[str]], asked: list[str]) -> None:
        self._records = records
        self._asked = asked
        self._transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # a datagram transport (no public class to check)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self._transport.sendto(_answer(data, self._records, self._asked), addr)


@asynccontextmanager
async def txt_server(
    records: Mapping[str, list[str]],
) -> AsyncIterator[tuple[dns.asyncresolver.Resolver, list[str]]]:
    """A resolver that asks only the stand-in, and the names it was asked, in order."""
    asked: list[str] = []
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Answering(records, asked), local_addr=("127.0.0.1", 0)
    )
    port = transport.get_extra_info("sockname")[1]
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = port
    resolver.timeout = resolver.lifetime = 2.0
    try:
        yield resolver, asked
    finally:
        transport.close()


@contextmanager
def threaded_txt_server(records: Mapping[str, list[str]]) -> Iterator[tuple[int, list[str]]]:
    """The stand-in served from a thread: its port, and the names it was asked."""
    asked: list[str] = []

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            data, sock = self.request
            sock.sendto(_answer(data, records, asked), self.client_address)

    with socketserver.UDPServer(("127.0.0.1", 0), Handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server.server_address[1], asked
        finally:
            server.shutdown()
            thread.join()
