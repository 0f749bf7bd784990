"""Facebook Graph API ``/{page-id}/feed``: its answers, and a stand-in that checks the proof.

``shape()`` is what Graph answers (``200 {"id": "{page}_{post}"}``; ``{"error":
{message, type, code, fbtrace_id}}`` bodies; a throttle is HTTP 400 with code 4 and
``x-business-use-case-usage``; 506 for a duplicate), served by ``ChaosServer("graph")``.
``GraphEndpoint`` is the demo's stand-in: the same answers, behind an
``appsecret_proof`` check, with follow-ups as comments.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from ..._channel import Channel
from .._loopback import RecordedRequest, Reply
from ._base import (
    HTTPStandIn,
    Shape,
    Throttle,
    by_update,
    every_update_arrived,
    form,
    json_reply,
    retry_headers,
)

__all__ = ["PAGE_ID", "GraphEndpoint", "error", "feed_post_id", "shape"]

PAGE_ID = "546349135390552"
"""The Facebook Page the fakes serve."""

THROTTLED = (4, "(#4) Application request limit reached")
_MESSAGES = {
    500: (1, "An unknown error has occurred."),
    503: (2, "Service temporarily unavailable"),
}


def feed_post_id(serial: int, page_id: str = PAGE_ID) -> str:
    """The ``serial``-th feed post's id: ``{page-id}_{post-id}``, as Graph gives it."""
    return f"{page_id}_{1116689038356556 + serial}"


def error(
    status: int,
    code: int,
    message: str,
    headers: dict[str, str] | None = None,
    *,
    kind: str = "OAuthException",
    trace: str = "AchaosTrace1",
) -> Reply:
    """A Graph error body: ``{"error": {message, type, code, fbtrace_id}}``."""
    body = {"error": {"message": message, "type": kind, "code": code, "fbtrace_id": trace}}
    return json_reply(status, body, headers)


def throttled(fault: Throttle) -> Reply:
    """Graph's rate limit: 400, code 4, the reset in ``x-business-use-case-usage``."""
    headers = retry_headers(fault)
    if fault.reset_in is not None:
        usage = {"call_count": 100, "estimated_time_to_regain_access": fault.reset_in / 60}
        headers["x-business-use-case-usage"] = json.dumps({PAGE_ID: [usage]})
    return error(400, *THROTTLED, headers)


def shape() -> Shape:
    """How Graph answers a Page feed post."""
    return Shape(
        key=lambda r: form(r).get("message", ""),
        success=lambda request, serial: json_reply(200, {"id": feed_post_id(serial)}),
        duplicate=error(400, 506, "(#506) Duplicate status message"),
        error=lambda status: error(status, *_MESSAGES.get(status, (1, "An unknown error"))),
        throttled=throttled,
        no_id=json.dumps({"success": True}).encode(),
    )


class GraphEndpoint(HTTPStandIn):
    """A local Graph API ``/{version}/{page-id}/feed`` that checks ``appsecret_proof``.

    The first call is throttled the way Graph does it (HTTP 400, ``error.code`` 4), so
    the demo shows a retry decided by the error code rather than the status. Follow-ups
    arrive as comments, ``/{version}/{post-id}/comments``, under the incident's post.
    """

    name = "facebook"
    page_id = PAGE_ID
    token = "demo-page-token"  # noqa: S105 - a stand-in's own test token
    app_secret = "demo-app-secret"  # noqa: S105

    def __init__(self) -> None:
        self.posts: list[_PagePost] = []
        self.answers: list[int] = []
        self.bad_proofs = 0
        super().__init__()

    def _respond(self, request: RecordedRequest) -> Reply:
        from ...channels._facebook import appsecret_proof  # noqa: PLC0415

        fields = form(request)
        proof_ok = fields.get("access_token") == self.token and fields.get(
            "appsecret_proof"
        ) == appsecret_proof(self.token, self.app_secret)
        if not proof_ok:
            self.bad_proofs += 1
            reply = error(
                400,
                100,
                "Invalid appsecret_proof",
                kind="GraphMethodException",
                trace="AdemoTrace1",
            )
        elif not self.answers:
            reply = error(400, *THROTTLED, trace="AdemoTrace2")
        else:
            reply = json_reply(200, {"id": self._publish(request.path, fields)})
        self.answers.append(reply.status)
        return reply

    def _publish(self, path: str, fields: dict[str, str]) -> str:
        """Keep a feed post or a comment; its Graph-shaped id."""
        *_, target, edge = path.partition("?")[0].strip("/").split("/")
        message = fields.get("message", "")
        if edge == "comments":  # a comment's id: its post's own part, then its own
            serial = f"{target.split('_')[-1]}_{4_000_000_000_000 + len(self.posts)}"
            post = _PagePost(self.update_number, serial, target, message)
        else:
            serial = feed_post_id(len(self.posts), self.page_id)
            post = _PagePost(self.update_number, serial, None, message)
        self.posts.append(post)
        return post.object_id

    def channel(self) -> Channel[Any]:
        """A real FacebookPage channel pointed here; follow-ups go under the first post."""
        from ...channels._facebook import FacebookPage  # noqa: PLC0415

        page: Channel[Any] = FacebookPage(
            self.page_id,
            self.token,
            app_secret=self.app_secret,
            base_url=self._server.url,
            follow_up="comment",
        )
        return page

    def arrivals(self) -> list[str]:
        """The answers given, then one line per update: a post, or a comment under it."""
        answers = ", ".join(map(str, self.answers))
        proofs = "verified" if not self.bad_proofs else f"BAD on {self.bad_proofs} call(s)"
        lines = [f"appsecret_proof {proofs}; answers {answers} (400 = throttled, code 4)"]
        for number, posts in by_update(self.posts):
            for post in posts:
                where = f"comment {post.object_id} under post {post.parent}"
                if post.parent is None:
                    where = f"post {post.object_id} on the Page's feed"
                lines.append(f"update {number}: {where}")
        return lines

    def verified(self) -> bool:
        """One item per update: a feed post first, then comments under that post."""
        updates = by_update(self.posts)
        first = self.posts[0].object_id if self.posts else None
        return (
            not self.bad_proofs
            and every_update_arrived(updates)
            and all(len(posts) == 1 for _, posts in updates)
            and [p.parent for p in self.posts] == [None] + [first] * (len(self.posts) - 1)
        )


class _PagePost(NamedTuple):
    """A Page post or comment (``parent`` is the post it is under), by update."""

    update: int
    object_id: str
    parent: str | None
    message: str
