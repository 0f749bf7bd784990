"""Masking secrets in free text: known shapes, registered values, and their encodings."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcast._redact import base64_fragments, excerpt, redact, register_secret, safe_origin


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


# --- base64 of a secret, wherever it sits in a longer string ------------------------

SECRET_PASSWORD = "CANARYredactpass42"
"""Registered once for these tests, as a channel registers its password."""
register_secret(SECRET_PASSWORD)


def _stable_part(value: bytes, offset: int) -> str:
    """Worked out differently from the library: the characters on which encodings with
    all-zero and all-one neighbours agree, between the first and last disagreement."""
    after = 3 + -(offset + len(value)) % 3  # a whole number of groups: no padding
    low = base64.b64encode(b"\0" * offset + value + b"\0" * after).decode()
    high = base64.b64encode(b"\xff" * offset + value + b"\xff" * after).decode()
    same = [i for i, (a, b) in enumerate(zip(low, high, strict=True)) if a == b]
    return low[same[0] : same[-1] + 1]


@pytest.mark.parametrize("value", ["abcdef", SECRET_PASSWORD, "pässwörd-ü€", "x" * 40])
def test_base64_fragments_are_the_parts_no_neighbour_changes(value: str) -> None:
    """For each of the 3 offsets in a base64 group, the fragment is what never varies."""
    expected = {_stable_part(value.encode(), offset) for offset in range(3)}
    expected |= {f.replace("+", "-").replace("/", "_") for f in expected}
    assert base64_fragments(value) == expected


@pytest.mark.parametrize("before", ["", "a", "ab", "user:", "\0user\0", "AC" + "5" * 32 + ":"])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_a_secret_inside_base64_is_masked_at_every_offset(
    before: str, encode: Callable[[bytes], bytes]
) -> None:
    """user:password, AUTH PLAIN, Twilio's SID:token: the whole base64 run is masked."""
    encoded = encode(f"{before}{SECRET_PASSWORD}!tail".encode()).decode()
    assert redact(f"535 5.7.8 rejected AUTH PLAIN {encoded} (bad)") == (
        "535 5.7.8 rejected AUTH PLAIN *** (bad)"
    )
    assert redact(f'{{"echo":"{encoded}"}}') == '{"echo":"***"}'


@given(
    before=st.binary(max_size=12),
    after=st.binary(max_size=12),
    url_safe=st.booleans(),
    padded=st.booleans(),
)
@settings(max_examples=300, deadline=None)
def test_no_bit_of_an_encoded_secret_survives(
    before: bytes, after: bytes, url_safe: bool, padded: bool
) -> None:
    """Any bytes around the secret, either alphabet, padding or not: nothing is left."""
    encode = base64.urlsafe_b64encode if url_safe else base64.b64encode
    encoded = encode(before + SECRET_PASSWORD.encode() + after).decode()
    encoded = encoded if padded else encoded.rstrip("=")
    assert redact(f"said: {encoded}.") == "said: ***."


def test_base64_without_a_secret_is_left_alone() -> None:
    """Other base64 (ids, signatures) is not masked; nor is a mere part of a secret."""
    other = base64.b64encode(b"webhook-id:msg_2ZCjV0dXjN9fT9Vh").decode()
    half = base64.b64encode(SECRET_PASSWORD[:5].encode()).decode()
    text = f"ids {other} and {half}"
    assert redact(text) == text


def test_an_excerpt_masks_before_it_cuts() -> None:
    """A secret straddling the length limit is masked, not cut into a recognisable half."""
    encoded = base64.b64encode(f"AC{'5' * 32}:{SECRET_PASSWORD}".encode()).decode()
    for text in (f"{'x' * 190} {SECRET_PASSWORD}", f"{'x' * 190} {encoded}"):
        cut = excerpt(text, 200)
        assert SECRET_PASSWORD[:6] not in cut
        assert encoded[:12] not in cut
        assert cut.endswith("***")
    assert excerpt("  many\n  lines\tof text  ") == "many lines of text"
    assert excerpt("y" * 300, 200) == "y" * 199 + "…"
