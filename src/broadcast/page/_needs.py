"""The page's optional libraries (the ``page`` extra), and the hint when they are missing."""

from __future__ import annotations

import importlib.util

from .._errors import ConfigError

__all__ = ["INSTALL", "require"]

INSTALL = "pip install 'broadcast-crisis[page]'"
_NEEDED = ("jinja2", "feedgen")


def require() -> None:
    """Raise ``ConfigError`` naming what to install unless Jinja2 and feedgen are there."""
    if missing := [name for name in _NEEDED if importlib.util.find_spec(name) is None]:
        raise ConfigError(
            f"the status page needs {' and '.join(missing)}, which are not installed: {INSTALL}"
        )
