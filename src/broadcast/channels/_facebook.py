"""Facebook Page: each update as a Page post, or as comments under the incident's post.

Posts go to ``POST /{version}/{page-id}/feed`` with a Page access token (sent in the
form body, never in the URL). With ``follow_up="comment"`` later updates of an
incident become ``POST /{version}/{first-post-id}/comments``, so the story stays
under one post. Graph errors are classified by ``error.code``, not by HTTP status:
Graph answers throttling with HTTP 400.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import httpx
from pydantic import BaseModel, SecretStr

from .._channel import Delivery
from .._errors import (
    AlreadyDelivered,
    AuthError,
    ChannelError,
    ConfigError,
    PermanentError,
    TransientError,
)
from .._redact import excerpt, register_secret
from .._retry import retry_after_from_headers
from .._update import Update
from ..journal._protocol import Journal
from ..journal._threads import ThreadSlot, ThreadStore, post_part
from ..text import components_line, next_update_phrase, signature, status_tag
from ._http import ClientSlot, get, json_field, post
from ._spec import ChannelSpec, setting

if TYPE_CHECKING:
    from ..config._env import Env

__all__ = ["FacebookPage", "FacebookPost", "appsecret_proof", "check_api_version", "graph_errors"]

log = logging.getLogger("broadcast")

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v23.0"
MAX_MESSAGE = 63_206
"""Facebook's post length limit, in characters."""
USAGE_WARNING = 80

_TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 341, 613}) | frozenset(range(80000, 80015))
_TOKEN_SUBCODES = {
    458: "the app is not installed",
    459: "the account is checkpointed",
    460: "the password was changed",
    463: "the token expired",
    464: "the user is unconfirmed",
    467: "the token is invalid (logged out)",
}


def check_api_version(version: str) -> str:
    """``version`` if it looks like a Graph API version (``v23.0``); else ValueError."""
    if not re.fullmatch(r"v\d+\.\d+", version):
        raise ValueError(f"api_version looks like 'v23.0', got {version!r}")
    return version


def appsecret_proof(access_token: str, app_secret: str) -> str:
    """Lowercase hex HMAC-SHA256 of the token, keyed by the app secret."""
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


