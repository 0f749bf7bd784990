"""A Bluesky PDS on 127.0.0.1 that answers XRPC as the AT Protocol documents it.

``com.atproto.server.createSession`` (handle and app password) gives ``did``,
``handle``, ``accessJwt`` and ``refreshJwt``; ``refreshSession`` (Bearer refresh
token) new ones; ``getSession`` the account. ``com.atproto.repo.createRecord`` answers
``{"uri", "cid", "commit", "validationStatus"}`` and refuses a post over 300 graphemes
or 3,000 bytes; ``getRecord`` answers ``{"uri", "cid", "value"}`` or 400
``RecordNotFound``. Errors are ``{"error", "message"}``; an expired access token gets
400 ``ExpiredToken``; a 429 carries ``RateLimit-Limit``, ``RateLimit-Remaining``,
``RateLimit-Reset`` (epoch seconds) and ``RateLimit-Policy``.

``shape()`` is the same for ``ChaosServer("bluesky")`` (signing in is never faulted);
``BlueskyFake`` is the demo's stand-in and the tests' server, which keeps each record
as it arrived (``posts``), can expire the access token (``expire_access()``) and drop
answers (``drop_answers(n)``).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from typing import Any, NamedTuple, Self
from urllib.parse import parse_qs, urlsplit

from ..._channel import Channel
from .._loopback import LoopbackServer, RecordedRequest, Reply
from ._base import Shape, Throttle, json_reply, retry_headers

__all__ = ["DID", "BlueskyFake", "BlueskyPost", "cid_of", "session", "shape"]

DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
HANDLE = "status.example.com"
_JSON = {"content-type": "application/json"}


def cid_of(rkey: str) -> str:
    """A CID-shaped id for the record at ``rkey`` (the same every time it is asked)."""
    return "bafyrei" + hashlib.sha256(rkey.encode()).hexdigest()[:52]


def _error(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    return json_reply(status, {"error": error, "message": message}, {**_JSON, **(headers or {})})


def _created(rkey: str) -> Reply:
    body = {
        "uri": f"at://{DID}/app.bsky.feed.post/{rkey}",
        "cid": cid_of(rkey),
        "commit": {"cid": cid_of("commit-" + rkey), "rev": rkey},
        "validationStatus": "valid",
    }
    return json_reply(200, body, _JSON)


def session(serial: int) -> dict[str, str]:
    return {
        "did": DID,
        "handle": HANDLE,
        "accessJwt": f"eyJ.access-{serial}.sig",
        "refreshJwt": f"eyJ.refresh-{serial}.sig",
    }


def _throttled(reset_in: float, extra: dict[str, str] | None = None) -> Reply:
    headers = {
        "ratelimit-limit": "5000",
        "ratelimit-remaining": "0",
        "ratelimit-reset": str(int(time.time() + reset_in)),
        "ratelimit-policy": "5000;w=3600",
        **(extra or {}),
    }
    return _error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)


def _method(request: RecordedRequest) -> str:
    return urlsplit(request.path).path.rpartition("/")[2]


def _query(request: RecordedRequest) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}


def _rkey(request: RecordedRequest) -> str:
    return str(json.loads(request.body).get("rkey") or request.body.decode(errors="replace"))


def shape() -> Shape:
    """How a PDS answers ``createRecord``; sessions and lookups are answered aside."""

    def aside(request: RecordedRequest) -> Reply | None:
        method = _method(request)
        if method in ("com.atproto.server.createSession", "com.atproto.server.refreshSession"):
            return json_reply(200, session(1), _JSON)
        if method == "com.atproto.server.getSession":
            return json_reply(200, {"did": DID, "handle": HANDLE}, _JSON)
        return None

    def read(request: RecordedRequest, accepted: list[str]) -> Reply:
        rkey = _query(request).get("rkey", "")
        if rkey not in accepted:
            return _error(400, "RecordNotFound", f"Could not locate record: {rkey}")
        return json_reply(
            200,
            {"uri": f"at://{DID}/app.bsky.feed.post/{rkey}", "cid": cid_of(rkey), "value": {}},
            _JSON,
        )

    def throttled(fault: Throttle) -> Reply:
        if fault.reset_in is not None:
            return _throttled(fault.reset_in)
        return _error(429, "RateLimitExceeded", "Rate Limit Exceeded", retry_headers(fault))

    return Shape(
        key=_rkey,
        success=lambda request, serial: _created(_rkey(request)),
        duplicate=None,  # a repeat is looked up first, never re-posted
        error=lambda status: _error(status, "InternalServerError", "Internal Server Error"),
        throttled=throttled,
        no_id=json.dumps({"validationStatus": "valid"}).encode(),
        read=read,
        aside=aside,
    )


class BlueskyPost(NamedTuple):
    """One post as the fake keeps it: the record exactly as it arrived."""

    update: int
    uri: str
    cid: str
    record: dict[str, Any]

    @property
    def text(self) -> str:
        """The post's text."""
        return str(self.record["text"])


