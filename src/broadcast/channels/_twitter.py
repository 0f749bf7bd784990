"""X (Twitter): each update as a post or a numbered thread, replying down the incident.

Posts go through the v2 API, ``POST /2/tweets``. A long update becomes a thread, each
part replying to the one before; a follow-up of the same incident replies to the
incident's last post, so the story reads top to bottom in one place. Posted parts are
recorded in a ThreadStore as they go, so a re-send after a failure continues the
thread instead of posting its first parts again.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import BaseModel, SecretStr

from .._channel import Delivery
from .._errors import AlreadyDelivered, ChannelError, ConfigError, PermanentError, Unconfirmed
from .._redact import register_secret, safe_origin
from .._update import Update
from ..journal._protocol import Journal
from ..journal._threads import ThreadSlot, ThreadStore, post_part
from ..text import MAX_WEIGHTED, weighted_length
from ..text._thread import render_thread
from ._http import ClientSlot, get, json_field, post
from ._oauth1 import OAuth1
from ._spec import ChannelSpec, setting

if TYPE_CHECKING:
    from ..config._env import Env

__all__ = ["MAX_POSTS", "Thread", "Twitter", "render_posts", "x_errors"]

DEFAULT_BASE_URL = "https://api.x.com"


MAX_POSTS = 10
"""The longest thread by default: ten posts (about 2,700 characters) is more than most
readers follow, and a longer one floods followers' timelines and X's posting limits."""


def render_posts(
    update: Update, *, limit: int = MAX_WEIGHTED, max_posts: int | None = MAX_POSTS
) -> list[str]:
    """The update as posts of at most ``limit`` weighted characters each.

    The status tag and title lead, the link follows in the first post, then the body,
    the next-update promise and the author's signature. One post if it fits (dropping
    the signature if that is what it takes), otherwise a numbered thread of at most
    ``max_posts`` posts (None: no limit). A longer update is cut to ``max_posts``: its
    last post ends ``… Full update: <url>`` and the next-update promise (the signature
    is left out). Without a ``url`` to point to, it raises ``ValueError`` saying how
    many posts it needs, so the channel fails before it posts anything. The thread
    renderer is shared with Mastodon and Bluesky (``broadcast.text._thread``).
    """
    return render_thread(update, limit=limit, max_posts=max_posts, outlet="X")


@dataclass(frozen=True, slots=True)
class Thread:
    """A rendered update: its posts in order, and what ties them to the incident."""

    posts: tuple[str, ...]
    incident: str
    update_key: str

    def preview(self) -> str:
        """Each post with its weighted length."""
        return "\n\n".join(
            f"--- post {i}/{len(self.posts)} ({weighted_length(p)}/{MAX_WEIGHTED}) ---\n{p}"
            for i, p in enumerate(self.posts, 1)
        )


def x_errors(response: httpx.Response) -> ChannelError | None:
    """X's own error reading: a 403 for duplicate content means it is already posted.

    v2 answers problem+json (``detail``); the v1.1 shape ``{"errors": [{"code": 187}]}``
    is accepted too. Everything else falls through to the shared HTTP mapping.
    """
    if response.status_code != 403:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    texts = [str(body.get("detail", ""))]
    for error in body.get("errors") or []:
        if isinstance(error, dict):
            texts.append("duplicate" if error.get("code") == 187 else str(error.get("message")))
    if any("duplicate" in t.lower() for t in texts):
        return AlreadyDelivered("X refused it as duplicate content: this update is already posted")
    return None


class Twitter:
    """Posts updates to X as the account whose credentials are given.

    Give either OAuth 1.0a user credentials (``consumer_key``, ``consumer_secret``,
    ``access_token``, ``access_token_secret``) or an OAuth 2.0 user ``bearer_token``,
    not both. ``threads`` remembers each incident's posts (in memory by default).
    ``base_url`` points elsewhere for tests and the demo. ``max_posts`` bounds a thread
    (see ``render_posts``).
    """

    threaded = True
    """Follow-ups reply under the incident's first post."""

    def __init__(
        self,
        *,
        consumer_key: str | None = None,
        consumer_secret: str | SecretStr | None = None,
        access_token: str | None = None,
        access_token_secret: str | SecretStr | None = None,
        bearer_token: str | SecretStr | None = None,
        base_url: str = DEFAULT_BASE_URL,
        name: str = "twitter",
        threads: ThreadStore | None = None,
        timeout: float = 15.0,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
        max_posts: int | None = MAX_POSTS,
    ) -> None:
        if max_posts is not None and max_posts < 1:
            raise ValueError(
                f"max_posts must be at least 1 (or None for no limit), not {max_posts}"
            )
        self._max_posts = max_posts
        oauth1 = {
            "consumer_key": consumer_key,
            "consumer_secret": consumer_secret,
            "access_token": access_token,
            "access_token_secret": access_token_secret,
        }
        given = [k for k, v in oauth1.items() if v]
        if bearer_token and given:
            raise ValueError(
                "give either bearer_token or the four OAuth 1.0a credentials, not both"
            )
        self._auth: httpx.Auth
        if bearer_token:
            token = _secret(bearer_token)
            self._auth = _Bearer(token)
        elif len(given) == 4:
            self._auth = OAuth1(
                str(consumer_key),
                _secret(consumer_secret),
                str(access_token),
                _secret(access_token_secret),
            )
        else:
            missing = [k for k in oauth1 if k not in given]
            raise ValueError(
                "X credentials are incomplete: give bearer_token, or all of consumer_key, "
                "consumer_secret, access_token, access_token_secret "
                f"(missing: {', '.join(missing)})"
            )
        self.name = name
        self._url = base_url.rstrip("/") + "/2/tweets"
        self._me = base_url.rstrip("/") + "/2/users/me"
        self._threads = ThreadSlot(threads)
        self._timeout = timeout
        self._http = ClientSlot(client)
        self._clock = clock
        self._unanswered: set[tuple[str, int]] = set()
        """Parts (update key, index) whose POST went out and got no answer in this run."""

    def __repr__(self) -> str:
        kind = "bearer" if isinstance(self._auth, _Bearer) else "oauth1"
        return f"Twitter(name={self.name!r}, api='{safe_origin(self._url)}', auth={kind!r})"

    def render(self, update: Update, /) -> Thread:
        """The posts for ``update``; pure."""
        posts = render_posts(update, max_posts=self._max_posts)
        return Thread(tuple(posts), update.incident, update.key)

    def use_http_client(self, client: httpx.AsyncClient, /) -> None:
        """Send through the Broadcaster's shared client (unless one was given)."""
        self._http.share(client)

    def use_journal(self, journal: Journal, /) -> None:
        """Keep the incident's thread in ``journal`` (unless ``threads`` was given)."""
        self._threads.share(journal)

    async def deliver(self, rendered: Thread, /) -> Delivery:
        """Post the parts not yet posted, each replying to the one before."""
        threads, key = self._threads.get(), rendered.update_key
        posted = await threads.posted_parts(self.name, key)
        if len(posted) >= len(rendered.posts):
            raise AlreadyDelivered(f"already posted as {', '.join(posted)}", ids=tuple(posted))
        if posted:
            reply_to: str | None = posted[-1]
        else:
            reply_to = (await threads.thread(self.name, rendered.incident)).last
        total = len(rendered.posts)
        for index in range(len(posted), total):
            send = functools.partial(self._post, self._http.get(), rendered.posts[index], reply_to)
            try:
                post_id = await post_part(
                    threads, self.name, rendered.incident, key, index, send=send
                )
            except AlreadyDelivered:
                if total == 1:
                    raise
                if (key, index) in self._unanswered:
                    raise PermanentError(
                        f"part {index + 1} of {total} is up but its answer was lost (X refused "
                        "the retry as a duplicate), so the thread cannot go on from it; find "
                        f"its id on the account, run: broadcast settle {key} {self.name} "
                        f"--part {index} --post-id ID, then send again to post the rest "
                        f"(posted before it: {', '.join(posted) or 'none'})",
                        ids=tuple(posted),
                    ) from None
                if index == 0:
                    raise PermanentError(
                        f"X refused part 1 of {total} as a duplicate, and this process has no "
                        "record of the thread (was it started elsewhere?); the rest is not posted",
                        ids=tuple(posted),
                    ) from None
                raise PermanentError(
                    f"X refused part {index + 1} of {total} as a duplicate; "
                    f"the thread stops after {_progress(posted, total)}",
                    ids=tuple(posted),
                ) from None
            except ChannelError as exc:
                if isinstance(exc, Unconfirmed):
                    self._unanswered.add((key, index))
                if total > 1:
                    exc.args = (f"{exc}; posted {_progress(posted, total)}",)
                exc.ids = tuple(posted)  # what is up stays in the Receipt
                raise
            posted.append(post_id)
            reply_to = post_id
        return Delivery(ids=tuple(posted), details={"parts": total})

    async def check(self) -> str:
        """Ask X whose credentials these are (``GET /2/users/me``); posts nothing."""
        response = await get(
            self._http.get(),
            self._me,
            auth=self._auth,
            timeout=self._timeout,
            wall_clock=self._clock,
            provider_errors=x_errors,
        )
        username = json_field(response, "data", "username")
        return f"authenticated as @{username} (id {json_field(response, 'data', 'id')})"

    async def _post(self, client: httpx.AsyncClient, text: str, reply_to: str | None) -> str:
        payload: dict[str, Any] = {"text": text}
        if reply_to:
            payload["reply"] = {"in_reply_to_tweet_id": reply_to}
        response = await post(
            client,
            self._url,
            content=json.dumps(payload, ensure_ascii=False).encode(),
            headers={"content-type": "application/json"},
            auth=self._auth,
            timeout=self._timeout,
            wall_clock=self._clock,
            provider_errors=x_errors,
        )
        return json_field(response, "data", "id")

    async def aclose(self) -> None:
        """Close the client if this channel made it."""
        await self._http.aclose()


