"""A DNS stand-in on 127.0.0.1 (UDP) answering TXT queries from a dict, and a resolver for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import dns.asyncresolver
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

__all__ = ["txt_server"]


def _chunks(text: str) -> str:
    """A TXT value as quoted strings of at most 255 bytes (as long DKIM keys are published)."""
    parts = [text[i : i + 255] for i in range(0, len(text), 255)] or [""]
    return " ".join(f'"{p}"' for p in parts)


class _Answering(asyncio.DatagramProtocol):
    def __init__(self, records: Mapping[str, list[str]], asked: list[str]) -> None:
        self._records = {k.lower().rstrip("."): v for k, v in records.items()}
        self._asked = asked
        self._transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # a datagram transport (no public class to check)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text().lower().rstrip(".")
        self._asked.append(name)
        values = self._records.get(name)
        if values is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif question.rdtype == dns.rdatatype.TXT:
            rrset = dns.rrset.from_text(
                question.name, 60, "IN", "TXT", *(_chunks(v) for v in values)
            )
            response.answer.append(rrset)
        assert self._transport is not None
        self._transport.sendto(response.to_wire(), addr)


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
