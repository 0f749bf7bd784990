"""A fast Twilio Messages API on 127.0.0.1 for tests with tens of thousands of texts.

``TwilioEndpoint`` (broadcast.testing) runs on ``http.server`` threads: exact, but a
few hundred texts a second. This answers the same way (``201`` with Twilio's Message
resource, from the same fake; ``401`` code 20003 without the account's Basic auth) on
one asyncio loop in a thread, and notes each text's ``To`` and when it arrived. With
``hold_after`` set, once that many texts were answered the next ``holding`` are kept
unanswered until ``release`` (a provider that stops answering mid fan-out).
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections import Counter
from types import TracebackType
from urllib.parse import parse_qs

from broadcast.testing._providers.twilio import message_resource, message_sid

SID = "AC" + "0" * 30 + "11"
TOKEN = "sink-auth-token"
_MAX = 64 * 1024


class TwilioSink:
    """Counts texts per number; ``all_arrived`` is set once ``expect`` numbers got one."""

    def __init__(self, *, expect: int, hold_after: int = 0, holding: int = 0) -> None:
        self.to: Counter[str] = Counter()
        self.arrived_at: list[float] = []
        self.expect = expect
        self.all_arrived = threading.Event()
        self.stuck = threading.Event()
        self.release = threading.Event()
        self.unauthorised = 0
        self._hold_after, self._holding, self._held = hold_after, holding, 0
        self._auth = b"basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).lower()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._released = asyncio.Event()
        self.url = ""

    def __enter__(self) -> TwilioSink:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def _start(self) -> asyncio.Server:
        return await asyncio.start_server(self._session, "127.0.0.1", 0, backlog=1024)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release.set()

        async def stop() -> None:
            self._released.set()
            assert self._server is not None
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def let_go(self) -> None:
        """Answer the held texts (with a 503) and hold no more."""
        self.release.set()
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._released.set)

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).lower()
                length = 0
                if (at := head.find(b"\r\ncontent-length:")) >= 0:
                    length = int(head[at + 17 : head.find(b"\r\n", at + 2)])
                body = await reader.readexactly(min(length, _MAX))
                writer.write(await self._answer(head, body))
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:  # the sink is stopping: the client is not answered
            return
        finally:
            writer.close()

    async def _answer(self, head: bytes, body: bytes) -> bytes:
        if b"\r\nauthorization: " + self._auth not in head:
            self.unauthorised += 1
            return _reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
        number = parse_qs(body.decode())["To"][0]
        self.arrived_at.append(time.monotonic())
        self.to[number] += 1
        answered = sum(self.to.values()) - self._held
        if self._hold_after and answered > self._hold_after and not self.release.is_set():
            self._held += 1
            if self._held >= self._holding:
                self.stuck.set()
            await self._released.wait()
            return _reply(503, {"code": 20500, "message": "held", "status": 503})
        if len(self.to) >= self.expect:
            self.all_arrived.set()
        return _reply(201, message_resource(message_sid(sum(self.to.values())), {"To": number}))


def _reply(status: int, body: object) -> bytes:
    data = json.dumps(body).encode()
    reason = {201: b"Created", 401: b"Unauthorized", 503: b"Service Unavailable"}[status]
    return b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        status,
        reason,
        len(data),
        data,
    )
