"""Slack: each update as a Block Kit message, follow-ups as replies in the incident's thread.

Two forms. With a bot token (``xoxb-…``, scope ``chat:write``) updates go to
``chat.postMessage``; the incident's first message starts a thread, and each follow-up
is a reply with ``thread_ts`` set to it, ``reply_broadcast`` on when the status
changed so the whole channel sees it. Where each incident's thread is lives in the
journal, so a follow-up sent by another process, days later, joins it.

With an incoming-webhook URL (a secret URL) nothing threads: Slack answers ``ok``
with no ``ts``. Each update is posted anew with the incident and its number in the
title.

Slack answers most failures with **HTTP 200** and ``{"ok": false, "error": …}``;
``slack_errors`` turns each error string into a transient or permanent error. A
post whose answer was lost (or ``internal_error``, which Slack says may have
succeeded) is looked up with ``conversations.history`` (``conversations.replies`` in
a thread) by the ``update_key`` in its message metadata before it is posted again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, SecretStr

from .._channel import Delivery
from .._errors import (
    AlreadyDelivered,
    ChannelError,
    PermanentError,
    Unconfirmed,
)
from .._redact import register_secret
from .._update import Update
from ..journal._protocol import Journal
from ..journal._threads import ThreadSlot, ThreadStore, post_part
from ..text import components_line, next_update_phrase, signature, status_tag
from ..text._fit import fit_paragraphs, split_words
from ._http import ClientSlot, check_response, get, post, request
from ._slack_errors import checked as _checked
from ._slack_errors import slack_errors
from ._spec import ChannelSpec, setting

__all__ = ["MAX_BLOCKS", "MAX_SECTION", "MAX_TEXT", "Slack", "SlackMessage", "escape"]

DEFAULT_BASE_URL = "https://slack.com/api"
MAX_TEXT = 4_000
"""Slack's recommended most characters of ``text`` (it truncates at 40,000)."""
HARD_TEXT = 40_000
MAX_SECTION = 3_000
"""Most characters in one section block's text."""
MAX_BLOCKS = 50
EVENT_TYPE = "broadcast_update"
"""The metadata event type that marks broadcast's messages, with the update's key."""
LOOKBACK = 120.0
"""Seconds before an unanswered post that the history lookup starts from."""


def escape(text: str) -> str:
    """``&``, ``<`` and ``>`` as Slack's entities, so text cannot ping ``@channel`` or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """A rendered update: the escaped head, body and closing lines, and its blocks."""

    head: str
    body: tuple[str, ...]
    closing: tuple[str, ...]
    incident: str
    update_key: str
    status: str

    def text(self, number: int = 1) -> str:
        """The plain-text fallback (``text``) for update ``number`` of the incident."""
        return "\n\n".join(self._lines(number))

    def _lines(self, number: int) -> list[str]:
        label = [f"Update {number} on this incident."] if number > 1 else []
        return [f"*{self.head}*", *label, *self.body, *self.closing]

    def blocks(self, number: int = 1) -> list[dict[str, Any]]:
        """Block Kit: the head, the body in sections of at most 3,000 characters, the facts."""
        label = [f"Update {number} on this incident."] if number > 1 else []
        sections = [f"*{self.head}*", *label]
        for paragraph in self.body:
            sections += split_words(paragraph, MAX_SECTION)
        blocks = [_section(s) for s in sections[: MAX_BLOCKS - 2]]
        if self.closing:
            elements = [{"type": "mrkdwn", "text": line} for line in self.closing]
            blocks.append({"type": "context", "elements": elements})
        return blocks

    def preview(self) -> str:
        """The fallback text of the first update, and how many blocks carry it."""
        return f"{self.text()}\n[{len(self.blocks())} Block Kit blocks]"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def render_message(
    update: Update, *, limit: int = MAX_TEXT, incident_in_title: bool = False
) -> SlackMessage:
    """The message for ``update``: escaped, and shortened to ``limit`` characters of text.

    Counted as Slack counts ``text``: characters, after escaping. The closing facts and
    the link are always kept; the body gives way at paragraph, then word, boundaries.
    """
    head = f"{status_tag(update)} {update.title}"
    if incident_in_title:
        head += f" (incident {update.incident})"
    closing = [
        p for p in (components_line(update), next_update_phrase(update), signature(update)) if p
    ]
    if update.url:
        closing.append(f"Details: {update.url}")
    body = [escape(p) for p in update.paragraphs]
    closing = [escape(line) for line in closing]
    room = limit - len("Update 999999 on this incident.") - 2 - 2  # the label added on delivery
    parts = fit_paragraphs([f"*{escape(head)}*"], body, closing, room)
    kept = tuple(parts[1 : len(parts) - len(closing)])
    return SlackMessage(
        escape(head), kept, tuple(closing), update.incident, update.key, update.status.value
    )


def _anchor(post_id: str) -> tuple[str, str, str | None]:
    """``(channel id, ts, status)`` from a journal id ``C…/1700000000.000100#status``."""
    where, _, status = post_id.partition("#")
    channel, _, ts = where.rpartition("/")
    return channel, ts, status or None


