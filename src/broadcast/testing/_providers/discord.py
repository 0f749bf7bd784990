"""A Discord webhook stand-in on 127.0.0.1, answering as Discord's webhook API does.

``DiscordFake`` serves ``/api/webhooks/{id}/{token}``: ``GET`` returns the webhook's
metadata; ``POST ?wait=true`` keeps the message and returns it (``id``,
``channel_id``); without ``wait=true`` it answers 204 with no body, as Discord does.
``thread_name`` creates a forum post (a thread whose id is the new ``channel_id``),
``?thread_id=`` posts into one (unknown: 400 code 10003). Every answer carries the
``X-RateLimit-*`` headers; ``throttle()`` answers 429 with ``Retry-After``,
``X-RateLimit-Reset-After`` and the JSON ``retry_after``. A wrong token is 401
(code 50027), a deleted webhook 404 (code 10015).

It is the demo's stand-in for the Discord channel, and the tests' fake.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from .._loopback import LoopbackServer, RecordedRequest, Reply
from ._base import Shape, Throttle, json_reply, retry_headers

__all__ = ["DiscordFake", "DiscordPost"]

WEBHOOK_ID = "1303336800000000001"
TOKEN = "fake-discord-webhook-token-0001"  # noqa: S105 - the stand-in's own token
CHANNEL_ID = "1303336800000000100"
GUILD_ID = "1303336800000000200"


@dataclass(frozen=True, slots=True)
class DiscordPost:
    """One message Discord kept: its id, where (channel or thread), what it said."""

    update: int
    message_id: str
    channel_id: str
    content: str
    allowed_mentions: dict[str, Any] | None
    thread_name: str | None = None


class DiscordFake:
    """``with DiscordFake(forum=True) as discord: channel = discord.channel(); ...``."""

    name = "discord"

    def __init__(self, *, forum: bool = True) -> None:
        self.forum = forum
        self.posts: list[DiscordPost] = []
        self.threads: dict[str, str] = {}
        """Forum threads made by ``thread_name``: id -> name."""
        self.update_number = 1
        self.deleted = False
        self._script: list[Reply] = []
        self._lose = 0
        self._serial = 0
        self._lock = threading.Lock()
        self._server = LoopbackServer(self._respond)

    @property
    def webhook_url(self) -> str:
        """The webhook's (secret) URL."""
        return f"{self._server.url}/api/webhooks/{WEBHOOK_ID}/{TOKEN}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request, in arrival order."""
        return list(self._server.requests)

    def throttle(self, retry_after: float = 1.5, *, is_global: bool = False) -> None:
        """Answer the next post 429, saying to wait ``retry_after`` seconds three ways."""
        body = {"message": "You are being rate limited.", "retry_after": retry_after}
        body |= {"global": is_global, "code": 0}
        headers = {
            "retry-after": str(int(retry_after) + 1),
            "x-ratelimit-reset-after": f"{retry_after:g}",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-scope": "global" if is_global else "user",
        }
        self._script.append(Reply(429, json.dumps(body).encode(), headers))

    def refuse(self, status: int = 401) -> None:
        """Answer the next request with an auth error (401 code 50027, or 403 code 50013)."""
        code, message = (
            (50027, "Invalid Webhook Token")
            if status == 401
            else (
                50013,
                "Missing Permissions",
            )
        )
        self._script.append(Reply(status, json.dumps({"message": message, "code": code}).encode()))

    def lose_answers(self, count: int = 1) -> None:
        """Post the next ``count`` messages, then reset the connection mid-answer."""
        self._lose = count

    def channel(self, **options: Any) -> Any:
        """A real DiscordWebhook channel pointed here (a forum one if the fake is a forum)."""
        from ...channels._discord import DiscordWebhook  # noqa: PLC0415 - channels load lazily

        options.setdefault("channel_type", "forum" if self.forum else "text")
        return DiscordWebhook(self.webhook_url, **options)

    def _respond(self, request: RecordedRequest) -> Reply:
        with self._lock:
            parts = urlsplit(request.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if self._script:
                return self._script.pop(0)
            if self.deleted or not parts.path.startswith(f"/api/webhooks/{WEBHOOK_ID}/"):
                return _error(404, 10015, "Unknown Webhook")
            if parts.path.rstrip("/") != f"/api/webhooks/{WEBHOOK_ID}/{TOKEN}":
                return _error(401, 50027, "Invalid Webhook Token")
            if request.method == "GET":
                return json_reply(200, self._metadata())
            return self._post(json.loads(request.body or b"{}"), query)

    def _metadata(self) -> dict[str, Any]:
        return {
            "type": 1,
            "id": WEBHOOK_ID,
            "name": "Status",
            "channel_id": CHANNEL_ID,
            "guild_id": GUILD_ID,
            "application_id": None,
            "token": TOKEN,
        }

    def _post(self, body: dict[str, Any], query: dict[str, str]) -> Reply:  # noqa: PLR0911 - a table
        content = body.get("content")
        if not content and not body.get("embeds"):
            return _error(400, 50006, "Cannot send an empty message")
        if isinstance(content, str) and len(content) > 2000:
            return _error(400, 50035, "Invalid Form Body")
        where = CHANNEL_ID
        name = body.get("thread_name")
        if thread := query.get("thread_id"):
            if thread not in self.threads:
                return _error(400, 10003, "Unknown Channel")
            where = thread
        elif self.forum:
            if not name:
                return _error(
                    400, 220001, "Webhooks posted to forum channels must have a thread_name"
                )
            self._serial += 1
            where = str(int(CHANNEL_ID) + 1000 + self._serial)
            self.threads[where] = str(name)
        self._serial += 1
        message_id = str(int(WEBHOOK_ID) + 10_000 + self._serial)
        post = DiscordPost(
            self.update_number, message_id, where, str(content), body.get("allowed_mentions"), name
        )
        self.posts.append(post)
        if query.get("wait") != "true":
            return Reply(204, headers=_bucket())
        answer = {
            "id": message_id,
            "type": 0,
            "channel_id": where,
            "content": post.content,
            "webhook_id": WEBHOOK_ID,
        }
        reply = json_reply(200, answer, _bucket())
        if self._lose:
            self._lose -= 1
            return Reply(reply.status, reply.body, reply.headers, reset="mid-answer")
        return reply

    # -- the demo's StandIn --------------------------------------------------------

    def arrivals(self) -> list[str]:
        """One line per message: the forum post it started, or the thread it went into."""
        lines = []
        for post in self.posts:
            if post.thread_name is not None:
                where = f"message {post.message_id} starting forum post {post.thread_name!r}"
            else:
                where = f"message {post.message_id} in thread {post.channel_id}"
            lines.append(f"update {post.update}: {where}")
        return lines

    def verified(self) -> bool:
        """One message per update, all in the first one's thread, none able to ping."""
        if not self.posts:
            return False
        thread = self.posts[0].channel_id
        updates = [p.update for p in self.posts]
        return (
            all(p.channel_id == thread for p in self.posts)
            and all(p.allowed_mentions == {"parse": []} for p in self.posts)
            and updates == sorted(set(updates))
        )

    def __enter__(self) -> Self:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()


def _bucket() -> dict[str, str]:
    return {
        "x-ratelimit-limit": "5",
        "x-ratelimit-remaining": "4",
        "x-ratelimit-reset-after": "2",
        "x-ratelimit-bucket": "fakebucket",
    }


def _error(status: int, code: int, message: str) -> Reply:
    return json_reply(status, {"message": message, "code": code})


def shape() -> Shape:
    """How Discord answers, for ``ChaosServer("discord")``: the message, 429s, errors."""
    import time  # noqa: PLC0415
    from datetime import datetime  # noqa: PLC0415

    def throttled(fault: Throttle) -> Reply:
        headers = retry_headers(fault) | {"x-ratelimit-remaining": "0"}
        wait = fault.reset_in
        if isinstance(fault.retry_after, datetime):
            wait = fault.retry_after.timestamp() - time.time()
        elif fault.retry_after is not None:
            wait = fault.retry_after
        if fault.reset_in is not None:
            headers["x-ratelimit-reset-after"] = f"{fault.reset_in:g}"
        body = {"message": "You are being rate limited.", "retry_after": wait, "global": False}
        return json_reply(429, body | {"code": 0}, headers)

    def success(request: RecordedRequest, serial: int) -> Reply:
        body = {"id": str(int(WEBHOOK_ID) + serial), "channel_id": CHANNEL_ID, "type": 0}
        return json_reply(200, body, _bucket())

    return Shape(
        key=lambda r: str(json.loads(r.body or b"{}").get("content")),
        success=success,
        duplicate=None,  # Discord posts the same content as often as it is asked
        error=lambda status: json_reply(status, {"message": f"{status}: Server Error", "code": 0}),
        throttled=throttled,
        no_id=json.dumps({"type": 0, "channel_id": CHANNEL_ID}).encode(),
    )
