"""Configuration from the environment and a ``.env`` file -> channels and a Broadcaster.

Precedence: a variable set in the process environment wins over the same name in
``.env``; ``.env`` is read with python-dotenv and never written back to ``os.environ``.
Every error names the variable and says how to fix it.

| variable                      | meaning                                                |
|-------------------------------|--------------------------------------------------------|
| ``BROADCAST_WEBHOOK_URL``     | enables the webhook channel                            |
| ``BROADCAST_WEBHOOK_SECRET``  | ``whsec_...`` Standard Webhooks signing secret         |
| ``BROADCAST_WEBHOOK_TIMEOUT`` | seconds per attempt (default 15)                       |
| ``BROADCAST_TIMEOUT``         | seconds per channel, retries included (default 180);   |
|                               | when set, it bounds fan-outs (email, SMS) too          |
| ``BROADCAST_FAN_OUT_TIMEOUT`` | seconds per fan-out channel (default: BROADCAST_TIMEOUT|
|                               | if set, else 3600)                                     |
| ``BROADCAST_JOURNAL``         | the delivery journal file (default ./broadcast.db;     |
|                               | ``off``: none)                                         |
| ``BROADCAST_CONFIG``          | the broadcast.toml to read (default ./broadcast.toml)  |
| ``BROADCAST_RETRY_ATTEMPTS``  | attempts per channel (default 5)                       |
| ``BROADCAST_RETRY_DEADLINE``  | seconds of retrying per channel (default 120)          |
| ``BROADCAST_SMTP_HOST``       | enables the email channel                              |
| ``BROADCAST_SMTP_PORT``       | default 587 (starttls), 465 (implicit), 25 (none)      |
| ``BROADCAST_SMTP_USERNAME``   | SMTP login (sent only over TLS)                        |
| ``BROADCAST_SMTP_PASSWORD``   | SMTP password                                          |
| ``BROADCAST_SMTP_SENDER``     | From address, e.g. ``Status <status@example.com>``     |
| ``BROADCAST_SMTP_RECIPIENTS`` | ``a@x, b@y`` or ``@path/to/file`` (one per line)       |
| ``BROADCAST_SMTP_TLS``        | ``starttls`` (default), ``implicit`` or ``none``       |
| ``BROADCAST_SMTP_POOL_SIZE``  | SMTP connections in the pool (default 4)               |
| ``BROADCAST_SMTP_REPLY_TO``   | Reply-To address                                       |
| ``BROADCAST_TWITTER_*``       | ``CONSUMER_KEY``, ``CONSUMER_SECRET``, ``ACCESS_TOKEN``, |
|                               | ``ACCESS_TOKEN_SECRET`` (OAuth 1.0a) or ``BEARER_TOKEN`` |
| ``BROADCAST_TWITTER_BASE_URL``| API root (default https://api.x.com)                   |
| ``BROADCAST_FACEBOOK_PAGE_ID``| enables the Facebook Page channel                      |
| ``BROADCAST_FACEBOOK_PAGE_TOKEN`` | long-lived Page access token                       |
| ``BROADCAST_FACEBOOK_APP_SECRET`` | adds appsecret_proof to every call                 |
| ``BROADCAST_FACEBOOK_FOLLOW_UP``  | ``post`` (default) or ``comment``                  |
| ``BROADCAST_FACEBOOK_API_VERSION``| Graph version (default v23.0)                      |
| ``BROADCAST_FACEBOOK_BASE_URL``   | Graph root (default https://graph.facebook.com)    |
| ``BROADCAST_TWILIO_ACCOUNT_SID``  | enables SMS through Twilio (``AC...``)             |
| ``BROADCAST_TWILIO_AUTH_TOKEN``   | Twilio auth token                                  |
| ``BROADCAST_TWILIO_FROM``         | sending number, or instead:                        |
| ``BROADCAST_TWILIO_MESSAGING_SERVICE_SID`` | a Messaging Service (``MG...``)           |
| ``BROADCAST_SMS_RECIPIENTS``      | ``+1415..., +44...`` or ``@path/to/file``          |
| ``BROADCAST_SMS_REGION``          | region for national numbers (default US)           |
| ``BROADCAST_SMS_MAX_SEGMENTS``    | segments per message (default 2, at most 10)       |
| ``BROADCAST_SMS_RATE``            | messages per second (default 50)                   |
| ``BROADCAST_SMS_CONCURRENCY``     | requests in flight (default 20)                    |
| ``BROADCAST_TWILIO_BASE_URL``     | API root (default https://api.twilio.com)          |
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.utils import parseaddr
from typing import Any, Literal

from ._broadcaster import DEFAULT_FAN_OUT_TIMEOUT, DEFAULT_TIMEOUT, Broadcaster
from ._channel import Channel
from ._env import Env
from ._errors import ConfigError
from ._journal import Journal
from ._journal_sqlite import default_journal
from ._redact import redact, register_secret
from ._retry import RetryPolicy

__all__ = [
    "BUILDERS",
    "HOW_TO_CONFIGURE",
    "KNOWN_VARIABLES",
    "SETTINGS",
    "broadcaster_from_env",
    "channels_from_env",
    "env_channels",
    "masked_errors",
]

_TWITTER_OAUTH1 = ("CONSUMER_KEY", "CONSUMER_SECRET", "ACCESS_TOKEN", "ACCESS_TOKEN_SECRET")
KNOWN_VARIABLES = frozenset(
    {
        "BROADCAST_WEBHOOK_URL",
        "BROADCAST_WEBHOOK_SECRET",
        "BROADCAST_WEBHOOK_TIMEOUT",
        "BROADCAST_TIMEOUT",
        "BROADCAST_FAN_OUT_TIMEOUT",
        "BROADCAST_JOURNAL",
        "BROADCAST_CONFIG",
        "BROADCAST_RETRY_ATTEMPTS",
        "BROADCAST_RETRY_DEADLINE",
        "BROADCAST_SMTP_HOST",
        "BROADCAST_SMTP_PORT",
        "BROADCAST_SMTP_USERNAME",
        "BROADCAST_SMTP_PASSWORD",
        "BROADCAST_SMTP_SENDER",
        "BROADCAST_SMTP_RECIPIENTS",
        "BROADCAST_SMTP_TLS",
        "BROADCAST_SMTP_POOL_SIZE",
        "BROADCAST_SMTP_REPLY_TO",
        *(f"BROADCAST_TWITTER_{n}" for n in _TWITTER_OAUTH1),
        "BROADCAST_TWITTER_BEARER_TOKEN",
        "BROADCAST_TWITTER_BASE_URL",
        "BROADCAST_FACEBOOK_PAGE_ID",
        "BROADCAST_FACEBOOK_PAGE_TOKEN",
        "BROADCAST_FACEBOOK_APP_SECRET",
        "BROADCAST_FACEBOOK_FOLLOW_UP",
        "BROADCAST_FACEBOOK_API_VERSION",
        "BROADCAST_FACEBOOK_BASE_URL",
        "BROADCAST_TWILIO_ACCOUNT_SID",
        "BROADCAST_TWILIO_AUTH_TOKEN",
        "BROADCAST_TWILIO_FROM",
        "BROADCAST_TWILIO_MESSAGING_SERVICE_SID",
        "BROADCAST_TWILIO_BASE_URL",
        "BROADCAST_SMS_RECIPIENTS",
        "BROADCAST_SMS_REGION",
        "BROADCAST_SMS_MAX_SEGMENTS",
        "BROADCAST_SMS_RATE",
        "BROADCAST_SMS_CONCURRENCY",
    }
)
HOW_TO_CONFIGURE = (
    "set BROADCAST_WEBHOOK_URL (webhook), BROADCAST_SMTP_HOST (email), "
    "BROADCAST_TWITTER_BEARER_TOKEN or BROADCAST_TWITTER_CONSUMER_KEY... (X), or "
    "BROADCAST_FACEBOOK_PAGE_ID (Facebook), or BROADCAST_TWILIO_ACCOUNT_SID (SMS) in the "
    "environment or a .env file, or pass "
    "channels=[...]; see the configuration table in the README"
)


def _webhook(env: Env) -> Channel[Any] | None:
    url = env.url("BROADCAST_WEBHOOK_URL")
    secret = env.get("BROADCAST_WEBHOOK_SECRET")
    if url is None:
        if secret is not None:
            raise ConfigError(
                "BROADCAST_WEBHOOK_SECRET is set but BROADCAST_WEBHOOK_URL is not; "
                "set the URL the update should be posted to"
            )
        return None
    from .channels._webhook import Webhook  # noqa: PLC0415 - channels load lazily

    timeout = env.number("BROADCAST_WEBHOOK_TIMEOUT", 15.0)
    channel: Channel[Any] = env.build(
        "BROADCAST_WEBHOOK_SECRET", lambda: Webhook(url, secret=secret, timeout=timeout)
    )
    return channel


def _email(env: Env) -> Channel[Any] | None:
    host = env.get("BROADCAST_SMTP_HOST")
    if host is None:
        if present := [n for n in env.names() if n.startswith("BROADCAST_SMTP_")]:
            raise ConfigError(
                f"{present[0]} is set but BROADCAST_SMTP_HOST is not; "
                "set the SMTP server to send through"
            )
        return None
    from .channels._email import Email, normalise_address  # noqa: PLC0415 - lazy
    from .channels._recipients import parse_list  # noqa: PLC0415

    why = "when BROADCAST_SMTP_HOST is set"
    sender = env.require("BROADCAST_SMTP_SENDER", why)
    recipients_text = env.require("BROADCAST_SMTP_RECIPIENTS", why)
    recipients = env.build("BROADCAST_SMTP_RECIPIENTS", lambda: parse_list(recipients_text))
    tls = env.get("BROADCAST_SMTP_TLS") or "starttls"
    if tls not in {"starttls", "implicit", "none"}:
        raise ConfigError(f"BROADCAST_SMTP_TLS must be starttls, implicit or none, got {tls!r}")
    port = int(env.number("BROADCAST_SMTP_PORT", 0, integer=True)) or None
    pool_size = int(env.number("BROADCAST_SMTP_POOL_SIZE", 4, integer=True))
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
    channel: Channel[Any] = env.build(
        "BROADCAST_SMTP_RECIPIENTS", lambda: Email(host, port, **options)
    )
    return channel


def _twitter(env: Env) -> Channel[Any] | None:
    oauth1 = {n: env.get(f"BROADCAST_TWITTER_{n}") for n in _TWITTER_OAUTH1}
    bearer = env.get("BROADCAST_TWITTER_BEARER_TOKEN")
    given = [n for n, v in oauth1.items() if v]
    if not given and not bearer:
        if env.get("BROADCAST_TWITTER_BASE_URL"):
            raise ConfigError(
                "BROADCAST_TWITTER_BASE_URL is set but no X credentials are: set "
                "BROADCAST_TWITTER_BEARER_TOKEN or the four BROADCAST_TWITTER_* OAuth 1.0a values"
            )
        return None
    if bearer and given:
        raise ConfigError(
            "set either BROADCAST_TWITTER_BEARER_TOKEN or the OAuth 1.0a variables, not both "
            f"(found BROADCAST_TWITTER_{given[0]})"
        )
    if not bearer and len(given) < len(_TWITTER_OAUTH1):
        missing = [f"BROADCAST_TWITTER_{n}" for n in _TWITTER_OAUTH1 if n not in given]
        raise ConfigError(f"X OAuth 1.0a needs all four values; missing {', '.join(missing)}")
    from .channels._twitter import DEFAULT_BASE_URL, Twitter  # noqa: PLC0415

    base_url = env.url("BROADCAST_TWITTER_BASE_URL") or DEFAULT_BASE_URL
    if bearer:
        return Twitter(bearer_token=bearer, base_url=base_url)
    return Twitter(
        consumer_key=oauth1["CONSUMER_KEY"],
        consumer_secret=oauth1["CONSUMER_SECRET"],
        access_token=oauth1["ACCESS_TOKEN"],
        access_token_secret=oauth1["ACCESS_TOKEN_SECRET"],
        base_url=base_url,
    )


def _facebook(env: Env) -> Channel[Any] | None:
    page_id = env.get("BROADCAST_FACEBOOK_PAGE_ID")
    if page_id is None:
        if present := [n for n in env.names() if n.startswith("BROADCAST_FACEBOOK_")]:
            raise ConfigError(
                f"{present[0]} is set but BROADCAST_FACEBOOK_PAGE_ID is not; "
                "set the numeric id of the Page to post to"
            )
        return None
    from .channels._facebook import (  # noqa: PLC0415 - channels load lazily
        DEFAULT_API_VERSION,
        DEFAULT_BASE_URL,
        FacebookPage,
        check_api_version,
    )

    token = env.require("BROADCAST_FACEBOOK_PAGE_TOKEN", "when BROADCAST_FACEBOOK_PAGE_ID is set")
    follow_up = env.get("BROADCAST_FACEBOOK_FOLLOW_UP") or "post"
    if follow_up not in ("post", "comment"):
        raise ConfigError(
            f"BROADCAST_FACEBOOK_FOLLOW_UP must be post or comment, got {follow_up!r}"
        )
    base_url = env.url("BROADCAST_FACEBOOK_BASE_URL") or DEFAULT_BASE_URL
    version = env.get("BROADCAST_FACEBOOK_API_VERSION") or DEFAULT_API_VERSION
    env.build("BROADCAST_FACEBOOK_API_VERSION", lambda: check_api_version(version))
    channel: Channel[Any] = env.build(
        "BROADCAST_FACEBOOK_PAGE_ID",
        lambda: FacebookPage(
            page_id,
            token,
            app_secret=env.get("BROADCAST_FACEBOOK_APP_SECRET"),
            api_version=version,
            base_url=base_url,
            follow_up=follow_up,  # type: ignore[arg-type]  # checked above
        ),
    )
    return channel


def _sms(env: Env) -> Channel[Any] | None:
    sid = env.get("BROADCAST_TWILIO_ACCOUNT_SID")
    if sid is None:
        prefixes = ("BROADCAST_TWILIO_", "BROADCAST_SMS_")
        if present := [n for n in env.names() if n.startswith(prefixes)]:
            raise ConfigError(
                f"{present[0]} is set but BROADCAST_TWILIO_ACCOUNT_SID is not; "
                "set the Twilio Account SID (AC...) to send SMS"
            )
        return None
    from .channels._recipients import parse_list  # noqa: PLC0415 - channels load lazily
    from .channels._sms import (  # noqa: PLC0415
        DEFAULT_BASE_URL,
        MAX_SEGMENTS,
        TwilioSMS,
        sender_id,
        sms_region,
    )

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
        "max_segments": int(env.number("BROADCAST_SMS_MAX_SEGMENTS", 2, integer=True)),
        "rate": env.number("BROADCAST_SMS_RATE", 50.0),
        "concurrency": int(env.number("BROADCAST_SMS_CONCURRENCY", 20, integer=True)),
        "base_url": env.url("BROADCAST_TWILIO_BASE_URL") or DEFAULT_BASE_URL,
    }
    if not (sid.startswith("AC") and len(sid) == 34):
        raise ConfigError("BROADCAST_TWILIO_ACCOUNT_SID must be 'AC' and 32 characters")
    if from_ is not None:
        env.build("BROADCAST_TWILIO_FROM", lambda: sender_id(from_, region))
    if not 1 <= options["max_segments"] <= MAX_SEGMENTS:
        raise ConfigError(f"BROADCAST_SMS_MAX_SEGMENTS must be 1 to {MAX_SEGMENTS}")
    channel: Channel[Any] = env.build(
        "BROADCAST_SMS_RECIPIENTS", lambda: TwilioSMS(sid, token, **options)
    )
    return channel


BUILDERS: dict[str, Callable[[Env], Channel[Any] | None]] = {
    "webhook": _webhook,
    "email": _email,
    "twitter": _twitter,
    "facebook": _facebook,
    "sms": _sms,
}
"""Each channel type, and how to build it from its ``BROADCAST_*`` variables."""
SETTINGS = {
    "journal": "BROADCAST_JOURNAL",
    "timeout": "BROADCAST_TIMEOUT",
    "fan_out_timeout": "BROADCAST_FAN_OUT_TIMEOUT",
    "retry_attempts": "BROADCAST_RETRY_ATTEMPTS",
    "retry_deadline": "BROADCAST_RETRY_DEADLINE",
}
"""The settings that are not about one channel, by their broadcast.toml key."""


def env_channels(env: Env) -> list[Channel[Any]]:
    """The channels the ``BROADCAST_*`` variables configure; maybe none.

    The credentials are masked (``register_secret``) before any is read, so an error
    can never show one, even one pasted into the wrong variable.
    """
    register_secret(*env.credentials())
    with masked_errors():
        return [c for build in BUILDERS.values() if (c := build(env)) is not None]


@contextmanager
def masked_errors() -> Iterator[None]:
    """Re-raise a ``ConfigError`` with every registered secret masked in its message."""
    try:
        yield
    except ConfigError as exc:
        raise ConfigError(redact(str(exc))) from None


def channels_from_env(env: Env | None = None) -> list[Channel[Any]]:
    """Every channel the environment configures; an error if there is none."""
    env = env or Env.load()
    channels = env_channels(env)
    if not channels:
        message = f"no channel is configured: {HOW_TO_CONFIGURE}"
        if typos := env.unknown(KNOWN_VARIABLES):
            message += f" (found unknown variables: {', '.join(typos)})"
        raise ConfigError(message)
    return channels


def broadcaster_from_env(
    env: Env | None = None,
    *,
    channels: list[Channel[Any]] | None = None,
    journal: Journal | Literal["env"] | None = "env",
) -> Broadcaster:
    """A Broadcaster with the environment's channels (or ``channels``) and settings.

    ``journal`` defaults to an ``SQLiteJournal`` at ``BROADCAST_JOURNAL`` (else
    ``./broadcast.db``; ``off`` for none); pass a Journal, or None for none.
    """
    env = env or Env.load()
    register_secret(*env.credentials())
    with masked_errors():
        return _broadcaster(env, channels, journal)


def _broadcaster(
    env: Env, channels: list[Channel[Any]] | None, journal: Journal | Literal["env"] | None
) -> Broadcaster:
    if journal == "env":
        path = env.get("BROADCAST_JOURNAL")
        journal = None if path == "off" else default_journal(path)
    retry = RetryPolicy(
        attempts=int(env.number("BROADCAST_RETRY_ATTEMPTS", 5, integer=True)),
        deadline=env.number("BROADCAST_RETRY_DEADLINE", 120.0),
    )
    timeout = env.number("BROADCAST_TIMEOUT", DEFAULT_TIMEOUT)
    # A timeout someone set is meant for every channel: it bounds fan-outs too.
    fallback = timeout if env.get("BROADCAST_TIMEOUT") else DEFAULT_FAN_OUT_TIMEOUT
    fan_out_timeout = env.number("BROADCAST_FAN_OUT_TIMEOUT", fallback)
    return Broadcaster(
        channels if channels is not None else channels_from_env(env),
        retry=retry,
        timeout=timeout,
        fan_out_timeout=fan_out_timeout,
        journal=journal,
    )
