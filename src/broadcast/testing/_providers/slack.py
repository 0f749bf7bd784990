"""A Slack stand-in on 127.0.0.1: the Web API methods broadcast calls, and a webhook.

``SlackFake`` answers ``chat.postMessage``, ``auth.test``, ``conversations.history``
and ``conversations.replies`` (``{base}/api/...``) the way Slack does: HTTP 200 with
``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}``, 429 with ``Retry-After``
when rate limited, ``ts`` ids, threads by ``thread_ts``, message metadata. It also
serves an incoming webhook (``webhook_url``) that answers ``ok`` as plain text.

It is the demo's stand-in for the Slack channel, and the tests' fake: ``fail(...)``
gives the next posts Slack errors, ``lose_answers(n)`` posts the next ``n`` and then
drops the answer (the case where a blind retry would post twice).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from .._loopback import LoopbackServer, RecordedRequest, Reply
from ._base import Shape, Throttle, json_reply, retry_headers

__all__ = ["SlackFake", "SlackPost"]

TOKEN = "xoxb-fake-0000-slack-token"  # noqa: S105 - the stand-in's own token
CHANNEL = "C0FAKE0001"
HOOK_PATH = "/services/T0FAKE/B0FAKE/fakeHookSecret0001"


@dataclass(frozen=True, slots=True)
class SlackPost:
    """One message Slack kept: where, its ``ts``, its thread and what it said."""

    update: int
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    reply_broadcast: bool = False
    metadata: dict[str, Any] | None = None
    via_webhook: bool = False


class SlackFake:
    """``with SlackFake() as slack: channel = slack.channel(); ... slack.posts``."""

    name = "slack"

    def __init__(self, *, token: str = TOKEN, channel: str = CHANNEL) -> None:
        self.token = token
        self.channel_id = channel
        self.posts: list[SlackPost] = []
        self.update_number = 1
        self.rejected: list[str] = []
        self._errors: list[str] = []
        self._lose = 0
        self._serial = 0
        self._lock = threading.Lock()
        self._server = LoopbackServer(self._respond)

    @property
    def url(self) -> str:
        """The Web API root to give the channel (``base_url``)."""
        return f"{self._server.url}/api"

    @property
    def webhook_url(self) -> str:
        """The incoming webhook's (secret) URL."""
        return f"{self._server.url}{HOOK_PATH}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request, in arrival order."""
        return list(self._server.requests)

    def fail(self, *errors: str) -> None:
        """Answer the next posts with these Slack errors (``ratelimited`` is a 429)."""
        self._errors = list(errors)

    def lose_answers(self, count: int = 1) -> None:
        """Post the next ``count`` messages, then reset the connection mid-answer."""
        self._lose = count

    def channel(self, **options: Any) -> Any:
        """A real Slack channel (bot form) pointed here."""
        from ...channels._slack import Slack  # noqa: PLC0415 - channels load lazily

        options.setdefault("base_url", self.url)
        return Slack(self.token, self.channel_id, **options)

    def webhook_channel(self, **options: Any) -> Any:
        """A real Slack channel (incoming-webhook form) pointed here."""
        from ...channels._slack import Slack  # noqa: PLC0415

        return Slack(webhook_url=self.webhook_url, **options)

    def _respond(self, request: RecordedRequest) -> Reply:
        with self._lock:
            path = urlsplit(request.path).path
            if path == HOOK_PATH:
                return self._webhook(request)
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return _ok_false("invalid_auth")
            method = path.removeprefix("/api/")
            if method == "auth.test":
                return _ok({"url": "https://fake.slack.com/", "team": "Fake", "user": "status"})
            if method in ("conversations.history", "conversations.replies"):
                return self._history(request, replies=method.endswith("replies"))
            if method == "chat.postMessage":
                return self._post(json.loads(request.body or b"{}"))
            return _ok_false("unknown_method")

    def _post(self, body: dict[str, Any]) -> Reply:  # noqa: PLR0911 - a table
        if self._errors:
            error = self._errors.pop(0)
            self.rejected.append(error)
            if error == "ratelimited":
                return Reply(
                    429, json.dumps({"ok": False, "error": error}).encode(), {"retry-after": "1"}
                )
            return _ok_false(error)
        if body.get("channel") not in (self.channel_id, f"#{self.channel_id}"):
            return _ok_false("channel_not_found")
        if not body.get("text") and not body.get("blocks"):
            return _ok_false("no_text")
        thread = body.get("thread_ts")
        if thread is not None and not any(p.ts == thread for p in self.posts):
            return _ok_false("thread_not_found")
        self._serial += 1
        ts = _ts(self._serial)
        post = SlackPost(
            self.update_number,
            self.channel_id,
            ts,
            str(body.get("text", "")),
            list(body.get("blocks") or []),
            thread,
            bool(body.get("reply_broadcast")),
            body.get("metadata"),
        )
        self.posts.append(post)
        answer = {"channel": self.channel_id, "ts": ts, "message": {"text": post.text}}
        reply = _ok(answer)
        if self._lose:
            self._lose -= 1
            return Reply(reply.status, reply.body, reply.headers, reset="mid-answer")
        return reply

    def _history(self, request: RecordedRequest, *, replies: bool) -> Reply:
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}
        if query.get("channel") != self.channel_id:
            return _ok_false("channel_not_found")
        oldest = float(query.get("oldest", "0"))
        found = [p for p in self.posts if float(p.ts) >= oldest and not p.via_webhook]
        if replies:
            root = query.get("ts")
            found = [p for p in found if root in (p.ts, p.thread_ts)]
        else:
            found = [p for p in found if p.thread_ts is None or p.reply_broadcast]
        with_meta = query.get("include_all_metadata") == "true"
        messages = [
            {"type": "message", "ts": p.ts, "text": p.text}
            | ({"metadata": p.metadata} if with_meta and p.metadata else {})
            for p in reversed(found)
        ]
        return _ok({"messages": messages[: int(query.get("limit", "100"))], "has_more": False})

    def _webhook(self, request: RecordedRequest) -> Reply:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return Reply(400, b"invalid_payload", {"content-type": "text/plain"})
        if self._errors:
            error = self._errors.pop(0)
            self.rejected.append(error)
            status = 429 if error == "ratelimited" else 400
            return Reply(status, error.encode(), {"content-type": "text/plain", "retry-after": "1"})
        if not body.get("text") and not body.get("blocks"):
            return Reply(400, b"no_text", {"content-type": "text/plain"})
        self._serial += 1
        ts = _ts(self._serial)
        text = str(body.get("text", ""))
        self.posts.append(
            SlackPost(self.update_number, self.channel_id, ts, text, via_webhook=True)
        )
        return Reply(200, b"ok", {"content-type": "text/html"})

    # -- the demo's StandIn --------------------------------------------------------

    def arrivals(self) -> list[str]:
        """One line per message: a new message, or a reply in the incident's thread."""
        lines = []
        for post in self.posts:
            if post.thread_ts is None:
                where = f"message ts {post.ts} in {post.channel}"
            else:
                seen = ", also sent to the channel" if post.reply_broadcast else ""
                where = f"reply ts {post.ts} in the thread of {post.thread_ts}{seen}"
            lines.append(f"update {post.update}: {where}")
        return lines

    def verified(self) -> bool:
        """One message per update: the first starts a thread, every later one replies in it."""
        if not self.posts:
            return False
        first = self.posts[0]
        updates = [p.update for p in self.posts]
        return (
            first.thread_ts is None
            and all(p.thread_ts == first.ts for p in self.posts[1:])
            and updates == sorted(set(updates))
        )

    def __enter__(self) -> Self:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()


