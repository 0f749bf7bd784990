"""SMTP on 127.0.0.1 (aiosmtpd): the replies a mail server gives, and a checking stand-in.

``REPLIES`` holds the enhanced-status texts servers send with each code, used by
``ChaosSMTP`` (which misbehaves on cue) and the test suite's recording handler.
``Accepted`` is one message a server answered 250 to. ``SMTPServer`` serves any
aiosmtpd handler on a free port of 127.0.0.1 (the one way every SMTP fake here, in the
tests and in the benchmarks starts). ``MailReceiver`` is the demo's stand-in: it keeps
each message and checks what a mail client would. Needs ``aiosmtpd``
(``pip install 'broadcast-crisis[demo]'``).
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, NamedTuple, Self

from ..._channel import Channel
from .._loopback import Served
from ._base import by_update, every_update_arrived

if TYPE_CHECKING:
    import ssl

    from aiosmtpd.smtp import SMTP

__all__ = ["BOUNCES", "REPLIES", "Accepted", "MailReceiver", "SMTPServer", "free_port"]

REPLIES = {
    421: "4.3.2 Service not available, closing transmission channel",
    450: "4.2.1 Mailbox busy, try again later",
    451: "4.3.0 Local error in processing, try again later",
    452: "4.3.1 Insufficient system storage",
    550: "5.1.1 Mailbox unavailable",
    554: "5.7.1 Transaction failed",
}
"""Each code's text, as servers send it (RFC 3463 enhanced status first)."""

BOUNCES = {
    "4.7.0": (421, "4.7.0 Try again later, closing connection"),
    "4.2.1": (450, "4.2.1 The user you are trying to contact is receiving mail too quickly"),
    "5.1.1": (550, "5.1.1 The email account that you tried to reach does not exist"),
    "5.7.1": (550, "5.7.1 Message rejected by the recipient's policy"),
    "5.7.26": (
        550,
        "5.7.26 Unauthenticated email from example.com is not accepted due to "
        "domain's DMARC policy",
    ),
    "5.7.515": (
        550,
        "5.7.515 Access denied, sending domain example.com doesn't meet the required "
        "authentication level",
    ),
}
"""Replies receivers give, by enhanced status code: throttling, no such user, policy,
and the bulk-sender authentication refusals of Gmail and Yahoo (5.7.26) and
Microsoft (5.7.515)."""


@dataclass(frozen=True, slots=True)
class Accepted:
    """One message the server answered 250 to."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        """The message, parsed."""
        parsed = message_from_bytes(self.content, policy=policy.default)
        if not isinstance(parsed, EmailMessage):  # pragma: no cover - policy.default's type
            raise TypeError("not an email message")
        return parsed


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (aiosmtpd 1.4 cannot bind port 0 itself)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SMTPServer(Served):
    """``with SMTPServer(handler) as server: Email("127.0.0.1", server.port, ...)``.

    ``handler`` has aiosmtpd's ``handle_*`` hooks. ``tls_context`` offers STARTTLS (and
    requires it, unless ``require_starttls=False``); ``session`` is an ``aiosmtpd.smtp.SMTP``
    subclass to serve each connection with; other ``options`` go to aiosmtpd's ``SMTP``.
    """

    def __init__(
        self,
        handler: Any,
        *,
        tls_context: ssl.SSLContext | None = None,
        session: type[SMTP] | None = None,
        **options: Any,
    ) -> None:
        from aiosmtpd.controller import Controller  # noqa: PLC0415 - optional dependency

        if tls_context is not None:
            options.setdefault("require_starttls", True)
            options.setdefault("server_hostname", "localhost")

        from aiosmtpd.smtp import SMTP as Session  # noqa: PLC0415

        serve = session or Session
        live: set[asyncio.BaseTransport] = set()
        self._live = live

        class _Tracked(serve):  # type: ignore[valid-type, misc]  # a class chosen at run time
            """Remembers its connection, so stop() can hang up on it."""

            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                live.add(transport)
                super().connection_made(transport)

            def connection_lost(self, error: Exception | None) -> None:
                if self.transport is not None:
                    live.discard(self.transport)
                super().connection_lost(error)

        class _Controller(Controller):
            def factory(self) -> SMTP:
                return _Tracked(self.handler, **self.SMTP_kwargs)

        self.handler = handler
        self.port = free_port()
        self.controller = _Controller(
            handler, hostname="127.0.0.1", port=self.port, tls_context=tls_context, **options
        )

    def start(self) -> Self:
        """Serve in aiosmtpd's background thread."""
        self.controller.start()
        return self

    def stop(self) -> None:
        """Hang up on every client still connected, then shut down.

        aiosmtpd stops its loop without closing open connections; their sockets would be
        left for the garbage collector to warn about in whichever test runs next.
        """
        loop = getattr(self.controller, "loop", None)
        if loop is not None and loop.is_running() and self._live:
            asyncio.run_coroutine_threadsafe(self._hang_up(), loop).result(timeout=5)
        self.controller.stop()

    async def _hang_up(self) -> None:
        for transport in list(self._live):
            transport.close()
        for _ in range(3):  # close() finishes on the loop's next turns
            await asyncio.sleep(0)