def _progress(posted: list[str], total: int) -> str:
    if not posted:
        return f"0 of {total} parts"
    return f"{len(posted)} of {total} parts ({', '.join(posted)}); re-send to continue"


def _secret(value: str | SecretStr | None) -> SecretStr:
    secret = value if isinstance(value, SecretStr) else SecretStr(value or "")
    register_secret(secret.get_secret_value())
    return secret


class _Bearer(httpx.Auth):
    """OAuth 2.0 user access token."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "Bearer(<hidden>)"

    def auth_flow(self, request: httpx.Request) -> Any:
        """Add the bearer header."""
        request.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        yield request


# --- its declaration: settings, capabilities, preview example, stand-in -------------

_OAUTH1 = ("CONSUMER_KEY", "CONSUMER_SECRET", "ACCESS_TOKEN", "ACCESS_TOKEN_SECRET")
_WITH_OAUTH1 = "Enable X with OAuth 1.0a user credentials (all four)."


class TwitterSettings(BaseModel):
    """Posts to X: `bearer_token`, or all four OAuth 1.0a keys (`consumer_key`, ...)."""

    consumer_key: SecretStr | None = setting(None, doc=_WITH_OAUTH1)
    consumer_secret: SecretStr | None = setting(None, doc=_WITH_OAUTH1)
    access_token: SecretStr | None = setting(None, doc=_WITH_OAUTH1)
    access_token_secret: SecretStr | None = setting(None, doc=_WITH_OAUTH1)
    bearer_token: SecretStr | None = setting(
        None, doc="Enables X with an OAuth 2.0 user access token instead."
    )
    base_url: str = setting(DEFAULT_BASE_URL, doc="API root, for a proxy or a stand-in.")
    max_posts: int = setting(
        MAX_POSTS,
        doc="Most posts in one update's thread, 1 to 100: a longer update with a link is "
        "cut, its last post pointing to the link; one without a link is refused.",
    )


def _from_env(env: Env) -> Twitter | None:
    oauth1 = {n: env.get(f"BROADCAST_TWITTER_{n}") for n in _OAUTH1}
    bearer = env.get("BROADCAST_TWITTER_BEARER_TOKEN")
    given = [n for n, v in oauth1.items() if v]
    if not given and not bearer:
        if env.get("BROADCAST_TWITTER_BASE_URL"):
            raise ConfigError(
                "BROADCAST_TWITTER_BASE_URL is set but no X credentials are: set "
                "BROADCAST_TWITTER_BEARER_TOKEN or the four BROADCAST_TWITTER_* OAuth 1.0a values"
            )
        return None
    if bearer and given:
        raise ConfigError(
            "set either BROADCAST_TWITTER_BEARER_TOKEN or the OAuth 1.0a variables, not both "
            f"(found BROADCAST_TWITTER_{given[0]})"
        )
    if not bearer and len(given) < len(_OAUTH1):
        missing = [f"BROADCAST_TWITTER_{n}" for n in _OAUTH1 if n not in given]
        raise ConfigError(f"X OAuth 1.0a needs all four values; missing {', '.join(missing)}")
    base_url = env.url("BROADCAST_TWITTER_BASE_URL") or DEFAULT_BASE_URL
    max_posts = env.count("BROADCAST_TWITTER_MAX_POSTS", MAX_POSTS, maximum=100)
    if bearer:
        return Twitter(bearer_token=bearer, base_url=base_url, max_posts=max_posts)
    return Twitter(
        max_posts=max_posts,
        consumer_key=oauth1["CONSUMER_KEY"],
        consumer_secret=oauth1["CONSUMER_SECRET"],
        access_token=oauth1["ACCESS_TOKEN"],
        access_token_secret=oauth1["ACCESS_TOKEN_SECRET"],
        base_url=base_url,
    )


SPEC = ChannelSpec(
    name="twitter",
    channel=Twitter,
    settings=TwitterSettings,
    build=_from_env,
    label="X",
    enabled_by="BROADCAST_TWITTER_BEARER_TOKEN or BROADCAST_TWITTER_CONSUMER_KEY...",
    example=lambda: Twitter(bearer_token="example-only"),  # noqa: S106 - never sends
    standin="broadcast.testing:XEndpoint",
)
