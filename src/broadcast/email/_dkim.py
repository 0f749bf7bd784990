"""DKIM signing (RFC 6376, RFC 8463) of the exact bytes the email channel sends.

dkimpy does the DKIM work: parsing the message, canonicalisation, header selection and
folding of the ``DKIM-Signature`` field. The private-key operation is done by
``cryptography`` (OpenSSL): dkimpy's own pure-Python RSA takes about 7 ms a message,
OpenSSL about 0.4 ms, and Ed25519 a few microseconds.

Speed: a send signs every recipient's message, and they differ only in a few header
lines (``To``, ``Message-ID``, ``List-Unsubscribe``). So the key is parsed once, when
the channel is built; the body hash, the canonical form of the shared headers and the
signature field without its ``b=`` are made once per update (``prepare``); per
recipient only the differing lines are canonicalised, hashed and signed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from .._redact import register_secret

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

__all__ = ["DKIM", "SIGNED_HEADERS", "PreparedSignature"]

SIGNED_HEADERS = (
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "reply-to",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "mime-version",
    "content-type",
)
"""Signed when present, in this order (``h=``); ``From`` always is."""
_NAME = b"DKIM-Signature"
_CANON = b"relaxed/relaxed"
_MISSING = "DKIM signing needs dkimpy and cryptography: pip install 'broadcast-crisis[dkim]'"


def _dkimpy() -> Any:
    try:
        import dkim  # type: ignore[import-untyped]  # noqa: PLC0415 - optional, with a key
        import dkim.canonicalization  # type: ignore[import-untyped]  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - the extra is installed for tests
        raise ImportError(_MISSING) from exc
    return dkim


def _text(key: str | bytes | SecretStr | Path) -> bytes:
    if isinstance(key, Path):
        try:
            return key.read_bytes()
        except OSError as exc:
            raise ValueError(
                f"DKIM private key file {key} cannot be read: {exc.strerror}"
            ) from None
    if isinstance(key, SecretStr):
        key = key.get_secret_value()
    return key.encode("ascii", "replace") if isinstance(key, str) else bytes(key)


def _register(data: bytes) -> None:
    """Mask the key as given, its base64 body and each of its lines, wherever text goes."""
    text = data.decode("ascii", "replace").strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and "-----" not in ln]
    register_secret(text, "".join(lines), *lines)


def _load(data: bytes) -> RSAPrivateKey | Ed25519PrivateKey:
    try:
        from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
        from cryptography.hazmat.primitives.asymmetric import ed25519, rsa  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - the extra is installed for tests
        raise ImportError(_MISSING) from exc
    try:
        if b"-----BEGIN" in data:
            key: object = serialization.load_pem_private_key(data, password=None)
        else:
            raw = base64.b64decode(b"".join(data.split()), validate=True)
            if len(raw) == 32:  # dkimpy's and RFC 8463's form: the Ed25519 seed, base64
                key = ed25519.Ed25519PrivateKey.from_private_bytes(raw)
            else:
                key = serialization.load_der_private_key(raw, password=None)
    except (ValueError, TypeError, binascii.Error):
        # Never the key's text: only what it is not.
        raise ValueError(
            "DKIM private key is not a PEM, or base64 DER, RSA or Ed25519 key without a password"
        ) from None
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 1024:
            raise ValueError(f"DKIM RSA key has {key.key_size} bits; receivers want 1024+ (2048)")
        return key
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    raise ValueError("DKIM private key must be RSA or Ed25519")


class DKIM:
    """Sign every message with ``selector`` and ``domain`` (``d=``; align it with From).

    ``private_key`` is a PEM text (RSA or Ed25519, PKCS#1 or PKCS#8), base64 DER, the
    base64 Ed25519 seed that ``dknewkey`` writes, or a ``Path`` to a file holding one.
    It is a secret: masked in logs, reprs, errors and reports. ``threads``: make the
    signatures in worker threads, off the event loop (default: for RSA keys, whose
    key operation OpenSSL runs without the GIL; Ed25519 takes microseconds).
    """

    __slots__ = ("_algorithm", "_key", "_sign", "_threads", "domain", "selector")

    def __init__(
        self,
        *,
        selector: str,
        domain: str,
        private_key: str | bytes | SecretStr | Path,
        threads: bool | None = None,
    ) -> None:
        if not selector or any(c in selector for c in "; \t\r\n"):
            raise ValueError(f"DKIM selector must be one DNS label chain, got {selector!r}")
        if not domain or any(c in domain for c in "; \t\r\n@"):
            raise ValueError(f"DKIM domain must be a domain name, got {domain!r}")
        data = _text(private_key)
        _register(data)
        key = _load(data)
        self.selector = selector
        self.domain = domain.lower().rstrip(".")
        self._key = key
        self._threads = threads
        from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: PLC0415

        if isinstance(key, rsa.RSAPrivateKey):
            from cryptography.hazmat.primitives import hashes  # noqa: PLC0415
            from cryptography.hazmat.primitives.asymmetric import padding, utils  # noqa: PLC0415

            rsa_key, prehashed, pkcs1 = key, utils.Prehashed(hashes.SHA256()), padding.PKCS1v15()
            self._algorithm = b"rsa-sha256"
            self._sign: Callable[[bytes], bytes] = lambda d: rsa_key.sign(d, pkcs1, prehashed)
        else:
            self._algorithm = b"ed25519-sha256"
            self._sign = key.sign  # RFC 8463: Ed25519 over the SHA-256 of the headers

    def __repr__(self) -> str:
        algorithm = self._algorithm.decode()
        return f"DKIM(selector={self.selector!r}, domain={self.domain!r}, {algorithm})"

    @property
    def algorithm(self) -> str:
        """``rsa-sha256`` or ``ed25519-sha256``."""
        return self._algorithm.decode()

    @property
    def record_name(self) -> str:
        """Where the public key is published: ``{selector}._domainkey.{domain}``."""
        return f"{self.selector}._domainkey.{self.domain}"

    def public_key(self) -> bytes:
        """The public key as DKIM's ``p=`` carries it, decoded (SPKI DER, or raw Ed25519)."""
        from cryptography.hazmat.primitives import serialization  # noqa: PLC0415

        public = self._key.public_key()
        if self._algorithm == b"rsa-sha256":
            return public.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def record(self) -> str:
        """The TXT record to publish at ``record_name``."""
        kind = "rsa" if self._algorithm == b"rsa-sha256" else "ed25519"
        return f"v=DKIM1; k={kind}; p={base64.b64encode(self.public_key()).decode()}"

    def prepare(
        self, template: bytes, per_recipient: Sequence[str], *, now: float | None = None
    ) -> PreparedSignature:
        """What every recipient's signature of ``template`` shares (body hash, headers).

        ``per_recipient`` names the header lines each recipient's message puts before
        ``template`` (``To``, ``Message-ID``, ...). ``h=`` lists the template's headers
        first, then those: the hash of the shared part is then taken once, and each
        recipient's signature only hashes its own lines.
        """
        dkim = _dkimpy()
        policy = dkim.canonicalization.CanonicalizationPolicy.from_c_value(_CANON)
        headers, body = dkim.rfc822_parse(template)
        shared = policy.canonicalize_headers([(bytes(n), bytes(v)) for n, v in headers])
        in_template = {n.decode() for n, _ in shared}
        own = {n.lower() for n in per_recipient} - in_template
        include = [h.encode() for h in SIGNED_HEADERS if h in in_template]
        base = hashlib.sha256()
        for name, value in dkim.select_headers(shared, include):
            base.update(name + b":" + value)
        mine = [h.encode() for h in SIGNED_HEADERS if h in own]
        include += mine
        body_hash = base64.b64encode(hashlib.sha256(policy.canonicalize_body(body)).digest())
        fields = b"; ".join(
            b"=".join(f)
            for f in [
                (b"v", b"1"),
                (b"a", self._algorithm),
                (b"c", _CANON),
                (b"d", self.domain.encode()),
                (b"i", b"@" + self.domain.encode()),
                (b"q", b"dns/txt"),
                (b"s", self.selector.encode()),
                (b"t", str(int(time.time() if now is None else now)).encode()),
                (b"h", b" : ".join(include)),
                (b"bh", body_hash),
            ]
        )
        # As dkimpy's gen_header: a b= placeholder pushes b= onto a line of its own, so
        # the folding of the other tags is the same once the signature is put in.
        unsigned = dkim.fold(fields + b"; b=" + b"0" * 60, namelen=len(_NAME))
        [(_, canon_sig)] = policy.canonicalize_headers(
            [(_NAME, b" " + dkim.RE_BTAG.sub(b"\\1", unsigned))]
        )
        # Where dkimpy's fold breaks the b= value: the same for every signature of the
        # key (base64 has no spaces, and its length is fixed), so it is found once.
        length = len(base64.b64encode(self._sign(b"\0" * 32)))
        sample = dkim.fold(fields + b"; b=" + b"A" * length + b"\r\n", namelen=len(_NAME))
        cut = sample.rindex(b" b=") + 3
        chunks = [len(c) for c in sample[cut:].removesuffix(b"\r\n").split(b"\r\n ")]
        if sum(chunks) != length:  # pragma: no cover - dkimpy's fold changed
            raise RuntimeError("unexpected folding of the DKIM-Signature field")
        return PreparedSignature(
            sign=self._sign,
            policy=policy,
            base=base,
            own=mine,
            signature_line=_NAME.lower() + b":" + canon_sig.rstrip(),
            folded_head=_NAME + b": " + sample[:cut],
            chunks=chunks,
            in_threads=self._algorithm == b"rsa-sha256" if self._threads is None else self._threads,
        )


class PreparedSignature:
    """One update's shared signing state; ``header(lines)`` signs one recipient's copy."""

    __slots__ = ("_base", "_chunks", "_head", "_own", "_policy", "_sig", "_sign", "in_threads")

    def __init__(
        self,
        *,
        sign: Callable[[bytes], bytes],
        policy: Any,
        base: Any,
        own: list[bytes],
        signature_line: bytes,
        folded_head: bytes,
        chunks: list[int],
        in_threads: bool = False,
    ) -> None:
        self.in_threads = in_threads
        """Sign in a worker thread: an RSA key operation takes ~0.35 ms and OpenSSL
        runs it without the GIL (cryptography 50), so signatures use the other cores
        while the event loop goes on. Ed25519 takes microseconds: a thread costs more."""
        self._sign = sign
        self._policy = policy
        self._base = base
        self._own = own
        self._sig = signature_line
        self._head = folded_head
        self._chunks = chunks

    def header(self, lines: Sequence[tuple[bytes, bytes]]) -> bytes:
        """The ``DKIM-Signature:`` line (CRLF-ended) for ``lines`` + the shared template.

        ``lines`` are ``(name, value)`` with the value as written after the colon,
        CRLF-ended: the header lines this recipient's message has before the template.
        """
        return self.field(self.sign(self.digest(lines)))

    def digest(self, lines: Sequence[tuple[bytes, bytes]]) -> bytes:
        """The SHA-256 that is signed for ``lines`` + the shared template."""
        canonical = dict(self._policy.canonicalize_headers(lines))
        digest = self._base.copy()
        for name in self._own:
            if (value := canonical.get(name)) is not None:
                digest.update(name + b":" + value)
        digest.update(self._sig)
        hashed: bytes = digest.digest()
        return hashed

    def sign(self, digest: bytes) -> bytes:
        """The key operation alone (no Python objects touched: fit for a worker thread)."""
        return self._sign(digest)

    def field(self, signature: bytes) -> bytes:
        """The folded ``DKIM-Signature:`` field carrying ``signature``."""
        encoded = base64.b64encode(signature)
        pieces, at = [], 0
        for size in self._chunks:
            pieces.append(encoded[at : at + size])
            at += size
        return self._head + b"\r\n ".join(pieces) + b"\r\n"
