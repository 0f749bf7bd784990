"""A real aiosmtpd server on 127.0.0.1 with a recording handler that misbehaves on cue."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import trustme
from aiosmtpd.smtp import AuthResult, LoginPassword

from broadcast.testing._providers.smtp import SMTPServer, free_port

__all__ = ["Received", "Recorder", "authenticator", "free_port", "smtp_server", "tls_contexts"]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Recorder:
    """aiosmtpd handler: records messages; rejects, defers or hangs up when told to."""

    reject: set[str] = field(default_factory=set)
    defer_data: int = 0
    """Answer the first N DATA commands with ``defer_reply`` (and hang up after a 421)."""
    defer_reply: str = "451 4.3.0 Temporary failure, try again"
    close_after: int | None = None
    """Hang up each connection after it has carried this many messages."""
    die_after: int | None = None
    """After this many messages in all, hang up and refuse every later session."""
    mute_quit: bool = False
    """Never answer QUIT (the session hangs until the client hangs up)."""
    messages: list[Received] = field(default_factory=list)
    connections: int = 0
    quits: int = 0
    """QUIT commands received: each session should end with one (RFC 5321 4.1.1.10)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.die_after is not None and len(self.messages) >= self.die_after:
            server.transport.close()
            return responses
        if not getattr(session, "counted", False):
            session.counted = True
            with self.lock:
                self.connections += 1
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.reject:
            return "550 5.1.1 <%s>: mailbox unavailable" % address  # noqa: UP031
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.defer_data > 0:
                self.defer_data -= 1
                if self.defer_reply.startswith("421"):
                    asyncio.get_running_loop().call_soon(server.transport.close)
                return self.defer_reply
            self.messages.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
            )
        sent = getattr(session, "sent", 0) + 1
        session.sent = sent
        dying = self.die_after is not None and len(self.messages) >= self.die_after
        if dying or (self.close_after and sent % self.close_after == 0):
            asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.quits += 1
        if self.mute_quit:
            await asyncio.Event().wait()  # cancelled when the client hangs up
        return "221 Bye"

    def recipients(self) -> list[str]:
        return [r for m in self.messages for r in m.rcpt_tos]


def authenticator(username: str, password: str, *, logins: int | None = None) -> Any:
    """Accept ``username``/``password`` (only for the first ``logins`` sessions, if set)."""
    granted = [0]

    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (
            data.login.decode() == username and data.password.decode() == password
        )
        if ok and logins is not None:
            granted[0] += 1
            ok = granted[0] <= logins
        return AuthResult(success=ok, handled=False)

    return check


@contextmanager
def smtp_server(
    handler: Recorder, *, tls_context: ssl.SSLContext | None = None, **options: Any
) -> Iterator[int]:
    """Serve ``handler`` on a free port; STARTTLS is offered when tls_context is given."""
    with SMTPServer(handler, tls_context=tls_context, **options) as server:
        yield server.port


def tls_contexts(ca: trustme.CA) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for 127.0.0.1 from ``ca``, and a client trusting it."""
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client
