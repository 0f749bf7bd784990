"""A Teams Workflows webhook on 127.0.0.1 that answers as the real one does.

A POST with the right ``sig`` and a well-formed Adaptive Card envelope of at most
28 KB gets **202 Accepted with an empty body** (the flow runs later; no id). A wrong
``sig`` gets 401, a payload over the limit 413, a malformed envelope 400, each with
the Logic Apps error body ``{"error": {"code", "message"}}``; ``throttle(n, seconds)``
answers the next ``n`` with 429 and ``Retry-After``. Also the demo's stand-in.
"""

from __future__ import annotations

import json
import threading
from typing import Any, NamedTuple, Self
from urllib.parse import parse_qs, urlsplit

from ..._channel import Channel
from ...text._teams import MAX_TEAMS_BYTES
from .._loopback import LoopbackServer, RecordedRequest, Reply

__all__ = ["TeamsCard", "TeamsFake"]

PATH = "/workflows/0a1b2c/triggers/manual/paths/invoke"
ADAPTIVE = "application/vnd.microsoft.card.adaptive"


class TeamsCard(NamedTuple):
    """One card the flow would post: its update number, title and size."""

    update: int
    title: str
    version: str
    size: int


class TeamsFake:
    """``with TeamsFake() as teams: Teams(teams.webhook_url)``; ``teams.posts`` counts POSTs."""

    name = "teams"
    sig = "demo-sas-signature-0123456789"

    def __init__(self) -> None:
        self.cards: list[TeamsCard] = []
        self.posts = 0
        self.refused: list[int] = []
        self.update_number = 1
        self._throttled = 0
        self._wait = 0
        self._lock = threading.Lock()
        self._server = LoopbackServer(self._respond)

    @property
    def webhook_url(self) -> str:
        """The Workflow URL, ``sig`` and all, as "Copy URL" gives it."""
        return (
            f"{self._server.url}{PATH}?api-version=2016-06-01&sp=%2Ftriggers&sv=1.0&sig={self.sig}"
        )

    def throttle(self, times: int, seconds: int) -> None:
        """Answer the next ``times`` POSTs with 429 and ``Retry-After: seconds``."""
        self._throttled, self._wait = times, seconds

    def __enter__(self) -> Self:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    def _respond(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.posts += request.method == "POST"
            parts = urlsplit(request.path)
            if parts.path != PATH or parse_qs(parts.query).get("sig") != [self.sig]:
                return self._refuse(401, "DirectApiAuthorizationRequired", "sig is invalid")
            if self._throttled:
                self._throttled -= 1
                return Reply(
                    429, _error("TooManyRequests", "Rate limit"), {"retry-after": str(self._wait)}
                )
            if len(request.body) > MAX_TEAMS_BYTES:
                return self._refuse(413, "RequestEntityTooLarge", "over 28 KB")
            try:
                card = _card(json.loads(request.body))
            except (ValueError, KeyError, IndexError, TypeError):
                return self._refuse(400, "InvalidRequestContent", "not a message with a card")
            title = str(card["body"][0]["text"])
            self.cards.append(
                TeamsCard(self.update_number, title, str(card["version"]), len(request.body))
            )
            return Reply(202)  # accepted; the flow posts it later, and says nothing more

    def _refuse(self, status: int, code: str, message: str) -> Reply:
        self.refused.append(status)
        return Reply(status, _error(code, message), {"content-type": "application/json"})

    def channel(self) -> Channel[Any]:
        """A real Teams channel pointed here."""
        from ...channels._teams import Teams  # noqa: PLC0415

        teams: Channel[Any] = Teams(self.webhook_url)
        return teams

    def arrivals(self) -> list[str]:
        """One line per card: its title and size (no thread: each is a new card)."""
        return [f"update {c.update}: {c.title!r} ({c.size:,} bytes)" for c in self.cards]

    def verified(self) -> bool:
        """One card per update, each a 1.4/1.5 card naming its incident, none refused."""
        updates = [c.update for c in self.cards]
        return (
            bool(self.cards)
            and not self.refused
            and len(set(updates)) == len(updates) == self.posts
            and all(c.version in ("1.4", "1.5") and "· incident " in c.title for c in self.cards)
        )


def _card(payload: dict[str, Any]) -> dict[str, Any]:
    if payload["type"] != "message":
        raise ValueError("type must be message")
    (attachment,) = payload["attachments"]
    if attachment["contentType"] != ADAPTIVE:
        raise ValueError("not an Adaptive Card")
    card: dict[str, Any] = attachment["content"]
    if card["type"] != "AdaptiveCard":
        raise ValueError("not an Adaptive Card")
    return card


def _error(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()
