"""Webhook: POST the update as signed JSON to a blog, CMS or status page.

Signing follows Standard Webhooks (standardwebhooks.com): ``webhook-id``,
``webhook-timestamp`` and ``webhook-signature: v1,<base64 HMAC-SHA256 of
"id.timestamp.body">``, keyed by the base64 part of a ``whsec_`` secret. The id is
derived from the update key, so a retry carries the same id and the receiver can drop
duplicates; the timestamp is taken at each attempt, so a late retry is not rejected
as stale.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, SecretBytes, SecretStr

from .._channel import Delivery
from .._errors import ConfigError
from .._redact import register_secret, safe_origin
from .._update import Update
from ._http import ClientSlot, check_response, post, request
from ._spec import ChannelSpec, setting

if TYPE_CHECKING:
    from ..config._env import Env

__all__ = ["Webhook", "WebhookRequest", "sign"]

EVENT_TYPE = "incident.update"
SCHEMA_VERSION = 1
_RESERVED = frozenset(
    {"webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "content-length"}
)


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks ``v1,<base64>`` signature of one request."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _decode_secret(secret: str) -> bytes:
    prefix = "whsec_"
    if not secret.startswith(prefix):
        raise ValueError(
            "webhook secret must look like 'whsec_<base64>' (Standard Webhooks); "
            "make one with broadcast.channels.Webhook.generate_secret()"
        )
    try:
        key = base64.b64decode(secret[len(prefix) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("webhook secret: the part after 'whsec_' is not valid base64") from None
    if not 24 <= len(key) <= 64:
        raise ValueError(f"webhook secret must decode to 24-64 bytes, got {len(key)}")
    return key


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """A rendered webhook: the JSON body and the id it will be signed with."""

    message_id: str
    body: bytes

    @property
    def document(self) -> dict[str, Any]:
        """The JSON document, parsed back."""
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    def preview(self) -> str:
        """The id and the pretty-printed JSON body."""
        pretty = json.dumps(self.document, indent=2, ensure_ascii=False)
        return f"webhook-id: {self.message_id}\n{pretty}"


class Webhook:
    """POST each update as a signed JSON document (schema: docs/webhook.schema.json).

    ``url`` may carry ``user:password@``; it is sent as HTTP Basic auth, never logged.
    ``secret`` is a ``whsec_`` Standard Webhooks secret. ``headers`` are sent as given
    and treated as secrets (an ``Authorization`` token, say). ``timeout`` bounds one
    attempt, in seconds. ``client`` lets you bring your own ``httpx.AsyncClient``;
    otherwise the Broadcaster's shared one is used, or one is made on first use.
    """

    idempotent = True
    """A re-send carries the same ``webhook-id``, by which receivers drop repeats."""

    def __init__(
        self,
        url: str,
        *,
        secret: str | SecretStr | None = None,
        name: str = "webhook",
        headers: Mapping[str, str] | None = None,
        timeout: float = 15.0,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"webhook url must be an absolute http(s) URL, got {parts.scheme!r}")
        self.name = name
        netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        if parts.port:
            netloc += f":{parts.port}"
        url = urlunsplit(parts._replace(netloc=netloc))
        self._origin = safe_origin(url)
        # The whole URL is a secret: chat-style webhooks carry their token in the path.
        self._url = SecretStr(url)
        register_secret(parts.path if len(parts.path) > 1 else None, parts.query, parts.password)
        self._auth = (
            httpx.BasicAuth(parts.username or "", parts.password or "")
            if parts.username is not None or parts.password is not None
            else None
        )
        raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        self._key = SecretBytes(_decode_secret(raw)) if raw else None
        register_secret(raw, raw.removeprefix("whsec_") if raw else None)
        headers = dict(headers or {})
        if clash := sorted(h for h in headers if h.lower() in _RESERVED):
            raise ValueError(f"webhook headers may not set {', '.join(clash)}; broadcast sets them")
        if self._auth is not None and any(h.lower() == "authorization" for h in headers):
            raise ValueError(
                "webhook url has user:password and headers has Authorization; give only one"
            )
        self._headers = {k: SecretStr(v) for k, v in headers.items()}
        self._timeout = timeout
        self._http = ClientSlot(client)
        self._clock = clock

    @staticmethod
    def generate_secret() -> str:
        """A fresh ``whsec_`` secret (32 random bytes) for a new receiver."""
        return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()

    @property
    def signed(self) -> bool:
        """Whether requests carry a Standard Webhooks signature."""
        return self._key is not None

    def __repr__(self) -> str:
        return f"Webhook(name={self.name!r}, url='{self._origin}/…', signed={self.signed})"

    def render(self, update: Update, /) -> WebhookRequest:
        """The JSON document for ``update``; pure."""
        data = update.to_document()
        data["paragraphs"] = list(update.paragraphs)
        document = {
            "type": EVENT_TYPE,
            "schema_version": SCHEMA_VERSION,
            "timestamp": data["created_at"],
            "data": data,
        }
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        return WebhookRequest(message_id=f"msg_{data['key']}", body=body)

    def use_http_client(self, client: httpx.AsyncClient, /) -> None:
        """Send through the Broadcaster's shared client (unless one was given)."""
        self._http.share(client)

    async def deliver(self, rendered: WebhookRequest, /) -> Delivery:
        """POST the document, signed afresh for this attempt."""
        headers = {k: v.get_secret_value() for k, v in self._headers.items()}
        headers["content-type"] = "application/json"
        headers["webhook-id"] = rendered.message_id
        if self._key is not None:
            timestamp = int(self._clock())
            key = self._key.get_secret_value()
            headers["webhook-timestamp"] = str(timestamp)
            headers["webhook-signature"] = sign(key, rendered.message_id, timestamp, rendered.body)
        response = await post(
            self._http.get(),
            self._url.get_secret_value(),
            content=rendered.body,
            headers=headers,
            auth=self._auth,
            timeout=self._timeout,
            wall_clock=self._clock,
        )
        details: dict[str, Any] = {"status_code": response.status_code}
        if receiver_id := _receiver_id(response):
            details["receiver_id"] = receiver_id
        return Delivery(ids=(rendered.message_id,), details=details)

    async def check(self) -> str:
        """Send ``HEAD`` to the URL with the channel's auth and headers; any answer will do.

        401/403 raise ``AuthError`` and 404/410 ``PermanentError``; any other status means
        reachable. Nothing is signed and no body is sent; redirects are not followed.
        """
        response = await request(
            self._http.get(),
            "HEAD",
            self._url.get_secret_value(),
            headers={k: v.get_secret_value() for k, v in self._headers.items()},
            auth=self._auth,
            timeout=self._timeout,
        )
        status = response.status_code
        if status in (401, 403, 404, 410):
            check_response(response, wall_clock=self._clock)  # worded once, in _http
        note = "; deliver will not follow redirects" if 300 <= status < 400 else ""
        return f"{self._origin} reachable (HTTP {status}{note})"

    async def aclose(self) -> None:
        """Close the client if this channel made it."""
        await self._http.aclose()


