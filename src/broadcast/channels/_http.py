"""The built-in channels' name for the toolkit: everything is in ``broadcast.http``."""

from __future__ import annotations

from ..http import (
    CONNECT_TIMEOUT,
    MAX_RESPONSE_BYTES,
    PROGRESS,
    ClientSlot,
    SendProgress,
    check_response,
    get,
    json_field,
    new_client,
    post,
    provider_message,
    request,
)

__all__ = [
    "CONNECT_TIMEOUT",
    "MAX_RESPONSE_BYTES",
    "PROGRESS",
    "ClientSlot",
    "SendProgress",
    "check_response",
    "get",
    "json_field",
    "new_client",
    "post",
    "provider_message",
    "request",
]
