"""Email: one individual, threaded message per recipient over pooled SMTP connections.

Delivery streams the recipient list through a bounded queue to ``pool_size`` workers,
each holding one reused aiosmtplib connection. Per recipient: a 4xx reply or a dropped
connection is retried (reconnecting as needed) under the channel's RetryPolicy; a 5xx
is a rejection, recorded with its code, and the others go on. A server that cannot be
reached at all fails the channel before a single recipient is read, so a retry of the
whole channel sends nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import logging
import re
import ssl
from collections.abc import Collection
from email.utils import formataddr, parseaddr
from typing import TYPE_CHECKING, Any, Literal

import aiosmtplib
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, SecretStr

from .._channel import Delivery
from .._errors import AuthError, ChannelError, ConfigError, PermanentError, TransientError
from .._redact import excerpt, register_secret
from .._retry import RetryPolicy
from .._update import Update
from ..journal._protocol import Journal
from ._email_message import EmailTemplate, is_msg_id, render_email
from ._fanout import FanOut
from ._recipients import Audience, RecipientSource, describe_invalid, invalid_in
from ._spec import ChannelSpec, setting

if TYPE_CHECKING:
    from ..config._env import Env

__all__ = ["Email", "normalise_address"]

MAX_POOL_SIZE = 100
"""Most SMTP connections at once ``BROADCAST_SMTP_POOL_SIZE`` may ask for."""

log = logging.getLogger("broadcast")

TLS = Literal["starttls", "implicit", "none"]
_DEFAULT_PORTS = {"starttls": 587, "implicit": 465, "none": 25}
_SAMPLE_IDS = 10
_TLS_CONFIRMED = {
    "starttls": "accepted STARTTLS",
    "implicit": "accepted TLS",
    "none": "answered EHLO (no TLS: tls='none')",
}
_STOP = None


_PLAIN = re.compile(
    r"(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
)


@functools.lru_cache(maxsize=4096)
def _domain(domain: str) -> str:
    """A checked, normalised domain; cached, since a list has few distinct domains."""
    return _full_check(f"postmaster@{domain}").rpartition("@")[2]


def normalise_address(address: str) -> str:
    """The canonical ASCII form of an email address; ValueError saying why if invalid.

    Plain ASCII addresses take a fast path (a strict dot-atom match plus a cached
    domain check), giving what email-validator gives; anything else goes through it.
    """
    plain = _PLAIN.fullmatch(address)
    if plain and len(address) <= 254 and len(plain["local"]) <= 64:
        return f"{plain['local']}@{_domain(plain['domain'])}"
    return _full_check(address)


def _full_check(address: str) -> str:
    try:
        checked = validate_email(
            address, check_deliverability=False, allow_smtputf8=False, allow_display_name=False
        )
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return checked.ascii_email or checked.normalized


def _unsubscribe_header(value: str | Collection[str] | None) -> str | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    uris = [i.strip() if i.strip().startswith("<") else f"<{i.strip()}>" for i in items]
    for uri in uris:
        if not uri[1:].startswith(("https://", "mailto:")):
            raise ValueError(f"list_unsubscribe takes https:// or mailto: URIs, got {uri}")
    return ", ".join(uris)


def _smtp_error(exc: Exception) -> ChannelError:
    """Classify an aiosmtplib error: 4xx and dropped connections are transient."""
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        # A server may echo the AUTH line it refused: base64 holding the password.
        return AuthError(f"SMTP {exc.code}: credentials rejected ({excerpt(exc.message, 500)})")
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        refusal = exc.recipients[0]
        return _by_code(refusal.code, refusal.message)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _by_code(exc.code, exc.message)
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return PermanentError(f"SMTP server does not support it: {exc}")
    detail = excerpt(str(exc), 500) or type(exc).__name__
    return TransientError(f"SMTP connection problem: {detail}")


def _by_code(code: int, message: str) -> ChannelError:
    text = f"SMTP {code} {excerpt(message, 500)}"
    if 400 <= code < 500:
        return TransientError(text, code=code)
    return PermanentError(text, code=code)


class Email:
    """Crisis mail to every recipient: individual, threaded, multipart, over pooled SMTP.

    ``recipients`` is a list, any iterable or async iterable (streamed), or a callable
    returning one (so the channel can send more than once). A list is checked up front:
    an invalid address is a ``ValueError`` listing it. Streamed invalid addresses are
    reported as rejected. Duplicates are dropped.

    ``tls`` is ``"starttls"`` (default, required, certificates verified), ``"implicit"``
    (TLS from the first byte, port 465) or ``"none"`` (an explicit, logged opt-out).
    Credentials are only sent over TLS unless ``tls="none"``.

    Every pooled connection ends its session with ``QUIT`` (RFC 5321 section 4.1.1.10) when
    the send is over, cancelled or timed out; a server that does not answer the ``QUIT``
    within ``quit_timeout`` seconds is hung up on.
    """

    threaded = True
    """Follow-ups reply under the incident's first message (``In-Reply-To``)."""
    max_duration: float | None = None
    """A fan-out: seconds it may take in all (None: the Broadcaster's fan-out timeout)."""

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        sender: str,
        recipients: RecipientSource,
        username: str | None = None,
        password: str | SecretStr | None = None,
        tls: TLS = "starttls",
        pool_size: int = 4,
        reply_to: str | None = None,
        list_unsubscribe: str | Collection[str] | None = None,
        name: str = "email",
        timeout: float = 30.0,
        quit_timeout: float = 2.0,
        tls_context: ssl.SSLContext | None = None,
        retry: RetryPolicy | None = None,
        max_duration: float | None = None,
    ) -> None:
        if tls not in _DEFAULT_PORTS:
            raise ValueError(f"tls must be 'starttls', 'implicit' or 'none', got {tls!r}")
        if pool_size < 1:
            raise ValueError(f"pool_size must be at least 1, got {pool_size}")
        display, address = parseaddr(sender)
        self._envelope_from = normalise_address(address)
        self._sender = formataddr((display, self._envelope_from))
        self._domain = self._envelope_from.rpartition("@")[2]
        if reply_to is not None:
            normalise_address(parseaddr(reply_to)[1])
        if isinstance(recipients, list | tuple | set | frozenset):
            if invalid := invalid_in(recipients, normalise_address):
                raise ValueError(describe_invalid(invalid))
        elif isinstance(recipients, str):
            raise TypeError("recipients must be a list or iterable of addresses, not one string")
        self.name = name
        self._host = host
        self._port = port or _DEFAULT_PORTS[tls]
        self._recipients = recipients
        self._username = username
        self._password = SecretStr(password) if isinstance(password, str) else password
        register_secret(self._password.get_secret_value() if self._password else None)
        self._tls: TLS = tls
        self._pool_size = pool_size
        self._reply_to = reply_to
        self._unsubscribe = _unsubscribe_header(list_unsubscribe)
        self._timeout = timeout
        self._quit_timeout = quit_timeout
        self._tls_context = tls_context
        self._retry = retry or RetryPolicy(attempts=4, deadline=60.0, max_wait=10.0)
        self.max_duration = max_duration
        self._journal: Journal | None = None
        """Cap on one whole send, enforced by the channel so the Receipt still counts who
        got it; ``None`` (default): 100,000 recipients take minutes, and every SMTP
        command is already bounded by ``timeout``."""
        if tls == "none":
            log.warning(
                "%s: tls='none': mail%s travels unencrypted to %s",
                name,
                " and the SMTP password" if password else "",
                host,
            )

    def audience(self) -> Audience:
        """The recipient list and how each address is checked, for a dry run's count."""
        return Audience(self._recipients, normalise_address)

    def __repr__(self) -> str:
        return (
            f"Email(name={self.name!r}, host={self._host!r}, port={self._port}, "
            f"sender={self._sender!r}, tls={self._tls!r}, pool_size={self._pool_size})"
        )

    def render(self, update: Update, /) -> EmailTemplate:
        """The message every recipient gets (each with their own To and Message-ID)."""
        return render_email(
            update,
            sender=self._sender,
            domain=self._domain,
            reply_to=self._reply_to,
            list_unsubscribe=self._unsubscribe,
        )

    def _client(self) -> aiosmtplib.SMTP:
        password = self._password.get_secret_value() if self._password else None
        return aiosmtplib.SMTP(
            hostname=self._host,
            port=self._port,
            username=self._username,
            password=password,
            use_tls=self._tls == "implicit",
            start_tls=self._tls == "starttls",
            validate_certs=True,
            tls_context=self._tls_context,
            timeout=self._timeout,
        )

    async def _connect(self) -> aiosmtplib.SMTP:
        client = self._client()
        try:
            await client.connect()
        except ssl.SSLCertVerificationError as exc:
            client.close()
            raise PermanentError(
                f"TLS certificate of {self._where} rejected: {exc.verify_message}"
            ) from None
        except aiosmtplib.SMTPConnectError as exc:
            client.close()
            cause = exc.__cause__ or exc
            raise TransientError(f"cannot reach SMTP server {self._where}: {cause}") from None
        except aiosmtplib.SMTPException as exc:
            client.close()
            if "STARTTLS" in str(exc) and not isinstance(exc, aiosmtplib.SMTPResponseException):
                raise PermanentError(
                    f"{self._where} does not offer STARTTLS; use tls='implicit' if it speaks "
                    "TLS from the start, or opt out with tls='none'"
                ) from None
            raise _smtp_error(exc) from None
        except OSError as exc:
            client.close()
            raise TransientError(f"cannot reach SMTP server {self._where}: {exc}") from None
        return client

    @property
    def _where(self) -> str:
        return f"{self._host}:{self._port}"

    async def _open_pool(self) -> list[aiosmtplib.SMTP]:
        """Open the pool before reading a recipient; fail only if no connection opens."""
        opened = await asyncio.gather(
            *(self._connect() for _ in range(self._pool_size)), return_exceptions=True
        )
        clients = [c for c in opened if isinstance(c, aiosmtplib.SMTP)]
        errors = [e for e in opened if isinstance(e, BaseException)]
        if not clients:
            raise errors[0]
        if errors:
            log.warning(
                "%s: opened %d of %d SMTP connections (%s); sending over those",
                self.name,
                len(clients),
                self._pool_size,
                errors[0],
            )
        return clients

    def sharded(self, recipients: RecipientSource, /, *, limiter: object = None) -> Email:
        """A copy sending to ``recipients`` (one shard of a distributed send); SMTP has no pacer."""
        twin = copy.copy(self)
        twin._recipients = recipients
        return twin

    def use_journal(self, journal: Journal, /) -> None:
        """Record each recipient and the incident's thread root in ``journal``."""
        self._journal = journal

    async def deliver(self, rendered: EmailTemplate, /) -> Delivery:
        """Send one message per recipient over the pool; count who got it."""
        journal = self._journal
        ledger = None
        if journal is not None:
            # The root recorded for the incident wins, so a changed domain keeps the thread;
            # not one recorded before incident ids were encoded, when it is no valid msg-id.
            thread = await journal.thread(self.name, rendered.incident)
            recorded = thread.first if thread.first and is_msg_id(thread.first) else None
            rendered = rendered.threaded_under(recorded or rendered.thread_root)
            ledger = journal.recipients(rendered.update_key, self.name)
        clients = await self._open_pool()  # fails before a single recipient is read
        fan_out = FanOut(
            self.name,
            self._recipients,
            normalise_address,
            self._retry,
            self.max_duration,
            ledger=ledger,
        )
        workers = [_SMTPWorker(self, rendered, client) for client in clients]
        delivery = await fan_out.run(workers, details={"thread": rendered.thread_root})
        if journal is not None and delivery.accepted:
            root = rendered.thread_root
            await journal.record_part(self.name, rendered.incident, rendered.update_key, 0, root)
        return delivery

    async def check(self) -> str:
        """Connect, EHLO, STARTTLS and AUTH exactly as ``deliver`` does, then QUIT.

        No MAIL, RCPT or DATA is sent. The password never appears in the answer.
        """
        client = await self._connect()  # EHLO, TLS and AUTH, verified as for a send
        try:
            if client.is_ehlo_or_helo_needed:  # nothing after the greeting needed one
                await client.ehlo()
            await client.quit()
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise _smtp_error(exc) from None
        finally:
            client.close()
        auth = f" and AUTH as {self._username}" if self._username else "; no AUTH configured"
        return f"{self._where} {_TLS_CONFIRMED[self._tls]}{auth}"

    async def aclose(self) -> None:
        """Nothing to close: connections live only as long as one deliver."""


