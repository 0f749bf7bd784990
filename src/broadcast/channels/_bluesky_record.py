"""What Bluesky is sent and what it answers: the post record, its key, XRPC errors; pure."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import httpx

from .._errors import AuthError, ChannelError, PermanentError
from .._redact import excerpt
from .._update import Update
from ..text._social import link_facets
from ._bluesky_session import ExpiredToken

__all__ = ["COLLECTION", "bluesky_errors", "post_record", "record_key"]

COLLECTION = "app.bsky.feed.post"
_B32 = "234567abcdefghijklmnopqrstuvwxyz"


def record_key(update: Update, part: int) -> str:
    """The post's record key: a TID from the update's time, the part and its key's hash.

    The same on every retry and in every process, so a retry can look the post up.
    """
    micros = int(update.created_at.timestamp() * 1_000_000) + part
    clock_id = int.from_bytes(hashlib.sha256(update.key.encode()).digest()[:2], "big") % 1024
    value = (micros << 10) | clock_id
    return "".join(_B32[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def post_record(
    text: str, update: Update, part: int, *, reply: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The ``app.bsky.feed.post`` record of one part; pure."""
    created = update.created_at + timedelta(milliseconds=part)
    record: dict[str, Any] = {
        "$type": COLLECTION,
        "text": text,
        "createdAt": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    if update.language:
        record["langs"] = [update.language]
    if facets := link_facets(text):
        record["facets"] = facets
    if reply:
        record["reply"] = reply
    return record


def bluesky_errors(response: httpx.Response) -> ChannelError | None:
    """XRPC's ``{"error", "message"}``: an expired token, bad credentials, a refused record."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, str):
        return None
    status = response.status_code
    text = f"Bluesky {error}: {excerpt(str(body.get('message') or ''))}".rstrip(": ")
    if error in ("ExpiredToken", "InvalidToken"):
        return ExpiredToken(text, code=status)
    if status == 429 or status >= 500:
        return None  # the shared mapping: retried, after RateLimit-Reset or Retry-After
    if status in (401, 403) or error == "AuthenticationRequired":
        return AuthError(f"{text} (check the handle and the app password)", code=status)
    return PermanentError(text, code=status)
