"""Discord: each update through a channel webhook; in a forum, one thread per incident.

Posts go to ``POST {webhook}?wait=true``: without ``wait=true`` Discord answers 204
with no message and a dropped message gives no error. ``content`` holds the update
(at most 2,000 characters, counted as code points, as Discord's API counts them), and
``allowed_mentions: {"parse": []}`` keeps user text from pinging ``@everyone``.

With ``channel_type="forum"`` the incident's first update creates a forum post (``thread_name``);
follow-ups go into it with ``?thread_id=``, found in the journal, so a follow-up from
another process joins it. ``thread_id`` posts everything into one existing thread. A
plain text channel cannot thread through a webhook: each update is posted anew and
numbered.

Rate limits: ``Retry-After``, ``X-RateLimit-Reset-After`` and the 429 body's
``retry_after`` are honoured, and an exhausted bucket (``X-RateLimit-Remaining: 0``)
is waited out before the next post. A 401 or 403 stops the channel at once: Discord
bans an address for a while after 10,000 invalid requests in 10 minutes.

A post whose answer was lost cannot be looked up (a webhook can fetch a message only
by its id, which came in the lost answer), so it is not posted again: it is reported
as unconfirmed and left in doubt in the journal.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from pydantic import BaseModel, SecretStr

from .._channel import Delivery
from .._errors import (
    AlreadyDelivered,
    AuthError,
    ChannelError,
    PermanentError,
    TransientError,
    Unconfirmed,
)
from .._redact import excerpt, register_secret
from .._retry import retry_after_from_headers
from .._update import Update
from ..journal._protocol import Journal
from ..journal._threads import ThreadSlot, ThreadStore, post_part
from ..text import components_line, next_update_phrase, signature, status_tag
from ..text._fit import fit_paragraphs
from ._http import ClientSlot, get, json_field, post
from ._spec import ChannelSpec, setting

__all__ = ["MAX_CONTENT", "DiscordMessage", "DiscordWebhook", "discord_errors"]

MAX_CONTENT = 2_000
"""Most characters (code points) of a message's ``content``."""
MAX_THREAD_NAME = 100
_HOOK = re.compile(r"^https?://[^/]+(?:/api(?:/v\d+)?)?/webhooks/(\d+)/([\w-]+)/?$")


def _seconds(value: object) -> float | None:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 else None


