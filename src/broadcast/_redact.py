"""Scrub secrets from free text before it reaches a Report, a log line or an error.

Channels build their reasons without secrets; this is the second line of defence for
text we do not control (a third-party channel's exception, a transport error).
"""

from __future__ import annotations

import base64
import logging
import re
from urllib.parse import quote, urlsplit

from ._errors import ChannelError

__all__ = ["describe", "mask_known", "redact", "register_secret", "safe_origin"]

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


_known: set[str] = set()
"""Secret values registered by channels: masked by ``redact`` and in libraries' logs."""
_longest_first: list[str] = []
_GUARDED = ("httpx", "httpcore", "aiohttp", "aiosmtplib", "oauthlib")
"""Loggers of the libraries broadcast drives: httpx logs every request's full URL, and
oauthlib logs the OAuth 1.0a parameters at DEBUG."""
_SHORTEST = 6
"""Shorter values are not registered: masking them would garble unrelated text."""


def register_secret(*values: str | None) -> None:
    """Mask these values (plain, URL-encoded and base64) in ``redact`` and libraries' logs.

    A last line of defence for what broadcast does not word itself: httpx logs each
    request's URL at INFO, and a chat-style webhook URL carries its token in the path.
    """
    new = {form for v in values if v and len(v) >= _SHORTEST for form in _forms(v)}
    if not new - _known:
        return
    _known.update(new)
    _longest_first[:] = sorted(_known, key=len, reverse=True)
    # A logger's filters see only its own records, not its children's: guard each one.
    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] in _GUARDED]
    for name in {*_GUARDED, *names}:
        logging.getLogger(name).addFilter(_MASKING)  # addFilter ignores a repeat


def _forms(value: str) -> tuple[str, str, str]:
    return value, quote(value, safe=""), base64.b64encode(value.encode()).decode()


def mask_known(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``."""
    for secret in _longest_first:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class _MaskKnown(logging.Filter):
    """Rewrites a record whose message contains a registered secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


_MASKING = _MaskKnown()


def redact(text: str) -> str:
    """Mask credentials: in URLs, bearer tokens, webhook secrets, key=value pairs.

    Also every value a channel registered with ``register_secret``.
    """
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return mask_known(text)


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
