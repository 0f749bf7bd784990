"""Name -> channel class, for built-ins and for plugins in the ``broadcast.channels`` group.

Built-ins are listed by dotted path and imported only when asked for, so importing
``broadcast`` never loads a channel's dependencies (fsspec's ``registry`` does the same).
A missing optional dependency becomes an error that says which extra to install.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from .._errors import ConfigError

__all__ = ["BUILTIN", "ENTRY_POINT_GROUP", "available", "load"]

ENTRY_POINT_GROUP = "broadcast.channels"

BUILTIN: dict[str, tuple[str, str | None]] = {
    # name: ("module:Class", extra to install if its import fails)
    "webhook": ("broadcast.channels._webhook:Webhook", None),
    "email": ("broadcast.channels._email:Email", None),
    "twitter": ("broadcast.channels._twitter:Twitter", None),
    "facebook": ("broadcast.channels._facebook:FacebookPage", None),
    "sms": ("broadcast.channels._sms:TwilioSMS", None),
}


def available() -> list[str]:
    """Every channel name: built-ins first, then installed plugins."""
    plugins = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    return [*BUILTIN, *(p for p in plugins if p not in BUILTIN)]


def load(name: str) -> Any:
    """The channel class registered as ``name``."""
    if name in BUILTIN:
        target, extra = BUILTIN[name]
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
