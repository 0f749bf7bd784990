"""A Mastodon instance on 127.0.0.1 that answers as Mastodon documents it.

``POST /api/v1/statuses`` answers a Status entity (``id`` a string, ``content`` as
HTML, ``in_reply_to_id``, ``visibility``, ``language``); a repeated
``Idempotency-Key`` gets the status it already made, as Mastodon does for about an
hour. ``GET /api/v2/instance`` gives ``configuration.statuses`` (``max_characters``,
``characters_reserved_per_url``); ``GET /api/v1/accounts/verify_credentials`` the
account. Errors are ``{"error": "..."}`` (401 bad token, 422 too long); a 429 carries
``X-RateLimit-Remaining: 0`` and an ISO 8601 ``X-RateLimit-Reset``.

``shape()`` is the same for ``ChaosServer("mastodon")``; ``MastodonFake`` is the
demo's stand-in and the tests' instance, which can drop answers
(``drop_answers(n)``: the status is made, the answer breaks off).
"""

from __future__ import annotations

import html
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, Self

from ..._channel import Channel
from .._loopback import LoopbackServer, RecordedRequest, Reply
from ._base import Shape, Throttle, json_reply, retry_headers

__all__ = ["MastodonFake", "MastodonStatus", "instance", "shape", "status"]

ACCOUNT = {
    "id": "109000000000000001",
    "username": "status",
    "acct": "status",
    "display_name": "Example Status",
    "url": "https://mastodon.example/@status",
}


def instance(max_characters: int = 500, url_length: int = 23) -> dict[str, Any]:
    """``GET /api/v2/instance``, as much of it as a client reads."""
    return {
        "domain": "mastodon.example",
        "title": "Mastodon",
        "version": "4.3.0",
        "configuration": {
            "statuses": {
                "max_characters": max_characters,
                "max_media_attachments": 4,
                "characters_reserved_per_url": url_length,
            }
        },
    }


def status(serial: int, sent: dict[str, Any]) -> dict[str, Any]:
    """The Status entity Mastodon answers for a status made from ``sent``."""
    status_id = str(110_000_000_000_000_000 + serial)
    text = str(sent.get("status", ""))
    return {
        "id": status_id,
        "created_at": "2011-04-20T22:00:00.000Z",
        "in_reply_to_id": sent.get("in_reply_to_id"),
        "in_reply_to_account_id": ACCOUNT["id"] if sent.get("in_reply_to_id") else None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": sent.get("visibility", "public"),
        "language": sent.get("language"),
        "uri": f"https://mastodon.example/users/status/statuses/{status_id}",
        "url": f"https://mastodon.example/@status/{status_id}",
        "content": "<p>" + html.escape(text).replace("\n", "<br />") + "</p>",
        "account": ACCOUNT,
    }


