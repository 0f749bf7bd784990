"""Email: one individual, threaded message per recipient over pooled SMTP connections.

Delivery streams the recipient list through a bounded queue to ``pool_size`` workers,
each holding one reused aiosmtplib connection. Per recipient: a 4xx reply or a dropped
connection is retried (reconnecting as needed) under the channel's RetryPolicy; a 5xx
is a rejection, recorded with its code, and the others go on. A server that cannot be
reached at all fails the channel before a single recipient is read, so a retry of the
whole channel sends nothing twice.

Deliverability (``broadcast.email``): each message can be DKIM-signed over the exact
bytes sent and carry its recipient's one-click unsubscribe link; a suppression list is
never mailed; each receiving domain can be paced; replies are classified by enhanced
status code (``_smtp_errors``), and ``check`` looks up SPF, DKIM and DMARC.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import ssl
from collections.abc import AsyncIterator, Collection
from concurrent.futures import ThreadPoolExecutor
from email.utils import formataddr, parseaddr
from typing import TYPE_CHECKING

import aiosmtplib
from pydantic import SecretStr

from .._channel import Delivery
from .._errors import ChannelError, ConfigError, PermanentError, TransientError
from .._redact import register_secret
from .._retry import RetryPolicy
from .._update import Update
from ..journal._protocol import Journal
from ._email_address import MAX_POOL_SIZE, TLS, normalise_address
from ._email_config import EmailSettings, from_env
from ._email_message import EmailTemplate, is_msg_id, list_id_header, render_email
from ._email_pacing import DomainPacer
from ._fanout import FanOut
from ._recipients import Audience, RecipientSource, describe_invalid, invalid_in
from ._smtp_errors import smtp_error
from ._smtp_worker import SMTPWorker
from ._spec import ChannelSpec

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from ..email._dkim import DKIM
    from ..email._dns import Resolver
    from ..email._suppression import Suppression, SuppressionSource
    from ..email._unsubscribe import Unsubscribe

__all__ = ["MAX_POOL_SIZE", "Email", "normalise_address"]

log = logging.getLogger("broadcast")

_DEFAULT_PORTS = {"starttls": 587, "implicit": 465, "none": 25}
_SAMPLE_IDS = 10
_TLS_CONFIRMED = {
    "starttls": "accepted STARTTLS",
    "implicit": "accepted TLS",
    "none": "answered EHLO (no TLS: tls='none')",
}
_STOP = None


def _suppression(value: Suppression | SuppressionSource | None) -> Suppression | None:
    if value is None:
        return None
    from ..email._suppression import Suppression  # noqa: PLC0415

    return value if isinstance(value, Suppression) else Suppression(value)


def _unsubscribe_header(value: str | Collection[str] | None) -> str | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    uris = [i.strip() if i.strip().startswith("<") else f"<{i.strip()}>" for i in items]
    for uri in uris:
        if not uri[1:].startswith(("https://", "mailto:")):
            raise ValueError(f"list_unsubscribe takes https:// or mailto: URIs, got {uri}")
    return ", ".join(uris)


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

    Deliverability: ``dkim`` (a ``broadcast.email.DKIM``) signs every message;
    ``unsubscribe`` (a ``broadcast.email.Unsubscribe``) gives each recipient an RFC 8058
    one-click link; ``list_id`` adds ``List-Id``; ``suppress`` is never mailed;
    ``domain_rates`` paces each receiving domain (messages per second, ``"*"`` for the
    others) on ``clock`` and ``sleep``; ``resolver`` is what ``check`` asks for SPF, DKIM
    and DMARC.
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
        dkim: DKIM | None = None,
        unsubscribe: Unsubscribe | None = None,
        list_id: str | None = None,
        suppress: Suppression | SuppressionSource | None = None,
        domain_rates: Mapping[str, float] | None = None,
        resolver: Resolver | None = None,
        name: str = "email",
        timeout: float = 30.0,
        quit_timeout: float = 2.0,
        tls_context: ssl.SSLContext | None = None,
        retry: RetryPolicy | None = None,
        max_duration: float | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
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
        if unsubscribe is not None and list_unsubscribe is not None:
            raise ValueError(
                "give list_unsubscribe (the same URIs for all) or unsubscribe, not both"
            )
        self._one_click = unsubscribe
        self._list_id = list_id_header(list_id) if list_id is not None else None
        self._dkim = dkim
        self._suppress = _suppression(suppress)
        self._pacer = DomainPacer(domain_rates, clock=clock, sleep=sleep) if domain_rates else None
        self._resolver = resolver
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
        signed = f", dkim={self._dkim!r}" if self._dkim is not None else ""
        return (
            f"Email(name={self.name!r}, host={self._host!r}, port={self._port}, "
            f"sender={self._sender!r}, tls={self._tls!r}, pool_size={self._pool_size}{signed})"
        )

    def render(self, update: Update, /) -> EmailTemplate:
        """The message every recipient gets (each with their own To and Message-ID)."""
        return render_email(
            update,
            sender=self._sender,
            domain=self._domain,
            reply_to=self._reply_to,
            list_unsubscribe=self._unsubscribe,
            one_click=self._one_click is not None,
            list_id=self._list_id,
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
            raise self._error(exc) from None
        except OSError as exc:
            client.close()
            raise TransientError(f"cannot reach SMTP server {self._where}: {exc}") from None
        return client

    def _error(self, exc: Exception) -> ChannelError:
        record = self._dkim.record_name if self._dkim is not None else None
        return smtp_error(exc, domain=self._domain, dkim_record=record)

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
        details: dict[str, object] = {"thread": rendered.thread_root}
        recipients = self._recipients
        if (suppression := self._suppress) is not None:
            source = self._recipients

            def recipients() -> AsyncIterator[str]:
                return suppression.filter(source, normalise_address, details)

        signer = None
        if self._dkim is not None:
            names = ["To", "Message-ID", *(["List-Unsubscribe"] if self._one_click else [])]
            signer = self._dkim.prepare(rendered.template, names)
        fan_out = FanOut(
            self.name,
            recipients,
            normalise_address,
            self._retry,
            self.max_duration,
            ledger=ledger,
        )
        threads = None
        if signer is not None and signer.in_threads:
            cores = min(len(clients), os.cpu_count() or 1)
            threads = ThreadPoolExecutor(max_workers=cores, thread_name_prefix="dkim")
        workers = [SMTPWorker(self, rendered, client, signer, threads) for client in clients]
        try:
            delivery = await fan_out.run(workers, details=details)
        finally:
            if threads is not None:
                threads.shutdown(wait=False, cancel_futures=True)
        if journal is not None and delivery.accepted:
            root = rendered.thread_root
            await journal.record_part(self.name, rendered.incident, rendered.update_key, 0, root)
        return delivery

    async def check(self) -> str:
        """Connect, EHLO, STARTTLS and AUTH exactly as ``deliver`` does, then QUIT.

        No MAIL, RCPT or DATA is sent. The password never appears in the answer. With
        DKIM configured (or a ``resolver`` given), the sender domain's SPF, DKIM and
        DMARC records are looked up too, and the DKIM key in DNS compared with the
        private key: a missing or wrong record fails the check, naming what to publish.
        """
        smtp = await self._check_smtp()
        if self._dkim is None and self._resolver is None:
            return smtp
        from ..email._dns import check_records, default_resolver  # noqa: PLC0415

        resolver = self._resolver or default_resolver()
        found = await check_records(self._domain, self._dkim, resolver)
        if found.problems:
            raise ConfigError(f"{smtp}; but {'; '.join(found.problems)}")
        return "; ".join([smtp, *found.ok])

    async def _check_smtp(self) -> str:
        client = await self._connect()  # EHLO, TLS and AUTH, verified as for a send
        try:
            if client.is_ehlo_or_helo_needed:  # nothing after the greeting needed one
                await client.ehlo()
            await client.quit()
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise self._error(exc) from None
        finally:
            client.close()
        auth = f" and AUTH as {self._username}" if self._username else "; no AUTH configured"
        return f"{self._where} {_TLS_CONFIRMED[self._tls]}{auth}"

    async def aclose(self) -> None:
        """Nothing to close: connections live only as long as one deliver."""


# --- its declaration: settings, capabilities, preview example, stand-in -------------


SPEC = ChannelSpec(
    name="email",
    channel=Email,
    settings=EmailSettings,
    build=lambda env: from_env(env, Email),
    env_prefix="BROADCAST_SMTP_",
    example=lambda: Email(
        "smtp.example.com",
        sender="Status <status@example.com>",
        recipients=["customer@example.com"],
    ),
    standin="broadcast.testing:MailReceiver",
)
