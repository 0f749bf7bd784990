"""Mastodon: each update as a status or a numbered self-thread, replying down the incident.

``POST {instance}/api/v1/statuses`` with a Bearer token (scope ``write:statuses``).
A follow-up replies to the incident's **last** status (``in_reply_to_id``), kept in the
journal's incident state, so a later process threads too. Every part carries an
``Idempotency-Key`` derived from the update key and the part: Mastodon remembers it
for about an hour and answers a repeat with the status it already made, so a retry
after an unanswered request cannot post twice.

Length is per instance: ``GET /api/v2/instance`` gives
``configuration.statuses.max_characters`` and ``characters_reserved_per_url``, read
by each channel once an hour (``max_characters`` is the fallback when that read fails).
It counts grapheme clusters, a link as the reserved length and ``@user@domain`` as
``@user`` (``broadcast.text._social``); the thread is cut as X's is.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import httpx
from pydantic import BaseModel, SecretStr

from .._channel import Delivery
from .._errors import AlreadyDelivered, AuthError, ChannelError, PermanentError
from .._redact import excerpt, register_secret, safe_origin
from .._update import Update
from ..journal._protocol import Journal
from ..journal._threads import ThreadSlot, ThreadStore, post_part
from ..text._social import (
    MASTODON_MAX_CHARACTERS,
    MASTODON_URL_LENGTH,
    mastodon_counter,
    mastodon_length,
)
from ..text._thread import render_thread
from ._http import ClientSlot, get, json_field, post
from ._spec import ChannelSpec, setting

__all__ = ["Limits", "Mastodon", "MastodonThread", "idempotency_key", "mastodon_errors"]

MAX_POSTS = 10
"""The longest thread by default, as on X."""
VISIBILITIES = ("public", "unlisted", "private", "direct")
LIMITS_TTL = 3600.0
"""Seconds an instance's limits are kept before they are read again."""
FAILED_TTL = 300.0
"""Seconds the fallback is used after the instance could not be read."""


class Limits(NamedTuple):
    """An instance's status limits."""

    max_characters: int = MASTODON_MAX_CHARACTERS
    url_length: int = MASTODON_URL_LENGTH


def idempotency_key(update_key: str, part: int) -> str:
    """The ``Idempotency-Key`` of one part: the same on every retry, across processes."""
    digest = hashlib.sha256(f"{update_key}\x00{part}".encode()).hexdigest()
    return f"broadcast-{digest[:40]}"


def mastodon_errors(response: httpx.Response) -> ChannelError | None:
    """``{"error": "..."}`` with a hint for the statuses a token or a text gets."""
    try:
        body = response.json()
    except ValueError:
        return None
    said = body.get("error") if isinstance(body, dict) else None
    if not isinstance(said, str):
        return None
    text = f"Mastodon HTTP {response.status_code}: {excerpt(said)}"
    if response.status_code == 401:
        return AuthError(
            f"{text} (the access token was rejected; make one with the write:statuses scope)",
            code=401,
        )
    if response.status_code == 403:
        return AuthError(f"{text} (the token lacks the write:statuses scope?)", code=403)
    if response.status_code == 422:
        return PermanentError(text, code=422)
    return None


@dataclass(frozen=True, slots=True)
class MastodonThread:
    """A rendered update: its statuses in order, the limits they were cut to, and its ties."""

    posts: tuple[str, ...]
    limits: Limits
    update: Update

    @property
    def incident(self) -> str:
        """The incident the statuses belong to."""
        return self.update.incident

    @property
    def update_key(self) -> str:
        """The update's key."""
        return self.update.key

    def preview(self) -> str:
        """Each status with its length as the instance counts it."""
        limit, url = self.limits
        return "\n\n".join(
            f"--- status {i}/{len(self.posts)} "
            f"({mastodon_length(p, url_length=url)}/{limit}) ---\n{p}"
            for i, p in enumerate(self.posts, 1)
        )