class MailReceiver:
    """An SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it is sent.

    It checks what a mail client would: one message per recipient naming only them,
    multipart/alternative with text and HTML, and threading headers on the incident root.
    """

    name = "email"
    people = ("alex@example.com", "sam@example.org", "robin@example.net", "jordan@example.com")

    def __init__(self) -> None:
        try:
            self._server = SMTPServer(self)
        except ImportError as exc:  # pragma: no cover - the demo extra is missing
            raise SystemExit(
                "the demo's SMTP server needs aiosmtpd: pip install 'broadcast-crisis[demo]'"
            ) from exc
        self.received: list[tuple[int, list[str], bytes]] = []
        self.update_number = 1
        self._port = self._server.port

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        """Aiosmtpd hook: keep the message."""
        self.received.append((self.update_number, list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK: queued"

    def __enter__(self) -> MailReceiver:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    def channel(self) -> Channel[Any]:
        """A real Email channel; plain SMTP because the stand-in has no certificate."""
        from ...channels._email import Email  # noqa: PLC0415

        email: Channel[Any] = Email(
            "127.0.0.1",
            self._port,
            sender="PlayStation Network Status <status@example.com>",
            recipients=list(self.people),
            tls="none",
            pool_size=2,
        )
        return email

    def _messages(self) -> list[_Mail]:
        out = []
        for number, rcpts, content in self.received:
            message = message_from_bytes(content, policy=policy.default)
            if isinstance(message, EmailMessage):
                out.append(_Mail(number, rcpts, message))
        return out

    def arrivals(self) -> list[str]:
        """What every message is, then one line per update with its threading headers."""
        messages = self._messages()
        kinds = {
            f"{m.message.get_content_type()} ("
            + "+".join(p.get_content_subtype() for p in m.message.iter_parts())
            + ")"
            for m in messages
        }
        private = all(len(m.rcpts) == 1 and m.message["To"] == m.rcpts[0] for m in messages)
        each = "one private message per person" if private else "SHARED messages"
        lines = [f"{each}, {', '.join(sorted(kinds))}"]
        for number, mails in by_update(messages):
            heads = {(m.message["In-Reply-To"], m.message["References"]) for m in mails}
            ((reply_to, references),) = heads if len(heads) == 1 else ((None, None),)
            thread = f"MIXED threading headers: {sorted(heads, key=str)}"
            if reply_to == references and reply_to:
                thread = f"In-Reply-To and References {reply_to}"
                if number == 1:
                    thread = f"starts the thread {reply_to}"
            lines.append(f"update {number}: {len(mails)} messages; {thread}")
        return lines

    def verified(self) -> bool:
        """Each person got one private, multipart message per update, all in one thread."""
        updates = by_update(self._messages())
        roots = {(m.message["In-Reply-To"], m.message["References"]) for m in self._messages()}
        root = f"<incident.{self._incident()}@example.com>"
        return (
            every_update_arrived(updates)
            and roots == {(root, root)}
            and len({m.message["X-Broadcast-Update"] for m in self._messages()}) == len(updates)
            and all(
                sorted(r for m in mails for r in m.rcpts) == sorted(self.people)
                and len({m.message["X-Broadcast-Update"] for m in mails}) == 1
                for _, mails in updates
            )
            and all(
                len(m.rcpts) == 1
                and m.message["To"] == m.rcpts[0]
                and m.message.get_content_type() == "multipart/alternative"
                for m in self._messages()
            )
        )

    def _incident(self) -> str | None:
        incidents = {m.message["X-Broadcast-Incident"] for m in self._messages()}
        return incidents.pop() if len(incidents) == 1 else None


class _Mail(NamedTuple):
    """One message as received, with the update it arrived in."""

    update: int
    rcpts: list[str]
    message: EmailMessage
