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

__all__ = [
    "base64_fragments",
    "describe",
    "excerpt",
    "guard_loggers",
    "mask_known",
    "redact",
    "register_secret",
    "safe_origin",
]

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
_fragments: set[str] = set()
"""The base64 text of each secret that shows whatever bytes are encoded around it."""
_encoded: re.Pattern[str] | None = None
"""Finds any of ``_fragments``."""
_RUN = re.compile(r"[A-Za-z0-9+/_-]+=*")
"""A run of base64 text, standard or URL-safe alphabet, with its padding."""
_URL_SAFE = str.maketrans("+/", "-_")
_GUARDED = (
    "httpx",
    "httpcore",
    "aiohttp",
    "aiosmtplib",
    "oauthlib",
    "apprise",
    "urllib3",
    "broadcast",
)
"""Loggers of the libraries broadcast drives: httpx logs every request's full URL, and
oauthlib logs the OAuth 1.0a parameters at DEBUG; Apprise, and urllib3 under it, the URLs
they post to. And broadcast's own, for a library
user's log handlers."""
_SHORTEST = 6
"""Shorter values are not registered: masking them would garble unrelated text."""


def register_secret(*values: str | None) -> None:
    """Mask these values in ``redact`` and libraries' logs: plain, URL-encoded and base64.

    A last line of defence for what broadcast does not word itself: httpx logs each
    request's URL at INFO, and a chat-style webhook URL carries its token in the path.
    A provider may echo the credentials it was sent, base64 and all (Basic auth,
    SMTP AUTH PLAIN), with the secret anywhere inside a longer base64 string.
    """
    global _encoded  # noqa: PLW0603 - one registry per process, like the loggers it guards
    new = {v for v in values if v and len(v) >= _SHORTEST} - _known
    if not new:
        return
    _known.update(new)
    forms = {form for v in _known for form in (v, quote(v, safe=""))}
    _longest_first[:] = sorted(forms, key=len, reverse=True)
    _fragments.update(f for v in new for f in base64_fragments(v))
    ordered = sorted(_fragments, key=len, reverse=True)
    _encoded = re.compile("|".join(re.escape(f) for f in ordered))
    guard_loggers()


def guard_loggers() -> None:
    """Mask secrets in the guarded libraries' loggers, those created since included.

    A logger's filters see only its own records, not its children's, so each one is
    guarded; a library imported after a secret was registered (Apprise brings urllib3's
    ``urllib3.connectionpool``) calls this once it is imported.
    """
    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] in _GUARDED]
    for name in {*_GUARDED, *names}:
        logging.getLogger(name).addFilter(_MASKING)  # addFilter ignores a repeat


def base64_fragments(value: str) -> set[str]:
    r"""The base64 text that ``value`` always encodes to, whatever bytes surround it.

    Base64 turns each 3 bytes into 4 characters, so a value inside a longer string
    (``user:password`` in Basic auth, ``\0user\0password`` in SMTP AUTH PLAIN) starts
    at byte 0, 1 or 2 of a group. For each of the three, the characters made only of
    the value's own bits are the same whatever comes before and after; the one or two
    at each end, mixed with the neighbouring bytes, are left out. Each fragment is
    given in the standard and the URL-safe alphabet.
    """
    data = value.encode()
    found: set[str] = set()
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + data + bytes(3)).decode()
        first = -(-8 * offset // 6)  # the first character whose 6 bits are all the value's
        end = 8 * (offset + len(data)) // 6  # past the last one
        found |= {encoded[first:end], encoded[first:end].translate(_URL_SAFE)}
    return found


def mask_known(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``.

    A base64 run holding a secret's encoding is masked whole: its first and last
    characters carry a few of the secret's bits too.
    """
    for secret in _longest_first:
        if secret in text:
            text = text.replace(secret, MASK)
    if _encoded is not None and _encoded.search(text):
        text = _RUN.sub(_mask_run, text)
    return text


def _mask_run(run: re.Match[str]) -> str:
    assert _encoded is not None  # noqa: S101 - only called once it is set
    return MASK if _encoded.search(run.group()) else run.group()


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


def excerpt(text: str, limit: int = 200) -> str:
    """What a provider said, on one line, masked, then cut to ``limit`` characters.

    Masked before it is cut: a secret cut in half is no longer recognised as one.
    """
    text = redact(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
