"""broadcast.http: the toolkit a channel author uses to send like the built-ins do."""

from __future__ import annotations

import logging

import httpx
import pytest

import broadcast
import broadcast.http
from broadcast import AuthError, NotSent, PermanentError, TransientError, Unconfirmed
from broadcast._redact import redact
from broadcast.http import ClientSlot, check_response, get, post, register_secret


def test_the_toolkit_is_public() -> None:
    """A channel author finds classification, the client slot and secret masking in one place."""
    for name in ("check_response", "post", "get", "request", "ClientSlot", "new_client"):
        assert name in broadcast.http.__all__
    for name in ("NotSent", "Unconfirmed", "TransientError", "PermanentError", "AuthError"):
        assert getattr(broadcast.http, name) is getattr(broadcast, name)
    assert broadcast.register_secret is register_secret


def _answer(status: int, **headers: str) -> httpx.Response:
    request = httpx.Request("POST", "https://api.acme.example/v1/post")
    return httpx.Response(status, headers=headers, request=request)


@pytest.mark.parametrize(
    ("status", "error"),
    [(429, TransientError), (503, TransientError), (401, AuthError), (404, PermanentError)],
)
def test_statuses_are_classified_like_the_builtins(status: int, error: type[Exception]) -> None:
    """check_response: 429/5xx try later, 401 credentials, other 4xx permanent."""
    with pytest.raises(error) as info:
        check_response(_answer(status, **{"retry-after": "7"}), wall_clock=lambda: 0.0)
    if error is TransientError:
        assert info.value.retry_after == 7.0  # type: ignore[attr-defined]


def test_a_rate_limit_reset_header_sets_retry_after() -> None:
    """x-ratelimit-reset (epoch seconds) is read as the wait, like Retry-After."""
    with pytest.raises(TransientError) as info:
        check_response(
            _answer(429, **{"x-ratelimit-reset": "1700000030"}), wall_clock=lambda: 1.7e9
        )
    assert info.value.retry_after == 30.0


async def test_nothing_sent_and_unanswered_are_told_apart() -> None:
    """A refused connection is NotSent; a request that went out unanswered is Unconfirmed."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def hang_up(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
        with pytest.raises(NotSent):
            await post(client, "https://api.acme.example/v1/post", content=b"{}")
    async with httpx.AsyncClient(transport=httpx.MockTransport(hang_up)) as client:
        with pytest.raises(Unconfirmed):
            await post(client, "https://api.acme.example/v1/post", content=b"{}")


async def test_a_plugin_secret_is_masked_in_httpx_log_and_redact(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """broadcast.register_secret: a plugin's token in a URL never reaches httpx's INFO log."""
    token = "plugin-tok-51f0c2aa"
    broadcast.register_secret(token)
    slot = ClientSlot(
        httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    )
    with caplog.at_level(logging.INFO, logger="httpx"):
        await get(slot.get(), f"https://api.acme.example/me?token={token}")
    await slot.get().aclose()
    assert "HTTP Request: GET" in caplog.text
    assert token not in caplog.text
    assert redact(f"Bearer {token}") == "Bearer ***"
