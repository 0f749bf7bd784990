"""Local receivers for the webhook and email channels, checking what they get.

Stand-ins for the provider APIs (X, Graph, Twilio) are in ``_apis.py``.
"""

from __future__ import annotations

import json
import socket
from contextlib import AbstractContextManager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, NamedTuple, Protocol, Self, TypeVar

from .._channel import Channel
from .._loopback import LoopbackServer, RecordedRequest, Reply

__all__ = [
    "HTTPStandIn",
    "MailReceiver",
    "StandIn",
    "WebhookReceiver",
    "by_update",
    "every_update_arrived",
]


class StandIn(AbstractContextManager["StandIn"], Protocol):
    """A local outlet: ``with stand_in: channel = stand_in.channel()``."""

    name: str
    update_number: int
    """Which update of the timeline is being sent (1, 2, ...), set by the demo before
    each send; every arrival is filed under it, so a re-send shows up as a repeat."""

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
        self.update_number = 1

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
                "the demo verifies signatures with standardwebhooks: "
                "pip install 'broadcast-crisis[demo]'"
            ) from exc
        from ..channels._webhook import Webhook  # noqa: PLC0415 - channels load lazily

        self._secret = Webhook.generate_secret()
        self._verifier = Verifier(self._secret)
        self._results: list[_Hook] = []
        super().__init__()

    def _respond(self, request: RecordedRequest) -> Reply:
        error = None
        try:
            self._verifier.verify(request.body, request.headers)
        except Exception as exc:  # noqa: BLE001 - any verification failure is a 401
            error = f"{type(exc).__name__}: {exc}"
        if error is not None:
            reply = Reply(401, json.dumps({"message": "bad signature"}).encode())
        elif not self._results:
            reply = Reply(503, headers={"retry-after": "1"})
        else:
            reply = Reply(201, json.dumps({"id": f"post-{len(self._results) + 1}"}).encode())
        hook = _Hook(self.update_number, request.headers.get("webhook-id"), error, reply.status)
        if error is None:
            data = json.loads(request.body)["data"]
            hook = hook._replace(incident=data["incident"], status=data["status"])
        self._results.append(hook)
        return reply

    def channel(self) -> Channel[Any]:
        """A real Webhook channel pointed at this receiver."""
        from ..channels._webhook import Webhook  # noqa: PLC0415

        webhook: Channel[Any] = Webhook(f"{self._server.url}/cms/incidents", secret=self._secret)
        return webhook

    def arrivals(self) -> list[str]:
        """One line per update: the document's incident and status, and the answers."""
        bad = sum(h.error is not None for h in self._results)
        lines = [
            f"Standard Webhooks signature {f'BAD on {bad}' if bad else 'verified on every request'}"
        ]
        for number, hooks in by_update(self._results):
            answers = ", ".join(str(h.answer) for h in hooks)
            retried = ""
            if hooks[0].answer == 503 and len({h.webhook_id for h in hooks}) == 1 < len(hooks):
                retried = " (a forced 503; the retry kept its webhook-id)"
            errors = "".join(f"; REJECTED ({h.error})" for h in hooks if h.error)
            lines.append(
                f"update {number}: incident {hooks[-1].incident}, status {hooks[-1].status}; "
                f"answered {answers}{retried}{errors}"
            )
        return lines

    def verified(self) -> bool:
        """Every request signed; each update taken once, under its own webhook-id."""
        updates = by_update(self._results)
        ids = [{h.webhook_id for h in hooks} for _, hooks in updates]
        return (
            every_update_arrived(updates)
            and all(h.error is None for h in self._results)
            and all(sum(h.answer == 201 for h in hooks) == 1 for _, hooks in updates)
            and all(len(one) == 1 for one in ids)
            and len(set.union(*ids)) == len(updates)
            and len({h.incident for h in self._results}) == 1
        )


class _Hook(NamedTuple):
    """One webhook request: the update it belongs to, its id, its verdict, its answer."""

    update: int
    webhook_id: str | None
    error: str | None
    answer: int
    incident: str | None = None
    status: str | None = None


class _Numbered(Protocol):
    @property
    def update(self) -> int:
        """The number of the update it arrived in."""
        ...


T = TypeVar("T", bound=_Numbered)


def by_update(items: list[T]) -> list[tuple[int, list[T]]]:
    """``items`` grouped by the update they arrived in, in order."""
    groups: dict[int, list[T]] = {}
    for item in items:
        groups.setdefault(item.update, []).append(item)
    return sorted(groups.items())


def every_update_arrived(groups: list[tuple[int, list[Any]]]) -> bool:
    """Something arrived for every update from 1 on, with no gap."""
    return bool(groups) and [n for n, _ in groups] == list(range(1, len(groups) + 1))


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
                "the demo's SMTP server needs aiosmtpd: pip install 'broadcast-crisis[demo]'"
            ) from exc
        self.received: list[tuple[int, list[str], bytes]] = []
        self.update_number = 1
        with socket.socket() as sock:  # aiosmtpd 1.4 cannot bind port 0 itself
            sock.bind(("127.0.0.1", 0))
            self._port = int(sock.getsockname()[1])
        self._controller = Controller(self, hostname="127.0.0.1", port=self._port)

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        """Aiosmtpd hook: keep the message."""
        self.received.append((self.update_number, list(envelope.rcpt_tos), bytes(envelope.content)))
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
