"""Configuration from the environment and a ``.env`` file -> channels and a Broadcaster.

Precedence: a variable set in the process environment wins over the same name in
``.env``; ``.env`` is read with python-dotenv and never written back to ``os.environ``.
Every error names the variable and says how to fix it.

Each channel declares its own variables in its ``ChannelSpec`` (``channels/_spec.py``);
``_config_registry`` reads them all from the registry, and docs/configuration.md shows
the generated table. The settings that are not a channel's:

| variable                      | meaning                                                |
|-------------------------------|--------------------------------------------------------|
| ``BROADCAST_TIMEOUT``         | seconds per channel, retries included (default 180);   |
|                               | when set, it bounds fan-outs (email, SMS) too          |
| ``BROADCAST_FAN_OUT_TIMEOUT`` | seconds per fan-out channel (default: BROADCAST_TIMEOUT|
|                               | if set, else 3600)                                     |
| ``BROADCAST_JOURNAL``         | the delivery journal file (default ./broadcast.db;     |
|                               | ``off``: none)                                         |
| ``BROADCAST_CONFIG``          | the broadcast.toml to read (default ./broadcast.toml)  |
| ``BROADCAST_RETRY_ATTEMPTS``  | attempts per channel (default 5)                       |
| ``BROADCAST_RETRY_DEADLINE``  | seconds of retrying per channel (default 120)          |
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from ._broadcaster import DEFAULT_FAN_OUT_TIMEOUT, DEFAULT_TIMEOUT, Broadcaster
from ._channel import Channel
from ._config_registry import (
    SETTINGS,
    channel_keys,
    env_channels_of,
    how_to_configure,
    known_env_names,
)
from ._env import Env
from ._errors import ConfigError
from ._journal import Journal
from ._journal_sqlite import default_journal
from ._redact import redact, register_secret
from ._retry import RetryPolicy

__all__ = [
    "SETTINGS",
    "broadcaster_from_env",
    "channels_from_env",
    "env_channels",
    "masked_errors",
]


def __getattr__(name: str) -> Any:
    """``KNOWN_VARIABLES``, ``HOW_TO_CONFIGURE``, ``BUILDERS``: generated from the registry.

    Computed on first use, so importing this module loads no channel.
    """
    if name == "KNOWN_VARIABLES":
        return known_env_names()
    if name == "HOW_TO_CONFIGURE":
        return how_to_configure()
    if name == "BUILDERS":
        from .channels._registry import spec  # noqa: PLC0415

        return {kind: spec(kind).from_env for kind in channel_keys()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def env_channels(env: Env) -> list[Channel[Any]]:
    """The channels the ``BROADCAST_*`` variables configure; maybe none.

    The credentials are masked (``register_secret``) before any is read, so an error
    can never show one, even one pasted into the wrong variable.
    """
    register_secret(*env.credentials())
    with masked_errors():
        return env_channels_of(env)


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
        message = f"no channel is configured: {how_to_configure()}"
        if typos := env.unknown(known_env_names()):
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