def discord_errors(response: httpx.Response, *, now: float | None = None) -> ChannelError | None:
    """Classify a Discord error answer: 429 waits, 401/403 stop the channel, codes say why."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    status, code = response.status_code, body.get("code")
    said = excerpt(str(body.get("message") or ""), 120)
    if status == 429:
        waits = [
            _seconds(body.get("retry_after")),
            _seconds(response.headers.get("x-ratelimit-reset-after")),
            retry_after_from_headers(response.headers, now=time.time() if now is None else now),
        ]
        wait = max((w for w in waits if w is not None), default=None)
        scope = "global " if body.get("global") else ""
        return TransientError(f"Discord: {scope}rate limited", retry_after=wait, code=429)
    if status in (401, 403):
        return AuthError(
            f"Discord refused the webhook (HTTP {status}{f': {said}' if said else ''}); "
            "the channel stops here (repeated refusals get the address banned)",
            code=status,
        )
    if status == 404:
        return PermanentError(
            f"Discord: {said or 'Unknown Webhook'} (the webhook was deleted: make a new one)",
            code=code if isinstance(code, int) else status,
        )
    if 400 <= status < 500 and isinstance(code, int):
        return PermanentError(f"Discord error {code}: {said}", code=code)
    return None


@dataclass(frozen=True, slots=True)
class DiscordMessage:
    """A rendered update: head, body and closing lines, numbered on delivery."""

    head: str
    body: tuple[str, ...]
    closing: tuple[str, ...]
    title: str
    incident: str
    update_key: str

    def content(self, number: int = 1) -> str:
        """The ``content`` of update ``number`` of the incident."""
        label = [f"Update {number} on this incident."] if number > 1 else []
        return "\n\n".join([f"**{self.head}**", *label, *self.body, *self.closing])

    def thread_name(self) -> str:
        """A forum post's name for the incident: its first update's title."""
        return self.title[:MAX_THREAD_NAME]

    def preview(self) -> str:
        """The content of the first update."""
        return self.content()


def render_message(update: Update, *, limit: int = MAX_CONTENT) -> DiscordMessage:
    """The message for ``update``, shortened at paragraphs, then words, to ``limit``."""
    head = f"{status_tag(update)} {update.title}"
    closing = [
        p for p in (components_line(update), next_update_phrase(update), signature(update)) if p
    ]
    if update.url:
        closing.append(f"Details: <{update.url}>")  # <…>: linked, without a preview card
    room = limit - len("Update 999999 on this incident.") - 2
    parts = fit_paragraphs([f"**{head}**"], list(update.paragraphs), closing, room)
    body = tuple(parts[1 : len(parts) - len(closing)])
    return DiscordMessage(head, body, tuple(closing), update.title, update.incident, update.key)


class DiscordWebhook:
    """Posts updates through a Discord webhook; threaded per incident in a forum channel."""

    threaded = True
    """In a forum channel each incident is a thread (a text channel cannot thread)."""

    def __init__(
        self,
        webhook_url: str | SecretStr,
        *,
        channel_type: Literal["text", "forum"] = "text",
        thread_id: str | None = None,
        username: str | None = None,
        name: str = "discord",
        threads: ThreadStore | None = None,
        timeout: float = 15.0,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        url = webhook_url.get_secret_value() if isinstance(webhook_url, SecretStr) else webhook_url
        if channel_type not in ("text", "forum"):
            raise ValueError(f"channel_type must be text or forum, got {channel_type!r}")
        forum = channel_type == "forum"
        found = _HOOK.match(url.strip())
        if found is None:
            raise ValueError("webhook_url must look like https://discord.com/api/webhooks/ID/TOKEN")
        if forum and thread_id:
            raise ValueError("a forum channel makes a thread per incident: give no thread_id")
        if thread_id is not None and not thread_id.isdigit():
            raise ValueError(f"thread_id must be a thread's numeric id, got {thread_id!r}")
        register_secret(url.strip(), found.group(2))
        self.name = name
        self._url = SecretStr(url.strip().rstrip("/"))
        self._webhook_id = found.group(1)
        self._forum = forum
        self._thread_id = thread_id
        self._username = username
        self.threaded = forum
        self._threads = ThreadSlot(threads)
        self._timeout = timeout
        self._http = ClientSlot(client)
        self._clock = clock
        self._stopped: str | None = None
        self._resume_at = 0.0
        self._unanswered: set[str] = set()

    def __repr__(self) -> str:
        mode = "forum" if self._forum else f"thread_id={self._thread_id!r}"
        return f"DiscordWebhook(name={self.name!r}, webhook={self._webhook_id}, {mode})"

    def render(self, update: Update, /) -> DiscordMessage:
        """The message for ``update``; pure."""
        return render_message(update)

    def use_http_client(self, client: httpx.AsyncClient, /) -> None:
        """Send through the Broadcaster's shared client (unless one was given)."""
        self._http.share(client)

    def use_journal(self, journal: Journal, /) -> None:
        """Keep each incident's thread in ``journal`` (unless ``threads`` was given)."""
        self._threads.share(journal)

    async def deliver(self, rendered: DiscordMessage, /) -> Delivery:
        """Post it (into the incident's forum thread), unless it is already there."""
        if self._stopped is not None:
            raise AuthError(f"not sent: {self._stopped}")
        threads, key = self._threads.get(), rendered.update_key
        if posted := await threads.posted_parts(self.name, key):
            raise AlreadyDelivered(f"already on Discord as {posted[0]}", ids=tuple(posted))
        if key in self._unanswered:
            raise Unconfirmed(
                "an earlier post of this update got no answer, and a Discord webhook cannot "
                "look a message up without its id; not posted again (check the channel, "
                "then settle it in the journal)"
            )
        wait = self._resume_at - self._clock()
        if wait > 0:  # the bucket is empty: a post now would only earn a 429
            raise TransientError("Discord: rate-limit bucket empty", retry_after=wait)
        thread = await threads.thread(self.name, rendered.incident)
        number = thread.updates + 1
        body: dict[str, Any] = {
            "content": rendered.content(number),
            "allowed_mentions": {"parse": []},
        }
        if self._username:
            body["username"] = self._username
        params = {"wait": "true"}
        if self._thread_id:
            params["thread_id"] = self._thread_id
        elif self._forum and thread.first is not None:
            params["thread_id"] = thread.first.partition("/")[0]
        elif self._forum:
            body["thread_name"] = rendered.thread_name()

        async def send() -> str:
            try:
                response = await post(
                    self._http.get(),
                    httpx.URL(self._url.get_secret_value(), params=params),
                    content=json.dumps(body).encode(),
                    headers={"content-type": "application/json"},
                    timeout=self._timeout,
                    wall_clock=self._clock,
                    provider_errors=discord_errors,
                )
            except Unconfirmed:
                self._unanswered.add(key)
                raise
            except AuthError as exc:
                self._stopped = str(exc)
                raise
            self._note_bucket(response)
            return f"{json_field(response, 'channel_id')}/{json_field(response, 'id')}"

        post_id = await post_part(threads, self.name, rendered.incident, key, 0, send=send)
        where, _, message_id = post_id.partition("/")
        details = {"update_number": number, "channel_id": where}
        return Delivery(ids=(message_id,), details=details)

    def _note_bucket(self, response: httpx.Response) -> None:
        """After a post that emptied the bucket, wait out its reset before the next."""
        if response.headers.get("x-ratelimit-remaining") == "0":
            after = _seconds(response.headers.get("x-ratelimit-reset-after"))
            if after:
                self._resume_at = self._clock() + after

    async def check(self) -> str:
        """``GET`` of the webhook: its name and channel. Posts nothing."""
        response = await get(
            self._http.get(),
            self._url.get_secret_value(),
            timeout=self._timeout,
            wall_clock=self._clock,
            provider_errors=discord_errors,
        )
        name = json_field(response, "name")
        return f"webhook {name!r} for channel {json_field(response, 'channel_id')}"

    async def aclose(self) -> None:
        """Close the client if this channel made it."""
        await self._http.aclose()


# --- its declaration: settings, capabilities, preview example, stand-in -------------


class DiscordSettings(BaseModel):
    """Posts to Discord through the channel webhook `webhook_url`."""

    webhook_url: SecretStr = setting(doc="Enables Discord: the channel webhook's (secret) URL.")
    channel_type: Literal["text", "forum"] = setting(
        "text", doc="`text`, or `forum`: one thread (forum post) per incident."
    )
    thread_id: str | None = setting(None, doc="Post everything into this existing thread.")
    username: str | None = setting(None, doc="The name the messages show (default: the hook's).")


SPEC = ChannelSpec(
    name="discord",
    channel=DiscordWebhook,
    settings=DiscordSettings,
    label="Discord",
    example=lambda: DiscordWebhook(
        "https://discord.com/api/webhooks/123456789012345678/example-only-token",
        channel_type="forum",
    ),
    standin="broadcast.testing:DiscordFake",
)
