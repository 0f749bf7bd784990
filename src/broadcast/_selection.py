"""``only=`` and ``to=``: one meaning in ``send()``, ``check()``, ``preview()`` and the CLI.

``only`` names channels (``"twitter,email"`` or a list); ``to`` keeps the channels that
carry one of these tags in broadcast.toml. Both may be given; an unknown name or tag is
a ``ConfigError`` listing the known ones, before anything is sent or probed. Channels
passed as ``channels=[...]`` have no tags, so ``to=`` with them is an error too, rather
than a filter silently ignored.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from ._channel import Channel
from ._errors import ConfigError

__all__ = ["Selection", "known", "names_in", "select_given"]

Selection = Collection[str] | str | None


def names_in(value: Collection[str] | str) -> set[str]:
    """``"a, b"`` or ``["a", "b"]`` -> ``{"a", "b"}``."""
    items = value.split(",") if isinstance(value, str) else value
    return {item.strip() for item in items if item.strip()}


def known(kind: str, wanted: set[str], names: Sequence[str]) -> None:
    """Raise ``ConfigError`` if ``wanted`` has a name not in ``names``, listing them."""
    if unknown := sorted(wanted - set(names)):
        listed = ", ".join(sorted(names)) or "none"
        raise ConfigError(f"unknown {kind} {', '.join(unknown)}; configured {kind}s: {listed}")


def select_given(
    channels: Sequence[Channel[Any]], *, only: Selection = None, to: Selection = None
) -> list[Channel[Any]]:
    """The channels of ``channels=[...]`` that ``only`` names (``to`` needs broadcast.toml)."""
    if to is not None:
        raise ConfigError(
            "to= picks channels by their tags in broadcast.toml, and channels passed as "
            "channels=[...] have none; use only= with their names"
        )
    if only is None:
        return list(channels)
    names = names_in(only)
    known("channel", names, [c.name for c in channels])
    return [c for c in channels if c.name in names]
