"""Name -> channel declaration, for built-ins and for plugins in the ``broadcast.channels`` group.

Built-ins are listed by dotted path and imported only when asked for, so importing
``broadcast`` never loads a channel's dependencies (fsspec's ``registry`` does the same).
A missing optional dependency becomes an error that says which extra to install.

Each entry names the channel module's ``ChannelSpec`` (its settings, capabilities,
preview example and stand-in); a plugin's entry point does the same
(``acme = "acme:SPEC"``). An entry point naming a bare channel class still loads, but
cannot be configured from broadcast.toml or ``BROADCAST_*`` variables.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from .._errors import ConfigError
from ._spec import ChannelSpec

__all__ = ["BUILTIN", "ENTRY_POINT_GROUP", "available", "load", "spec"]

ENTRY_POINT_GROUP = "broadcast.channels"

BUILTIN: dict[str, tuple[str, str, str | None]] = {
    # name: ("module:SPEC", its channel class, extra to install if its import fails)
    "webhook": ("broadcast.channels._webhook:SPEC", "Webhook", None),
    "email": ("broadcast.channels._email:SPEC", "Email", None),
    "twitter": ("broadcast.channels._twitter:SPEC", "Twitter", None),
    "facebook": ("broadcast.channels._facebook:SPEC", "FacebookPage", None),
    "sms": ("broadcast.channels._sms:SPEC", "TwilioSMS", None),
    "slack": ("broadcast.channels._slack:SPEC", "Slack", None),
    "discord": ("broadcast.channels._discord:SPEC", "DiscordWebhook", None),
    "telegram": ("broadcast.channels._telegram:SPEC", "Telegram", None),
    "teams": ("broadcast.channels._teams:SPEC", "Teams", None),
    "mastodon": ("broadcast.channels._mastodon:SPEC", "Mastodon", None),
    "bluesky": ("broadcast.channels._bluesky:SPEC", "Bluesky", None),
    "apprise": ("broadcast.channels._apprise:SPEC", "AppriseChannel", "apprise"),
    "status-page": ("broadcast.channels._status_page:SPEC", "StatusSite", "page"),
    "statuspage": ("broadcast.channels._statuspage:SPEC", "Statuspage", None),
}


def available() -> list[str]:
    """Every channel name: built-ins first, then installed plugins."""
    plugins = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    return [*BUILTIN, *(p for p in plugins if p not in BUILTIN)]


def load(name: str) -> Any:
    """The channel class registered as ``name``."""
    found = _registered(name)
    return found.channel if isinstance(found, ChannelSpec) else found


def spec(name: str) -> ChannelSpec:
    """The declaration of the channel registered as ``name``."""
    found = _registered(name)
    if not isinstance(found, ChannelSpec):
        raise ConfigError(
            f"channel {name!r} is registered as a class, not a ChannelSpec, so it cannot "
            "be configured from broadcast.toml or BROADCAST_* variables; point its "
            f"{ENTRY_POINT_GROUP!r} entry point at the module's ChannelSpec"
        )
    if name not in BUILTIN and (found.name != name or found.env_prefix is not None):
        raise ConfigError(
            f"channel {name!r}: a plugin's ChannelSpec must be named as its entry point "
            f"(it says {found.name!r}) and keep the BROADCAST_<NAME>_ prefix (no env_prefix)"
        )
    return found


def _registered(name: str) -> Any:
    if name in BUILTIN:
        target, _, extra = BUILTIN[name]
        return _import(target, name, extra)
    for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
        try:
            return ep.load()
        except ImportError as exc:
            raise ConfigError(
                f"channel {name!r} (from {ep.value}) could not be imported: {exc}"
            ) from exc
    raise ConfigError(
        f"unknown channel {name!r}; available: {', '.join(available())}. "
        f"Third-party channels register in the {ENTRY_POINT_GROUP!r} entry-point group."
    )


def _import(target: str, name: str, extra: str | None) -> Any:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = f": pip install 'broadcast-crisis[{extra}]'" if extra else ""
        raise ConfigError(
            f"channel {name!r} needs a missing dependency ({exc.name}){hint}"
        ) from exc
    return getattr(module, attr)
