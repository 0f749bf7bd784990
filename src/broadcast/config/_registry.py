"""The configuration that the channel registry generates: no channel is listed by hand.

Every ``BROADCAST_*`` variable, ``broadcast.toml`` key, credential to mask, line of the
"nothing is configured" hint and row of the docs' configuration table comes from the
channels' ``ChannelSpec`` declarations, built-ins and installed plugins alike.

A plugin's variables are ``BROADCAST_<NAME>_*``: reading the environment imports a
plugin only when one of those is set, so a broken plugin nobody configured stays quiet.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .._errors import ConfigError
from ..channels._registry import BUILTIN, available, spec
from ..channels._spec import ChannelSpec

if TYPE_CHECKING:
    from .._channel import Channel
    from ._env import Env

__all__ = [
    "SETTINGS",
    "STATUS_PAGE",
    "builtin_specs",
    "channel_keys",
    "configured_specs",
    "how_to_configure",
    "known_env_names",
    "secret_env_names",
    "settings_table",
    "specs",
    "types_table",
]

SETTINGS = {
    "journal": "BROADCAST_JOURNAL",
    "timeout": "BROADCAST_TIMEOUT",
    "fan_out_timeout": "BROADCAST_FAN_OUT_TIMEOUT",
    "retry_attempts": "BROADCAST_RETRY_ATTEMPTS",
    "retry_deadline": "BROADCAST_RETRY_DEADLINE",
}
"""The settings that are not about one channel, by their broadcast.toml key."""
STATUS_PAGE = {"base_url": "BROADCAST_STATUS_PAGE_BASE_URL"}
"""The ``[status_page]`` table: where the status page is published (``Update.url``'s
default, the incident's page there)."""
GENERAL = frozenset({*SETTINGS.values(), *STATUS_PAGE.values(), "BROADCAST_CONFIG"})
"""Every variable that is not a channel's."""


def builtin_specs() -> tuple[ChannelSpec, ...]:
    """The built-in channels' declarations, in the registry's order."""
    return tuple(spec(name) for name in BUILTIN)


def specs() -> list[ChannelSpec]:
    """Every channel's declaration: built-ins, then plugins that declare a ChannelSpec."""
    found = list(builtin_specs())
    for name in available()[len(BUILTIN) :]:
        try:
            found.append(spec(name))
        except Exception:  # noqa: BLE001, S112 - a broken plugin is reported when configured
            continue
    return found


def configured_specs(env: Env) -> Iterator[ChannelSpec]:
    """The declarations to read ``env`` with: built-ins, and plugins it has variables for."""
    yield from builtin_specs()
    names = env.names()
    for name in available()[len(BUILTIN) :]:
        prefix = f"BROADCAST_{name.upper().replace('-', '_')}_"
        if any(n.startswith(prefix) for n in names):
            yield spec(name)


def env_channels_of(env: Env) -> list[Channel[Any]]:
    """The channels ``env``'s variables configure, in the registry's order."""
    return [c for s in configured_specs(env) if (c := s.from_env(env)) is not None]


def channel_keys() -> dict[str, dict[str, str]]:
    """Per channel type: each key of its broadcast.toml table, and its variable (was KEYS)."""
    return {s.name: s.keys() for s in specs()}


def known_env_names() -> frozenset[str]:
    """Every ``BROADCAST_*`` variable that means something: for spotting typos."""
    return GENERAL.union(*(s.env_names() for s in specs()))


def secret_env_names(env: Env | None = None) -> frozenset[str]:
    """The variables declared as credentials (``SecretStr``).

    The built-ins', and those of the plugins ``env`` has variables for.
    """
    declared = list(builtin_specs())
    if env is not None:
        # A broken plugin is skipped here: reading the environment says so, masked.
        with contextlib.suppress(ConfigError):
            declared = list(configured_specs(env))
    return frozenset().union(*(s.secret_variables() for s in declared))


def how_to_configure() -> str:
    """What to set when nothing is configured, one hint per channel."""
    hints = [s.hint() for s in specs()]
    listed = ", ".join(hints[:-1]) + f", or {hints[-1]}" if len(hints) > 1 else hints[0]
    return (
        f"set {listed} in the environment or a .env file, or pass channels=[...]; "
        "see the configuration table in the README"
    )


def types_table(declared: Sequence[ChannelSpec] | None = None) -> str:
    """The docs' table of each channel type, what it does and its keys, as Markdown."""
    lines = ["| `type` | keys | |", "|---|---|---|"]
    for channel in declared if declared is not None else builtin_specs():
        required, table = set(channel.required_keys()), channel.keys()
        keys = ", ".join(f"`{k}`" + (" (required)" if k in required else "") for k in table)
        lines.append(f"| `{channel.name}` | {keys} | {channel.summary()} |")
    return "\n".join(lines) + "\n"


def settings_table(declared: Sequence[ChannelSpec] | None = None) -> str:
    """The docs' table of every channel's variables and keys, as Markdown."""
    lines = ["| Variable | Key | Meaning | Default |", "|---|---|---|---|"]
    for channel in declared if declared is not None else builtin_specs():
        secret = channel.secret_keys()
        for key, variable, meaning, default in channel.rows():
            said = meaning + (" A credential: masked everywhere." if key in secret else "")
            lines.append(f"| `{variable}` | `{key}` ({channel.name}) | {said} | {default} |")
    return "\n".join(lines) + "\n"
