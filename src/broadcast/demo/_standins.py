"""Local receivers for the webhook and email channels, checking what they get.

Stand-ins for the provider APIs (X, Graph, Twilio) are in ``_apis.py``.
"""

from __future__ import annotations

import json
import socket
from contextlib import AbstractContextManager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, Protocol, Self

from .._channel import Channel
from .._loopback import LoopbackServer, RecordedRequest, Reply

__all__ = ["HTTPStandIn", "MailReceiver", "StandIn", "WebhookReceiver"]


class StandIn(AbstractContextManager["StandIn"], Protocol):
    """A local outlet: ``with stand_in: channel = stand_in.channel()``."""

    name: str

    def channel(self) -> Channel[Any]:
        """The real channel, configured to reach this stand-in."""
        ...

    def arrivals(self) -> list[str]:
        """What the receiving side saw, one line each, with its checks."""
        ...

    def verified(self) -> bool:
        """Whether everything that arrived passed the receiver's checks."""
        ...


class HTTPStandIn:
    """A stand-in served by a LoopbackServer on 127.0.0.1 that answers with ``_respond``."""

    def __init__(self) -> None:
        self._server = LoopbackServer(self._respond)

    def _respond(self, request: RecordedRequest) -> Reply:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()


class WebhookReceiver(HTTPStandIn):
    """A blog/CMS endpoint that verifies Standard Webhooks signatures.

    Verification uses the independent ``standardwebhooks`` library, not broadcast's
    own signer. The first request is answered ``503 Retry-After: 1`` so the demo shows
    a retry carrying the same ``webhook-id``.
    """

    name = "webhook"

    def __init__(self) -> None:
        try:
            from standardwebhooks.webhooks import Webhook as Verifier  # noqa: PLC0415
        except ImportError as exc:  # pragma: no cover - the demo extra is missing
            raise SystemExit(
                "the demo verifies signatures with standardwebhooks: pip install 'broadcast[demo]'"
            ) from exc
        from ..channels._webhook import Webhook  # noqa: PLC0415 - channels load lazily

        self._secret = Webhook.generate_secret()
        self._verifier = Verifier(self._secret)
        self._results: list[tuple[RecordedRequest, str | None]] = []
        self._answers: list[int] = []
        super().__init__()

    def _respond(self, request: RecordedRequest) -> Reply:
        reply = self._check(request)
        self._answers.append(reply.status)
        return reply

    def _check(self, request: RecordedRequest) -> Reply:
        try:
            self._verifier.verify(request.body, request.headers)
        except Exception as exc:  # noqa: BLE001 - any verification failure is a 401
            self._results.append((request, f"{type(exc).__name__}: {exc}"))
            return Reply(401, json.dumps({"message": "bad signature"}).encode())
        self._results.append((request, None))
        if len(self._results) == 1:
            return Reply(503, headers={"retry-after": "1"})
        return Reply(201, json.dumps({"id": f"post-{len(self._results)}"}).encode())

    def channel(self) -> Channel[Any]:
        """A real Webhook channel pointed at this receiver."""
        from ..channels._webhook import Webhook  # noqa: PLC0415

        webhook: Channel[Any] = Webhook(f"{self._server.url}/cms/incidents", secret=self._secret)
        return webhook

    def arrivals(self) -> list[str]:
        """One line per request: id, signature verdict, and the title it carried."""
        lines = []
        for (request, error), answer in zip(self._results, self._answers, strict=True):
            verdict = "signature verified" if error is None else f"REJECTED ({error})"
            title = json.loads(request.body)["data"]["title"]
            note = " (a forced 503, to show a retry)" if answer == 503 else ""
            lines.append(
                f"{request.headers.get('webhook-id')}: {verdict}, answered {answer}{note}; "
                f"title {title!r}"
            )
        return lines

    def verified(self) -> bool:
        """All requests verified, and all carried one webhook-id (retries are dedupable)."""
        ids = {request.headers.get("webhook-id") for request, _ in self._results}
        return bool(self._results) and all(e is None for _, e in self._results) and len(ids) == 1


class MailReceiver:
    """An SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it is sent.

    It checks what a mail client would: one message per recipient naming only them,
    multipart/alternative with text and HTML, and threading headers on the incident root.
    """

    name = "email"
    people = ("alex@example.com", "sam@example.org", "robin@example.net", "jordan@example.com")

    def __init__(self) -> None:
        try:
            from aiosmtpd.controller import Controller  # noqa: PLC0415
        except ImportError as exc:  # pragma: no cover - the demo extra is missing
            raise SystemExit(
                "the demo's SMTP server needs aiosmtpd: pip install 'broadcast[demo]'"
            ) from exc
        self.received: list[tuple[list[str], bytes]] = []
        with socket.socket() as sock:  # aiosmtpd 1.4 cannot bind port 0 itself
            sock.bind(("127.0.0.1", 0))
            self._port = int(sock.getsockname()[1])
        self._controller = Controller(self, hostname="127.0.0.1", port=self._port)

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        """Aiosmtpd hook: keep the message."""
        self.received.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK: queued"

    def __enter__(self) -> MailReceiver:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    def channel(self) -> Channel[Any]:
        """A real Email channel; plain SMTP because the stand-in has no certificate."""
        from ..channels._email import Email  # noqa: PLC0415

        email: Channel[Any] = Email(
            "127.0.0.1",
            self._port,
            sender="PlayStation Network Status <status@example.com>",
            recipients=list(self.people),
            tls="none",
            pool_size=2,
        )
        return email

    def _messages(self) -> list[tuple[list[str], EmailMessage]]:
        out = []
        for rcpts, content in self.received:
            message = message_from_bytes(content, policy=policy.default)
            if isinstance(message, EmailMessage):
                out.append((rcpts, message))
        return out

    def arrivals(self) -> list[str]:
        """One line per message: who, subject, parts, thread root."""
        lines = []
        for rcpts, msg in self._messages():
            parts = "+".join(p.get_content_subtype() for p in msg.iter_parts())
            lines.append(
                f"to {', '.join(rcpts)}: {msg['Subject']!r} ({msg.get_content_type()}: {parts}; "
                f"thread {msg['References']})"
            )
        return lines

    def verified(self) -> bool:
        """Each person got exactly one private, multipart, threaded message."""
        messages = self._messages()
        to = sorted(r for rcpts, _ in messages for r in rcpts)
        return to == sorted(self.people) and all(
            len(rcpts) == 1
            and msg["To"] == rcpts[0]
            and msg.get_content_type() == "multipart/alternative"
            and msg["References"] == "<incident.psn-2011-04@example.com>"
            for rcpts, msg in messages
        )
