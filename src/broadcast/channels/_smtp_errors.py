"""SMTP replies, classified by reply code and RFC 3463 enhanced status code.

* 4yz, and any ``4.x.x`` (421 4.7.0 "try later", 451 4.3.0): transient, retried with
  backoff for that recipient.
* ``5.1.1`` (no such user) and ``5.7.x`` (refused by policy): permanent for that
  recipient; the reason says which ("no such user", "policy").
* ``5.7.26`` (Gmail, Yahoo: unauthenticated, DMARC) and ``5.7.515`` (Microsoft: the
  domain does not meet the authentication level): no recipient at that receiver will
  get the mail until the sender's DNS records are fixed. ``SenderNotAuthenticated``
  (an ``AuthError``) stops the send at once, naming the records to publish: a
  configuration error, not millions of rejections.
"""

from __future__ import annotations

import re

import aiosmtplib

from .._errors import AuthError, ChannelError, PermanentError, TransientError
from .._redact import excerpt

__all__ = ["SenderNotAuthenticated", "by_code", "enhanced_code", "smtp_error"]

_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_STOPS_THE_SEND = {"5.7.26", "5.7.515"}
_CLASSES = {"5.1.1": "no such user", "5.1.10": "no such user", "5.2.1": "mailbox disabled"}


class SenderNotAuthenticated(AuthError):
    """The receiver refuses mail from the sender's domain until SPF, DKIM and DMARC pass."""


def enhanced_code(message: str) -> str | None:
    """The RFC 3463 status code at the start of an SMTP reply's text, e.g. ``5.7.26``."""
    match = _ENHANCED.search(message[:40])
    return ".".join(match.groups()) if match else None


def _what_to_publish(domain: str, dkim_record: str | None) -> str:
    dkim = dkim_record or f"<selector>._domainkey.{domain}, with DKIM signing configured"
    return (
        f"the receiver refuses unauthenticated mail from {domain}: publish and align "
        f"the DNS records SPF (TXT at {domain}), DKIM (TXT at {dkim}) and DMARC "
        f"(TXT at _dmarc.{domain}); `broadcast check` says which is missing"
    )


def by_code(
    code: int, message: str, *, domain: str = "", dkim_record: str | None = None
) -> ChannelError:
    """The error for an SMTP reply ``code`` with ``message`` (its text)."""
    text = f"SMTP {code} {excerpt(message, 500)}"
    status = enhanced_code(message)
    if 400 <= code < 500 or (status or "").startswith("4."):
        return TransientError(text, code=code)
    if status in _STOPS_THE_SEND:
        return SenderNotAuthenticated(f"{text}: {_what_to_publish(domain, dkim_record)}", code=code)
    if status in _CLASSES:
        return PermanentError(f"{text} ({_CLASSES[status]})", code=code)
    if status is not None and status.startswith("5.7."):
        return PermanentError(f"{text} (policy)", code=code)
    return PermanentError(text, code=code)


def smtp_error(exc: Exception, *, domain: str = "", dkim_record: str | None = None) -> ChannelError:
    """Classify an aiosmtplib error: 4xx and dropped connections are transient."""
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        # A server may echo the AUTH line it refused: base64 holding the password.
        return AuthError(f"SMTP {exc.code}: credentials rejected ({excerpt(exc.message, 500)})")
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        refusal = exc.recipients[0]
        return by_code(refusal.code, refusal.message, domain=domain, dkim_record=dkim_record)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return by_code(exc.code, exc.message, domain=domain, dkim_record=dkim_record)
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return PermanentError(f"SMTP server does not support it: {exc}")
    detail = excerpt(str(exc), 500) or type(exc).__name__
    return TransientError(f"SMTP connection problem: {detail}")
