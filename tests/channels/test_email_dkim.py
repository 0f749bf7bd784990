"""DKIM signing, one-click unsubscribe and the DNS checks of the email channel."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from collections.abc import Iterator
from email.utils import parseaddr
from typing import Any

import dkim
import pytest

from broadcast import Broadcaster, Outcome, Receipt, Update
from broadcast.channels import Email
from broadcast.channels._smtp_worker import SMTPWorker
from broadcast.email import DKIM, Unsubscribe, unsubscribe_token, verify_unsubscribe_token

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