class Slack:
    """Posts updates to a Slack channel, threaded per incident (bot token) or by webhook."""

    threaded = True
    """With a bot token, follow-ups reply in the incident's thread (not by webhook)."""

    def __init__(
        self,
        token: str | SecretStr | None = None,
        channel: str | None = None,
        *,
        webhook_url: str | SecretStr | None = None,
        base_url: str = DEFAULT_BASE_URL,
        max_text: int = MAX_TEXT,
        name: str = "slack",
        threads: ThreadStore | None = None,
        timeout: float = 15.0,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        secret = token.get_secret_value() if isinstance(token, SecretStr) else token
        hook = webhook_url.get_secret_value() if isinstance(webhook_url, SecretStr) else webhook_url
        if bool(secret) == bool(hook):
            raise ValueError("give either a bot token and a channel, or a webhook_url, not both")
        if secret and not (channel and channel.strip()):
            raise ValueError("channel is required with a bot token (its id, C…)")
        if hook and not hook.startswith(("https://", "http://")):
            raise ValueError("webhook_url must be an https:// URL")
        if not 1 <= max_text <= HARD_TEXT:
            raise ValueError(f"max_text must be from 1 to {HARD_TEXT}")
        # The whole URL, and its path and last part, which a provider may quote alone.
        path = urlsplit(hook).path if hook else None
        register_secret(secret, hook, path, path.rstrip("/").rsplit("/", 1)[-1] if path else None)
        self.name = name
        self._token = SecretStr(secret) if secret else None
        self._hook = SecretStr(hook) if hook else None
        self._channel = (channel or "").strip()
        self._api = base_url.rstrip("/")
        self._max_text = max_text
        self.threaded = self._token is not None
        self._threads = ThreadSlot(threads)
        self._timeout = timeout
        self._http = ClientSlot(client)
        self._clock = clock
        self._unanswered: dict[str, float] = {}

    def __repr__(self) -> str:
        form = f"channel={self._channel!r}" if self._token else "webhook_url='***'"
        return f"Slack(name={self.name!r}, {form})"

    def render(self, update: Update, /) -> SlackMessage:
        """The message for ``update``; pure."""
        return render_message(
            update, limit=self._max_text, incident_in_title=self._hook is not None
        )

    def use_http_client(self, client: httpx.AsyncClient, /) -> None:
        """Send through the Broadcaster's shared client (unless one was given)."""
        self._http.share(client)

    def use_journal(self, journal: Journal, /) -> None:
        """Keep each incident's thread in ``journal`` (unless ``threads`` was given)."""
        self._threads.share(journal)

    async def deliver(self, rendered: SlackMessage, /) -> Delivery:
        """Post it (a reply in the incident's thread), unless it is already there."""
        threads, key = self._threads.get(), rendered.update_key
        if posted := await threads.posted_parts(self.name, key):
            raise AlreadyDelivered(f"already in Slack as {posted[0]}", ids=tuple(posted))
        thread = await threads.thread(self.name, rendered.incident)
        number = thread.updates + 1
        if self._hook is not None:
            return await self._via_webhook(rendered, number)
        payload: dict[str, Any] = {
            "channel": self._channel,
            "text": rendered.text(number),
            "blocks": rendered.blocks(number),
            "unfurl_links": False,
            "metadata": {"event_type": EVENT_TYPE, "event_payload": {"update_key": key}},
        }
        details: dict[str, Any] = {"update_number": number}
        if thread.first is not None:
            channel, ts, _ = _anchor(thread.first)
            _, _, last_status = _anchor(thread.last or thread.first)
            changed = last_status != rendered.status
            payload |= {"channel": channel or self._channel, "thread_ts": ts}
            payload["reply_broadcast"] = changed
            details |= {"thread_ts": ts, "reply_broadcast": changed}

        async def send() -> str:
            found = await self._posted_before(key, payload)
            if found is not None:
                return f"{found}#{rendered.status}"
            sent_at = self._clock()
            try:
                response = await self._call("chat.postMessage", payload)
            except Unconfirmed:
                self._unanswered[key] = sent_at
                raise
            return (
                f"{response.get('channel', payload['channel'])}/{response['ts']}#{rendered.status}"
            )

        post_id = await post_part(threads, self.name, rendered.incident, key, 0, send=send)
        self._unanswered.pop(key, None)
        channel, ts, _ = _anchor(post_id)
        return Delivery(ids=(ts,), details=details | {"channel": channel})

    async def _via_webhook(self, rendered: SlackMessage, number: int) -> Delivery:
        """Post anew through the incoming webhook: no ``ts`` comes back, so nothing threads."""
        assert self._hook is not None  # noqa: S101 - the caller checked
        body = {"text": rendered.text(number), "blocks": rendered.blocks(number)}
        hook = self._hook.get_secret_value()

        async def send() -> str:
            await post(
                self._http.get(),
                hook,
                content=json.dumps(body).encode(),
                headers={"content-type": "application/json"},
                timeout=self._timeout,
                wall_clock=self._clock,
            )
            return f"webhook-{number}"

        threads = self._threads.get()
        key = rendered.update_key
        await post_part(threads, self.name, rendered.incident, key, 0, send=send)
        return Delivery(details={"update_number": number, "threaded": False})

    async def _posted_before(self, key: str, payload: dict[str, Any]) -> str | None:
        """After an unanswered post of ``key``: ``channel/ts`` if it is in Slack after all."""
        sent_at = self._unanswered.get(key)
        if sent_at is None:
            return None
        params = {
            "channel": str(payload["channel"]),
            "oldest": f"{sent_at - LOOKBACK:.6f}",
            "include_all_metadata": "true",
            "limit": "15",
        }
        method = "conversations.history"
        if "thread_ts" in payload:
            method, params["ts"] = "conversations.replies", str(payload["thread_ts"])
        try:
            found = await self._call(method, params, read=True)
        except ChannelError as exc:
            raise Unconfirmed(
                f"an earlier post got no answer, and {method} could not check whether it "
                f"arrived ({exc}); not posted again"
            ) from exc
        for message in found.get("messages") or []:
            meta = message.get("metadata") if isinstance(message, dict) else None
            payload_of = meta.get("event_payload") if isinstance(meta, dict) else None
            if isinstance(payload_of, dict) and payload_of.get("update_key") == key:
                return f"{found.get('channel', payload['channel'])}/{message.get('ts')}"
        return None

    async def _call(
        self, method: str, body: dict[str, Any], *, read: bool = False
    ) -> dict[str, Any]:
        assert self._token is not None  # noqa: S101 - bot form only
        headers = {"authorization": f"Bearer {self._token.get_secret_value()}"}
        url = f"{self._api}/{method}"
        if read:
            response = await get(
                self._http.get(),
                url,
                params=body,
                headers=headers,
                timeout=self._timeout,
                wall_clock=self._clock,
                provider_errors=slack_errors,
            )
        else:
            response = await post(
                self._http.get(),
                url,
                content=json.dumps(body).encode(),
                headers=headers | {"content-type": "application/json; charset=utf-8"},
                timeout=self._timeout,
                wall_clock=self._clock,
                provider_errors=slack_errors,
            )
        answer = _checked(response)
        if not read and not isinstance(answer.get("ts"), str):
            raise PermanentError(
                "Slack answered ok without the message's ts (it may have been posted, "
                "so it is not sent again)"
            )
        if read and isinstance(body.get("channel"), str):
            answer.setdefault("channel", body["channel"])
        return answer

    async def check(self) -> str:
        """Bot: ``auth.test``. Webhook: an empty message, which Slack refuses unposted."""
        if self._token is not None:
            response = await post(
                self._http.get(),
                f"{self._api}/auth.test",
                headers={"authorization": f"Bearer {self._token.get_secret_value()}"},
                timeout=self._timeout,
                wall_clock=self._clock,
                provider_errors=slack_errors,
            )
            answer = _checked(response)
            return f"bot {answer.get('user')!r} in workspace {answer.get('team')!r} (auth.test)"
        assert self._hook is not None  # noqa: S101 - one form or the other
        response = await request(
            self._http.get(),
            "POST",
            self._hook.get_secret_value(),
            content=b"{}",
            headers={"content-type": "application/json"},
            timeout=self._timeout,
        )
        if response.status_code == 400 and response.text.strip() in ("no_text", "invalid_payload"):
            return "incoming webhook is live (an empty message was refused; nothing posted)"
        check_response(response, wall_clock=self._clock)
        raise PermanentError(
            f"the incoming webhook took an empty message (HTTP {response.status_code})"
        )

    async def aclose(self) -> None:
        """Close the client if this channel made it."""
        await self._http.aclose()


# --- its declaration: settings, capabilities, preview example, stand-in -------------


class SlackSettings(BaseModel):
    """Posts to Slack: a bot token and a `channel` (threaded), or an incoming `webhook_url`."""

    token: SecretStr | None = setting(
        None, doc="Enables Slack: a bot token (`xoxb-…`, scope `chat:write`)."
    )
    channel: str | None = setting(None, doc="The channel's id (`C…`), with the bot token.")
    webhook_url: SecretStr | None = setting(
        None, doc="Or enables Slack by incoming webhook (a secret URL; no threading)."
    )
    base_url: str = setting(DEFAULT_BASE_URL, doc="Web API root, for a proxy or a stand-in.")
    max_text: int = setting(MAX_TEXT, doc="Most characters of a message (Slack: 40,000).")


SPEC = ChannelSpec(
    name="slack",
    channel=Slack,
    settings=SlackSettings,
    label="Slack",
    enabled_by="BROADCAST_SLACK_TOKEN",
    example=lambda: Slack("xoxb-example-only", "C0123456789"),
    standin="broadcast.testing:SlackFake",
)
