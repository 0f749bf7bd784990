"""``broadcast.toml``: several channels of each kind, each with a name and tags.

::

    [settings]
    journal = "/var/lib/broadcast/journal.db"      # false: no journal

    [channels.status-page]
    type = "webhook"
    tags = ["everyone", "affected"]
    url = "${STATUS_HOOK_URL}"                      # ${VAR}: from the environment or .env
    secret = "${STATUS_HOOK_SECRET}"

Each ``[channels.NAME]`` table is read with the same rules as the ``BROADCAST_*``
variables of its type (a key is the variable's name without its prefix, lower-cased),
so a value is checked the same way wherever it is written. Errors name the file, the
table and the key, and say what to write instead.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._channel import Channel
from .._errors import ConfigError
from .._redact import redact, register_secret
from ..channels._registry import available, spec
from ..journal._pg_dsn import is_postgres, password_of
from ._env import Env
from ._registry import SETTINGS, channel_keys, specs

__all__ = ["FileChannel", "read_config_file"]


def __getattr__(name: str) -> Any:
    """``KEYS`` and ``SECRET_KEYS``, generated from the channel registry on first use."""
    if name == "KEYS":
        return channel_keys()
    if name == "SECRET_KEYS":
        return frozenset().union(*(s.secret_keys() for s in specs()))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_PLACEHOLDERS = {"secret": "whsec_" + "A" * 32, "url": "https://placeholder.invalid/hook"}
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_TAG = _NAME
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class FileChannel:
    """A channel from the file, with its tags."""

    channel: Channel[Any]
    tags: frozenset[str]
    secrets: frozenset[str] = frozenset()
    """Its credential values, for a last line of defence that masks them in output."""


def read_config_file(
    path: Path, lookup: Mapping[str, str], *, require_secrets: bool = True
) -> tuple[list[FileChannel], dict[str, str]]:
    """The file's channels, and its ``[settings]`` as ``BROADCAST_*`` variables.

    ``lookup`` answers ``${VAR}`` references. With ``require_secrets=False`` (for
    previews) an unset reference in a credential key gets a placeholder instead of
    an error.
    """
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such file; pass the path of a broadcast.toml") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    _no_unknown(where, "", data, {"settings", "channels"})
    settings = _settings(where, _table(where, "settings", data.get("settings", {})), path.parent)
    channels = _table(where, "channels", data.get("channels", {}))
    read = _Reader(where, lookup, require_secrets, path.parent)
    return [read.channel(name, table) for name, table in channels.items()], settings


def _table(where: str, key: str, value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key} must be a table, written [{key}]")
    return value


def _no_unknown(where: str, table: str, data: Mapping[str, object], known: set[str]) -> None:
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = (
                f"did you mean {close[0]}?" if close else f"known keys: {', '.join(sorted(known))}"
            )
            raise ConfigError(f"{where}: {table}unknown key {key!r}; {hint}")


def _settings(where: str, table: dict[str, Any], base: Path) -> dict[str, str]:
    _no_unknown(where, "[settings] ", table, set(SETTINGS))
    variables: dict[str, str] = {}
    for key, value in table.items():
        if key == "journal" and value is False:
            variables[SETTINGS[key]] = "off"
        elif key == "journal" and isinstance(value, str) and is_postgres(value):
            register_secret(password_of(value))
            variables[SETTINGS[key]] = value  # a shared PostgresJournal, not a file
        elif key == "journal" and isinstance(value, str):
            variables[SETTINGS[key]] = str(base / Path(value).expanduser())
        elif key != "journal" and isinstance(value, int | float) and not isinstance(value, bool):
            variables[SETTINGS[key]] = str(value)
        else:
            kind = "a path, a postgresql:// URL, or false" if key == "journal" else "a number"
            raise ConfigError(f"{where}: [settings] {key} must be {kind}, got {value!r}")
    return variables


@dataclass(frozen=True, slots=True)
class _Reader:
    where: str
    lookup: Mapping[str, str]
    require_secrets: bool
    base: Path

    def channel(self, name: str, table: object) -> FileChannel:
        at = f"{self.where}: [channels.{name}]"
        if not _NAME.fullmatch(name):
            raise ConfigError(
                f"{at}: a channel name is lower-case letters, digits, - and _ "
                "(it names the channel in reports and in the journal)"
            )
        if not isinstance(table, dict):
            raise ConfigError(f"{at} must be a table")
        kind, kinds = table.get("type"), available()
        if not isinstance(kind, str) or kind not in kinds:
            raise ConfigError(f"{at}: set type to one of {', '.join(sorted(kinds))}, got {kind!r}")
        declared = spec(kind)
        keys = declared.keys()
        _no_unknown(self.where, f"[channels.{name}] ", table, {"type", "tags", *keys})
        tags = self._tags(at, table.get("tags", []))
        secret = declared.secret_keys()
        values = {
            keys[key]: self._value(at, key, value, secret=key in secret)
            for key, value in table.items()
            if key not in {"type", "tags"}
        }
        try:
            channel = declared.from_env(Env(values))
        except ConfigError as exc:
            raise ConfigError(redact(f"{at}: {_in_keys(str(exc), keys)}")) from None
        if channel is None:
            first = next(iter(keys))
            raise ConfigError(f"{at}: a {kind} channel needs {first} (and its credentials)")
        channel.name = name
        return FileChannel(channel, tags, frozenset(values[keys[k]] for k in secret & set(table)))

    def _tags(self, at: str, tags: object) -> frozenset[str]:
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ConfigError(f'{at}: tags must be a list of words, like tags = ["everyone"]')
        if bad := [t for t in tags if not _TAG.fullmatch(t)]:
            raise ConfigError(f"{at}: tag {bad[0]!r}: use lower-case letters, digits, - and _")
        return frozenset(tags)

    def _value(self, at: str, key: str, value: object, *, secret: bool) -> str:
        """The value as text; a secret's is masked from here on, and never quoted."""
        if isinstance(value, list) and key == "recipients":
            if not all(isinstance(v, str) and "," not in v for v in value):
                raise ConfigError(f"{at}: recipients must be a list of addresses or numbers")
            return ", ".join(self._text(at, key, v, secret=secret) for v in value)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            kind = "text or a list" if key == "recipients" else "text or a number"
            given = _kind_of(value) if secret else repr(value)
            raise ConfigError(f"{at}: {key} must be {kind}, got {given}")
        text = self._text(at, key, str(value), secret=secret)
        if secret and not self._uses_placeholder(str(value)):
            register_secret(text.strip())  # before anything can fail and quote it
        if key == "recipients" and text.startswith("@"):
            return "@" + str(self.base / Path(text[1:]).expanduser())
        return text

    def _uses_placeholder(self, value: str) -> bool:
        """Whether reading ``value`` puts a preview's placeholder for an unset variable."""
        return not self.require_secrets and any(
            self.lookup.get(m.group(1)) is None for m in _REFERENCE.finditer(value)
        )

    def _text(self, at: str, key: str, text: str, *, secret: bool) -> str:
        def substitute(match: re.Match[str]) -> str:
            variable = match.group(1)
            if (found := self.lookup.get(variable)) is not None:
                return found
            if not self.require_secrets and secret:
                return _PLACEHOLDERS.get(key, "placeholder")
            raise ConfigError(
                f"{at}: {key} refers to ${{{variable}}}, which is not set; "
                f"export {variable} or add it to .env"
            )

        return _REFERENCE.sub(substitute, text)


def _kind_of(value: object) -> str:
    """What a TOML value is, in words, without its content (which may be a secret)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


def _in_keys(message: str, keys: Mapping[str, str]) -> str:
    """An environment error message, with each variable written as its file key."""
    for key, variable in sorted(keys.items(), key=lambda kv: -len(kv[1])):
        message = message.replace(variable, key)
    return message