def graph_errors(response: httpx.Response) -> ChannelError | None:  # noqa: PLR0911 - a table
    """Classify a Graph API error body by ``error.code`` (and ``error_subcode``)."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), int):
        return None
    code: int = error["code"]
    subcode = error.get("error_subcode")
    trace = f" (fbtrace_id {error['fbtrace_id']})" if error.get("fbtrace_id") else ""
    said = excerpt(str(error.get("message", "")))
    text = f"Graph error {code}{f'/{subcode}' if subcode else ''}: {said}{trace}"
    if code == 190:
        meaning = _TOKEN_SUBCODES.get(subcode, "") if isinstance(subcode, int) else ""
        return AuthError(
            "Page access token rejected (expired or invalid"
            + (f": {meaning}" if meaning else "")
            + f"); get a new long-lived Page token{trace}",
            code=code,
        )
    if code == 506:
        return AlreadyDelivered(f"Facebook refused it as a duplicate post{trace}")
    if code in _TRANSIENT_CODES:
        wait = _regain_after(response)
        if wait is None:  # Graph says when in its usage header; honour Retry-After if sent
            wait = retry_after_from_headers(response.headers, now=time.time())
        return TransientError(text, code=code, retry_after=wait)
    if code == 10 or 200 <= code <= 299:
        return AuthError(f"{text} (the Page token lacks a permission)", code=code)
    if code == 368:
        return PermanentError(f"{text} (temporarily blocked for policy reasons)", code=code)
    return PermanentError(text, code=code)


def _usage(response: httpx.Response) -> dict[str, float]:
    """The highest percentage per usage header that Graph sent."""
    found: dict[str, float] = {}
    for header in ("x-app-usage", "x-page-usage", "x-business-use-case-usage"):
        raw = response.headers.get(header)
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        entries = _entries(data) if header.startswith("x-bus") else [data]
        values = [
            float(e[k])
            for e in entries
            if isinstance(e, dict)
            for k in ("call_count", "total_cputime", "total_time")
            if isinstance(e.get(k), int | float)
        ]
        if values:
            found[header] = max(values)
    return found


def _entries(data: object) -> list[dict[str, Any]]:
    """The per-object entries of X-Business-Use-Case-Usage, ignoring anything malformed."""
    if not isinstance(data, dict):
        return []
    return [e for v in data.values() if isinstance(v, list) for e in v if isinstance(e, dict)]


def _regain_after(response: httpx.Response) -> float | None:
    """Seconds until Graph lifts a business-use-case throttle, if it says."""
    raw = response.headers.get("x-business-use-case-usage")
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return None
    minutes = [
        float(e["estimated_time_to_regain_access"])
        for e in _entries(data)
        if isinstance(e.get("estimated_time_to_regain_access"), int | float)
    ]
    return max(minutes) * 60 if minutes else None


@dataclass(frozen=True, slots=True)
class FacebookPost:
    """A rendered update: the post text (numbered on delivery) and its link."""

    headline: str
    text: str
    link: str | None
    incident: str
    update_key: str

    def message(self, number: int = 1) -> str:
        """The message for update ``number`` of the incident (``Update 2``, ...)."""
        label = f"\nUpdate {number} on this incident." if number > 1 else ""
        text = f"\n\n{self.text}" if self.text else ""  # a title alone is a whole update
        return f"{self.headline}{label}{text}"

    def preview(self) -> str:
        """The message as the first update of the incident, and the link."""
        link = f"\n[link: {self.link}]" if self.link else ""
        return self.message() + link


def _fit(paragraphs: list[str], url: str | None, room: int) -> list[str]:
    """Whole paragraphs that fit in ``room`` characters, then a "Read more" tail."""
    tail = f"Read more: {url}" if url else "…"
    kept: list[str] = []
    used = len(tail) + 2
    for paragraph in paragraphs:
        if used + len(paragraph) + 2 > room:
            break
        kept.append(paragraph)
        used += len(paragraph) + 2
    return [*kept, tail]


def render_post(update: Update, *, limit: int = MAX_MESSAGE) -> FacebookPost:
    """The post for ``update``, cut at a paragraph boundary if it exceeds ``limit``."""
    headline = f"{status_tag(update)} {update.title}"
    closing = [
        p for p in (components_line(update), next_update_phrase(update), signature(update)) if p
    ]
    if update.url:
        closing.append(f"Details: {update.url}")
    paragraphs = list(update.paragraphs)
    text = "\n\n".join([*paragraphs, *closing])
    room = limit - len(headline) - 40  # the "Update N" line added on delivery
    if len(text) > room:
        text = "\n\n".join(_fit([*paragraphs, *closing], update.url, room))
    return FacebookPost(headline, text, update.url, update.incident, update.key)


class FacebookPage:
    """Posts updates to a Facebook Page through the Graph API."""

    threaded = True
    """Follow-ups go under the incident's first post (as posts or comments)."""

    def __init__(
        self,
        page_id: str,
        access_token: str | SecretStr,
        *,
        app_secret: str | SecretStr | None = None,
        api_version: str = DEFAULT_API_VERSION,
        base_url: str = DEFAULT_BASE_URL,
        follow_up: Literal["post", "comment"] = "post",
        name: str = "facebook",
        threads: ThreadStore | None = None,
        timeout: float = 15.0,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not page_id.strip().isdigit():
            raise ValueError(f"page_id must be the Page's numeric id, got {page_id!r}")
        if follow_up not in ("post", "comment"):
            raise ValueError(f"follow_up must be 'post' or 'comment', got {follow_up!r}")
        check_api_version(api_version)
        token = access_token if isinstance(access_token, SecretStr) else SecretStr(access_token)
        if not token.get_secret_value():
            raise ValueError("access_token is empty")
        self.name = name
        self._page_id = page_id.strip()
        self._token = token
        secret = app_secret.get_secret_value() if isinstance(app_secret, SecretStr) else app_secret
        self._proof = (
            SecretStr(appsecret_proof(token.get_secret_value(), secret)) if secret else None
        )
        register_secret(token.get_secret_value(), secret)
        self._api = f"{base_url.rstrip('/')}/{api_version}"
        self._follow_up = follow_up
        self._threads = ThreadSlot(threads)
        self._timeout = timeout
        self._http = ClientSlot(client)
        self._clock = clock

    def __repr__(self) -> str:
        return (
            f"FacebookPage(name={self.name!r}, page_id={self._page_id!r}, "
            f"follow_up={self._follow_up!r}, app_secret_proof={self._proof is not None})"
        )

    def render(self, update: Update, /) -> FacebookPost:
        """The post for ``update``; pure."""
        return render_post(update)

    def use_http_client(self, client: httpx.AsyncClient, /) -> None:
        """Send through the Broadcaster's shared client (unless one was given)."""
        self._http.share(client)

    def use_journal(self, journal: Journal, /) -> None:
        """Keep the incident's post in ``journal`` (unless ``threads`` was given)."""
        self._threads.share(journal)

    async def deliver(self, rendered: FacebookPost, /) -> Delivery:
        """Post (or comment), unless this update is already on the Page."""
        threads, key = self._threads.get(), rendered.update_key
        if posted := await threads.posted_parts(self.name, key):
            raise AlreadyDelivered(f"already on the Page as {posted[0]}", ids=tuple(posted))
        thread = await threads.thread(self.name, rendered.incident)
        number, first = thread.updates + 1, thread.first
        form = {"message": rendered.message(number)}
        if self._follow_up == "comment" and first is not None:
            # Comments have no link field; the text already ends with "Details: <url>".
            url, kind = f"{self._api}/{first}/comments", "comment"
        else:
            if rendered.link:
                form["link"] = rendered.link
            url, kind = f"{self._api}/{self._page_id}/feed", "post"
        form["access_token"] = self._token.get_secret_value()
        if self._proof is not None:
            form["appsecret_proof"] = self._proof.get_secret_value()

        async def send() -> str:
            response = await post(
                self._http.get(),
                url,
                data=form,
                timeout=self._timeout,
                wall_clock=self._clock,
                provider_errors=graph_errors,
            )
            self._warn_on_usage(response)
            return json_field(response, "id")

        post_id = await post_part(threads, self.name, rendered.incident, key, 0, send=send)
        return Delivery(ids=(post_id,), details={"kind": kind, "update_number": number})

    async def check(self) -> str:
        """Read the Page's name with the Page token (``GET /{page-id}?fields=name``).

        The token goes in the ``Authorization`` header, never the URL. Posts nothing.
        """
        params = {"fields": "name"}
        if self._proof is not None:
            params["appsecret_proof"] = self._proof.get_secret_value()
        response = await get(
            self._http.get(),
            f"{self._api}/{self._page_id}",
            params=params,
            headers={"authorization": f"Bearer {self._token.get_secret_value()}"},
            timeout=self._timeout,
            wall_clock=self._clock,
            provider_errors=graph_errors,
        )
        return f"page {json_field(response, 'name')!r} (id {json_field(response, 'id')})"

    def _warn_on_usage(self, response: httpx.Response) -> None:
        for header, percent in _usage(response).items():
            if percent >= USAGE_WARNING:
                log.warning(
                    "%s: Graph %s at %.0f%%; posts will be throttled at 100%%",
                    self.name,
                    header,
                    percent,
                )

    async def aclose(self) -> None:
        """Close the client if this channel made it."""
        await self._http.aclose()


# --- its declaration: settings, capabilities, preview example, stand-in -------------


class FacebookSettings(BaseModel):
    """Posts to the Facebook Page `page_id` with its `page_token`."""

    page_id: str = setting(doc="Enables the Facebook Page channel: the Page's numeric id.")
    page_token: SecretStr = setting(doc="A long-lived Page access token.")
    app_secret: SecretStr | None = setting(None, doc="Adds `appsecret_proof` to every call.")
    follow_up: Literal["post", "comment"] = setting(
        "post", doc="`post` or `comment` (under the first post)."
    )
    api_version: str = setting(DEFAULT_API_VERSION, doc="Graph API version.")
    base_url: str = setting(DEFAULT_BASE_URL, doc="Graph root, for a proxy or a stand-in.")


def _from_env(env: Env) -> FacebookPage | None:
    page_id = env.get("BROADCAST_FACEBOOK_PAGE_ID")
    if page_id is None:
        if present := [n for n in env.names() if n.startswith("BROADCAST_FACEBOOK_")]:
            raise ConfigError(
                f"{present[0]} is set but BROADCAST_FACEBOOK_PAGE_ID is not; "
                "set the numeric id of the Page to post to"
            )
        return None
    token = env.require("BROADCAST_FACEBOOK_PAGE_TOKEN", "when BROADCAST_FACEBOOK_PAGE_ID is set")
    follow_up = env.get("BROADCAST_FACEBOOK_FOLLOW_UP") or "post"
    if follow_up not in ("post", "comment"):
        raise ConfigError(
            f"BROADCAST_FACEBOOK_FOLLOW_UP must be post or comment, got {follow_up!r}"
        )
    base_url = env.url("BROADCAST_FACEBOOK_BASE_URL") or DEFAULT_BASE_URL
    version = env.get("BROADCAST_FACEBOOK_API_VERSION") or DEFAULT_API_VERSION
    env.build("BROADCAST_FACEBOOK_API_VERSION", lambda: check_api_version(version))
    channel: FacebookPage = env.build(
        "BROADCAST_FACEBOOK_PAGE_ID",
        lambda: FacebookPage(
            page_id,
            token,
            app_secret=env.get("BROADCAST_FACEBOOK_APP_SECRET"),
            api_version=version,
            base_url=base_url,
            follow_up=follow_up,  # type: ignore[arg-type]  # checked above
        ),
    )
    return channel


SPEC = ChannelSpec(
    name="facebook",
    channel=FacebookPage,
    settings=FacebookSettings,
    build=_from_env,
    label="Facebook",
    example=lambda: FacebookPage("1234567890", "example-only"),
    standin="broadcast.testing:GraphEndpoint",
)