class BlueskyFake:
    """``with BlueskyFake() as pds: Bluesky(pds.handle, pds.password, service=pds.url)``."""

    name = "bluesky"
    handle = HANDLE
    password = "demo-app-pass-word"  # noqa: S105 - the fake's own app password

    def __init__(self) -> None:
        self.posts: list[BlueskyPost] = []
        self.requests: list[RecordedRequest] = []
        self.sessions_created = 0
        self.refreshed = 0
        self.update_number = 1
        self._access: set[str] = set()
        self._refresh: set[str] = set()
        self._drop = 0
        self._throttle: tuple[int, float] = (0, 0.0)
        self._lock = threading.Lock()
        self._server = LoopbackServer(self._respond)

    @property
    def url(self) -> str:
        """The PDS to give the channel as ``service``."""
        return self._server.url

    def expire_access(self) -> None:
        """Every access token given so far has run out (refresh tokens still work)."""
        self._access.clear()

    def drop_answers(self, times: int) -> None:
        """Make the next ``times`` posts, then break off their answers."""
        self._drop = times

    def throttle(self, times: int, reset_in: float) -> None:
        """Answer the next ``times`` posts 429 with ``RateLimit-Reset`` ``reset_in`` ahead."""
        self._throttle = (times, reset_in)

    def __enter__(self) -> Self:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    def _respond(self, request: RecordedRequest) -> Reply:  # noqa: PLR0911 - one per method
        with self._lock:
            self.requests.append(request)
            method = _method(request)
            bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
            if method == "com.atproto.server.createSession":
                sent = json.loads(request.body)
                if (sent.get("identifier"), sent.get("password")) != (self.handle, self.password):
                    return _error(401, "AuthenticationRequired", "Invalid identifier or password")
                self.sessions_created += 1
                return self._new_session()
            if method == "com.atproto.server.refreshSession":
                if bearer not in self._refresh:
                    return _error(400, "ExpiredToken", "Token has expired")
                self.refreshed += 1
                self._refresh.discard(bearer)  # a refresh token is used once
                return self._new_session()
            if bearer not in self._access:
                return _error(400, "ExpiredToken", "Token has expired")
            if method == "com.atproto.server.getSession":
                return json_reply(200, {"did": DID, "handle": self.handle, "active": True}, _JSON)
            if method == "com.atproto.repo.getRecord":
                return self._get(_query(request).get("rkey", ""))
            if method == "com.atproto.repo.createRecord":
                return self._create(json.loads(request.body))
            return _error(501, "MethodNotImplemented", f"Method Not Implemented: {method}")

    def _new_session(self) -> Reply:
        made = session(self.sessions_created + self.refreshed * 1000)
        self._access.add(made["accessJwt"])
        self._refresh.add(made["refreshJwt"])
        return json_reply(200, made, _JSON)

    def _get(self, rkey: str) -> Reply:
        for made in self.posts:
            if made.uri.endswith(f"/{rkey}"):
                return json_reply(
                    200, {"uri": made.uri, "cid": made.cid, "value": made.record}, _JSON
                )
        return _error(
            400, "RecordNotFound", f"Could not locate record: at://{DID}/app.bsky.feed.post/{rkey}"
        )

    def _create(self, sent: dict[str, Any]) -> Reply:
        import regex  # noqa: PLC0415

        times, reset_in = self._throttle
        if times:
            self._throttle = (times - 1, reset_in)
            return _throttled(reset_in)
        record, rkey = sent.get("record") or {}, str(sent.get("rkey") or len(self.posts) + 1)
        text = str(record.get("text", ""))
        if len(regex.findall(r"\X", text)) > 300 or len(text.encode()) > 3000:
            return _error(
                400,
                "InvalidRequest",
                "Invalid app.bsky.feed.post record: Record/text must not be longer than "
                "300 graphemes",
            )
        if any(p.uri.endswith(f"/{rkey}") for p in self.posts):
            return _error(400, "InvalidRequest", "Record already exists")
        reply = _created(rkey)
        answer = json.loads(reply.body)
        self.posts.append(BlueskyPost(self.update_number, answer["uri"], answer["cid"], record))
        if self._drop:
            self._drop -= 1
            return Reply(reply.status, reply.body, reply.headers, reset="mid-answer")
        return reply

    def channel(self) -> Channel[Any]:
        """A real Bluesky channel pointed here, its session kept in memory."""
        from ...channels._bluesky import Bluesky  # noqa: PLC0415

        bluesky: Channel[Any] = Bluesky(
            self.handle, self.password, service=self.url, session_file="off"
        )
        return bluesky

    def arrivals(self) -> list[str]:
        """One line per update: its posts, and where the first one replies."""
        lines = [f"sessions created: {self.sessions_created}"]
        for number in sorted({p.update for p in self.posts}):
            got = [p for p in self.posts if p.update == number]
            reply = got[0].record.get("reply")
            link = f"replies to {reply['parent']['uri']}" if reply else "starts the incident"
            lines.append(f"update {number}: {len(got)} posts, first {got[0].uri} {link}")
        return lines

    def verified(self) -> bool:
        """One thread: each post after the first has it as root, the one before as parent."""
        if not self.posts or "reply" in self.posts[0].record:
            return False
        root = {"uri": self.posts[0].uri, "cid": self.posts[0].cid}
        for before, made in zip(self.posts, self.posts[1:], strict=False):
            reply = made.record.get("reply") or {}
            if reply != {"root": root, "parent": {"uri": before.uri, "cid": before.cid}}:
                return False
        return self.sessions_created <= 1
