"""The email channel's settings and how it is built from ``BROADCAST_SMTP_*``."""

from __future__ import annotations

from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretStr

from .._errors import ConfigError
from ._email_address import MAX_POOL_SIZE, TLS, normalise_address
from ._email_message import list_id_header
from ._spec import setting

if TYPE_CHECKING:
    from ..config._env import Env
    from ._email import Email

__all__ = ["EmailSettings", "from_env"]

_PLACEHOLDER = "placeholder"
"""What a missing credential reads as in a preview (``config._env._PLACEHOLDER``)."""


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
    dkim_selector: str | None = setting(
        None,
        doc="DKIM selector; signs every message (needs the `dkim` extra).",
        shown_default="unsigned",
    )
    dkim_key: SecretStr | None = setting(
        None,
        doc="DKIM private key: PEM, base64, or `@path/to/key.pem`. Required with the selector.",
    )
    dkim_domain: str | None = setting(
        None, doc="DKIM `d=` domain.", shown_default="the sender's domain"
    )
    unsubscribe_url: str | None = setting(
        None, doc="One-click unsubscribe URL holding `{token}` (RFC 8058), `https://` only."
    )
    unsubscribe_secret: SecretStr | None = setting(
        None, doc="HMAC secret of the unsubscribe tokens, 16+ bytes. Required with the URL."
    )
    unsubscribe_mailto: str | None = setting(None, doc="Unsubscribe address (`mailto:`).")
    list_id: str | None = setting(None, doc="List-Id, e.g. `PSN Status <status.example.com>`.")
    suppress: str | None = setting(
        None, doc="`@path/to/file` of addresses never mailed (one per line)."
    )
    dns_server: str | None = setting(
        None,
        doc="DNS server `check` asks for SPF, DKIM and DMARC, `ip[:port]`.",
        shown_default="the system's",
    )
    domain_rates: str | None = setting(
        None, doc="Messages/s per receiving domain: `gmail.com=20, *=5`.", shown_default="unpaced"
    )


def from_env(env: Env, email: type[Email]) -> Email | None:
    """The email channel from ``BROADCAST_SMTP_*`` (None when the host is not set)."""
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
    options |= _deliverability(env, sender)
    channel: Email = env.build("BROADCAST_SMTP_RECIPIENTS", lambda: email(host, port, **options))
    return channel


def _key(text: str) -> str | Path:
    return Path(text[1:]).expanduser() if text.startswith("@") else text


def _deliverability(env: Env, sender: str) -> dict[str, Any]:
    """DKIM, one-click unsubscribe, List-Id, suppression and pacing options, if set."""
    options: dict[str, Any] = {}
    if selector := env.get("BROADCAST_SMTP_DKIM_SELECTOR"):
        key = env.require("BROADCAST_SMTP_DKIM_KEY", "with BROADCAST_SMTP_DKIM_SELECTOR")
        domain = env.get("BROADCAST_SMTP_DKIM_DOMAIN") or parseaddr(sender)[1].rpartition("@")[2]
        if key != _PLACEHOLDER:
            from ..email._dkim import DKIM  # noqa: PLC0415 - only when configured

            options["dkim"] = env.build(
                "BROADCAST_SMTP_DKIM_KEY",
                lambda: DKIM(selector=selector, domain=domain, private_key=_key(key)),
            )
    elif env.get("BROADCAST_SMTP_DKIM_KEY"):
        raise ConfigError("BROADCAST_SMTP_DKIM_KEY is set but BROADCAST_SMTP_DKIM_SELECTOR is not")
    if url := env.get("BROADCAST_SMTP_UNSUBSCRIBE_URL"):
        secret = env.require(
            "BROADCAST_SMTP_UNSUBSCRIBE_SECRET", "with BROADCAST_SMTP_UNSUBSCRIBE_URL"
        )
        mailto = env.get("BROADCAST_SMTP_UNSUBSCRIBE_MAILTO")
        from ..email._unsubscribe import Unsubscribe  # noqa: PLC0415

        options["unsubscribe"] = env.build(
            "BROADCAST_SMTP_UNSUBSCRIBE_URL",
            lambda: Unsubscribe(
                url, secret=secret * (1 + (secret == _PLACEHOLDER) * 2), mailto=mailto
            ),
        )
    elif mailto := env.get("BROADCAST_SMTP_UNSUBSCRIBE_MAILTO"):
        options["list_unsubscribe"] = mailto if mailto.startswith("mailto:") else f"mailto:{mailto}"
    if list_id := env.get("BROADCAST_SMTP_LIST_ID"):
        options["list_id"] = env.build("BROADCAST_SMTP_LIST_ID", lambda: list_id_header(list_id))
    if suppress := env.get("BROADCAST_SMTP_SUPPRESS"):
        from ..email._suppression import Suppression  # noqa: PLC0415

        options["suppress"] = env.build(
            "BROADCAST_SMTP_SUPPRESS", lambda: Suppression(Path(suppress.removeprefix("@")))
        )
    if server := env.get("BROADCAST_SMTP_DNS_SERVER"):
        from ..email._dns import resolver_for  # noqa: PLC0415

        options["resolver"] = env.build("BROADCAST_SMTP_DNS_SERVER", lambda: resolver_for(server))
    if rates := env.get("BROADCAST_SMTP_DOMAIN_RATES"):
        from ._email_pacing import parse_rates  # noqa: PLC0415

        options["domain_rates"] = env.build(
            "BROADCAST_SMTP_DOMAIN_RATES", lambda: parse_rates(rates)
        )
    return options
