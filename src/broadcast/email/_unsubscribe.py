"""One-click unsubscribe (RFC 8058): a per-recipient HMAC token, and its check.

A token is ``<address, base64url>.<first 16 bytes of HMAC-SHA256, base64url>``. The
receiving endpoint gets the address back from the token itself, and knows the token
came from the sender because only the holder of the secret can make its MAC: so the
one-click POST needs no cookie and no login. Nothing here does I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from urllib.parse import quote

from pydantic import SecretStr

from .._redact import register_secret

__all__ = ["Unsubscribe", "unsubscribe_token", "verify_unsubscribe_token"]

_MAC_BYTES = 16
_MIN_SECRET = 16
_CONTEXT = b"broadcast-unsubscribe\0"


def _key(secret: str | bytes | SecretStr) -> bytes:
    if isinstance(secret, SecretStr):
        secret = secret.get_secret_value()
    key = secret.encode() if isinstance(secret, str) else bytes(secret)
    if len(key) < _MIN_SECRET:
        raise ValueError(f"the unsubscribe secret must be at least {_MIN_SECRET} bytes")
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, address: bytes) -> bytes:
    return hmac.new(key, _CONTEXT + address, hashlib.sha256).digest()[:_MAC_BYTES]


def unsubscribe_token(address: str, *, secret: str | bytes | SecretStr) -> str:
    """The token that proves ``address`` was mailed by the holder of ``secret``."""
    raw = address.strip().lower().encode("utf-8")
    return f"{_b64(raw)}.{_b64(_mac(_key(secret), raw))}"


def verify_unsubscribe_token(token: str, *, secret: str | bytes | SecretStr) -> str:
    """The address a token was made for; ``ValueError`` if it is malformed or was altered.

    Call it in the endpoint behind the ``List-Unsubscribe`` URL: on a POST of
    ``List-Unsubscribe=One-Click`` unsubscribe the address it returns, with no cookie,
    login or confirmation; on a GET only show a page whose button makes that POST.
    """
    left, dot, right = token.strip().partition(".")
    try:
        raw, mac = _unb64(left), _unb64(right)
    except (binascii.Error, ValueError):
        raise ValueError("unsubscribe token is not base64url") from None
    if not dot or not raw or not hmac.compare_digest(mac, _mac(_key(secret), raw)):
        raise ValueError("unsubscribe token does not verify: altered, or another secret")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:  # pragma: no cover - a MAC that verified was made by us
        raise ValueError("unsubscribe token holds no address") from None


class Unsubscribe:
    """Per-recipient ``List-Unsubscribe`` URIs: an ``https://`` URL with a token, and mailto.

    ``url`` holds ``{token}`` where the token goes, e.g.
    ``https://status.example.com/unsubscribe/{token}``. ``mailto`` is an address (or a
    ``mailto:`` URI) that unsubscribes whoever writes to it. ``secret`` makes the tokens
    (at least 16 bytes; keep it: tokens already mailed verify only with it).
    """

    __slots__ = ("_mailto", "_secret", "url")

    def __init__(
        self, url: str, *, secret: str | bytes | SecretStr, mailto: str | None = None
    ) -> None:
        if not url.startswith("https://") or url.count("{token}") != 1:
            raise ValueError(
                f"unsubscribe url must be https:// and hold {{token}} once, got {url!r}"
            )
        if any(c in url for c in "<>,\r\n \t"):
            raise ValueError("unsubscribe url must not hold spaces, commas or angle brackets")
        key = _key(secret)
        register_secret(key.decode("utf-8", "replace"))
        self.url = url
        self._secret = key
        if mailto is not None:
            address = mailto.removeprefix("mailto:").partition("?")[0]
            if "@" not in address or any(c in mailto for c in "<>,\r\n \t"):
                raise ValueError(f"unsubscribe mailto must be an address, got {mailto!r}")
            mailto = f"mailto:{address}?subject=unsubscribe"
        self._mailto = mailto

    def __repr__(self) -> str:
        return f"Unsubscribe(url={self.url!r}, mailto={self._mailto!r})"

    def link(self, address: str) -> str:
        """The one-click URL for ``address``."""
        token = unsubscribe_token(address, secret=self._secret)
        return self.url.replace("{token}", quote(token, safe=""))

    def header(self, address: str) -> str:
        """The ``List-Unsubscribe`` value for ``address``: ``<https://...>, <mailto:...>``."""
        uris = [f"<{self.link(address)}>"]
        if self._mailto:
            uris.append(f"<{self._mailto}>")
        return ", ".join(uris)
