"""``preview(update)``: what every channel would send, rendered, with no I/O at all."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._channel import Channel
from .._redact import describe
from .._selection import known, names_in

if TYPE_CHECKING:
    from ..config._load import Config

__all__ = ["Preview", "channels_to_preview", "example_channels", "render_previews"]


@dataclass(frozen=True, slots=True)
class Preview:
    """One channel's rendering of an update."""

    channel: str
    kind: str
    """The channel's class, e.g. ``Twitter``."""
    text: str
    """The rendered text exactly as it would be sent; empty when ``error`` is set."""
    error: str | None = None
    """Why the channel could not render it (the others still did)."""


def render_previews(channels: Sequence[Channel[Any]], update: Any) -> list[Preview]:
    """Render ``update`` for each channel; a channel that cannot never hides the others."""
    previews = []
    for channel in channels:
        kind = type(channel).__name__
        try:
            text = str(channel.render(update).preview())
        except Exception as exc:  # noqa: BLE001 - one broken renderer is a Preview, not a crash
            previews.append(Preview(channel.name, kind, "", describe(exc)))
        else:
            previews.append(Preview(channel.name, kind, text))
    return previews


def channels_to_preview(
    config: Config,
    to: Collection[str] | str | None = None,
    *,
    only: Collection[str] | str | None = None,
) -> list[Channel[Any]]:
    """The configured channels ``only`` names, with one of the tags ``to`` (as ``send``).

    With none configured: one example of each registered type (``only``: by type).
    """
    if config.channels:
        return config.select(only=only, to=to)
    examples = example_channels()
    if only is not None:
        names = names_in(only)
        known("channel", names, [c.name for c in examples])
        examples = [c for c in examples if c.name in names]
    return examples


def example_channels() -> list[Channel[Any]]:
    """One channel of each registered type with example settings: renders, never sends."""
    from ..config._registry import specs  # noqa: PLC0415 - channels load lazily

    return [s.example() for s in specs()]
