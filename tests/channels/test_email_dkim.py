"""DKIM signing, one-click unsubscribe and the DNS checks of the email channel."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from collections.abc import Iterator
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from broadcast import Broadcaster, ConfigError, Outcome, Receipt, Update
from broadcast.channels import Email
from broadcast.channels._smtp_worker import SMTPWorker
from broadcast.config import Env, channels_from_env
from broadcast.email import DKIM, Unsubscribe, unsubscribe_token, verify_unsubscribe_token

from ..dns_server import txt_server
from ..smtp_server import Recorder, smtp_server

SENDER = "PSN Status <status@example.com>"
PEOPLE = ["alex@example.com", "sam@example.org", "robin@example.net"]
SECRET = "unsubscribe-secret-0123456789"
URL = "https://status.example.com/unsubscribe/{token}"
REQUIRED = {
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "list-unsubscribe",
    "list-unsubscribe-post",
}


@pytest.fixture(scope="module")
def rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return pem.decode()


@pytest.fixture(scope="module")
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


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def port(recorder: Recorder) -> Iterator[int]:
    with smtp_server(recorder) as p:
        yield p


def _email(port: int, **options: Any) -> Email:
    options.setdefault("recipients", PEOPLE)
    return Email("127.0.0.1", port, sender=SENDER, tls="none", **options)


async def _send(channel: Email, update: Update) -> Receipt:
    async with Broadcaster([channel], journal=None) as broadcaster:
        return (await broadcaster.send(update))[channel.name]


def _dns(signer: DKIM) -> Any:
    record = signer.record().encode()

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == f"{signer.record_name}.".encode() else None

    return dnsfunc


def _unsigned(content: bytes) -> bytes:
    """The message without its DKIM-Signature field (the first, folded over lines)."""
    return re.sub(rb"\ADKIM-Signature:.*?\r\n(?=\S)", b"", content, flags=re.S)


def _tags(content: bytes) -> dict[str, str]:
    head = content.split(b"\r\n\r\n", 1)[0].decode()
    [field] = re.findall(r"^DKIM-Signature:(.*?)\r\n(?!\s)", head, re.M | re.S)
    pairs = (p.split("=", 1) for p in "".join(field.split()).split(";") if p)
    return dict(pairs)


async def test_every_signed_message_verifies_as_the_server_received_it(
    recorder: Recorder, port: int, update: Update, signer: DKIM
) -> None:
    """The bytes aiosmtpd received pass dkim.verify, signing the required headers, relaxed."""
    unsubscribe = Unsubscribe(URL, secret=SECRET, mailto="unsubscribe@example.com")
    channel = _email(port, dkim=signer, unsubscribe=unsubscribe, list_id="status.example.com")
    receipt = await _send(channel, update)
    assert receipt.outcome is Outcome.DELIVERED
    assert len(recorder.messages) == 3
    for received in recorder.messages:
        assert dkim.verify(received.content, dnsfunc=_dns(signer))
        tags = _tags(received.content)
        assert set(tags["h"].split(":")) >= REQUIRED
        assert "list-id" in tags["h"].split(":")
        assert (tags["c"], tags["a"], tags["d"], tags["s"]) == (
            "relaxed/relaxed",
            signer.algorithm,
            "example.com",
            "crisis2026",
        )


async def test_the_exact_bytes_built_and_signed_are_the_bytes_received(
    recorder: Recorder, port: int, update: Update, signer: DKIM
) -> None:
    """The message built for a recipient verifies before sending, and arrives byte for byte."""
    unsubscribe = Unsubscribe(URL, secret=SECRET)
    channel = _email(port, recipients=PEOPLE[:1], dkim=signer, unsubscribe=unsubscribe)
    rendered = channel.render(update)
    prepared = signer.prepare(rendered.template, ["To", "Message-ID", "List-Unsubscribe"])
    built = SMTPWorker(channel, rendered, None, prepared)._message(PEOPLE[0])  # type: ignore[arg-type]
    assert dkim.verify(built, dnsfunc=_dns(signer))
    await _send(channel, update)
    [received] = recorder.messages
    assert received.content.startswith(b"DKIM-Signature: v=1; ")
    assert _unsigned(received.content) == _unsigned(built)  # the signature's t= may differ


def test_import_broadcast_loads_neither_dkimpy_nor_dnspython() -> None:
    """import broadcast, broadcast.email and an unsigned Email load no dkim or dns module."""
    code = (
        "import sys, broadcast, broadcast.email\n"
        "from broadcast.channels import Email\n"
        "Email('smtp.example.com', sender='s@example.com', recipients=['a@example.com'])\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('dkim', 'dns', 'nacl')]\n"
        "assert 'cryptography' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)  # noqa: S603 - our own code


async def test_a_header_changed_after_signing_fails_verification(
    recorder: Recorder, port: int, update: Update, signer: DKIM
) -> None:
    """Another List-Unsubscribe (or To) than the one signed breaks the signature."""
    unsubscribe = Unsubscribe(URL, secret=SECRET)
    await _send(_email(port, recipients=PEOPLE[:1], dkim=signer, unsubscribe=unsubscribe), update)
    [received] = recorder.messages
    tampered = received.content.replace(b"/unsubscribe/", b"/unsubscribe/x", 1)
    assert dkim.verify(received.content, dnsfunc=_dns(signer))
    assert not dkim.verify(tampered, dnsfunc=_dns(signer))
    readdressed = received.content.replace(b"To: alex@", b"To: eve@", 1)
    assert not dkim.verify(readdressed, dnsfunc=_dns(signer))


async def test_list_unsubscribe_headers_parse_and_each_token_names_its_recipient(
    recorder: Recorder, port: int, update: Update
) -> None:
    """RFC 8058 headers: an https URL whose token verifies to the recipient, and a mailto."""
    unsubscribe = Unsubscribe(URL, secret=SECRET, mailto="unsubscribe@example.com")
    await _send(_email(port, unsubscribe=unsubscribe, list_id="PSN <status.example.com>"), update)
    for received in recorder.messages:
        message = received.message
        uris = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])
        assert len(uris) == 2
        https, mailto = uris
        assert https.startswith("https://status.example.com/unsubscribe/")
        assert mailto == "mailto:unsubscribe@example.com?subject=unsubscribe"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["List-Id"] == "PSN <status.example.com>"
        token = https.rsplit("/", 1)[1]
        assert verify_unsubscribe_token(token, secret=SECRET) == parseaddr(message["To"])[1]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # the MAC
        lambda t: (
            base64.urlsafe_b64encode(b"eve@example.com").decode().rstrip("=") + t[t.index(".") :]
        ),  # another address, the same MAC
        lambda t: t.replace(".", ""),
        lambda t: "not base64!" + t,
    ],
    ids=["mac", "address", "no-dot", "garbage"],
)
def test_a_tampered_token_does_not_verify(tamper: Any) -> None:
    """Any change to a token, or another secret, is a ValueError; the original verifies."""
    token = unsubscribe_token("alex@example.com", secret=SECRET)
    assert verify_unsubscribe_token(token, secret=SECRET) == "alex@example.com"
    with pytest.raises(ValueError, match="unsubscribe token"):
        verify_unsubscribe_token(tamper(token), secret=SECRET)
    with pytest.raises(ValueError, match="does not verify"):
        verify_unsubscribe_token(token, secret=SECRET + "x")


def test_one_list_unsubscribe_for_all_and_per_recipient_links_do_not_mix() -> None:
    """list_unsubscribe and unsubscribe together are a ValueError saying to choose one."""
    with pytest.raises(ValueError, match="not both"):
        Email(
            "smtp.example.com",
            sender=SENDER,
            recipients=PEOPLE,
            list_unsubscribe="mailto:unsubscribe@example.com",
            unsubscribe=Unsubscribe(URL, secret=SECRET),
        )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"url": "http://x.example/{token}"}, "must be https:// and hold"),
        ({"url": "https://x.example/unsub"}, "hold {token} once"),
        ({"secret": "short"}, "at least 16 bytes"),
        ({"mailto": "<bad>"}, "mailto must be an address"),
    ],
)
def test_bad_unsubscribe_options_are_clear_errors(options: dict[str, Any], message: str) -> None:
    """A plain-http URL, a URL without {token}, a short secret or a bad mailto: ValueError."""
    given = {"url": URL, "secret": SECRET} | options
    with pytest.raises(ValueError, match=re.escape(message)):
        Unsubscribe(given.pop("url"), **given)


def test_bad_dkim_keys_are_clear_errors_without_the_key(rsa_pem: str) -> None:
    """A broken key is a ValueError that names what it is not, and never quotes it."""
    broken = rsa_pem.replace("A", "B", 40)
    with pytest.raises(ValueError, match="not a PEM, or base64 DER") as caught:
        DKIM(selector="s", domain="example.com", private_key=broken)
    body = broken.splitlines()[3]
    assert body not in str(caught.value)
    with pytest.raises(ValueError, match="selector"):
        DKIM(selector="a b", domain="example.com", private_key=rsa_pem)


def test_the_repr_and_the_channel_repr_hide_the_key(rsa_pem: str) -> None:
    """repr names the selector, domain and algorithm; no line of the key, nor the secret."""
    signer = DKIM(selector="s1", domain="example.com", private_key=rsa_pem)
    unsubscribe = Unsubscribe(URL, secret=SECRET)
    channel = Email(
        "smtp.example.com", sender=SENDER, recipients=PEOPLE, dkim=signer, unsubscribe=unsubscribe
    )
    shown = repr(signer) + repr(channel) + repr(vars(channel))
    assert SECRET not in shown
    assert "rsa-sha256" in shown
    assert "s1" in shown
    for line in rsa_pem.splitlines()[1:-1]:
        assert line not in shown


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
