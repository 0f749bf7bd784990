"""Typed reads of ``BROADCAST_*`` settings from the environment and a ``.env`` file.

Precedence: a variable set in the process environment wins over the same name in
``.env``; ``.env`` is read with python-dotenv and never written back to ``os.environ``.
Every error names the variable and says what is wrong.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values

from .._errors import ConfigError

__all__ = [
    "CREDENTIALS",
    "MAX_PORT",
    "MAX_SECONDS",
    "PLACEHOLDER",
    "PREFIX",
    "Env",
    "env_file_names",
    "merged_environment",
]

PREFIX = "BROADCAST_"
CREDENTIALS = ("_TOKEN", "_SECRET", "_PASSWORD", "_KEY")
"""Endings of the variable names that hold credentials."""
MAX_PORT = 65535
MAX_SECONDS = 7 * 24 * 3600.0
"""The longest timeout or deadline accepted: longer is a typo, and overflows clocks."""
PLACEHOLDER = "placeholder"
"""What a missing credential reads as in an Env made with ``placeholders=True``."""


def merged_environment(
    env_file: str | os.PathLike[str] | None = ".env",
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Every variable of ``environ`` (default ``os.environ``) over those of ``env_file``."""
    merged: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ if environ is None else environ)
    return merged


def env_file_names(env_file: str | os.PathLike[str] | None = ".env") -> frozenset[str]:
    """The names ``env_file`` sets (none if it is absent), to say where a variable came from."""
    if env_file is None or not Path(env_file).is_file():
        return frozenset()
    return frozenset(dotenv_values(env_file))


class Env:
    """Typed reads of ``BROADCAST_*`` variables; every error names the variable."""

    def __init__(self, values: Mapping[str, str], *, placeholders: bool = False) -> None:
        """Keep the ``BROADCAST_*`` variables of ``values``.

        With ``placeholders``, a required credential that is missing reads as a
        placeholder instead of an error, so channels can be built to preview them.
        """
        self._values = {k: v for k, v in values.items() if k.startswith(PREFIX)}
        self._placeholders = placeholders

    @classmethod
    def load(
        cls,
        env_file: str | os.PathLike[str] | None = ".env",
        environ: Mapping[str, str] | None = None,
    ) -> Env:
        """The process environment over ``env_file`` (skipped if absent or ``None``)."""
        return cls(merged_environment(env_file, environ))

    def names(self) -> list[str]:
        """The ``BROADCAST_*`` variables that are set, sorted."""
        return sorted(n for n, v in self._values.items() if v.strip())

    def credentials(self) -> frozenset[str]:
        """The values of the variables that hold credentials, to be masked in output.

        So is every variable a channel declares as a ``SecretStr`` (the webhook URL:
        its path or query may hold a token).
        """
        from ..journal._pg_dsn import password_of  # noqa: PLC0415 - only when asked
        from ._registry import secret_env_names  # noqa: PLC0415 - loads the channels

        declared = secret_env_names(self) if self._values else frozenset()
        journal = self.get("BROADCAST_JOURNAL")
        # A postgresql:// journal's password (the rest of the URL is shown, masked).
        database = {p} if journal and (p := password_of(journal)) else set()
        return (
            frozenset(
                value
                for name in self._values
                if name.endswith(CREDENTIALS) or name in declared
                if (value := self.get(name)) is not None
            )
            | database
        )

    def get(self, name: str) -> str | None:
        """The value, stripped; unset and empty both mean ``None``."""
        value = self._values.get(name, "").strip()
        return value or None

    def url(self, name: str) -> str | None:
        """An absolute http(s) URL, with a port from 1 to 65535 if it names one.

        The URL is never quoted: its path or query may hold a token.
        """
        value = self.get(name)
        if value is None:
            return None
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError as exc:  # "Invalid IPv6 URL", "Port out of range 0-65535", ...
            reason = (
                f"its port must be a number from 1 to {MAX_PORT}"
                if "port" in str(exc).lower()
                else "it cannot be read; check its brackets"
            )
            raise ConfigError(f"{name} is not a valid URL: {reason}") from None
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ConfigError(f"{name} must be an absolute http:// or https:// URL")
        if port == 0:
            raise ConfigError(f"{name}: a URL's port must be from 1 to {MAX_PORT}")
        return value

    def port(self, name: str) -> int | None:
        """A TCP port, 1 to 65535; None when unset."""
        value = self.get(name)
        if value is None:
            return None
        if not _whole(value) or not 1 <= int(value) <= MAX_PORT:
            raise ConfigError(f"{name} must be a port number from 1 to {MAX_PORT}, got {value!r}")
        return int(value)

    def seconds(self, name: str, default: float) -> float:
        """A duration in seconds: more than 0, at most ``MAX_SECONDS`` (a week)."""
        seconds = self.number(name, default)
        if seconds > MAX_SECONDS:
            raise ConfigError(
                f"{name} must be at most {MAX_SECONDS:g} seconds (a week), got {self.get(name)!r}"
            )
        return seconds

    def count(self, name: str, default: int, *, maximum: int) -> int:
        """A whole number from 1 to ``maximum``."""
        value = self.get(name)
        if value is None:
            return default
        if not _whole(value) or not 1 <= int(value) <= maximum:
            raise ConfigError(f"{name} must be a whole number from 1 to {maximum}, got {value!r}")
        return int(value)

    def number(self, name: str, default: float, *, integer: bool = False) -> float:
        """A positive number (an integer if asked)."""
        value = self.get(name)
        if value is None:
            return default
        try:
            number = int(value) if integer else float(value)
        except ValueError:
            kind = "a whole number" if integer else "a number of seconds"
            raise ConfigError(f"{name} must be {kind}, got {value!r}") from None
        if not math.isfinite(number) or number <= 0:
            raise ConfigError(f"{name} must be positive, got {value!r}")
        return number

    def require(self, name: str, why: str) -> str:
        """A value that must be set because ``why``."""
        value = self.get(name)
        if value is None:
            if self._placeholders and name.endswith(CREDENTIALS):
                return PLACEHOLDER
            raise ConfigError(f"{name} is required {why}")
        return value

    def unknown(self, known: Collection[str]) -> list[str]:
        """``BROADCAST_*`` names that are not in ``known`` (likely typos)."""
        return sorted(set(self._values) - set(known))

    def build(self, name: str, factory: Callable[[], Any]) -> Any:
        """Call ``factory``; a ``ValueError`` it raises is blamed on variable ``name``."""
        try:
            return factory()
        except ValueError as exc:
            raise ConfigError(f"{name}: {exc}") from None


def _whole(value: str) -> bool:
    """Digits 0-9 only (``str.isdigit`` also takes superscripts, which ``int`` refuses)."""
    return value.isascii() and value.isdigit()
