"""Telegram Bot API: each update as a message in every chat, follow-ups as replies.

``POST https://api.telegram.org/bot<token>/sendMessage`` with ``chat_id``, ``text``
and ``parse_mode=HTML`` (see ``broadcast.text._telegram`` for how it is counted). A
follow-up of an incident carries ``reply_parameters: {message_id}`` of the incident's
first message *in that chat*, kept per chat in the journal's incident state, so a
later process threads too; ``message_thread_id`` posts into a forum topic.

Many chats go through the shared fan-out engine at about 30 messages a second overall
and one a second per chat (Telegram's published guidance). Telegram has no
idempotency key, so a message that went out unanswered is never sent again: the fan-out
lists that chat as unanswered and the journal leaves it in doubt for ``broadcast
settle``. The bot token sits in the URL path: it is registered as a secret, so httpx's
request log, errors and reports show ``***``.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import BaseModel, SecretStr

from .._channel import Delivery
from .._errors import AuthError, ChannelError, ConfigError, PermanentError, TransientError
from .._redact import excerpt, register_secret
from .._retry import RetryPolicy
from .._update import Update
from ..journal._protocol import Journal, RecipientLog
from ..journal._threads import ThreadSlot, post_part
from ..text._telegram import TelegramMessage, render_telegram
from ._fanout import FanOut
from ._http import ClientSlot, post
from ._sms import RateLimiter
from ._spec import ChannelSpec, setting

if TYPE_CHECKING:
    from ..config._env import Env

__all__ = ["Telegram", "chat_id", "telegram_errors"]

DEFAULT_BASE_URL = "https://api.telegram.org"
OVERALL_RATE = 30.0
"""Messages per second across all chats (Telegram's bots FAQ)."""
PER_CHAT_RATE = 1.0
"""Messages per second into one chat."""
CHECKED_CHATS = 10
"""``check()`` looks up at most this many chats with ``getChat``."""
_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]{8,}")
_CHAT = re.compile(r"-?\d+|@[A-Za-z][A-Za-z0-9_]{3,31}")


def chat_id(value: str | int) -> str:
    """A chat id (``-1001234567890``) or a public ``@channelusername``; else ValueError."""
    text = str(value).strip()
    if not _CHAT.fullmatch(text):
        raise ValueError(
            f"{text!r} is not a Telegram chat: give its numeric id (-100… for channels "
            "and supergroups) or a public @channelusername"
        )
    return text


