"""``broadcast check`` for email (SPF, DKIM, DMARC in DNS) and the deliverability variables."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from broadcast import ConfigError, Update
from broadcast.channels import Email
from broadcast.config import Env, channels_from_env
from broadcast.email import DKIM

from ..dns_server import txt_server
from ..smtp_server import Recorder, smtp_server

SENDER = "PSN Status <status@example.com>"
SECRET = "unsubscribe-secret-0123456789"
URL = "https://status.example.com/unsubscribe/{token}"


@pytest.fixture
def port() -> Iterator[int]:
    with smtp_server(Recorder()) as p:
        yield p


def _email(port: int, **options: Any) -> Email:
    options.setdefault("recipients", ["alex@example.com"])
    return Email("127.0.0.1", port, sender=SENDER, tls="none", **options)


# --- broadcast check: SPF, DKIM and DMARC in DNS -------------------------------------


def _records(signer: DKIM, **changes: list[str]) -> dict[str, list[str]]:
    records = {
        "example.com": ["v=spf1 ip4:127.0.0.1 -all", "google-site-verification=abc"],
        "_dmarc.example.com": ["v=DMARC1; p=none; rua=mailto:dmarc@example.com"],
        signer.record_name: [signer.record()],
    }
    return records | changes


async def test_check_confirms_spf_dkim_and_dmarc(port: int, signer: DKIM) -> None:
    """All three records published, the DNS key the configured one's: the check passes."""
    async with txt_server(_records(signer)) as (resolver, asked):
        detail = await _email(port, dkim=signer, resolver=resolver).check()
    assert "SPF at example.com: v=spf1 ip4:127.0.0.1 -all" in detail
    assert "DMARC at _dmarc.example.com: p=none" in detail
    assert f"DKIM at crisis2026._domainkey.example.com: {signer.algorithm}, matches" in detail
    assert sorted(asked) == sorted(["example.com", "_dmarc.example.com", signer.record_name])


async def test_check_names_each_missing_or_wrong_record(
    port: int, signer: DKIM, rsa_pem: str, ed25519_seed: str
) -> None:
    """No DMARC, two SPF records and another key in DNS: the check fails naming each."""
    other = DKIM(
        selector="crisis2026",
        domain="example.com",
        private_key=ed25519_seed if signer.algorithm.startswith("rsa") else rsa_pem,
    )
    records = _records(signer, **{"example.com": ["v=spf1 -all", "v=spf1 a -all"]})
    records[signer.record_name] = [other.record()]
    del records["_dmarc.example.com"]
    async with txt_server(records) as (resolver, _):
        with pytest.raises(ConfigError) as caught:
            await _email(port, dkim=signer, resolver=resolver).check()
    said = str(caught.value)
    assert "answered EHLO" in said
    assert "2 SPF records at example.com" in said
    assert 'no DMARC record: publish TXT at _dmarc.example.com: "v=DMARC1; p=none' in said
    assert "is not the configured private key's" in said
    assert signer.record() in said


async def test_check_without_a_dkim_key_says_bulk_mail_needs_one(port: int, signer: DKIM) -> None:
    """A resolver but no DKIM: the check fails saying bulk mail must be signed."""
    async with txt_server(_records(signer)) as (resolver, _):
        with pytest.raises(ConfigError, match="no DKIM key configured"):
            await _email(port, resolver=resolver).check()


async def test_a_pkcs1_key_in_dns_matches_the_same_rsa_key(port: int, rsa_pem: str) -> None:
    """p= holding a PKCS#1 RSAPublicKey (not SPKI) is still recognised as the same key."""
    signer = DKIM(selector="s1", domain="example.com", private_key=rsa_pem)
    key = serialization.load_pem_private_key(rsa_pem.encode(), password=None).public_key()
    pkcs1 = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    records = _records(
        signer, **{signer.record_name: [f"v=DKIM1; k=rsa; p={base64.b64encode(pkcs1).decode()}"]}
    )
    async with txt_server(records) as (resolver, _):
        assert (
            "matches the private key" in await _email(port, dkim=signer, resolver=resolver).check()
        )


async def test_dkim_not_aligned_with_the_sender_fails_the_check(port: int, rsa_pem: str) -> None:
    """d= of another domain than From is not DMARC-aligned: the check says so."""
    signer = DKIM(selector="s1", domain="mailer.example.net", private_key=rsa_pem)
    async with txt_server(_records(signer)) as (resolver, _):
        with pytest.raises(ConfigError, match=r"not aligned with the sender domain example\.com"):
            await _email(port, dkim=signer, resolver=resolver).check()


