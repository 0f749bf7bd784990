"""SMS through Twilio: one API call per subscriber, bounded and rate limited.

The text is rendered once (segment-exact, see ``broadcast.text.render_sms``) and sent
to each E.164 number with ``POST /2010-04-01/Accounts/{sid}/Messages.json``. Calls run
on ``concurrency`` workers sharing a messages-per-second limit, so a large fan-out
neither trips Twilio's 429s nor queues unbounded tasks. Per-recipient errors (an
invalid number, a STOP) are recorded and the rest go on; an auth failure (20003)
stops the channel at once.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urlencode

import httpx
import phonenumbers
from pydantic import BaseModel, SecretStr

from .._channel import Delivery
from .._errors import AuthError, ChannelError, ConfigError, PermanentError, TransientError
from .._redact import excerpt, register_secret, safe_origin
from .._retry import RetryPolicy, retry_after_from_headers
from .._update import Update
from ..journal._protocol import Journal, RecipientLog
from ..text import SmsText, render_sms
from ._fanout import FanOut
from ._http import ClientSlot, get, json_field, post
from ._recipients import Audience, RecipientSource, describe_invalid, invalid_in
from ._spec import ChannelSpec, setting

if TYPE_CHECKING:
    from ..config._env import Env

__all__ = [
    "Pacer",
    "RateLimiter",
    "TwilioSMS",
    "normalise_number",
    "sender_id",
    "sms_region",
    "twilio_errors",
]

MAX_CONCURRENCY = 1000
"""Most SMS requests in flight ``BROADCAST_SMS_CONCURRENCY`` may ask for."""

DEFAULT_BASE_URL = "https://api.twilio.com"
MAX_SEGMENTS = 10
"""Ten GSM-7 segments (1,530 septets) stay within Twilio's 1,600-character body limit."""


_PARSE_ERRORS = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: (
        "not a phone number: unknown country code; write it as +<country code> <number>"
    ),
    phonenumbers.NumberParseException.NOT_A_NUMBER: "not a phone number",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short to be a phone number",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short to be a phone number",
    phonenumbers.NumberParseException.TOO_LONG: "too long to be a phone number",
}
"""phonenumbers' error codes in plain words (its own text reads "(0) Missing or ...")."""


def sms_region(value: str) -> str:
    """``value`` as a region for national numbers (``US``, ``GB``); ValueError if unknown."""
    region = value.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        hint = " (the United Kingdom is GB)" if region == "UK" else ""
        raise ValueError(
            f"{value!r} is not a region: give the two-letter country code (ISO 3166) "
            f"of the national numbers in the list, e.g. US, GB or DE{hint}"
        )
    return region


def normalise_number(text: str, region: str = "US") -> str:
    """The E.164 form of a phone number; ValueError saying why, in plain words, if not."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(_PARSE_ERRORS.get(exc.error_type, "not a phone number")) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def twilio_errors(response: httpx.Response) -> ChannelError | None:
    """Twilio's error body ``{"code", "message", "more_info", "status"}``, classified."""
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    if not isinstance(code, int):
        return None
    said = excerpt(str(body.get("message", "")))
    text = f"Twilio {code}: {said}"
    if code == 20429 or response.status_code == 429:
        wait = retry_after_from_headers(response.headers, now=time.time())
        return TransientError(text, code=code, retry_after=wait)
    if code == 20003 or response.status_code == 401:
        return AuthError(f"{text} (credentials rejected)", code=code)
    if response.status_code >= 500:
        return TransientError(text, code=code)
    return PermanentError(text, code=code)


def sender_id(value: str, region: str) -> str:
    """A phone number in E.164, or as given for a short code or an alphanumeric sender ID."""
    text = value.strip()
    if text.isdigit() and 3 <= len(text) <= 8:
        return text  # a short code
    if text.isalnum() and len(text) <= 11 and any(c.isalpha() for c in text):
        return text  # an alphanumeric sender ID, where the destination country allows it
    return normalise_number(text, region)


class Pacer(Protocol):
    """What paces a fan-out's sends: ``RateLimiter``, or one shared by many workers."""

    async def acquire(self) -> None:
        """Wait for this caller's slot."""
        ...


