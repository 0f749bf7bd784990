"""Slack's errors: an HTTP 200 ``{"ok": false, "error": …}`` or an error status, classified.

Rate limits are transient (``Retry-After``); token errors are ``AuthError``; errors Slack
says may follow a post (``internal_error``) are ``Unconfirmed``, so the channel looks
the message up before posting again; the rest are permanent, with a hint.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from .._errors import AuthError, ChannelError, PermanentError, TransientError, Unconfirmed
from .._redact import excerpt
from .._retry import retry_after_from_headers

__all__ = ["checked", "slack_errors"]

_AUTH = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "ekm_access_denied",
        "not_allowed_token_type",
    }
)
_HINTS = {
    "channel_not_found": "no such channel: use the channel's id (C…), and invite the app",
    "not_in_channel": "the app is not in the channel: /invite it there",
    "is_archived": "the channel is archived",
    "msg_too_long": "the message is too long for Slack",
    "msg_blocks_too_long": "the blocks are too long for Slack",
    "invalid_blocks": "Slack refused the blocks",
    "restricted_action": "a workspace setting stops the app posting there",
    "missing_scope": "the token lacks a scope (chat:write; channels:history to check re-sends)",
    "invalid_auth": "the token is not valid",
    "token_revoked": "the token was revoked",
}
_MAYBE_DONE = frozenset({"internal_error", "fatal_error", "request_timeout"})
"""Errors Slack says may come after the message was posted."""
_TRANSIENT = frozenset({"ratelimited", "rate_limited", "service_unavailable", "team_added_to_org"})


def slack_errors(response: httpx.Response, *, now: float | None = None) -> ChannelError | None:
    """The error in a Slack Web API answer (HTTP 200 ``ok: false`` or an error status)."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) and body.get("ok") is False else None
    wait = retry_after_from_headers(response.headers, now=time.time() if now is None else now)
    if response.status_code == 429 or error in _TRANSIENT:
        return TransientError(f"Slack: rate limited ({error or 'HTTP 429'})", retry_after=wait)
    if not isinstance(error, str):
        return None
    said = excerpt(error, 80)
    hint = f": {_HINTS[error]}" if error in _HINTS else ""
    if error in _AUTH:
        return AuthError(f"Slack refused the token ({said}){hint}", code=said)
    if error in _MAYBE_DONE:
        return Unconfirmed(f"Slack: {said} (it may have been posted)", code=said)
    return PermanentError(f"Slack: {said}{hint}", code=said)


def checked(response: httpx.Response) -> dict[str, Any]:
    """The JSON of an ``ok: true`` answer, else its classified error."""
    if (error := slack_errors(response)) is not None:
        raise error
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or body.get("ok") is not True:
        raise PermanentError(
            f"HTTP {response.status_code} from Slack without ok: true "
            "(it may have been posted, so it is not sent again)"
        )
    return body