# --- configuration from the environment ----------------------------------------------

SMTP_ENV = {
    "BROADCAST_SMTP_HOST": "smtp.example.com",
    "BROADCAST_SMTP_SENDER": SENDER,
    "BROADCAST_SMTP_RECIPIENTS": "alex@example.com",
}


def test_every_deliverability_variable_reaches_the_channel(
    rsa_pem: str, tmp_path: Path, update: Update
) -> None:
    """DKIM (key from @file), unsubscribe, List-Id, suppression and rates are read from env."""
    key = tmp_path / "dkim.pem"
    key.write_text(rsa_pem, encoding="utf-8")
    suppressed = tmp_path / "suppressed.txt"
    suppressed.write_text("gone@example.com\n", encoding="utf-8")
    env = Env(
        SMTP_ENV
        | {
            "BROADCAST_SMTP_DKIM_SELECTOR": "crisis2026",
            "BROADCAST_SMTP_DKIM_KEY": f"@{key}",
            "BROADCAST_SMTP_UNSUBSCRIBE_URL": URL,
            "BROADCAST_SMTP_UNSUBSCRIBE_SECRET": SECRET,
            "BROADCAST_SMTP_UNSUBSCRIBE_MAILTO": "unsubscribe@example.com",
            "BROADCAST_SMTP_LIST_ID": "status.example.com",
            "BROADCAST_SMTP_SUPPRESS": f"@{suppressed}",
            "BROADCAST_SMTP_DOMAIN_RATES": "gmail.com=20, *=5",
        }
    )
    [channel] = channels_from_env(env)
    assert isinstance(channel, Email)
    assert "DKIM(selector='crisis2026', domain='example.com', rsa-sha256)" in repr(channel)
    template = channel.render(update).template
    assert b"List-Id: <status.example.com>\r\n" in template
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in template
    assert channel._pacer is not None
    assert (channel._pacer.rate("gmail.com"), channel._pacer.rate("yahoo.com")) == (20.0, 5.0)
    assert repr(channel._suppress) == f"Suppression({str(suppressed)!r})"


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"BROADCAST_SMTP_DKIM_SELECTOR": "s1"}, "BROADCAST_SMTP_DKIM_KEY"),
        ({"BROADCAST_SMTP_DKIM_KEY": "abc"}, "BROADCAST_SMTP_DKIM_SELECTOR"),
        (
            {"BROADCAST_SMTP_DKIM_SELECTOR": "s1", "BROADCAST_SMTP_DKIM_KEY": "bm90IGEga2V5"},
            "BROADCAST_SMTP_DKIM_KEY",
        ),
        ({"BROADCAST_SMTP_UNSUBSCRIBE_URL": URL}, "BROADCAST_SMTP_UNSUBSCRIBE_SECRET"),
        (
            {
                "BROADCAST_SMTP_UNSUBSCRIBE_URL": "https://x.example/u",
                "BROADCAST_SMTP_UNSUBSCRIBE_SECRET": SECRET,
            },
            "BROADCAST_SMTP_UNSUBSCRIBE_URL",
        ),
        (
            {"BROADCAST_SMTP_LIST_ID": "not an id"},
            "BROADCAST_SMTP_LIST_ID",
        ),
        ({"BROADCAST_SMTP_SUPPRESS": "@/no/such/file"}, "BROADCAST_SMTP_SUPPRESS"),
        ({"BROADCAST_SMTP_DNS_SERVER": "dns.example"}, "BROADCAST_SMTP_DNS_SERVER"),
        ({"BROADCAST_SMTP_DNS_SERVER": "127.0.0.1:0"}, "BROADCAST_SMTP_DNS_SERVER"),
        ({"BROADCAST_SMTP_DOMAIN_RATES": "gmail.com=fast"}, "BROADCAST_SMTP_DOMAIN_RATES"),
    ],
)
def test_deliverability_variables_are_named_in_errors(
    changes: dict[str, str], variable: str
) -> None:
    """Each missing or malformed deliverability variable gives an error naming it."""
    with pytest.raises(ConfigError, match=variable):
        channels_from_env(Env(SMTP_ENV | changes))
