from __future__ import annotations

import pytest

from broadcast._redact import redact, safe_origin


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "POST https://ops:hunter2@cms.example.com/x failed",
            "POST https://***@cms.example.com/x failed",
        ),
        ("Authorization: Bearer abcdefgh12345678", "Authorization: Bearer ***"),
        ("Basic b3BzOmh1bnRlcjI=", "Basic ***"),
        ("secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw here", "secret whsec_*** here"),
        ("GET /me?access_token=EAAB123&fields=name", "GET /me?access_token=***&fields=name"),
        ("api_key=abc password=p@ss", "api_key=*** password=***"),
        ("token ghp_16C7e42F292c6912E7710c838347Ae178B4a", "token ***"),
    ],
)
def test_secrets_are_masked(text: str, expected: str) -> None:
    """URL credentials, bearer/basic values, whsec_ secrets and key=value secrets are masked."""
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "HTTP 401 from https://api.x.com: token rejected",
        "timed out after 30s",
        "HTTP 503 Service Unavailable from http://127.0.0.1:8080",
    ],
)
def test_ordinary_text_is_untouched(text: str) -> None:
    """Reasons without secrets pass through unchanged."""
    assert redact(text) == text


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://u:p@hooks.example.com/services/T0/B0/XX?x=1", "https://hooks.example.com"),
        ("http://127.0.0.1:8025/hook", "http://127.0.0.1:8025"),
        ("http://[::1]:9000/", "http://[::1]:9000"),
    ],
)
def test_safe_origin(url: str, origin: str) -> None:
    """safe_origin keeps scheme, host and port only."""
    assert safe_origin(url) == origin
