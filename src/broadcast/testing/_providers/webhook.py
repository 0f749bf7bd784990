"""A Standard Webhooks receiver (a blog or CMS endpoint): its answers, and a verifying stand-in.

``shape()`` is what a receiver answers (``200 {"id"}``; it takes a repeated
``webhook-id`` once; 429 with ``ratelimit-reset``), served by ``ChaosServer("webhook")``.
``WebhookReceiver`` is the demo's stand-in: it verifies each signature with the
independent ``standardwebhooks`` library and answers the first request 503.
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
    json_reply,
    retry_headers,
)

__all__ = ["HOOK_PATH", "WebhookReceiver", "accepted", "shape"]

HOOK_PATH = "/hooks/incidents"
"""Where ``ChaosServer("webhook")`` receives (its ``hook_url``)."""


def accepted(serial: int, status: int = 200) -> Reply:
    """A receiver's answer to a document it took: the id it filed it under."""
    return json_reply(status, {"id": f"post-{serial}"})


def throttled(fault: Throttle) -> Reply:
    """A receiver's 429, with ``ratelimit-reset`` seconds if asked."""
    headers = retry_headers(fault)
    if fault.reset_in is not None:
        headers["ratelimit-reset"] = f"{fault.reset_in:g}"
    return json_reply(429, {"message": "slow down"}, headers)


def shape() -> Shape:
    """How a Standard Webhooks receiver answers."""
    return Shape(
        key=lambda r: r.headers.get("webhook-id", ""),
        success=lambda request, serial: accepted(serial),
        duplicate=json_reply(200, {"id": "already-taken"}),  # a receiver takes an id once
        error=lambda status: json_reply(status, {"message": "receiver unavailable"}),
        throttled=throttled,
        no_id=b"",
    )


class WebhookReceiver(HTTPStandIn):
    """A blog/CMS endpoint that verifies Standard Webhooks signatures.

    Verification uses the independent ``standardwebhooks`` library, not broadcast's
    own signer. The first request is answered ``503 Retry-After: 1`` so the demo shows
    a retry carrying the same ``webhook-id``.
    """

    name = "webhook"

    def __init__(self) -> None:
        try:
            from standardwebhooks.webhooks import Webhook as Verifier  # noqa: PLC0415
        except ImportError as exc:  # pragma: no cover - the demo extra is missing
            raise SystemExit(
                "the demo verifies signatures with standardwebhooks: "
                "pip install 'broadcast-crisis[demo]'"
            ) from exc
        from ...channels._webhook import Webhook  # noqa: PLC0415 - channels load lazily

        self._secret = Webhook.generate_secret()
        self._verifier = Verifier(self._secret)
        self._results: list[_Hook] = []
        super().__init__()

    def _respond(self, request: RecordedRequest) -> Reply:
        error = None
        try:
            self._verifier.verify(request.body, request.headers)
        except Exception as exc:  # noqa: BLE001 - any verification failure is a 401
            error = f"{type(exc).__name__}: {exc}"
        if error is not None:
            reply = json_reply(401, {"message": "bad signature"})
        elif not self._results:
            reply = Reply(503, headers={"retry-after": "1"})
        else:
            reply = accepted(len(self._results) + 1, 201)
        hook = _Hook(self.update_number, request.headers.get("webhook-id"), error, reply.status)
        if error is None:
            data = json.loads(request.body)["data"]
            hook = hook._replace(incident=data["incident"], status=data["status"])
        self._results.append(hook)
        return reply

    def channel(self) -> Channel[Any]:
        """A real Webhook channel pointed at this receiver."""
        from ...channels._webhook import Webhook  # noqa: PLC0415

        webhook: Channel[Any] = Webhook(f"{self._server.url}/cms/incidents", secret=self._secret)
        return webhook

    def arrivals(self) -> list[str]:
        """One line per update: the document's incident and status, and the answers."""
        bad = sum(h.error is not None for h in self._results)
        lines = [
            f"Standard Webhooks signature {f'BAD on {bad}' if bad else 'verified on every request'}"
        ]
        for number, hooks in by_update(self._results):
            answers = ", ".join(str(h.answer) for h in hooks)
            retried = ""
            if hooks[0].answer == 503 and len({h.webhook_id for h in hooks}) == 1 < len(hooks):
                retried = " (a forced 503; the retry kept its webhook-id)"
            errors = "".join(f"; REJECTED ({h.error})" for h in hooks if h.error)
            lines.append(
                f"update {number}: incident {hooks[-1].incident}, status {hooks[-1].status}; "
                f"answered {answers}{retried}{errors}"
            )
        return lines

    def verified(self) -> bool:
        """Every request signed; each update taken once, under its own webhook-id."""
        updates = by_update(self._results)
        ids = [{h.webhook_id for h in hooks} for _, hooks in updates]
        return (
            every_update_arrived(updates)
            and all(h.error is None for h in self._results)
            and all(sum(h.answer == 201 for h in hooks) == 1 for _, hooks in updates)
            and all(len(one) == 1 for one in ids)
            and len(set.union(*ids)) == len(updates)
            and len({h.incident for h in self._results}) == 1
        )


class _Hook(NamedTuple):
    """One webhook request: the update it belongs to, its id, its verdict, its answer."""

    update: int
    webhook_id: str | None
    error: str | None
    answer: int
    incident: str | None = None
    status: str | None = None