class RateLimiter:
    """At most ``rate`` acquisitions per second, with bursts of up to ``burst``.

    Each caller is given the next free slot on a schedule; no lock is needed because
    nothing awaits between reading and moving the schedule. Time is injectable.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self._interval = 1.0 / rate
        self._slack = max(0, burst - 1) * self._interval
        self._clock = clock
        self._sleep = sleep
        self._next = clock() - self._slack  # a full burst is available at the start

    async def acquire(self) -> None:
        """Wait for this caller's slot."""
        now = self._clock()
        slot = max(self._next, now - self._slack)
        self._next = slot + self._interval
        if slot > now:
            await self._sleep(slot - now)


class TwilioSMS:
    """Texts an update to every subscriber through Twilio's Messages API.

    Give exactly one of ``from_`` (a Twilio number) or ``messaging_service_sid``.
    ``recipients`` is a list (checked up front), any iterable or async iterable
    (streamed), or a callable returning one; numbers are normalised to E.164 with
    ``default_region`` for national formats, and duplicates dropped.
    """

    max_duration: float | None = None
    """A fan-out: seconds it may take in all (None: the Broadcaster's fan-out timeout)."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str | SecretStr,
        *,
        recipients: RecipientSource,
        from_: str | None = None,
        messaging_service_sid: str | None = None,
        default_region: str = "US",
        max_segments: int = 2,
        transliterate: bool = True,
        concurrency: int = 20,
        rate: float = 50.0,
        status_callback: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        name: str = "sms",
        timeout: float = 15.0,
        client: httpx.AsyncClient | None = None,
        retry: RetryPolicy | None = None,
        limiter: Pacer | None = None,
        max_duration: float | None = None,
    ) -> None:
        if not account_sid.startswith("AC") or len(account_sid) != 34:
            raise ValueError("account_sid must be a Twilio Account SID: 'AC' and 32 characters")
        token = auth_token if isinstance(auth_token, SecretStr) else SecretStr(auth_token)
        if not token.get_secret_value():
            raise ValueError("auth_token is empty")
        register_secret(token.get_secret_value())
        if (from_ is None) == (messaging_service_sid is None):
            raise ValueError("give exactly one of from_ or messaging_service_sid")
        if concurrency < 1 or max_segments < 1:
            raise ValueError("concurrency and max_segments must be at least 1")
        if max_segments > MAX_SEGMENTS:
            raise ValueError(
                f"max_segments is at most {MAX_SEGMENTS}: Twilio refuses bodies over "
                "1,600 characters (error 21617)"
            )
        sender: dict[str, str] = {}
        try:
            default_region = sms_region(default_region)
        except ValueError as exc:
            raise ValueError(f"default_region: {exc}") from None
        if rate <= 0:
            raise ValueError(f"rate must be positive (messages per second), got {rate}")
        if isinstance(recipients, str):
            raise TypeError("recipients must be a list or iterable of numbers, not one string")
        if from_ is not None:
            sender["From"] = sender_id(from_, default_region)
        else:
            sender["MessagingServiceSid"] = str(messaging_service_sid)
        if status_callback is not None:
            sender["StatusCallback"] = status_callback
        if isinstance(recipients, list | tuple | set | frozenset) and (
            invalid := invalid_in(recipients, self._normaliser(default_region))
        ):
            raise ValueError(describe_invalid(invalid))
        self.name = name
        self._sid = account_sid
        self._token = token
        self._fields = sender
        self._recipients = recipients
        self._region = default_region
        self._max_segments = max_segments
        self._transliterate = transliterate
        self._concurrency = concurrency
        self._rate = rate
        self._limiter = limiter
        self._account = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}.json"
        self._url = self._account.removesuffix(".json") + "/Messages.json"
        self._timeout = timeout
        self._http = ClientSlot(client)
        self._journal: Journal | None = None
        self._retry = retry or RetryPolicy(attempts=4, deadline=60.0, max_wait=10.0)
        self.max_duration = max_duration
        """Cap on one whole send, enforced by the channel so the Receipt still counts."""

    @staticmethod
    def _normaliser(region: str) -> Callable[[str], str]:
        return lambda text: normalise_number(text, region)

    def audience(self) -> Audience:
        """The recipient list and how each number is checked, for a dry run's count."""
        return Audience(self._recipients, self._normaliser(self._region))

    def __repr__(self) -> str:
        return (
            f"TwilioSMS(name={self.name!r}, api='{safe_origin(self._url)}', "
            f"account_sid={self._sid[:6]}…, concurrency={self._concurrency}, rate={self._rate:g}/s)"
        )

    def render(self, update: Update, /) -> SmsText:
        """The text every subscriber gets, fitted to ``max_segments``."""
        text = render_sms(
            update, max_segments=self._max_segments, transliterate=self._transliterate
        )
        return dataclasses.replace(text, update_key=update.key)

    def sharded(self, recipients: RecipientSource, /, *, limiter: Pacer | None = None) -> TwilioSMS:
        """A copy sending to ``recipients`` (a shard of a distributed send) paced by ``limiter``."""
        twin = copy.copy(self)
        twin._recipients = recipients
        twin._limiter = limiter or self._limiter
        return twin

    @property
    def rate_account(self) -> tuple[str, float]:
        """The provider account whose limit every worker shares, and its messages per second."""
        return f"twilio:{self._sid}", self._rate

    def use_journal(self, journal: Journal, /) -> None:
        """Record each subscriber in ``journal``, so a re-send skips who already has it."""
        self._journal = journal

    def use_http_client(self, client: httpx.AsyncClient, /) -> None:
        """Send through the Broadcaster's shared client (unless one was given)."""
        self._http.share(client)

    async def deliver(self, rendered: SmsText, /) -> Delivery:
        """One API call per subscriber; count who got it."""
        limiter: Pacer = self._limiter or RateLimiter(self._rate, burst=self._concurrency)
        client = self._http.get()
        # Built once per send, not per recipient: the auth header and the form (every
        # field but To, which goes last), so each call only appends one number.
        url = self._url
        headers = {
            "authorization": self._basic_auth(),
            "content-type": "application/x-www-form-urlencoded",
        }
        form = urlencode({**self._fields, "Body": rendered.text}).encode("ascii") + b"&To="

        async def send(recipient: str, /) -> str:
            await limiter.acquire()
            response = await post(
                client,
                url,
                content=form + quote(recipient, safe="").encode("ascii"),
                headers=headers,
                timeout=self._timeout,
                provider_errors=twilio_errors,
            )
            return json_field(response, "sid")

        fan_out = FanOut(
            self.name,
            self._recipients,
            self._normaliser(self._region),
            self._retry,
            self.max_duration,
            ledger=self._ledger(rendered.update_key),
        )
        workers = [_Sender(send) for _ in range(self._concurrency)]
        details: dict[str, Any] = {
            "segments_per_message": rendered.count.segments,
            "encoding": str(rendered.count.encoding),
        }
        return await fan_out.run(workers, details=details)

    async def check(self) -> str:
        """Fetch the account (``GET /Accounts/{sid}.json``) and confirm it is active.

        A suspended or closed account raises ``PermanentError``. Sends nothing.
        """
        response = await get(
            self._http.get(),
            self._account,
            headers={"authorization": self._basic_auth()},
            timeout=self._timeout,
            provider_errors=twilio_errors,
        )
        name, status = json_field(response, "friendly_name"), json_field(response, "status")
        if status != "active":
            raise PermanentError(
                f"Twilio account {name!r} is {status}, not active: it cannot send messages "
                "until it is reactivated in the Twilio console"
            )
        sender = (
            self._fields.get("From") or f"messaging service {self._fields['MessagingServiceSid']}"
        )
        return f"account {name!r} is active; sending from {sender}"

    def _basic_auth(self) -> str:
        credentials = f"{self._sid}:{self._token.get_secret_value()}".encode()
        return "Basic " + base64.b64encode(credentials).decode("ascii")

    def _ledger(self, update_key: str) -> RecipientLog | None:
        if self._journal is None or not update_key:
            return None
        return self._journal.recipients(update_key, self.name)

    async def aclose(self) -> None:
        """Close the client if this channel made it."""
        await self._http.aclose()