def _ok(body: dict[str, Any]) -> Reply:
    return Reply(200, json.dumps({"ok": True, **body}).encode())


def _ok_false(error: str) -> Reply:
    return Reply(200, json.dumps({"ok": False, "error": error}).encode())


def _ts(serial: int) -> str:
    """A Slack ``ts``: the epoch seconds of the post, then a serial, unique per channel."""
    return f"{int(time.time())}.{serial:06d}"


def shape() -> Shape:
    """How Slack answers, for ``ChaosServer("slack")``: ok/ts, ratelimited, history reads."""

    def key(request: RecordedRequest) -> str:
        body = json.loads(request.body or b"{}")
        return str(((body.get("metadata") or {}).get("event_payload") or {}).get("update_key"))

    def throttled(fault: Throttle) -> Reply:
        headers = retry_headers(fault)
        if fault.reset_in is not None:  # Slack's one signal is Retry-After
            headers["retry-after"] = f"{fault.reset_in:g}"
        return json_reply(429, {"ok": False, "error": "ratelimited"}, headers)

    def read(request: RecordedRequest, accepted: list[str]) -> Reply:
        messages = [
            {
                "ts": _ts(n),
                "metadata": {"event_type": "broadcast_update", "event_payload": {"update_key": k}},
            }
            for n, k in enumerate(accepted, 1)
        ]
        return _ok({"messages": messages[::-1], "has_more": False})

    return Shape(
        key=key,
        success=lambda request, serial: _ok({"channel": "C0CHAOS001", "ts": _ts(serial)}),
        duplicate=None,  # Slack posts the same message as often as it is asked
        error=lambda status: Reply(status, b"upstream error", {"content-type": "text/plain"}),
        throttled=throttled,
        no_id=json.dumps({"ok": True, "channel": "C0CHAOS001"}).encode(),
        read=read,
    )
