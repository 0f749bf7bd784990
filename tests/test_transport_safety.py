"""Transport safety: TLS is verified, redirects are not followed, answers are read capped.

The SMTP side of TLS (``tls="starttls"`` verified by default) is covered in
tests/channels/test_email.py (``test_starttls_with_verified_certificate_and_auth`` and
its neighbours).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import trustme

from broadcast import Broadcaster, Channel, Outcome, PermanentError, Receipt, Update
from broadcast.channels import FacebookPage, TwilioSMS, Twitter, Webhook
from broadcast.channels._aiohttp import AiohttpTransport
from broadcast.channels._http import MAX_RESPONSE_BYTES, new_client, post
from broadcast.testing import LoopbackServer, Reply, fast_retries

SID = "AC" + "a" * 32
BIG = 5 * 1_048_576
GUARD = 30.0  # seconds; only a guard against a hang, never waited out when all is well


async def _send(channel: Channel, update: Update) -> Receipt:
    async with Broadcaster([channel], journal=None, retry=fast_retries(attempts=1)) as b:
        return (await b.send(update))[channel.name]


# --- TLS is verified by default -----------------------------------------------------


class _TLSServer:
    """An HTTPS server on 127.0.0.1 with a certificate from ``ca``; counts the requests."""

    def __init__(self, ca: trustme.CA) -> None:
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                outer.requests += 1
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}/hook"

    def __enter__(self) -> _TLSServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def tls_server() -> Iterator[tuple[_TLSServer, trustme.CA]]:
    ca = trustme.CA()
    with _TLSServer(ca) as server:
        yield server, ca


async def test_webhook_refuses_a_certificate_from_an_untrusted_ca(
    tls_server: tuple[_TLSServer, trustme.CA], update: Update
) -> None:
    """The default client verifies TLS: an unknown CA fails the send, naming the certificate."""
    server, _ = tls_server
    channel = Webhook(server.url)
    async with Broadcaster([channel], journal=None, retry=fast_retries(attempts=3)) as b:
        receipt = (await b.send(update))[channel.name]
    assert receipt.outcome is Outcome.FAILED
    assert receipt.attempts == 1  # it will not verify next time either: not retried
    assert receipt.reason is not None
    assert receipt.reason.startswith("TLS certificate of https://127.0.0.1:")
    assert " not trusted: unable to get local issuer certificate" in receipt.reason
    assert "certificate" in receipt.reason.lower()
    assert server.requests == 0


async def test_the_same_server_is_reached_when_its_ca_is_trusted(
    tls_server: tuple[_TLSServer, trustme.CA], update: Update
) -> None:
    """Control: trusting the CA delivers, so the refusal above is about trust alone."""
    server, ca = tls_server
    context = ssl.create_default_context()
    ca.configure_trust(context)
    async with httpx.AsyncClient(transport=AiohttpTransport(ssl_context=context)) as client:
        receipt = await _send(Webhook(server.url, client=client), update)
    assert receipt.outcome is Outcome.DELIVERED, receipt.reason
    assert server.requests == 1


# --- redirects are never followed for POSTs ---------------------------------------------


def _channel(kind: str, base: str) -> Channel:
    if kind == "webhook":
        return Webhook(f"{base}/hook")
    if kind == "twitter":
        return Twitter(bearer_token="bearer-token", base_url=base)
    if kind == "facebook":
        return FacebookPage("1234567890", "page-token", base_url=base)
    return TwilioSMS(
        SID, "auth-token", recipients=["+14155550101"], from_="+15017122661", base_url=base
    )


@pytest.mark.parametrize("status", [307, 308])
@pytest.mark.parametrize("kind", ["webhook", "twitter", "facebook", "sms"])
async def test_a_redirected_post_is_not_followed(kind: str, status: int, update: Update) -> None:
    """A 307/308 to another server fails the channel, says "redirect", and nothing moves."""
    with LoopbackServer() as target, LoopbackServer() as first:
        first.script(Reply(status=status, headers={"location": f"{target.url}/moved"}))
        receipt = await _send(_channel(kind, first.url), update)
    assert [r.method for r in first.requests] == ["POST"]
    assert target.requests == []
    assert receipt.outcome is Outcome.FAILED
    reasons = [receipt.reason or "", *(r.reason for r in receipt.rejected)]
    assert any("redirect" in reason for reason in reasons), reasons


# --- answers are read with a size cap ---------------------------------------------------


async def test_a_declared_oversized_answer_is_not_read(update: Update) -> None:
    """A 5 MiB answer with a Content-Length fails the webhook permanently, unread."""
    with LoopbackServer() as server:
        server.script(Reply(body=b"x" * BIG))
        receipt = await asyncio.wait_for(_send(Webhook(f"{server.url}/hook"), update), GUARD)
    assert receipt.outcome is Outcome.FAILED
    assert receipt.reason is not None
    assert f"response from {server.url} larger than 1 MiB; not read" in receipt.reason


async def test_an_oversized_answer_is_a_permanent_error() -> None:
    """``post`` raises PermanentError, carrying the status, for an answer over the cap."""
    with LoopbackServer() as server:
        server.script(Reply(body=b"x" * BIG))
        async with new_client() as client:
            with pytest.raises(PermanentError) as info:
                await asyncio.wait_for(post(client, f"{server.url}/hook", content=b"{}"), GUARD)
    assert not info.value.transient
    assert info.value.code == 200


async def test_an_endless_chunked_answer_is_cut_off_at_the_cap() -> None:
    """A server streaming chunks forever is hung up on soon after the cap, not read to the end."""
    written = 0
    hung_up = asyncio.Event()
    chunk = b"x" * 65_536
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal written
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.lower().split(b"\r\n")
                    if line.startswith(b"content-length:")
                ),
                0,
            )
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            while True:
                writer.write(frame)
                await writer.drain()
                written += len(chunk)
        except ConnectionError:
            hung_up.set()
        finally:
            writer.close()

    server = await asyncio.start_server(endless, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with new_client() as client:
            with pytest.raises(PermanentError, match="larger than 1 MiB; not read"):
                await asyncio.wait_for(
                    post(client, f"http://127.0.0.1:{port}/hook", content=b"{}"), GUARD
                )
        await asyncio.wait_for(hung_up.wait(), GUARD)
    finally:
        server.close()
        await server.wait_closed()
    # What socket buffers hold on top of the cap, and nowhere near "forever".
    assert MAX_RESPONSE_BYTES < written < 32 * 1_048_576


async def test_a_small_compressed_answer_that_inflates_past_the_cap_is_refused() -> None:
    """The cap counts decoded bytes: a few KiB of gzip that inflate to 5 MiB are refused."""
    bomb = gzip.compress(b"0" * BIG)
    assert len(bomb) < 64 * 1024
    with LoopbackServer() as server:
        server.script(Reply(body=bomb, headers={"content-encoding": "gzip"}))
        async with new_client() as client:
            with pytest.raises(PermanentError, match="larger than 1 MiB"):
                await post(client, f"{server.url}/hook", content=b"{}")


@pytest.mark.parametrize("size", [MAX_RESPONSE_BYTES - 1, MAX_RESPONSE_BYTES])
async def test_a_compressed_answer_up_to_the_cap_is_read_and_decoded(size: int) -> None:
    """Up to the cap a gzip answer is read; ``.json()`` sees it decoded, not said encoded."""
    text = json.dumps({"sid": "SM1", "pad": ""})
    body = text[:-2] + "x" * (size - len(text)) + '"}'
    with LoopbackServer() as server:
        server.script(
            Reply(201, body=gzip.compress(body.encode()), headers={"content-encoding": "gzip"})
        )
        async with new_client() as client:
            response = await post(client, f"{server.url}/hook", content=b"{}")
    assert len(response.content) == size
    assert response.json()["sid"] == "SM1"
    assert "content-encoding" not in response.headers


async def test_one_byte_over_the_cap_is_refused() -> None:
    """The boundary: a decoded answer of the cap plus one byte is not read."""
    with LoopbackServer() as server:
        server.script(
            Reply(
                body=gzip.compress(b"x" * (MAX_RESPONSE_BYTES + 1)),
                headers={"content-encoding": "gzip"},
            )
        )
        async with new_client() as client:
            with pytest.raises(PermanentError, match="larger than 1 MiB"):
                await post(client, f"{server.url}/hook", content=b"{}")


async def test_a_normal_answer_keeps_json_text_and_headers() -> None:
    """A plain answer under the cap comes back whole: status, headers, ``.json()``, ``.text``."""
    with LoopbackServer() as server:
        server.script(Reply(201, body=b'{"sid": "SM1"}', headers={"x-request-id": "r-1"}))
        async with new_client() as client:
            response = await post(client, f"{server.url}/hook", content=b"{}")
    assert response.status_code == 201
    assert response.json() == {"sid": "SM1"}
    assert response.text == '{"sid": "SM1"}'
    assert response.headers["x-request-id"] == "r-1"


async def test_head_with_a_large_content_length_is_not_refused() -> None:
    """A HEAD answer's Content-Length describes a body never sent: check() still passes."""
    with LoopbackServer() as server:
        server.script(Reply(body=b"x" * BIG))
        channel = Webhook(f"{server.url}/hook")
        try:
            said = await channel.check()
        finally:
            await channel.aclose()
    assert "reachable (HTTP 200" in said
    assert [r.method for r in server.requests] == ["HEAD"]
