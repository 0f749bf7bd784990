from __future__ import annotations

import httpx
import pytest
import respx

import broadcast
from broadcast import AuthError, PermanentError, TransientError
from broadcast.channels._http import check_response, new_client, post, provider_message

URL = "https://cms.example.com/hooks/T0KEN-IN-PATH?sig=abc123"


@pytest.fixture
def mock() -> respx.MockRouter:
    with respx.mock(assert_all_called=False, using="httpx") as router:
        yield router


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.ConnectTimeout(""),
        httpx.ReadTimeout(""),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("[Errno 104] Connection reset by peer"),
    ],
)
async def test_network_failures_are_transient(mock: respx.MockRouter, exc: Exception) -> None:
    """Refused, reset and timed-out connections raise TransientError naming only the origin."""
    mock.post(URL).mock(side_effect=exc)
    async with httpx.AsyncClient() as client:
        with pytest.raises(TransientError) as info:
            await post(client, URL, content=b"{}")
    text = str(info.value)
    assert text.startswith(f"{type(exc).__name__} talking to https://cms.example.com")
    assert "T0KEN" not in text
    assert "abc123" not in text


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504, 599])
async def test_transient_statuses(mock: respx.MockRouter, status: int) -> None:
    """408, 425, 429 and every 5xx are TransientError."""
    mock.post(URL).respond(status)
    async with httpx.AsyncClient() as client:
        with pytest.raises(TransientError):
            await post(client, URL)


async def test_429_carries_rate_limit_reset(mock: respx.MockRouter) -> None:
    """A 429 with x-rate-limit-reset carries the seconds until the reset."""
    mock.post(URL).respond(429, headers={"x-rate-limit-reset": "1303336860"})
    async with httpx.AsyncClient() as client:
        with pytest.raises(TransientError) as info:
            await post(client, URL, wall_clock=lambda: 1_303_336_800.0)
    assert info.value.retry_after == 60.0


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, PermanentError),
        (401, AuthError),
        (403, AuthError),
        (404, PermanentError),
        (410, PermanentError),
        (413, PermanentError),
        (301, PermanentError),
    ],
)
async def test_permanent_statuses(mock: respx.MockRouter, status: int, kind: type) -> None:
    """Other 4xx (and 3xx) are permanent; 401/403 are AuthError."""
    mock.post(URL).respond(status)
    async with httpx.AsyncClient() as client:
        with pytest.raises(kind) as info:
            await post(client, URL)
    assert not info.value.transient
    assert f"HTTP {status}" in str(info.value)


def _response(status: int, **kwargs: object) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("POST", URL), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {
                "json": {
                    "title": "Forbidden",
                    "detail": "You are not allowed.",
                    "type": "about:blank",
                    "status": 403,
                }
            },
            "You are not allowed.",
        ),
        (
            {"json": {"error": {"message": "Invalid OAuth access token.", "code": 190}}},
            "Invalid OAuth access token.",
        ),
        (
            {"json": {"message": "The 'To' number is not valid.", "code": 21211}},
            "The 'To' number is not valid.",
        ),
        (
            {"text": "upstream   exploded\n", "headers": {"content-type": "text/plain"}},
            "upstream exploded",
        ),
        (
            {
                "content": b"<html>nope</html>",
                "headers": {"content-type": "application/octet-stream"},
            },
            "",
        ),
        ({"json": ["unexpected", "shape"]}, ""),
    ],
)
def test_provider_message_shapes(kwargs: dict[str, object], expected: str) -> None:
    """problem+json, Graph-style, Twilio-style and plain-text errors give a short message."""
    assert provider_message(_response(400, **kwargs)) == expected


def test_provider_message_is_truncated_and_redacted() -> None:
    """A long provider message is cut to one short line and secrets in it are masked."""
    text = "bad token access_token=EAAB1234567890 " + "x" * 500
    said = provider_message(_response(400, json={"message": text}))
    assert len(said) <= 200
    assert "EAAB1234567890" not in said


def test_success_passes() -> None:
    """2xx responses return quietly."""
    for status in (200, 201, 202, 204):
        check_response(_response(status))


@pytest.mark.parametrize("status", [501, 505])
async def test_unfixable_5xx_are_permanent(mock: respx.MockRouter, status: int) -> None:
    """501 Not Implemented and 505 HTTP Version Not Supported are not retried."""
    mock.post(URL).respond(status)
    async with httpx.AsyncClient() as client:
        with pytest.raises(PermanentError):
            await post(client, URL)


async def test_redirects_never_followed_even_by_a_following_client(
    mock: respx.MockRouter,
) -> None:
    """A client configured to follow redirects still does not re-send the body elsewhere."""
    mock.post(URL).respond(302, headers={"location": "https://evil.example/"})
    elsewhere = mock.post("https://evil.example/").respond(200)
    async with httpx.AsyncClient(follow_redirects=True) as client:
        with pytest.raises(PermanentError, match="redirects are not followed"):
            await post(client, URL, content=b"{}")
    assert not elsewhere.called


async def test_new_client_identifies_broadcast(mock: respx.MockRouter) -> None:
    """broadcast's own clients send a broadcast/<version> user agent and connect within 5s.

    No idle read timeout: the request's own deadline bounds the whole exchange.
    """
    route = mock.post(URL).respond(200)
    async with new_client() as client:
        await post(client, URL, timeout=30)
    assert route.calls.last.request.headers["user-agent"] == f"broadcast/{broadcast.__version__}"
    assert route.calls.last.request.extensions["timeout"]["connect"] == 5.0
    assert route.calls.last.request.extensions["timeout"]["read"] is None
    assert route.calls.last.request.extensions["timeout"]["pool"] == 30