def telegram_errors(response: httpx.Response) -> ChannelError | None:  # noqa: PLR0911 - a table
    """``{"ok": false, "error_code", "description", "parameters"}``, classified."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("ok") is not False:
        return None
    code = body.get("error_code")
    code = code if isinstance(code, int) else response.status_code
    said = excerpt(str(body.get("description", "")))
    given = body.get("parameters")
    parameters: dict[str, Any] = given if isinstance(given, dict) else {}
    text = f"Telegram {code}: {said}"
    wait = parameters.get("retry_after")
    if code == 429 or response.status_code == 429:
        seconds = float(wait) if isinstance(wait, int | float) else None
        return TransientError(text, code=code, retry_after=seconds)
    if code == 401:  # the token itself: no chat will work
        return AuthError(f"{text} (the bot token was rejected; get it from @BotFather)", code=code)
    if isinstance(moved := parameters.get("migrate_to_chat_id"), int):
        return PermanentError(f"{text} (the group is now chat {moved}: use that id)", code=code)
    if code >= 500:
        return TransientError(text, code=code)
    # 400 (chat not found, bad entities) and 403 (blocked, kicked) concern one chat:
    # permanent for it, and the fan-out goes on with the others.
    return PermanentError(text, code=code)


class Telegram:
    """Sends updates to Telegram chats through a bot, threading follow-ups per chat."""

    threaded = True
    """Follow-ups reply to the incident's first message in each chat."""
    max_duration: float | None = None
    """A fan-out over ``chat_ids``: seconds it may take in all (None: the Broadcaster's)."""

    def __init__(
        self,
        bot_token: str | SecretStr,
        chat_ids: Sequence[str | int],
        *,
        topic: int | None = None,
        base_url: str = DEFAULT_BASE_URL,
        name: str = "telegram",
        rate: float = OVERALL_RATE,
        per_chat_rate: float = PER_CHAT_RATE,
        concurrency: int = 8,
        timeout: float = 15.0,
        client: httpx.AsyncClient | None = None,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        max_duration: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        token = bot_token if isinstance(bot_token, SecretStr) else SecretStr(bot_token)
        if not _TOKEN.fullmatch(token.get_secret_value()):
            raise ValueError("bot_token must look like '123456:ABC-…', as @BotFather gives it")
        register_secret(token.get_secret_value())  # masked in httpx's log of the URL too
        if isinstance(chat_ids, str | int):
            raise TypeError("chat_ids must be a list of chats, not one")
        chats = list(dict.fromkeys(chat_id(c) for c in chat_ids))
        if not chats:
            raise ValueError("chat_ids is empty: give at least one chat")
        if rate <= 0 or per_chat_rate <= 0 or concurrency < 1:
            raise ValueError("rate and per_chat_rate must be positive, concurrency at least 1")
        self.name = name
        self._token = token
        self._chats = chats
        self._topic = topic
        self._api = f"{base_url.rstrip('/')}/bot{token.get_secret_value()}"
        self._rate, self._per_chat_rate = rate, per_chat_rate
        self._per_chat: dict[str, RateLimiter] = {}
        self._limiter = limiter
        self._clock, self._sleep = clock, sleep
        self._concurrency = min(concurrency, len(chats))
        self._timeout = timeout
        self._http = ClientSlot(client)
        self._threads = ThreadSlot(None)
        self._journal: Journal | None = None
        self._retry = retry or RetryPolicy(attempts=4, deadline=120.0, max_wait=30.0)
        self.max_duration = max_duration

    def __repr__(self) -> str:
        topic = f", topic={self._topic}" if self._topic is not None else ""
        return f"Telegram(name={self.name!r}, chats={len(self._chats)}{topic}, token=***)"

    def render(self, update: Update, /) -> TelegramMessage:
        """The message every chat gets; pure."""
        return render_telegram(update)

    def use_http_client(self, client: httpx.AsyncClient, /) -> None:
        """Send through the Broadcaster's shared client (unless one was given)."""
        self._http.share(client)

    def use_journal(self, journal: Journal, /) -> None:
        """Keep each chat's thread and who got each update in ``journal``."""
        self._journal = journal
        self._threads.share(journal)

    def thread_key(self, chat: str) -> str:
        """The journal's channel key for one chat's threads: ``telegram:<chat>``."""
        return f"{self.name}:{chat}"

    async def deliver(self, rendered: TelegramMessage, /) -> Delivery:
        """Send to every chat, each a reply to the incident's first message there."""
        limiter = self._limiter or RateLimiter(
            self._rate, burst=self._concurrency, clock=self._clock, sleep=self._sleep
        )
        client, threads = self._http.get(), self._threads.get()
        url = httpx.URL(f"{self._api}/sendMessage")

        async def send(chat: str, /) -> str:
            await limiter.acquire()
            if chat not in self._per_chat:
                self._per_chat[chat] = RateLimiter(
                    self._per_chat_rate, clock=self._clock, sleep=self._sleep
                )
            await self._per_chat[chat].acquire()
            key = self.thread_key(chat)
            thread = await threads.thread(key, rendered.incident)
            body: dict[str, Any] = {
                "chat_id": int(chat) if chat.lstrip("-").isdigit() else chat,
                "text": rendered.html,
                "parse_mode": "HTML",
            }
            if self._topic is not None:
                body["message_thread_id"] = self._topic
            if thread.first is not None:
                body["reply_parameters"] = {
                    "message_id": int(thread.first),
                    "allow_sending_without_reply": True,  # the first was deleted: post anyway
                }
            content = json.dumps(body, ensure_ascii=False).encode()

            async def call() -> str:
                response = await post(
                    client,
                    url,
                    content=content,
                    headers={"content-type": "application/json"},
                    timeout=self._timeout,
                    provider_errors=telegram_errors,
                )
                return _message_id(response)

            message = await post_part(
                threads, key, rendered.incident, rendered.update_key, 0, send=call
            )
            return f"{chat}/{message}"

        fan_out = FanOut(
            self.name,
            self._chats,
            chat_id,
            self._retry,
            self.max_duration,
            ledger=self._ledger(rendered.update_key),
        )
        workers = [_Slot(send) for _ in range(self._concurrency)]
        return await fan_out.run(workers, details={"utf16_length": rendered.length})

    async def check(self) -> str:
        """``getMe`` for the token, then ``getChat`` per chat (the first ten). Posts nothing."""
        me = await self._call("getMe", {})
        username = me.get("username", "?")
        seen = []
        for chat in self._chats[:CHECKED_CHATS]:
            found = await self._call("getChat", {"chat_id": chat})
            seen.append(str(found.get("title") or found.get("username") or chat))
        more = (
            f" (first {CHECKED_CHATS} of {len(self._chats)} checked)"
            if len(seen) < len(self._chats)
            else ""
        )
        return f"bot @{username}; chats: {', '.join(seen)}{more}"

    async def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await post(
            self._http.get(),
            f"{self._api}/{method}",
            content=json.dumps(body).encode(),
            headers={"content-type": "application/json"},
            timeout=self._timeout,
            provider_errors=telegram_errors,
        )
        result = _result(response)
        if not isinstance(result, dict):
            raise PermanentError(f"Telegram {method} answered without a result")
        return result

    def _ledger(self, update_key: str) -> RecipientLog | None:
        if self._journal is None or not update_key:
            return None
        return self._journal.recipients(update_key, self.name)

    async def aclose(self) -> None:
        """Close the client if this channel made it."""
        await self._http.aclose()


def _result(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or body.get("ok") is not True:
        error = telegram_errors(response)
        raise error or PermanentError(
            f"Telegram answered HTTP {response.status_code} without ok: true "
            "(it may have been acted on, so it is not sent again)"
        )
    return body.get("result")


def _message_id(response: httpx.Response) -> str:
    result = _result(response)
    value = result.get("message_id") if isinstance(result, dict) else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise PermanentError(
            "Telegram answered without result.message_id "
            "(it may have been acted on, so it is not sent again)"
        )
    return str(value)


class _Slot:
    """A slot of concurrency: the HTTP client is shared, so there is nothing to hold."""

    def __init__(self, send: Any) -> None:
        self._send = send

    async def send(self, recipient: str, /) -> str:
        """Send to one chat."""
        result: str = await self._send(recipient)
        return result

    async def close(self) -> None:
        """Nothing to release."""


# --- its declaration: settings, capabilities, preview example, stand-in -------------


class TelegramSettings(BaseModel):
    """Sends each update to Telegram `chat_ids` through a bot; follow-ups reply in each chat."""

    bot_token: SecretStr = setting(doc="Enables Telegram: the bot token from @BotFather.")
    chat_ids: str = setting(doc="Chats to post in: `-1001234567890, @channelname`.")
    topic: int | None = setting(None, doc="Forum topic (`message_thread_id`) to post into.")
    rate: float = setting(OVERALL_RATE, doc="Messages per second across all chats.")
    base_url: str = setting(DEFAULT_BASE_URL, doc="Bot API root, for a local Bot API server.")


def _from_env(env: Env) -> Telegram | None:
    token = env.get("BROADCAST_TELEGRAM_BOT_TOKEN")
    if token is None:
        if present := [n for n in env.names() if n.startswith("BROADCAST_TELEGRAM_")]:
            raise ConfigError(
                f"{present[0]} is set but BROADCAST_TELEGRAM_BOT_TOKEN is not; "
                "set the bot token @BotFather gave you"
            )
        return None
    register_secret(token)
    chats = env.require("BROADCAST_TELEGRAM_CHAT_IDS", "when BROADCAST_TELEGRAM_BOT_TOKEN is set")
    ids = [c for c in re.split(r"[,\s]+", chats) if c]
    env.build("BROADCAST_TELEGRAM_CHAT_IDS", lambda: [chat_id(c) for c in ids])
    topic = env.get("BROADCAST_TELEGRAM_TOPIC")
    if topic is not None and not (topic.isascii() and topic.isdigit()):
        raise ConfigError("BROADCAST_TELEGRAM_TOPIC must be the topic's numeric id")
    rate = env.number("BROADCAST_TELEGRAM_RATE", OVERALL_RATE)
    base_url = env.url("BROADCAST_TELEGRAM_BASE_URL") or DEFAULT_BASE_URL
    channel: Telegram = env.build(
        "BROADCAST_TELEGRAM_BOT_TOKEN",
        lambda: Telegram(
            token,
            ids,
            topic=int(topic) if topic is not None else None,
            rate=rate,
            base_url=base_url,
        ),
    )
    return channel


SPEC = ChannelSpec(
    name="telegram",
    channel=Telegram,
    settings=TelegramSettings,
    build=_from_env,
    label="Telegram",
    example=lambda: Telegram("123456:example-only-token", ["-1001234567890"]),
    standin="broadcast.testing:TelegramFake",
)
