"""How the Telegram Bot API and a Teams Workflows webhook misbehave, for ``ChaosServer``.

Telegram says "slow down" only in its body (``parameters.retry_after``), so a
throttle's Retry-After (seconds, an HTTP date, or a reset) is given there in seconds.
Teams answers 202 with an empty body and refuses with Logic Apps' ``{"error"}``.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

from .._loopback import RecordedRequest, Reply
from ._base import Shape, Throttle

__all__ = ["teams_shape", "telegram_shape"]


def _json(status: int, body: object, headers: dict[str, str] | None = None) -> Reply:
    return Reply(
        status, json.dumps(body).encode(), {"content-type": "application/json", **(headers or {})}
    )


def _seconds(fault: Throttle) -> float:
    if isinstance(fault.retry_after, datetime):
        return round(fault.retry_after.timestamp() - time.time())
    if fault.retry_after is not None:
        return float(fault.retry_after)
    return float(fault.reset_in or 1)


def telegram_shape() -> Shape:
    """Bot API ``sendMessage``: ``{"ok", "result": {"message_id"}}``, errors in the body."""

    def error(status: int, description: str, parameters: dict[str, float] | None = None) -> Reply:
        body: dict[str, object] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return _json(status, body)

    def success(request: RecordedRequest, serial: int) -> Reply:
        sent = json.loads(request.body)
        result = {"message_id": serial, "chat": {"id": sent["chat_id"]}, "text": sent["text"]}
        return _json(200, {"ok": True, "result": result})

    def throttled(fault: Throttle) -> Reply:
        wait = _seconds(fault)
        return error(429, f"Too Many Requests: retry after {wait:g}", {"retry_after": wait})

    return Shape(
        key=lambda r: str(json.loads(r.body)["chat_id"]),
        success=success,
        duplicate=None,  # Telegram posts a repeat as often as it is asked
        error=lambda status: error(status, "Internal Server Error"),
        throttled=throttled,
        no_id=json.dumps({"ok": True, "result": {}}).encode(),
    )


def teams_shape() -> Shape:
    """A Workflows trigger: 202 Accepted with an empty body, no id, no dedupe."""

    def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Reply:
        return _json(status, {"error": {"code": code, "message": message}}, headers)

    def throttled(fault: Throttle) -> Reply:
        return error(429, "TooManyRequests", "Rate limit", {"retry-after": f"{_seconds(fault):g}"})

    return Shape(
        key=lambda r: str(len(r.body)) + r.body[:64].decode(errors="replace"),
        success=lambda request, serial: Reply(202),
        duplicate=None,  # a flow posts every card it is given
        error=lambda status: error(status, "ServiceUnavailable", "The flow is unavailable"),
        throttled=throttled,
        no_id=b"",
        success_status=202,
    )