class Mastodon:
    """Posts updates as the Mastodon account whose access token is given.

    ``instance`` is the server (``https://mastodon.social``, or a bare host name);
    ``visibility`` one of public (default), unlisted, private, direct.
    ``max_characters`` is used until (and whenever) the instance's own limit cannot be
    read. ``threads`` remembers each incident's statuses (the journal by default).
    """

    threaded = True
    """Follow-ups reply to the incident's last status."""

    def __init__(
        self,
        instance: str,
        access_token: str | SecretStr,
        *,
        visibility: str = "public",
        max_characters: int = MASTODON_MAX_CHARACTERS,
        max_posts: int | None = MAX_POSTS,
        name: str = "mastodon",
        threads: ThreadStore | None = None,
        timeout: float = 15.0,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if visibility not in VISIBILITIES:
            raise ValueError(
                f"visibility must be one of {', '.join(VISIBILITIES)}, not {visibility!r}"
            )
        if max_characters < 100:
            raise ValueError(f"max_characters must be at least 100, not {max_characters}")
        if max_posts is not None and max_posts < 1:
            raise ValueError(
                f"max_posts must be at least 1 (or None for no limit), not {max_posts}"
            )
        token = access_token if isinstance(access_token, SecretStr) else SecretStr(access_token)
        if not token.get_secret_value():
            raise ValueError("access_token is empty: give the account's access token")
        register_secret(token.get_secret_value())
        base = instance.strip().rstrip("/")
        if not base:
            raise ValueError("instance is empty: give the server, such as https://mastodon.social")
        self._base = base if "://" in base else f"https://{base}"
        self.name = name
        self._token = token
        self._visibility = visibility
        self._fallback = Limits(max_characters, MASTODON_URL_LENGTH)
        self._max_posts = max_posts
        self._threads = ThreadSlot(threads)
        self._http = ClientSlot(client)
        self._timeout = timeout
        self._clock = clock
        self._known: tuple[float, Limits] | None = None
        """The instance's limits as last read (or the fallback), and until when they hold."""

    def __repr__(self) -> str:
        return f"Mastodon(name={self.name!r}, instance='{safe_origin(self._base)}', token=***)"

    def render(self, update: Update, /) -> MastodonThread:
        """The statuses for ``update``, cut to the instance's limits as known now; pure."""
        return self._render(update, self._known[1] if self._known else self._fallback)

    def _render(self, update: Update, limits: Limits) -> MastodonThread:
        posts = render_thread(
            update,
            limit=limits.max_characters,
            max_posts=self._max_posts,
            counter=mastodon_counter(limits.url_length),
            outlet="Mastodon",
        )
        return MastodonThread(tuple(posts), limits, update)

    def use_http_client(self, client: httpx.AsyncClient, /) -> None:
        """Send through the Broadcaster's shared client (unless one was given)."""
        self._http.share(client)

    def use_journal(self, journal: Journal, /) -> None:
        """Keep the incident's thread in ``journal`` (unless ``threads`` was given)."""
        self._threads.share(journal)

    async def limits(self) -> Limits:
        """The instance's limits: read once an hour, the fallback when that read fails."""
        now = self._clock()
        if self._known is not None and self._known[0] > now:
            return self._known[1]
        try:
            response = await get(
                self._http.get(),
                f"{self._base}/api/v2/instance",
                timeout=self._timeout,
                wall_clock=self._clock,
                provider_errors=mastodon_errors,
            )
            statuses = response.json()["configuration"]["statuses"]
            found = Limits(
                int(statuses["max_characters"]), int(statuses["characters_reserved_per_url"])
            )
        except (ChannelError, ValueError, KeyError, TypeError):
            self._known = (now + FAILED_TTL, self._fallback)
            return self._fallback
        self._known = (now + LIMITS_TTL, found)
        return found

    async def deliver(self, rendered: MastodonThread, /) -> Delivery:
        """Post the statuses not yet posted, each replying to the one before."""
        threads, key = self._threads.get(), rendered.update_key
        if (limits := await self.limits()) != rendered.limits:
            # Cut to the instance's own limits, as every attempt is (they are kept an hour).
            rendered = self._render(rendered.update, limits)
        posted = await threads.posted_parts(self.name, key)
        if posted and len(posted) >= len(rendered.posts):
            raise AlreadyDelivered(f"already posted as {', '.join(posted)}", ids=tuple(posted))
        if posted:
            reply_to: str | None = posted[-1]
        else:
            reply_to = (await threads.thread(self.name, rendered.incident)).last
        total = len(rendered.posts)
        for index in range(len(posted), total):
            send = functools.partial(
                self._post, rendered.posts[index], reply_to, idempotency_key(key, index), rendered
            )
            try:
                status_id = await post_part(
                    threads, self.name, rendered.incident, key, index, send=send
                )
            except ChannelError as exc:
                if total > 1:
                    exc.args = (f"{exc}; posted {len(posted)} of {total} statuses",)
                exc.ids = tuple(posted)
                raise
            posted.append(status_id)
            reply_to = status_id
        return Delivery(ids=tuple(posted), details={"parts": total, "limit": rendered.limits[0]})

    async def _post(
        self, text: str, reply_to: str | None, key: str, rendered: MastodonThread
    ) -> str:
        payload: dict[str, Any] = {"status": text, "visibility": self._visibility}
        if reply_to:
            payload["in_reply_to_id"] = reply_to
        if rendered.update.language:
            payload["language"] = rendered.update.language.split("-")[0]  # ISO 639
        response = await post(
            self._http.get(),
            f"{self._base}/api/v1/statuses",
            content=json.dumps(payload, ensure_ascii=False).encode(),
            headers={**self._auth(), "content-type": "application/json", "idempotency-key": key},
            timeout=self._timeout,
            wall_clock=self._clock,
            provider_errors=mastodon_errors,
        )
        return json_field(response, "id")

    async def check(self) -> str:
        """Whose token this is (``GET /api/v1/accounts/verify_credentials``); posts nothing."""
        response = await get(
            self._http.get(),
            f"{self._base}/api/v1/accounts/verify_credentials",
            headers=self._auth(),
            timeout=self._timeout,
            wall_clock=self._clock,
            provider_errors=mastodon_errors,
        )
        limits = await self.limits()
        acct = json_field(response, "acct")
        return f"authenticated as @{acct}; statuses up to {limits.max_characters} characters"

    def _auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self._token.get_secret_value()}"}

    async def aclose(self) -> None:
        """Close the client if this channel made it."""
        await self._http.aclose()


# --- its declaration: settings, capabilities, preview example, stand-in -------------


class MastodonSettings(BaseModel):
    """Posts each update to a Mastodon account as a status or a thread; follow-ups reply."""

    instance: str = setting(doc="Enables Mastodon: the server, such as `https://mastodon.social`.")
    access_token: SecretStr = setting(doc="The account's access token (scope `write:statuses`).")
    visibility: Literal["public", "unlisted", "private", "direct"] = setting(
        "public", doc="`public`, `unlisted`, `private` or `direct`."
    )
    max_characters: int = setting(
        MASTODON_MAX_CHARACTERS,
        doc="Status length used when the instance's own (`/api/v2/instance`) cannot be read.",
    )
    max_posts: int = setting(MAX_POSTS, doc="Most statuses in one update's thread.")


SPEC = ChannelSpec(
    name="mastodon",
    channel=Mastodon,
    settings=MastodonSettings,
    label="Mastodon",
    enabled_by="BROADCAST_MASTODON_INSTANCE",
    example=lambda: Mastodon("https://mastodon.example", "example-only"),
    standin="broadcast.testing:MastodonFake",
)
