"""Configuration: broadcast.toml, ``.env`` and ``BROADCAST_*`` variables -> channels.

Nothing here lists channels: every source is generated from the registry's
each ``ChannelSpec`` (``_registry.py``). The modules, by source and step:

| module | what it does |
|---|---|
| ``_env.py`` | ``Env``: the process environment over a ``.env`` file |
| ``_from_env.py`` | the variables -> channels and the Broadcaster's settings |
| ``_file.py`` | broadcast.toml's ``[[channel]]`` tables |
| ``_load.py`` | ``load_config``: all three merged, tags, ``only=``/``to=`` |
| ``_names.py`` | an unknown ``BROADCAST_*`` name, with the nearest known one |
| ``_registry.py`` | the specs, and the tables docs/configuration.md shows |
| ``_docs.py`` | ``python -m broadcast.config._docs``: regenerate those tables |
| ``_explain.py`` | pydantic's errors in plain words, one per field |

Names load on first use, as in ``broadcast``: the channels' modules import ``_env``
and ``_explain``, and must not pull in the whole of configuration.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._env import Env
    from ._explain import explain
    from ._from_env import broadcaster_from_env, channels_from_env
    from ._load import Config, ConfiguredChannel, load_config

__all__ = [
    "Config",
    "ConfiguredChannel",
    "Env",
    "broadcaster_from_env",
    "channels_from_env",
    "explain",
    "load_config",
]

_WHERE = {
    "Config": "._load",
    "ConfiguredChannel": "._load",
    "Env": "._env",
    "broadcaster_from_env": "._from_env",
    "channels_from_env": "._from_env",
    "explain": "._explain",
    "load_config": "._load",
}
"""Each lazily loaded name, and the private module that defines it."""


def __getattr__(name: str) -> Any:
    """Import a public name on first use, then keep it in the module."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'broadcast.config' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names, loaded or not."""
    return sorted({*__all__, *(n for n in globals() if n.startswith("__"))})
