"""X (Twitter) API v2 ``POST /2/tweets``: its answers, and a stand-in that checks OAuth 1.0a.

``shape()`` is what X answers (``201 {"data": {"id", "text"}}``; problem+json errors;
403 for a duplicate text; 429 with ``x-rate-limit-reset`` epoch seconds), served by
``ChaosServer("x")``. ``XEndpoint`` is the demo's stand-in: the same answers, behind a
real OAuth 1.0a signature check.
"""

from __future__ import annotations

import json
import time
from typing import Any, NamedTuple

from ..._channel import Channel
from .._loopback import RecordedRequest, Reply
from ._base import (
    HTTPStandIn,
    Shape,
    Throttle,
    by_update,
    every_update_arrived,
    json_reply,
    retry_headers,
)

__all__ = ["XEndpoint", "created", "post_id", "problem", "shape"]

_TITLES = {401: "Unauthorized", 500: "Internal Server Error", 503: "Service Unavailable"}
DUPLICATE = "You are not allowed to create a Tweet with duplicate content."


def post_id(serial: int) -> str:
    """The ``serial``-th post's id, shaped like X's snowflake ids."""
    return str(1_400_000_000_000_000_000 + serial)


def created(serial: int, text: str) -> Reply:
    """X's ``201 Created`` for a post."""
    return json_reply(201, {"data": {"id": post_id(serial), "text": text}})


def problem(status: int, title: str | None = None, detail: str | None = None) -> Reply:
    """An X error: ``application/problem+json`` with title, detail, type and status."""
    title = title or _TITLES.get(status, "Error")
    body = {"title": title, "detail": detail or title, "type": "about:blank", "status": status}
    return json_reply(status, body, {"content-type": "application/problem+json"})


def throttled(fault: Throttle) -> Reply:
    """X's 429: ``x-rate-limit-remaining: 0`` and, if asked, the epoch reset."""
    reply = problem(429, "Too Many Requests")
    headers = {**reply.headers, **retry_headers(fault), "x-rate-limit-remaining": "0"}
    if fault.reset_in is not None:
        headers["x-rate-limit-reset"] = str(int(time.time() + fault.reset_in))
    return Reply(429, reply.body, headers)


def shape() -> Shape:
    """How X answers ``POST /2/tweets``."""
    return Shape(
        key=lambda r: str(json.loads(r.body)["text"]),
        success=lambda request, serial: created(serial, json.loads(request.body)["text"]),
        duplicate=problem(403, "Forbidden", DUPLICATE),
        error=problem,
        throttled=throttled,
        no_id=json.dumps({"data": {"text": "posted"}}).encode(),
        success_status=201,
    )


class XEndpoint(HTTPStandIn):
    """A local ``POST /2/tweets`` that checks OAuth 1.0a signatures like X does.

    It answers X's documented ``201 {"data": {"id", "text"}}`` and keeps each post's
    reply target, so the demo can show the thread.
    """

    name = "twitter"
    consumer_key = "demo-consumer-key"
    consumer_secret = "demo-consumer-secret"  # noqa: S105 - a stand-in's own test secret
    access_token = "demo-access-token"  # noqa: S105
    access_token_secret = "demo-access-token-secret"  # noqa: S105

    def __init__(self) -> None:
        self.posts: list[_Post] = []
        self.unsigned = 0
        super().__init__()

    def _signed(self, request: RecordedRequest, url: str) -> bool:
        from oauthlib.common import Request as OAuthRequest  # noqa: PLC0415
        from oauthlib.oauth1.rfc5849 import signature  # noqa: PLC0415

        oauth: Any = OAuthRequest(url, http_method="POST", headers=request.headers)
        collected = signature.collect_parameters(
            headers=oauth.headers, exclude_oauth_signature=False
        )
        params = dict(collected)
        # Prepared as oauthlib's own endpoints do: the signature apart from the params.
        oauth.signature = params.get("oauth_signature", "")
        oauth.params = [(k, v) for k, v in collected if k != "oauth_signature"]
        return params.get("oauth_consumer_key") == self.consumer_key and bool(
            signature.verify_hmac_sha1(oauth, self.consumer_secret, self.access_token_secret)
        )

    def _respond(self, request: RecordedRequest) -> Reply:
        signed = self._signed(request, f"{self._server.url}{request.path}")
        if not signed:
            self.unsigned += 1
            return problem(401)
        body = json.loads(request.body)
        serial = len(self.posts) + 1
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        self.posts.append(_Post(self.update_number, post_id(serial), reply_to, body["text"]))
        return created(serial, body["text"])

    def channel(self) -> Channel[Any]:
        """A real Twitter channel with OAuth 1.0a credentials, pointed here."""
        from ...channels._twitter import Twitter  # noqa: PLC0415

        twitter: Channel[Any] = Twitter(
            consumer_key=self.consumer_key,
            consumer_secret=self.consumer_secret,
            access_token=self.access_token,
            access_token_secret=self.access_token_secret,
            base_url=self._server.url,
        )
        return twitter

    def arrivals(self) -> list[str]:
        """One line per update: its posts, and what the first one replies to."""
        from ...text import weighted_length  # noqa: PLC0415

        longest = max((weighted_length(p.text) for p in self.posts), default=0)
        signed = "verified on every post" if not self.unsigned else f"BAD on {self.unsigned}"
        chained = [p.reply_to for p in self.posts[1:]] == [p.post_id for p in self.posts[:-1]]
        chain = "each post replies to the one before" if chained else "the reply CHAIN IS BROKEN"
        lines = [f"OAuth 1.0a signature {signed}; {chain}; longest {longest}/280"]
        last: dict[str, int] = {}
        for number, posts in by_update(self.posts):
            first, reply_to = posts[0].post_id, posts[0].reply_to
            link = "replies to nothing: starts the incident"
            if reply_to is not None:
                whose = (
                    f"update {last[reply_to]}'s last"
                    if reply_to in last
                    else "NOT an update's last"
                )
                link = f"replies to {reply_to} ({whose})"
            lines.append(f"update {number}: {len(posts)} posts, first {first} {link}")
            last[posts[-1].post_id] = number
        return lines

    def verified(self) -> bool:
        """Posts within 280, one chain: each replying to the one before, the first to none."""
        from ...text import weighted_length  # noqa: PLC0415

        replies = [p.reply_to for p in self.posts]
        return (
            not self.unsigned
            and every_update_arrived(by_update(self.posts))
            and replies == [None, *(p.post_id for p in self.posts[:-1])]
            and len({p.text for p in self.posts}) == len(self.posts)
            and all(weighted_length(p.text) <= 280 for p in self.posts)
        )


class _Post(NamedTuple):
    """One post on X, with the update it arrived in (only signed posts get here)."""

    update: int
    post_id: str
    reply_to: str | None
    text: str
