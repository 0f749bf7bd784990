"""``load_config()``: the channels and settings from broadcast.toml, ``.env`` and the environment.

Precedence, highest first:

1. arguments (``only=``, ``to=``, ``journal=``; the command's flags);
2. the process environment;
3. the ``.env`` file;
4. ``[settings]`` in broadcast.toml;
5. the defaults.

Channels come from both places: every ``[channels.NAME]`` table of the file, and the
channels the ``BROADCAST_*`` variables configure (named after their type:
``webhook``, ``email``, ``twitter``, ``facebook``, ``sms``). A name defined twice is
an error, never a silent choice.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .._broadcaster import Broadcaster
from .._channel import Channel
from .._errors import ConfigError
from .._redact import register_secret
from .._selection import known, names_in
from ..journal._protocol import Journal
from ._env import Env, env_file_names, merged_environment
from ._file import _REFERENCE, read_config_file
from ._from_env import broadcaster_from_env, broadcaster_settings, env_channels, masked_errors
from ._names import check_names
from ._registry import SETTINGS, how_to_configure

__all__ = ["DEFAULT_CONFIG", "Config", "ConfiguredChannel", "load_config"]

DEFAULT_CONFIG = "broadcast.toml"
"""Read from the working directory when it exists and no other file is named."""


@dataclass(frozen=True, slots=True)
class ConfiguredChannel:
    """A channel, its tags, and where it was configured."""

    channel: Channel[Any]
    tags: frozenset[str]
    source: str
    """``broadcast.toml`` (the file's path) or ``environment``."""
    secrets: frozenset[str] = frozenset()
    """Its credential values, so output can mask them as a last line of defence."""

    @property
    def name(self) -> str:
        """The channel's name, as in reports, ``--only`` and the journal."""
        return self.channel.name


@dataclass(frozen=True, slots=True)
class Config:
    """Everything ``broadcast`` is configured with; see ``load_config``."""

    channels: tuple[ConfiguredChannel, ...]
    env: Env
    """``BROADCAST_*`` settings: the environment over ``.env`` over the file's."""
    path: Path | None = None
    """The broadcast.toml that was read, if any."""

    @property
    def secrets(self) -> frozenset[str]:
        """Every credential value configured, for masking output."""
        return frozenset().union(*(c.secrets for c in self.channels))

    @property
    def tags(self) -> list[str]:
        """Every tag in use, sorted."""
        return sorted({t for c in self.channels for t in c.tags})

    def select(
        self,
        *,
        only: Collection[str] | str | None = None,
        to: Collection[str] | str | None = None,
    ) -> list[Channel[Any]]:
        """The channels named by ``only`` that carry one of the tags ``to`` (each optional).

        An unknown name or tag is a ``ConfigError`` that lists the known ones.
        """
        chosen = list(self.channels)
        if only is not None:
            names = names_in(only)
            known("channel", names, [c.name for c in self.channels])
            chosen = [c for c in chosen if c.name in names]
        if to is not None:
            tags = names_in(to)
            known("tag", tags, self.tags)
            chosen = [c for c in chosen if c.tags & tags]
        if not chosen:
            raise ConfigError("no configured channel matches both --only and --to")
        return [c.channel for c in chosen]

    def broadcaster(
        self,
        *,
        only: Collection[str] | str | None = None,
        to: Collection[str] | str | None = None,
        journal: Journal | Literal["config"] | None = "config",
    ) -> Broadcaster:
        """A Broadcaster with the selected channels and the configured settings."""
        return broadcaster_from_env(
            self.env,
            channels=self.select(only=only, to=to),
            journal="env" if journal == "config" else journal,
        )


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env_file: str | os.PathLike[str] | None = ".env",
    environ: Mapping[str, str] | None = None,
    require_secrets: bool = True,
    allow_empty: bool = False,
) -> Config:
    """The channels and settings from broadcast.toml, ``env_file`` and ``environ``.

    The file is ``path``, else ``BROADCAST_CONFIG``, else ./broadcast.toml if present;
    ``environ`` defaults to ``os.environ``.
    Raises ``ConfigError`` naming the file, table and key (or the variable) and the fix,
    and when no channel is configured at all (unless ``allow_empty``).
    ``require_secrets=False`` reads missing credentials as placeholders, to preview
    what would be sent without them.
    """
    variables = merged_environment(env_file, environ)
    # Masked before anything is parsed, so no error below can print them.
    register_secret(*Env(variables).credentials())
    with masked_errors():
        return _load(
            path,
            variables,
            in_env_file=env_file_names(env_file),
            require_secrets=require_secrets,
            allow_empty=allow_empty,
        )


def _load(
    path: str | os.PathLike[str] | None,
    variables: Mapping[str, str],
    *,
    in_env_file: frozenset[str],
    require_secrets: bool,
    allow_empty: bool,
) -> Config:
    file = _find(path, variables)
    file_channels, settings = (
        read_config_file(file, variables, require_secrets=require_secrets) if file else ([], {})
    )
    # A BROADCAST_* name the file reads as ${VAR} is used; any other unknown one is a typo.
    referenced = _REFERENCE.findall(file.read_text(encoding="utf-8")) if file else []
    check_names(Env(variables), in_env_file=in_env_file, referenced=referenced)
    env = Env({**settings, **variables}, placeholders=not require_secrets)
    _check_settings(env, {k: v for k, v in settings.items() if k not in variables}, file)
    channels = [ConfiguredChannel(c.channel, c.tags, str(file), c.secrets) for c in file_channels]
    env_secrets = env.credentials()
    names = {c.name for c in channels}
    for channel in env_channels(env):
        if channel.name in names:
            raise ConfigError(
                f"channel {channel.name!r} is defined in {file} and by the BROADCAST_* "
                f"variables; remove one, or rename the table [channels.{channel.name}]"
            )
        channels.append(ConfiguredChannel(channel, frozenset(), "environment", env_secrets))
    if not channels and not allow_empty:
        message = f"no channel is configured: {how_to_configure()}, or write a {DEFAULT_CONFIG}"
        if file is not None:
            message = f"{file} defines no [channels.NAME] table and {message}"
        raise ConfigError(message)
    return Config(tuple(channels), env, file)


def _check_settings(env: Env, from_file: Mapping[str, str], file: Path | None) -> None:
    """Check the settings now, not at send time; a file's setting is named as its key."""
    try:
        broadcaster_settings(env)
    except ConfigError as exc:
        message = str(exc)
        for key, variable in SETTINGS.items():
            if variable in from_file and message.startswith(variable):
                message = f"{file}: [settings] {key}{message.removeprefix(variable)}"
        raise ConfigError(message) from None


def _find(path: str | os.PathLike[str] | None, variables: Mapping[str, str]) -> Path | None:
    if path is not None:
        return Path(path)
    if named := variables.get("BROADCAST_CONFIG", "").strip():
        return Path(named)
    default = Path(DEFAULT_CONFIG)
    return default if default.is_file() else None
