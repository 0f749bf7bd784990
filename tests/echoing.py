"""Providers that echo the credentials they were sent, for the secrets audit.

Real providers do this: an error body quoting the ``Authorization`` header, an access
log line with the URL, a 535 reply quoting the AUTH line. ``EchoingProviders`` is one
loopback HTTP server shaped like the webhook receiver, X, Graph and Twilio; it refuses
every request and echoes its credentials in one of several encodings, in the body or in
a header. ``EchoingAuth`` is an aiosmtpd handler whose 535 reply quotes the AUTH line
(PLAIN) or the base64 of each answer (LOGIN).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from broadcast.testing import LoopbackServer, RecordedRequest, Reply


def credentials(request: RecordedRequest) -> bytes:
    """What the request carries as its credentials, decoded as far as it can be.

    Basic: ``user:password``; Bearer: the token; OAuth 1.0a: the header; each followed
    by the request line (a webhook URL may hold a token in its path). Without an
    ``Authorization`` header (Graph), the token parameters of the query and the form.
    """
    line = f" {request.method} {request.path}".encode()
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        return base64.b64decode(value) + line
    if scheme.lower() == "bearer":
        return value.encode() + line
    if scheme:
        return request.headers["authorization"].encode() + line
    query = urlsplit(request.path).query + "&" + request.body.decode(errors="replace")
    tokens = {k: v for k, v in parse_qsl(query) if k in {"access_token", "appsecret_proof"}}
    return urlencode(tokens).encode() + line


def _sent(request: RecordedRequest) -> str:
    return request.headers.get("authorization") or credentials(request).decode()


def _at(offset: int, *, url_safe: bool = False) -> Callable[[RecordedRequest], str]:
    """The credentials in base64 after ``offset`` other bytes: the secret lands at every
    position within a base64 group as the offset and the user name's length vary."""

    def echo(request: RecordedRequest) -> str:
        data = b"#" * offset + credentials(request)
        if url_safe:
            return base64.urlsafe_b64encode(data).decode().rstrip("=")
        return base64.b64encode(data).decode()

    return echo


FORMS: dict[str, Callable[[RecordedRequest], str]] = {
    "as-sent": _sent,
    "base64-at-0": _at(0),
    "base64-at-1": _at(1),
    "base64-at-2": _at(2),
    "url-safe-at-1": _at(1, url_safe=True),
    "url-safe-at-2": _at(2, url_safe=True),
    "decoded": lambda request: credentials(request).decode(),
}
"""How a provider may quote the credentials: as sent, base64 without the word Basic
(whole or after a few bytes of its own), URL-safe base64, decoded."""

Where = Literal["body", "header"]


class EchoingProviders:
    """Refuses every request (``status``), quoting its credentials as ``form`` in ``where``.

    The body has each provider's error fields at once, so every channel's own reading
    of it quotes the echo: ``detail`` (problem+json: webhook, X), Twilio's top-level
    ``code``/``message``, Graph's ``error``. A 400 is a per-recipient refusal for a
    fan-out (a Rejection and a journal row each); a 401 refuses the credentials.
    """

    def __init__(self, form: str, where: Where = "body", *, status: int = 400) -> None:
        self.form = form
        self.where = where
        self.status = status
        self.server = LoopbackServer(self._respond)
        self.echoed: list[str] = []

    def _respond(self, request: RecordedRequest) -> Reply:
        echo = FORMS[self.form](request)
        self.echoed.append(echo)
        said = f"invalid credentials: {echo}"
        if self.where == "header":
            headers = {"WWW-Authenticate": f'Basic realm="{echo}"', "X-Echo": echo}
            body = {"title": "Unauthorized", "detail": "see the headers", "status": self.status}
            return Reply(self.status, json.dumps(body).encode(), headers=headers)
        body: dict[str, Any] = {
            "title": "Unauthorized" if self.status == 401 else "Bad Request",
            "detail": said,
            "status": self.status,
            "code": 20003 if self.status == 401 else 21211,
            "message": said,
            "error": {"code": 100, "message": said, "type": "OAuthException"},
            "ok": False,  # Telegram's shape
            "error_code": self.status,
            "description": said,
        }
        return Reply(self.status, json.dumps(body).encode())


class EchoingAuth:
    """aiosmtpd handler: refuses AUTH with a 535 that quotes what the client sent."""

    def __init__(self) -> None:
        self.echoed: list[str] = []

    async def handle_AUTH(self, server: Any, session: Any, envelope: Any, args: list[str]) -> str:
        mechanism, *rest = args
        if mechanism.upper() == "LOGIN":
            user = rest[0] if rest else ""
            password = await server.challenge_auth("Password:")
            echo = f"AUTH LOGIN {user} {base64.b64encode(password).decode()}"
        else:
            echo = " ".join(args)
        self.echoed.append(echo)
        return f"535 5.7.8 Authentication credentials invalid: {echo}"
