"""Scrub secrets from free text before it reaches a Report, a log line or an error.

Channels build their reasons without secrets; this is the second line of defence for
text we do not control (a third-party channel's exception, a transport error).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ._errors import ChannelError

__all__ = ["describe", "redact", "safe_origin"]

MASK = "***"

_PATTERNS = (
    # credentials inside a URL: scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]*:[^/\s@]*@"), rf"\1{MASK}@"),
    # Authorization-style values
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {MASK}"),
    # "token <value>" only when the value looks like one (long, with a digit)
    (re.compile(r"(?i)\b(token)\s+(?=[A-Za-z._~+/=-]*\d)[A-Za-z0-9._~+/=-]{16,}"), rf"\1 {MASK}"),
    # Meta (Facebook) access tokens
    (re.compile(r"\bEAA[A-Za-z0-9]{16,}"), f"EAA{MASK}"),
    # Standard Webhooks secrets and keys
    (re.compile(r"\bwh(?:sec|sk|pk)_[A-Za-z0-9+/=]+"), f"whsec_{MASK}"),
    # key=value secrets in query strings or messages
    (
        re.compile(
            r"(?i)\b((?:access_?token|api_?key|auth_?token|secret|password|passwd|token|"
            r"signature|sig|appsecret_proof)=)[^&\s\"']+"
        ),
        rf"\1{MASK}",
    ),
)


def redact(text: str) -> str:
    """Mask credentials in URLs, bearer tokens, webhook secrets and key=value secrets."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def safe_origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: enough to say where, nothing to leak.

    Paths and query strings often carry tokens (chat webhooks put one in the path),
    so they are left out of reprs and reasons.
    """
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def describe(exc: BaseException) -> str:
    """One safe line for an exception: a channel's own message, else ``Type: message``."""
    if isinstance(exc, ChannelError):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return redact(" ".join(text.split()))