def _receiver_id(response: httpx.Response) -> str | None:
    """The receiver's own id for what it published, if it answered ``{"id": ...}``."""
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    value = body.get("id") if isinstance(body, dict) else None
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


# --- its declaration: settings, capabilities, preview example, stand-in -------------


class WebhookSettings(BaseModel):
    """POSTs each update as signed JSON to `url`."""

    url: SecretStr = setting(doc="Enables the webhook channel. `user:pass@` becomes Basic auth.")
    secret: SecretStr | None = setting(
        None, doc="`whsec_<base64>` Standard Webhooks signing secret.", shown_default="unsigned"
    )
    timeout: float = setting(15.0, doc="Seconds for one webhook attempt.")


def _from_env(env: Env) -> Webhook | None:
    url = env.url("BROADCAST_WEBHOOK_URL")
    secret = env.get("BROADCAST_WEBHOOK_SECRET")
    if url is None:
        if secret is not None:
            raise ConfigError(
                "BROADCAST_WEBHOOK_SECRET is set but BROADCAST_WEBHOOK_URL is not; "
                "set the URL the update should be posted to"
            )
        return None
    timeout = env.seconds("BROADCAST_WEBHOOK_TIMEOUT", 15.0)
    channel: Webhook = env.build(
        "BROADCAST_WEBHOOK_SECRET", lambda: Webhook(url, secret=secret, timeout=timeout)
    )
    return channel


SPEC = ChannelSpec(
    name="webhook",
    channel=Webhook,
    settings=WebhookSettings,
    build=_from_env,
    example=lambda: Webhook("https://cms.example.com/hooks/incidents"),
    standin="broadcast.testing:WebhookReceiver",
)
