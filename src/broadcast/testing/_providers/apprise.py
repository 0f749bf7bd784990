"""An endpoint Apprise's ``json://`` URLs post to: its answers, and a checking stand-in.

Apprise's JSON service POSTs ``{"version", "title", "message", "attachments",
"type"}`` to the URL's host and path (``json://127.0.0.1:PORT/path`` is
``http://127.0.0.1:PORT/path``) and reads nothing back but the status: any 2xx is
delivered. ``shape()`` is that endpoint for ``ChaosServer("apprise")``, one
recipient per path. ``AppriseReceiver`` is the demo's (and the tests') stand-in: it
keeps each notification under its path, answers the next ones with ``fail(...)``'s
statuses, and checks that each carries a title and a message.
"""

from __future__ import annotations

import json
import threading
from typing import Any, NamedTuple

from ..._channel import Channel
from .._loopback import RecordedRequest, Reply
from ._base import HTTPStandIn, Shape, Throttle, by_update, every_update_arrived, retry_headers

__all__ = ["PATHS", "AppriseReceiver", "Notification", "json_url", "shape"]

PATHS = ("/apprise/ops", "/apprise/press", "/apprise/partners")
"""Where a stand-in Apprise channel's URLs post: one path per URL."""


def json_url(base: str, path: str) -> str:
    """The Apprise URL that posts to ``base`` (``http://host:port``) at ``path``."""
    return "json://" + base.removeprefix("http://") + path


def _throttled(fault: Throttle) -> Reply:
    return Reply(429, b'{"message": "slow down"}', retry_headers(fault))


def shape() -> Shape:
    """An endpoint of Apprise's ``json://``: 200 for any POST, no id, no dedupe."""
    return Shape(
        key=lambda r: r.path,  # one URL, one path: a repeat on a path is a duplicate
        success=lambda request, serial: Reply(200, b"{}", {"content-type": "application/json"}),
        duplicate=None,  # a JSON endpoint takes every notification it is given
        error=lambda status: Reply(status, b'{"message": "unavailable"}'),
        throttled=_throttled,
        no_id=b"",
    )


class Notification(NamedTuple):
    """One notification the stand-in took."""

    update: int
    path: str
    title: str
    message: str
    type: str


class AppriseReceiver(HTTPStandIn):
    """Endpoints of Apprise ``json://`` URLs on 127.0.0.1, one path per URL."""

    name = "apprise"

    def __init__(self, paths: tuple[str, ...] = PATHS[:2]) -> None:
        self.paths = paths
        self._failing: list[int] = []
        self._lock = threading.Lock()
        self.notifications: list[Notification] = []
        self.posts: list[str] = []
        """The path of every POST, answered or not, in order."""
        super().__init__()

    @property
    def urls(self) -> list[str]:
        """The Apprise URLs that reach this stand-in, one per path."""
        return [json_url(self._server.url, p) for p in self.paths]

    def fail(self, *statuses: int) -> None:
        """Answer the next POSTs with these statuses (500, 503…), acting on none of them."""
        with self._lock:
            self._failing = list(statuses)

    def _respond(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.posts.append(request.path)
            if self._failing:
                return shape().error(self._failing.pop(0))
            body: dict[str, Any] = json.loads(request.body)
            self.notifications.append(
                Notification(
                    self.update_number,
                    request.path,
                    str(body.get("title", "")),
                    str(body.get("message", "")),
                    str(body.get("type", "")),
                )
            )
        return shape().success(request, len(self.notifications))

    def channel(self, **options: Any) -> Channel[Any]:
        """A real AppriseChannel whose URLs post here."""
        from ...channels._apprise import AppriseChannel  # noqa: PLC0415 - an optional extra

        apprise: Channel[Any] = AppriseChannel(self.urls, **options)
        return apprise

    def on(self, path: str) -> list[Notification]:
        """What arrived at ``path``."""
        return [n for n in self.notifications if n.path == path]

    def arrivals(self) -> list[str]:
        """One line per update: the title, and how many URLs it reached."""
        lines = []
        for number, took in by_update(self.notifications):
            paths = len({n.path for n in took})
            lines.append(
                f"update {number}: {took[-1].title!r} at {paths} of {len(self.paths)} URLs"
            )
        return lines

    def verified(self) -> bool:
        """Each update reached every URL once, with a title and a message."""
        updates = by_update(self.notifications)
        return (
            every_update_arrived(updates)
            and all(sorted(n.path for n in took) == sorted(self.paths) for _, took in updates)
            and all(n.title and n.message for n in self.notifications)
        )
