"""A real HTTP server on 127.0.0.1 that records requests and answers from a script.

Used by the demo, by broadcast's own tests, and by users testing their setup: it is a
real socket, so the whole client stack (httpx, TLS off, keep-alive) is exercised.
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Literal, Self

__all__ = ["LoopbackServer", "RecordedRequest", "Reply", "Served"]

_HANG_LIMIT = 60.0


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the server saw it; header names are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Reply:
    """What to answer, and how.

    ``delay`` waits that many seconds first. ``hang=True`` never answers (until the
    server stops). ``trickle`` sends the answer one byte at a time, that many seconds
    apart (a slow-loris server: never idle long enough for a read timeout).
    ``reset="now"`` answers nothing and resets the connection (TCP RST);
    ``reset="mid-answer"`` sends the status line, the headers and half the body, then
    resets.
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    delay: float = 0.0
    reset: Literal["", "now", "mid-answer"] = ""
    trickle: float = 0.0


Responder = Callable[[RecordedRequest], Reply]


class Served:
    """A server used as ``with server: ...``: ``start()`` on entry, ``stop()`` on exit."""

    def start(self) -> Self:
        """Start serving."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop serving."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class LoopbackServer(Served):
    """``with LoopbackServer() as server: ... server.url ... server.requests``.

    Replies come from ``script(...)`` in order (the last one repeats), or from a
    ``responder`` callable; by default every request gets ``200``.
    """

    def __init__(self, responder: Responder | None = None) -> None:
        self.requests: list[RecordedRequest] = []
        self._responder = responder
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, *replies: Reply | int) -> None:
        """Answer the next requests with ``replies`` in order; the last one repeats."""
        with self._lock:
            self._script = [Reply(r) if isinstance(r, int) else r for r in replies]

    def _answer(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self._responder is None:
                if not self._script:
                    return Reply()
                return self._script.pop(0) if len(self._script) > 1 else self._script[0]
        return self._responder(request)

    def start(self) -> Self:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hanging requests and shut down."""
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                request = RecordedRequest(
                    method=self.command,
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                reply = server._answer(request)
                if reply.hang or reply.delay:
                    # Released early when the server stops, so nothing outlives it.
                    server._release.wait(_HANG_LIMIT if reply.hang else reply.delay)
                    if reply.hang:
                        self.close_connection = True
                        return
                if reply.reset == "now":
                    self._reset()
                    return
                if reply.trickle:
                    self._trickle(reply)
                    return
                self.send_response(reply.status)
                for name, value in _with_defaults(reply):
                    self.send_header(name, value)
                self.end_headers()
                if reply.reset == "mid-answer":
                    self.wfile.write(reply.body[: len(reply.body) // 2])
                    self.wfile.flush()
                    self._reset()
                elif self.command != "HEAD":  # a HEAD answer has headers only
                    self.wfile.write(reply.body)

            def _trickle(self, reply: Reply) -> None:
                """The whole answer, status line included, one byte per ``trickle`` seconds."""
                head = f"HTTP/1.1 {reply.status} OK\r\n"
                head += "".join(f"{k}: {v}\r\n" for k, v in _with_defaults(reply)) + "\r\n"
                for byte in head.encode("latin-1") + reply.body:
                    if server._release.wait(reply.trickle):
                        break  # the server is stopping
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:  # the client gave up
                        break
                self.close_connection = True

            def _reset(self) -> None:
                """Close with SO_LINGER 0, so the peer gets a reset rather than an end."""
                linger = struct.pack("ii", 1, 0)
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                self.connection.close()
                self.close_connection = True

            # http.server's names for each method
            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

            def log_message(self, format: str, *args: object) -> None:
                """Keep test and demo output quiet."""

        return Handler


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up mid-answer (killed, timed out) is not an error here."""

    def handle_error(self, request: object, client_address: object) -> None:
        """Ignore dropped connections; report anything else as usual."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def _with_defaults(reply: Reply) -> Iterable[tuple[str, str]]:
    headers = {k.lower(): v for k, v in reply.headers.items()}
    headers.setdefault("content-length", str(len(reply.body)))
    if reply.body:
        headers.setdefault("content-type", "application/json")
    return headers.items()
