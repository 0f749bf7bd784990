"""A Telegram Bot API on 127.0.0.1 that answers as Telegram documents it.

``sendMessage``, ``getMe`` and ``getChat`` under ``/bot<token>/``; a wrong token gets
401 ``Unauthorized``, an unknown chat 400 ``chat not found``, a chat in ``blocked``
403 ``bot was blocked by the user``. ``parse_mode=HTML`` text is parsed as Telegram
does (only its tags; every other ``<``, ``>`` and ``&`` must be escaped), then
counted in UTF-16 units. ``throttle(n, retry_after)`` answers the next ``n`` sends
with 429 and ``parameters.retry_after``. Also the demo's stand-in.
"""

from __future__ import annotations

import html
import json
import re
import threading
from typing import Any, NamedTuple, Self

from ..._channel import Channel
from ...text._cut import utf16_length
from .._loopback import LoopbackServer, RecordedRequest, Reply

__all__ = ["TelegramFake", "TelegramMessage", "visible_text"]

TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "blockquote",
    }
)
_TAG = re.compile(r"<(/?)([a-z-]+)(\s[^<>]*)?>")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


def visible_text(marked: str) -> str:
    """The text Telegram shows for ``parse_mode=HTML``; ValueError as Telegram's 400 says."""
    bare = _TAG.sub(lambda m: "" if m.group(2) in TAGS else m.group(0), marked)
    if "<" in bare or ">" in bare:
        raise ValueError("can't parse entities: unsupported start tag or unescaped '<'")
    if "&" in _ENTITY.sub("", bare):
        raise ValueError("can't parse entities: unescaped '&'")
    return html.unescape(bare)


class TelegramMessage(NamedTuple):
    """One message as the fake stored it."""

    update: int
    chat: str
    message_id: int
    reply_to: int | None
    topic: int | None
    text: str


class TelegramFake:
    """``with TelegramFake() as bot: Telegram(bot.token, bot.chats, base_url=bot.url)``."""

    name = "telegram"
    token = "123456789:demo-bot-token-AAHfiqksKZ8"  # noqa: S105 - the fake's own token
    chats: tuple[str, ...] = ("-1001000000001", "-1001000000002")

    def __init__(self, *, chats: tuple[str, ...] = (), blocked: tuple[str, ...] = ()) -> None:
        self.chats = chats or type(self).chats
        self.messages: list[TelegramMessage] = []
        self.requests: list[RecordedRequest] = []
        self.refused: list[tuple[int, str]] = []
        self.blocked = set(blocked)
        self.update_number = 1
        self._throttled = 0
        self._retry_after = 0
        self._lock = threading.Lock()
        self._server = LoopbackServer(self._respond)

    @property
    def url(self) -> str:
        """The Bot API root to pass as ``base_url``."""
        return self._server.url

    def throttle(self, times: int, retry_after: int) -> None:
        """Answer the next ``times`` sends with 429 and ``parameters.retry_after``."""
        self._throttled, self._retry_after = times, retry_after

    def __enter__(self) -> Self:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    def _respond(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            prefix, _, method = request.path.rpartition("/")
            if prefix != f"/bot{self.token}":
                return _error(401, "Unauthorized")
            body: dict[str, Any] = json.loads(request.body or b"{}")
            if method == "getMe":
                return _ok({"id": 123456789, "is_bot": True, "username": "demo_status_bot"})
            chat = str(body.get("chat_id", ""))
            if method not in ("getChat", "sendMessage"):
                return _error(404, "Not Found")
            if chat not in self.chats and chat not in self.blocked:
                return self._refuse(400, "Bad Request: chat not found", chat)
            if method == "getChat":
                return _ok({"id": int(chat), "type": "supergroup", "title": f"Status {chat}"})
            return self._send(chat, body)

    def _send(self, chat: str, body: dict[str, Any]) -> Reply:
        if self._throttled:
            self._throttled -= 1
            wait = self._retry_after
            said = f"Too Many Requests: retry after {wait}"
            return _error(429, said, {"retry_after": wait})
        if chat in self.blocked:
            return self._refuse(403, "Forbidden: bot was blocked by the user", chat)
        try:
            text = visible_text(body["text"]) if body.get("parse_mode") == "HTML" else body["text"]
        except ValueError as exc:
            return self._refuse(400, f"Bad Request: {exc}", chat)
        if not 1 <= utf16_length(text) <= 4096:
            return self._refuse(400, "Bad Request: message is too long", chat)
        reply = (body.get("reply_parameters") or {}).get("message_id")
        message_id = len(self.messages) + 1
        topic = body.get("message_thread_id")
        self.messages.append(
            TelegramMessage(self.update_number, chat, message_id, reply, topic, text)
        )
        return _ok({"message_id": message_id, "chat": {"id": int(chat)}, "text": text})

    def _refuse(self, code: int, description: str, chat: str) -> Reply:
        self.refused.append((code, chat))
        return _error(code, description)

    def channel(self) -> Channel[Any]:
        """A real Telegram channel pointed here, posting to both chats."""
        from ...channels._telegram import Telegram  # noqa: PLC0415

        telegram: Channel[Any] = Telegram(
            self.token, list(self.chats), base_url=self.url, per_chat_rate=1_000.0
        )
        return telegram

    def in_chat(self, chat: str) -> list[TelegramMessage]:
        """The messages in one chat, in order."""
        return [m for m in self.messages if m.chat == chat]

    def arrivals(self) -> list[str]:
        """Per chat: each update's message and what it replies to."""
        lines = []
        for chat in self.chats:
            said = [
                f"update {m.update}: #{m.message_id}"
                + (f" replying to #{m.reply_to}" if m.reply_to else "")
                for m in self.in_chat(chat)
            ]
            lines.append(f"chat {chat}: " + "; ".join(said))
        return lines

    def verified(self) -> bool:
        """Every chat got each update once; follow-ups reply to the chat's first message."""
        for chat in self.chats:
            got = self.in_chat(chat)
            updates = [m.update for m in got]
            if not got or len(set(updates)) != len(updates) or got[0].reply_to is not None:
                return False
            if any(m.reply_to != got[0].message_id for m in got[1:]):
                return False
        return not self.refused


def _ok(result: dict[str, Any]) -> Reply:
    return Reply(200, json.dumps({"ok": True, "result": result}).encode(), _JSON)


def _error(code: int, description: str, parameters: dict[str, Any] | None = None) -> Reply:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Reply(code, json.dumps(body).encode(), _JSON)


_JSON = {"content-type": "application/json"}