def _error(code: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    return json_reply(
        code, {"error": message}, {"content-type": "application/json", **(headers or {})}
    )


def _throttled(reset_in: float | None, extra: dict[str, str] | None = None) -> Reply:
    reset = datetime.now(UTC) + timedelta(seconds=reset_in if reset_in is not None else 300)
    headers = {
        "x-ratelimit-limit": "300",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": reset.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        **(extra or {}),
    }
    return _error(429, "Too many requests", headers)


def _aside(request: RecordedRequest) -> Reply | None:
    """The reads a client makes besides posting: the instance's limits, the account."""
    if request.method != "GET":
        return None
    if request.path.startswith("/api/v2/instance"):
        return json_reply(200, instance())
    return json_reply(200, ACCOUNT)


def shape() -> Shape:
    """How Mastodon answers ``POST /api/v1/statuses``; a repeated key gets its status."""

    def throttled(fault: Throttle) -> Reply:
        if fault.reset_in is not None:
            return _throttled(fault.reset_in)
        return _error(429, "Too many requests", retry_headers(fault))

    return Shape(
        key=lambda r: r.headers.get("idempotency-key") or r.body.decode(errors="replace"),
        success=lambda request, serial: json_reply(200, status(serial, json.loads(request.body))),
        duplicate=lambda request, serial: json_reply(200, status(serial, json.loads(request.body))),
        error=lambda code: _error(code, "Internal Server Error"),
        throttled=throttled,
        no_id=json.dumps({"content": "<p>posted</p>"}).encode(),
        aside=_aside,
    )


class MastodonStatus(NamedTuple):
    """One status as the fake keeps it."""

    update: int
    status_id: str
    reply_to: str | None
    visibility: str
    language: str | None
    key: str | None
    text: str


class MastodonFake:
    """``with MastodonFake() as m: Mastodon(m.url, m.token)``; ``statuses`` is what is up."""

    name = "mastodon"
    token = "demo-mastodon-access-token"  # noqa: S105 - the fake's own token

    def __init__(self, *, max_characters: int = 500, url_length: int = 23) -> None:
        self.max_characters = max_characters
        self.url_length = url_length
        self.statuses: list[MastodonStatus] = []
        self.requests: list[RecordedRequest] = []
        self.instance_reads = 0
        self.instance_fails = False
        self.update_number = 1
        self._drop = 0
        self._throttle: tuple[int, float] = (0, 0.0)
        self._by_key: dict[str, dict[str, Any]] = {}
        self._failing: dict[int, int] = {}
        self._attempts = 0
        self._lock = threading.Lock()
        self._server = LoopbackServer(self._respond)

    @property
    def url(self) -> str:
        """The instance to give the channel."""
        return self._server.url

    def drop_answers(self, times: int) -> None:
        """Make the next ``times`` statuses, then break off their answers."""
        self._drop = times

    def fail_attempt(self, number: int, status: int = 503) -> None:
        """Answer the ``number``-th post attempt (from 1) with ``status``, making nothing."""
        self._failing[number] = status

    def throttle(self, times: int, reset_in: float) -> None:
        """Answer the next ``times`` posts 429 with a reset ``reset_in`` seconds ahead."""
        self._throttle = (times, reset_in)

    def __enter__(self) -> Self:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    def _respond(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            if request.path.startswith("/api/v2/instance"):
                self.instance_reads += 1
                if self.instance_fails:
                    return _error(503, "Service Unavailable")
                return json_reply(200, instance(self.max_characters, self.url_length))
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return _error(401, "The access token is invalid")
            if request.path.startswith("/api/v1/accounts/verify_credentials"):
                return json_reply(200, ACCOUNT)
            if request.method != "POST" or not request.path.startswith("/api/v1/statuses"):
                return _error(404, "Record not found")
            return self._post(request)

    def _post(self, request: RecordedRequest) -> Reply:
        self._attempts += 1
        if (code := self._failing.pop(self._attempts, None)) is not None:
            return _error(code, "Service Unavailable")
        times, reset_in = self._throttle
        if times:
            self._throttle = (times - 1, reset_in)
            return _throttled(reset_in)
        key = request.headers.get("idempotency-key")
        if key is not None and key in self._by_key:
            return json_reply(200, self._by_key[key])
        sent: dict[str, Any] = json.loads(request.body)
        from ...text._social import mastodon_length  # noqa: PLC0415

        text = str(sent.get("status", ""))
        if mastodon_length(text, url_length=self.url_length) > self.max_characters:
            return _error(
                422, f"Validation failed: Text character limit of {self.max_characters} exceeded"
            )
        made = status(len(self.statuses) + 1, sent)
        self.statuses.append(
            MastodonStatus(
                self.update_number,
                made["id"],
                sent.get("in_reply_to_id"),
                str(sent.get("visibility", "public")),
                sent.get("language"),
                key,
                text,
            )
        )
        if key is not None:
            self._by_key[key] = made
        reply = json_reply(200, made, {"x-ratelimit-remaining": "299"})
        if self._drop:
            self._drop -= 1
            return Reply(reply.status, reply.body, reply.headers, reset="mid-answer")
        return reply

    def channel(self) -> Channel[Any]:
        """A real Mastodon channel pointed here."""
        from ...channels._mastodon import Mastodon  # noqa: PLC0415

        mastodon: Channel[Any] = Mastodon(self.url, self.token)
        return mastodon

    def arrivals(self) -> list[str]:
        """One line per update: its statuses, and what the first one replies to."""
        lines = []
        for number in sorted({s.update for s in self.statuses}):
            got = [s for s in self.statuses if s.update == number]
            reply = got[0].reply_to
            link = f"replies to {reply}" if reply else "starts the incident"
            lines.append(f"update {number}: {len(got)} statuses, first {got[0].status_id} {link}")
        return lines

    def verified(self) -> bool:
        """One chain: each status replies to the one before, the first to none."""
        replies = [s.reply_to for s in self.statuses]
        return bool(self.statuses) and replies == [None, *(s.status_id for s in self.statuses[:-1])]
