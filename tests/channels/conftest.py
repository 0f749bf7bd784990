"""Fixtures shared by the channel tests: DKIM keys, made once per session."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from broadcast.email import DKIM


@pytest.fixture(scope="session")
def rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return pem.decode()


@pytest.fixture(scope="session")
def ed25519_seed() -> str:
    key = ed25519.Ed25519PrivateKey.generate()
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw).decode()  # the form dkimpy's dknewkey writes


@pytest.fixture(params=["rsa", "ed25519"])
def signer(request: pytest.FixtureRequest, rsa_pem: str, ed25519_seed: str) -> DKIM:
    key = rsa_pem if request.param == "rsa" else ed25519_seed
    return DKIM(selector="crisis2026", domain="example.com", private_key=key)
