"""Refuse, and record, any connection beyond 127.0.0.1 while documentation code runs.

``install(attempts)`` patches ``socket.getaddrinfo`` and ``socket.socket.connect`` (what
asyncio, aiohttp, httpcore and smtplib all end in) and returns a function that undoes
it. A refused lookup raises ``socket.gaierror`` at once, so nothing waits on a timeout.
The test names each host in ``attempts``: a Broadcaster turns the error into a failed
receipt, which would otherwise pass unnoticed.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost", "", None})


def _host(address: Any) -> Any:
    return address[0] if isinstance(address, tuple) else address


def install(attempts: list[str]) -> Callable[[], None]:
    """Patch the socket module; the returned function restores it."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in LOOPBACK:
            attempts.append(str(name))
            raise socket.gaierror(socket.EAI_NONAME, f"no network beyond 127.0.0.1: {name}")
        return real_getaddrinfo(host, *args, **kwargs)

    def allowed(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = _host(address)
            if host not in LOOPBACK and not str(host).startswith("127."):
                attempts.append(str(host))
                raise ConnectionRefusedError(f"no network beyond 127.0.0.1: {host}")

    def connect(self: socket.socket, address: Any) -> None:
        allowed(self, address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        allowed(self, address)
        return real_connect_ex(self, address)

    socket.getaddrinfo = getaddrinfo
    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]

    def restore() -> None:
        socket.getaddrinfo = real_getaddrinfo
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]

    return restore
