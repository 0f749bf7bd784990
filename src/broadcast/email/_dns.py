"""The DNS records receivers check before they take bulk mail: SPF, DKIM and DMARC.

``check_records`` looks them up (TXT) through a dnspython resolver, or any object with
dnspython's ``async resolve(name, "TXT")``, and says what is missing or wrong: it
sends nothing. Tests pass a resolver pointed at a DNS stand-in on 127.0.0.1.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ._dkim import DKIM

__all__ = ["DNSReport", "Resolver", "check_records", "default_resolver", "resolver_for"]


class Resolver(Protocol):
    """What is used of ``dns.asyncresolver.Resolver``."""

    async def resolve(self, qname: str, rdtype: str) -> Any:
        """The answer: rdata with ``.strings``; raises dnspython's NXDOMAIN or NoAnswer."""
        ...


def default_resolver() -> Resolver:
    """The system's resolver (``/etc/resolv.conf``), through dnspython."""
    try:
        import dns.asyncresolver  # noqa: PLC0415 - optional dependency
    except ImportError as exc:  # pragma: no cover - the extra is installed for tests
        raise ImportError(
            "checking DNS records needs dnspython: pip install 'broadcast-crisis[dkim]'"
        ) from exc
    resolver: Resolver = dns.asyncresolver.Resolver()
    return resolver


def resolver_for(server: str) -> Resolver:
    """A resolver asking only ``server``, an IP address with an optional ``:port``.

    The domain's own authoritative server, say, to check records before they propagate.
    """
    import ipaddress  # noqa: PLC0415

    import dns.asyncresolver  # noqa: PLC0415

    text = server.strip()
    if text.startswith("["):  # [IPv6]:port
        host, _, port = text[1:].partition("]")
        port = port.removeprefix(":")
    elif text.count(":") == 1:  # IPv4:port
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    try:
        ipaddress.ip_address(host)
        number = int(port) if port else 53
    except ValueError:
        raise ValueError(f"the DNS server must be an IP address[:port], got {server!r}") from None
    if not 1 <= number <= 65535:
        raise ValueError(f"the DNS server's port must be 1 to 65535, got {number}")
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [host]
    resolver.port = number
    answering: Resolver = resolver
    return answering


@dataclass(frozen=True, slots=True)
class DNSReport:
    """What was found: ``ok`` lines and ``problems``, each naming the record to publish."""

    ok: tuple[str, ...]
    problems: tuple[str, ...]


async def _txt(resolver: Resolver, name: str) -> list[str]:
    """The TXT strings at ``name`` (each record's strings joined); [] if there are none."""
    import dns.exception  # noqa: PLC0415
    import dns.resolver  # noqa: PLC0415

    try:
        answer = await resolver.resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
        return []
    except dns.exception.Timeout:
        raise TimeoutError(f"no DNS answer for {name}") from None
    return [b"".join(r.strings).decode("utf-8", "replace") for r in answer]


def _tags(record: str) -> dict[str, str]:
    tags = {}
    for part in record.split(";"):
        name, eq, value = part.partition("=")
        if eq:
            tags[name.strip().lower()] = "".join(value.split())
    return tags


def _same_key(published: str, dkim: DKIM) -> bool:
    try:
        raw = base64.b64decode(published, validate=True)
    except (binascii.Error, ValueError):
        return False
    mine = dkim.public_key()
    if dkim.algorithm == "ed25519-sha256" or raw == mine:
        return raw == mine
    from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: PLC0415
    from cryptography.hazmat.primitives.serialization import (  # noqa: PLC0415
        load_der_public_key,
    )

    try:  # p= may also hold a PKCS#1 RSAPublicKey, which some generators write
        theirs = load_der_public_key(raw)
    except (ValueError, TypeError):
        return False
    ours = load_der_public_key(mine)
    return (
        isinstance(theirs, rsa.RSAPublicKey)
        and isinstance(ours, rsa.RSAPublicKey)
        and theirs.public_numbers() == ours.public_numbers()
    )


async def check_records(domain: str, dkim: DKIM | None, resolver: Resolver) -> DNSReport:
    """Look up SPF at ``domain``, DMARC at ``_dmarc.{domain}`` and the DKIM key."""
    ok: list[str] = []
    problems: list[str] = []
    spf = [r for r in await _txt(resolver, domain) if r.lower().startswith("v=spf1")]
    if len(spf) == 1:
        ok.append(f"SPF at {domain}: {spf[0]}")
    elif not spf:
        problems.append(
            f'no SPF record: publish TXT at {domain}: "v=spf1 include:<your SMTP provider> -all"'
        )
    else:
        problems.append(f"{len(spf)} SPF records at {domain}: receivers need exactly one")
    dmarc = [r for r in await _txt(resolver, f"_dmarc.{domain}") if r.startswith("v=DMARC1")]
    if dmarc:
        policy = _tags(dmarc[0]).get("p", "?")
        ok.append(f"DMARC at _dmarc.{domain}: p={policy}")
    else:
        problems.append(
            f'no DMARC record: publish TXT at _dmarc.{domain}: "v=DMARC1; p=none; '
            f'rua=mailto:dmarc@{domain}"'
        )
    if dkim is None:
        problems.append("no DKIM key configured: bulk mail must be DKIM-signed")
        return DNSReport(tuple(ok), tuple(problems))
    name = dkim.record_name
    found = [_tags(r) for r in await _txt(resolver, name)]
    found = [t for t in found if "p" in t]
    if not found:
        problems.append(f'no DKIM key: publish TXT at {name}: "{dkim.record()}"')
    elif not any(_same_key(t["p"], dkim) for t in found):
        problems.append(
            f"the DKIM key at {name} is not the configured private key's; "
            f'publish "{dkim.record()}"'
        )
    else:
        ok.append(f"DKIM at {name}: {dkim.algorithm}, matches the private key")
    if domain != dkim.domain and not domain.endswith(f".{dkim.domain}"):
        problems.append(
            f"DKIM d={dkim.domain} is not aligned with the sender domain {domain} (DMARC)"
        )
    return DNSReport(tuple(ok), tuple(problems))