class _SMTPWorker:
    """One pooled connection, reopened after it drops."""

    def __init__(self, channel: Email, rendered: EmailTemplate, client: aiosmtplib.SMTP) -> None:
        self._channel = channel
        self._rendered = rendered
        self._client: aiosmtplib.SMTP | None = client

    async def send(self, recipient: str, /) -> str:
        """One message to one recipient; returns its Message-ID."""
        if self._client is None or not self._client.is_connected:
            self._drop()
            self._client = await self._channel._connect()
        message = self._rendered.message_for(recipient)
        try:
            await self._client.sendmail(self._channel._envelope_from, [recipient], message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise _smtp_error(exc) from None
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code == 421:  # the server is closing this connection
                self._drop()
            raise _smtp_error(exc) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            self._drop()
            raise _smtp_error(exc) from None
        return self._rendered.message_id(recipient)

    def _drop(self) -> None:
        """Hang up a connection that broke or that the server is closing: no QUIT."""
        if self._client is not None:
            self._client.close()
        self._client = None

    async def close(self) -> None:
        """End the session with QUIT, then close; a QUIT left unanswered is cut short."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if client.is_connected:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                    async with asyncio.timeout(self._channel._quit_timeout):
                        await client.quit()
        finally:
            client.close()


# --- its declaration: settings, capabilities, preview example, stand-in -------------


class EmailSettings(BaseModel):
    """Mails every recipient through the SMTP server `host`, from `sender`."""

    host: str = setting(doc="Enables the email channel.")
    port: int | None = setting(
        None, doc="SMTP port, 1 to 65535.", shown_default="587 / 465 / 25 by TLS mode"
    )
    username: str | None = setting(None, doc="SMTP login, sent only over TLS.")
    password: SecretStr | None = setting(None, doc="SMTP password.", shown_default="no auth")
    sender: str = setting(doc="From, e.g. `Status <status@example.com>`. Required with the host.")
    recipients: str = setting(
        doc="`a@example.com, b@example.org`, or `@path/to/file`. Required with the host."
    )
    tls: TLS = setting(
        "starttls", doc="`starttls` (verified), `implicit`, or `none` (logged warning)."
    )
    pool_size: int = setting(4, doc="SMTP connections used in parallel, 1 to 100.")
    reply_to: str | None = setting(None, doc="Reply-To address.")


def _from_env(env: Env) -> Email | None:
    host = env.get("BROADCAST_SMTP_HOST")
    if host is None:
        if present := [n for n in env.names() if n.startswith("BROADCAST_SMTP_")]:
            raise ConfigError(
                f"{present[0]} is set but BROADCAST_SMTP_HOST is not; "
                "set the SMTP server to send through"
            )
        return None
    from ._recipients import parse_list  # noqa: PLC0415 - only when configured

    why = "when BROADCAST_SMTP_HOST is set"
    sender = env.require("BROADCAST_SMTP_SENDER", why)
    recipients_text = env.require("BROADCAST_SMTP_RECIPIENTS", why)
    recipients = env.build("BROADCAST_SMTP_RECIPIENTS", lambda: parse_list(recipients_text))
    tls = env.get("BROADCAST_SMTP_TLS") or "starttls"
    if tls not in {"starttls", "implicit", "none"}:
        raise ConfigError(f"BROADCAST_SMTP_TLS must be starttls, implicit or none, got {tls!r}")
    port = env.port("BROADCAST_SMTP_PORT")
    pool_size = env.count("BROADCAST_SMTP_POOL_SIZE", 4, maximum=MAX_POOL_SIZE)
    options: dict[str, Any] = {
        "sender": sender,
        "recipients": recipients,
        "username": env.get("BROADCAST_SMTP_USERNAME"),
        "password": env.get("BROADCAST_SMTP_PASSWORD"),
        "tls": tls,
        "pool_size": pool_size,
    }
    env.build("BROADCAST_SMTP_SENDER", lambda: normalise_address(parseaddr(sender)[1]))
    if reply_to := env.get("BROADCAST_SMTP_REPLY_TO"):
        options["reply_to"] = reply_to
        env.build("BROADCAST_SMTP_REPLY_TO", lambda: normalise_address(parseaddr(reply_to)[1]))
    channel: Email = env.build("BROADCAST_SMTP_RECIPIENTS", lambda: Email(host, port, **options))
    return channel


SPEC = ChannelSpec(
    name="email",
    channel=Email,
    settings=EmailSettings,
    build=_from_env,
    env_prefix="BROADCAST_SMTP_",
    example=lambda: Email(
        "smtp.example.com",
        sender="Status <status@example.com>",
        recipients=["customer@example.com"],
    ),
    standin="broadcast.testing:MailReceiver",
)