class _Sender:
    """A slot of concurrency: the HTTP client is shared, so there is nothing to hold."""

    def __init__(self, send: Callable[[str], Awaitable[str]]) -> None:
        self._send = send

    async def send(self, recipient: str, /) -> str:
        """Text one subscriber."""
        return await self._send(recipient)

    async def close(self) -> None:
        """Nothing to release."""


# --- its declaration: settings, capabilities, preview example, stand-in -------------


class SMSSettings(BaseModel):
    """Texts every recipient through Twilio, from one of `from` or `messaging_service_sid`."""

    account_sid: str = setting(doc="Enables SMS through Twilio (`AC...`).")
    auth_token: SecretStr = setting(doc="Twilio auth token.")
    from_: str | None = setting(
        None, key="from", doc="The sending number (or a Messaging Service, not both)."
    )
    messaging_service_sid: str | None = setting(None, doc="A Messaging Service (`MG...`).")
    base_url: str = setting(DEFAULT_BASE_URL, doc="API root.")
    recipients: str = setting(
        env="BROADCAST_SMS_RECIPIENTS",
        doc="`+14155550101, (415) 555-0102`, or `@path/to/file`.",
    )
    region: str = setting(
        "US", env="BROADCAST_SMS_REGION", doc="Region for numbers without `+country`."
    )
    max_segments: int = setting(
        2, env="BROADCAST_SMS_MAX_SEGMENTS", doc="Segment budget per text (1 to 10)."
    )
    rate: float = setting(50.0, env="BROADCAST_SMS_RATE", doc="Messages per second (more than 0).")
    concurrency: int = setting(
        20, env="BROADCAST_SMS_CONCURRENCY", doc="Requests in flight, 1 to 1000."
    )


