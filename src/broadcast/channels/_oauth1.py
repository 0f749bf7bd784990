"""OAuth 1.0a request signing for httpx, done by oauthlib (RFC 5849).

Only form-encoded bodies are part of the signature (RFC 5849 §3.4.1.3.1); a JSON body
adds nothing, which is what X's v2 API expects.
"""

from __future__ import annotations

from collections.abc import Generator

import httpx
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, Client
from pydantic import SecretStr

from .._redact import register_secret

__all__ = ["OAuth1"]

_FORM = "application/x-www-form-urlencoded"


class OAuth1(httpx.Auth):
    """Signs each request with HMAC-SHA1 as a user (consumer key + access token)."""

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: SecretStr,
        access_token: str,
        access_token_secret: SecretStr,
        *,
        nonce: str | None = None,
        timestamp: str | None = None,
    ) -> None:
        self._consumer_key = SecretStr(consumer_key)
        self._consumer_secret = consumer_secret
        self._access_token = SecretStr(access_token)
        register_secret(consumer_key, access_token)  # oauthlib logs both at DEBUG
        self._access_token_secret = access_token_secret
        self._nonce = nonce  # pinned only by tests
        self._timestamp = timestamp

    def __repr__(self) -> str:
        return "OAuth1(<credentials hidden>)"

    def authorization(self, method: str, url: str, body: bytes, content_type: str) -> str:
        """The ``Authorization`` header value for one request."""
        client = Client(
            self._consumer_key.get_secret_value(),
            client_secret=self._consumer_secret.get_secret_value(),
            resource_owner_key=self._access_token.get_secret_value(),
            resource_owner_secret=self._access_token_secret.get_secret_value(),
            signature_method=SIGNATURE_HMAC_SHA1,
            nonce=self._nonce,
            timestamp=self._timestamp,
        )
        form = content_type.split(";", maxsplit=1)[0].strip().lower() == _FORM
        _, headers, _ = client.sign(
            url,
            http_method=method.upper(),  # type: ignore[arg-type]  # httpx methods are upper-case
            body=body.decode() if form and body else None,
            headers={"Content-Type": content_type} if form else None,
        )
        return str(headers["Authorization"])

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the signed ``Authorization`` header."""
        request.headers["Authorization"] = self.authorization(
            request.method,
            str(request.url),
            request.content,
            request.headers.get("content-type", ""),
        )
        yield request
