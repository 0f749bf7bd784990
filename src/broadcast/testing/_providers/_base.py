"""What every provider fake shares: how it answers (``Shape``) and the stand-in helpers.

A ``Shape`` is one provider's documented answers as data: its success body, its
duplicate refusal, its error bodies, its rate-limit answer. ``ChaosServer`` serves a
shape and spoils it on cue; the demo's verifying stand-ins build their answers from
the same functions. ``PROVIDERS`` (in ``__init__``) maps each provider's name to its
shape: the one place a new provider fake registers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar
from urllib.parse import parse_qs

from .._loopback import LoopbackServer, RecordedRequest, Reply

if TYPE_CHECKING:
    from ..._channel import Channel

__all__ = [
    "HTTPStandIn",
    "Shape",
    "StandIn",
    "by_update",
    "every_update_arrived",
    "form",
    "json_reply",
    "retry_headers",
]


class Throttle(Protocol):
    """What a rate-limit answer is built from (a ``Fault.throttle``)."""

    @property
    def retry_after(self) -> float | datetime | None:
        """``Retry-After`` as seconds or an HTTP date, if sent."""
        ...

    @property
    def reset_in(self) -> float | None:
        """Seconds until the provider's own reset header says the limit lifts."""
        ...


@dataclass
class Shape:
    """How one provider answers: success, duplicate, errors, throttling."""

    key: Callable[[RecordedRequest], str]
    """What identifies a request's effect (the post's text, the recipient, the id)."""
    success: Callable[[RecordedRequest, int], Reply]
    duplicate: Reply | Callable[[RecordedRequest, int], Reply] | None
    """The answer to a repeat: a refusal, or (a callable) the first one's own answer
    again, given the request and the first one's serial (Mastodon's Idempotency-Key)."""
    error: Callable[[int], Reply]
    throttled: Callable[[Throttle], Reply]
    no_id: bytes
    malformed: bytes = b"<html><body>502 Bad Gateway</body></html>"
    success_status: int = 200
    read: Callable[[RecordedRequest, list[str]], Reply] | None = None
    """Answers a GET (a lookup before a re-post) from what was acted on; never faulted."""
    aside: Callable[[RecordedRequest], Reply | None] | None = None
    """Answers what is not a send (signing in, reading limits), or None to go on; never
    faulted, and not counted in ``ChaosServer.calls``."""


def json_reply(status: int, body: object, headers: dict[str, str] | None = None) -> Reply:
    """``status`` with ``body`` as JSON."""
    return Reply(status, json.dumps(body).encode(), dict(headers or {}))


def retry_headers(fault: Throttle) -> dict[str, str]:
    """The ``Retry-After`` header a throttle asks for, if any."""
    if isinstance(fault.retry_after, datetime):
        return {"retry-after": format_datetime(fault.retry_after, usegmt=True)}
    if fault.retry_after is not None:
        return {"retry-after": f"{fault.retry_after:g}"}
    return {}


def form(request: RecordedRequest) -> dict[str, str]:
    """A form-encoded body's fields (the first value of each)."""
    return {k: v[0] for k, v in parse_qs(request.body.decode()).items()}


class StandIn(AbstractContextManager["StandIn"], Protocol):
    """A local outlet: ``with stand_in: channel = stand_in.channel()``."""

    name: str
    update_number: int
    """Which update of the timeline is being sent (1, 2, ...), set by the demo before
    each send; every arrival is filed under it, so a re-send shows up as a repeat."""

    def channel(self) -> Channel[Any]:
        """The real channel, configured to reach this stand-in."""
        ...

    def arrivals(self) -> list[str]:
        """What the receiving side saw, one line each, with its checks."""
        ...

    def verified(self) -> bool:
        """Whether everything that arrived passed the receiver's checks."""
        ...


class HTTPStandIn:
    """A stand-in served by a LoopbackServer on 127.0.0.1 that answers with ``_respond``."""

    def __init__(self) -> None:
        self._server = LoopbackServer(self._respond)
        self.update_number = 1

    def _respond(self, request: RecordedRequest) -> Reply:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()


class _Numbered(Protocol):
    @property
    def update(self) -> int:
        """The number of the update it arrived in."""
        ...


T = TypeVar("T", bound=_Numbered)


def by_update(items: list[T]) -> list[tuple[int, list[T]]]:
    """``items`` grouped by the update they arrived in, in order."""
    groups: dict[int, list[T]] = {}
    for item in items:
        groups.setdefault(item.update, []).append(item)
    return sorted(groups.items())


def every_update_arrived(groups: list[tuple[int, list[Any]]]) -> bool:
    """Something arrived for every update from 1 on, with no gap."""
    return bool(groups) and [n for n, _ in groups] == list(range(1, len(groups) + 1))
