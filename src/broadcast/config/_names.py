"""Which ``BROADCAST_*`` variables broadcast reads, and what to say about the others.

A variable broadcast does not read is almost always a typo, and a quiet one is
dangerous: ``BROADCAST_WEBHOK_SECRET`` would send the webhook unsigned. So every
``BROADCAST_*`` name that is set (in the environment or in ``.env``) and not known is
a ``ConfigError`` naming it, with the closest known name, before anything is sent.

``BROADCAST_ALLOW_UNKNOWN=1`` (for an environment shared with other tools, or a
variable of a newer version) turns that into a logged warning, except for names that
look like credentials (``*_TOKEN``, ``*_SECRET``, ``*_PASSWORD``, ``*_KEY``): a
credential that is not read always stops the send. Values are never shown.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Collection

from .._errors import ConfigError
from ._env import CREDENTIALS, PREFIX, Env
from ._registry import configured_specs
from ._registry import known_env_names as _registry_names

__all__ = ["ALLOW_UNKNOWN", "check_names", "known_env_names"]

log = logging.getLogger("broadcast")

ALLOW_UNKNOWN = "BROADCAST_ALLOW_UNKNOWN"
_GENERAL = frozenset({"BROADCAST_CONFIG", "BROADCAST_BROKER", ALLOW_UNKNOWN})


def known_env_names() -> frozenset[str]:
    """Every ``BROADCAST_*`` variable broadcast reads: each channel's, then the settings.

    The one list that typo checks, the docs test and the error hints compare with.
    """
    return _registry_names() | _GENERAL


def check_names(
    env: Env, *, in_env_file: Collection[str] = (), referenced: Collection[str] = ()
) -> None:
    """Raise ``ConfigError`` naming each set ``BROADCAST_*`` variable that is not read.

    ``in_env_file`` says which names came from ``.env`` (for the message);
    ``referenced`` are names a broadcast.toml reads as ``${VAR}``, so they are used.
    """
    # A plugin that some variable names (BROADCAST_<NAME>_*) but that cannot be read says
    # why first: "unknown variable" would hide a broken or misnamed plugin.
    for _ in configured_specs(env):
        pass
    known = known_env_names()
    unknown = [
        name
        for name in env.unknown(known | set(referenced))
        if env.get(name) is not None  # an empty value is unset
    ]
    if not unknown:
        return
    credentials = [n for n in unknown if n.endswith(CREDENTIALS)]
    lines = [_describe(n, known, in_env_file) for n in unknown]
    allowed = _allowed(env)
    if allowed and not credentials:
        log.warning("ignored, as %s=1 allows: %s", ALLOW_UNKNOWN, ", ".join(lines))
        return
    if credentials:
        advice = (
            "a credential broadcast does not read would leave a channel unsigned or "
            "unauthenticated; correct the name or remove the variable"
        )
    else:
        advice = (
            f"correct the name or remove the variable (or set {ALLOW_UNKNOWN}=1 to "
            "only warn about names that are not credentials)"
        )
    noun = "variable" if len(unknown) == 1 else "variables"
    raise ConfigError(f"unknown {noun} {', '.join(lines)}; {advice}")


def _describe(name: str, known: frozenset[str], in_env_file: Collection[str]) -> str:
    """``NAME (in .env; did you mean KNOWN?)``; the value is never shown."""
    notes = ["in .env"] if name in in_env_file else []
    tails = {k.removeprefix(PREFIX): k for k in known}
    if close := difflib.get_close_matches(name.removeprefix(PREFIX), list(tails), n=1):
        notes.append(f"did you mean {tails[close[0]]}?")
    return f"{name} ({'; '.join(notes)})" if notes else name


def _allowed(env: Env) -> bool:
    value = env.get(ALLOW_UNKNOWN)
    if value is None or value.lower() in {"0", "false", "no"}:
        return False
    if value.lower() in {"1", "true", "yes"}:
        return True
    raise ConfigError(f"{ALLOW_UNKNOWN} must be 1 or 0, got {value!r}")