def _from_env(env: Env) -> TwilioSMS | None:
    sid = env.get("BROADCAST_TWILIO_ACCOUNT_SID")
    if sid is None:
        prefixes = ("BROADCAST_TWILIO_", "BROADCAST_SMS_")
        if present := [n for n in env.names() if n.startswith(prefixes)]:
            raise ConfigError(
                f"{present[0]} is set but BROADCAST_TWILIO_ACCOUNT_SID is not; "
                "set the Twilio Account SID (AC...) to send SMS"
            )
        return None
    from ._recipients import parse_list  # noqa: PLC0415 - only when configured

    why = "when BROADCAST_TWILIO_ACCOUNT_SID is set"
    token = env.require("BROADCAST_TWILIO_AUTH_TOKEN", why)
    from_ = env.get("BROADCAST_TWILIO_FROM")
    service = env.get("BROADCAST_TWILIO_MESSAGING_SERVICE_SID")
    if (from_ is None) == (service is None):
        raise ConfigError(
            "set exactly one of BROADCAST_TWILIO_FROM or BROADCAST_TWILIO_MESSAGING_SERVICE_SID"
        )
    text = env.require("BROADCAST_SMS_RECIPIENTS", why)
    recipients = env.build("BROADCAST_SMS_RECIPIENTS", lambda: parse_list(text))
    region = env.build(
        "BROADCAST_SMS_REGION", lambda: sms_region(env.get("BROADCAST_SMS_REGION") or "US")
    )
    options: dict[str, Any] = {
        "recipients": recipients,
        "from_": from_,
        "messaging_service_sid": service,
        "default_region": region,
        "max_segments": env.count("BROADCAST_SMS_MAX_SEGMENTS", 2, maximum=MAX_SEGMENTS),
        "rate": env.number("BROADCAST_SMS_RATE", 50.0),
        "concurrency": env.count("BROADCAST_SMS_CONCURRENCY", 20, maximum=MAX_CONCURRENCY),
        "base_url": env.url("BROADCAST_TWILIO_BASE_URL") or DEFAULT_BASE_URL,
    }
    if not (sid.startswith("AC") and len(sid) == 34):
        raise ConfigError("BROADCAST_TWILIO_ACCOUNT_SID must be 'AC' and 32 characters")
    if from_ is not None:
        env.build("BROADCAST_TWILIO_FROM", lambda: sender_id(from_, region))
    channel: TwilioSMS = env.build(
        "BROADCAST_SMS_RECIPIENTS", lambda: TwilioSMS(sid, token, **options)
    )
    return channel


SPEC = ChannelSpec(
    name="sms",
    channel=TwilioSMS,
    settings=SMSSettings,
    build=_from_env,
    env_prefix="BROADCAST_TWILIO_",
    label="SMS",
    example=lambda: TwilioSMS(
        "AC" + "0" * 32, "example-only", from_="+15005550006", recipients=["+14155550101"]
    ),
    standin="broadcast.testing:TwilioEndpoint",
)
