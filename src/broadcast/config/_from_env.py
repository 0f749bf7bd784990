"""Configuration from the environment and a ``.env`` file -> channels and a Broadcaster.

Precedence: a variable set in the process environment wins over the same name in
``.env``; ``.env`` is read with python-dotenv and never written back to ``os.environ``.
Every error names the variable and says how to fix it.

Each channel declares its own variables in its ``ChannelSpec`` (``channels/_spec.py``);
``_registry`` reads them all from the registry, and docs/configuration.md shows
the generated table. The settings that are not a channel's:

| variable                      | meaning                                                |
|-------------------------------|--------------------------------------------------------|
| ``BROADCAST_TIMEOUT``         | seconds per channel, retries included (default 180);   |
|                               | when set, it bounds fan-outs (email, SMS) too          |
| ``BROADCAST_FAN_OUT_TIMEOUT`` | seconds per fan-out channel (default: BROADCAST_TIMEOUT|
|                               | if set, else 3600)                                     |
| ``BROADCAST_JOURNAL``         | the delivery journal file (default: the per-user       |
|                               | journal, see ``default_journal_path``; ``off``: none;  |
|                               | ``postgresql://...``: a shared PostgresJournal)        |
| ``BROADCAST_CONFIG``          | the broadcast.toml to read (default ./broadcast.toml)  |
| ``BROADCAST_ALLOW_UNKNOWN``   | ``1``: an unknown ``BROADCAST_*`` name is a warning    |
|                               | (never for credentials; see ``_config_names``)         |
| ``BROADCAST_RETRY_ATTEMPTS``  | attempts per channel (default 5)                       |
| ``BROADCAST_RETRY_DEADLINE``  | seconds of retrying per channel (default 120)          |
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from .._broadcaster import DEFAULT_FAN_OUT_TIMEOUT, DEFAULT_TIMEOUT, Broadcaster
from .._channel import Channel
from .._errors import ConfigError
from .._redact import redact, register_secret
from .._retry import RetryPolicy
from ..journal._protocol import Journal
from ..journal._setting import journal_from_setting, location
from ._env import Env
from ._registry import (
    SETTINGS,
    channel_keys,
    env_channels_of,
    how_to_configure,
    known_env_names,
)

__all__ = [
    "SETTINGS",
    "broadcaster_from_env",
    "broadcaster_settings",
    "channels_from_env",
    "env_channels",
    "masked_errors",
]

log = logging.getLogger("broadcast")

MAX_ATTEMPTS = 100
"""Most attempts per channel ``BROADCAST_RETRY_ATTEMPTS`` may ask for."""


def __getattr__(name: str) -> Any:
    """``KNOWN_VARIABLES``, ``HOW_TO_CONFIGURE``, ``BUILDERS``: generated from the registry.

    Computed on first use, so importing this module loads no channel.
    """
    if name == "KNOWN_VARIABLES":
        return known_env_names()
    if name == "HOW_TO_CONFIGURE":
        return how_to_configure()
    if name == "BUILDERS":
        from ..channels._registry import spec  # noqa: PLC0415

        return {kind: spec(kind).from_env for kind in channel_keys()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def broadcaster_settings(env: Env) -> dict[str, Any]:
    """The Broadcaster's ``retry``, ``timeout`` and ``fan_out_timeout``, each checked."""
    retry = RetryPolicy(
        attempts=env.count("BROADCAST_RETRY_ATTEMPTS", 5, maximum=MAX_ATTEMPTS),
        deadline=env.seconds("BROADCAST_RETRY_DEADLINE", 120.0),
    )
    timeout = env.seconds("BROADCAST_TIMEOUT", DEFAULT_TIMEOUT)
    # A timeout someone set is meant for every channel: it bounds fan-outs too.
    fallback = timeout if env.get("BROADCAST_TIMEOUT") else DEFAULT_FAN_OUT_TIMEOUT
    fan_out_timeout = env.seconds("BROADCAST_FAN_OUT_TIMEOUT", fallback)
    return {"retry": retry, "timeout": timeout, "fan_out_timeout": fan_out_timeout}


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
    """Every channel the environment configures; an error if there is none.

    A set ``BROADCAST_*`` variable that broadcast does not read (a typo) is an error
    naming it, with the closest known name (see ``_config_names``).
    """
    from ._names import check_names  # noqa: PLC0415 - it imports this module

    env = env or Env.load()
    with masked_errors():
        check_names(env)
    channels = env_channels(env)
    if not channels:
        raise ConfigError(f"no channel is configured: {how_to_configure()}")
    return channels


def broadcaster_from_env(
    env: Env | None = None,
    *,
    channels: list[Channel[Any]] | None = None,
    journal: Journal | Literal["env"] | None = "env",
) -> Broadcaster:
    """A Broadcaster with the environment's channels (or ``channels``) and settings.

    ``journal`` defaults to an ``SQLiteJournal`` at ``BROADCAST_JOURNAL`` (else the
    per-user journal, ``default_journal_path()``; ``off`` for none; a
    ``postgresql://`` URL for a ``PostgresJournal``), which the
    Broadcaster closes with itself; pass a Journal (yours to close), or None for none.
    """
    env = env or Env.load()
    register_secret(*env.credentials())
    with masked_errors():
        return _broadcaster(env, channels, journal)


def _broadcaster(
    env: Env, channels: list[Channel[Any]] | None, journal: Journal | Literal["env"] | None
) -> Broadcaster:
    settings = broadcaster_settings(env)
    made = journal == "env"
    if journal == "env":
        setting = env.get("BROADCAST_JOURNAL")
        journal = journal_from_setting(setting)
        where = "BROADCAST_JOURNAL or [settings] journal" if setting else "the per-user default"
        log.info("journal: %s (%s)", location(journal) if journal else "off", where)
    broadcaster = Broadcaster(
        channels if channels is not None else channels_from_env(env),
        journal=journal,
        **settings,
    )
    broadcaster._owns_journal = made  # the journal made here closes with the Broadcaster
    return broadcaster
