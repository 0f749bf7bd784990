"""``ChannelSpec``: everything a channel declares about itself, in its own module.

A channel module ends with one declaration, and the registry maps its name to it::

    class AcmeSettings(BaseModel):
        url: str = setting(doc="Enables the channel.")
        token: SecretStr = setting(doc="API token.")

    SPEC = ChannelSpec(
        name="acme",
        channel=Acme,
        settings=AcmeSettings,
        example=lambda: Acme("https://acme.example/hook", "example-only"),
    )

From the spec alone, ``broadcast`` reads the channel from ``BROADCAST_ACME_*``
variables, ``.env`` and ``[channels.NAME]`` tables with ``type = "acme"`` (a key is
the variable's name without its prefix, lower-cased), masks its ``SecretStr``
settings, previews its example, lists its capabilities, and writes its rows of the
configuration table. A plugin registers the spec in the ``broadcast.channels``
entry-point group (``acme = "acme:SPEC"``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, JsonValue, SecretStr, ValidationError
from pydantic.fields import FieldInfo

from .._capabilities import capabilities_of
from .._errors import ConfigError
from .._redact import register_secret

if TYPE_CHECKING:
    from .._channel import Channel
    from ..config._env import Env

__all__ = ["ChannelSpec", "setting"]


def setting(
    default: Any = ...,
    *,
    env: str | None = None,
    key: str | None = None,
    doc: str = "",
    shown_default: str | None = None,
) -> Any:
    """One field of a channel's settings model.

    ``env`` is its variable (default: the spec's prefix and the key, upper-cased),
    ``key`` its name in broadcast.toml when the field's cannot be (``from``), ``doc``
    its line in the configuration table, ``shown_default`` the default as the table
    says it when the value alone would not (``587 / 465 / 25 by TLS mode``).
    """
    extra: dict[str, JsonValue] = {
        k: v for k, v in (("env", env), ("shown", shown_default)) if v is not None
    }
    return Field(default, alias=key, description=doc, json_schema_extra=extra or None)


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """A channel's declaration: its settings, capabilities, preview example and stand-in."""

    name: str
    """Its type name: ``type = "acme"`` in broadcast.toml, ``acme`` in ``available()``."""
    channel: type[Any]
    """The channel class; its capabilities are the optional Protocols it implements."""
    settings: type[BaseModel]
    """Field types, ``SecretStr`` for credentials, defaults, and env names (``setting``)."""
    example: Callable[[], Channel[Any]]
    """A channel with example settings, for ``broadcast preview`` with nothing configured."""
    build: Callable[[Env], Channel[Any] | None] | None = None
    """Reads its variables from an ``Env``: None when they do not configure it. Default:
    unconfigured while none is set, else ``channel(**settings)`` (secrets as ``str``)."""
    env_prefix: str | None = None
    """Default ``BROADCAST_<NAME>_``; a plugin keeps the default."""
    label: str | None = None
    """How the "nothing is configured" hint names it (default: its name)."""
    enabled_by: str | None = None
    """The variable that enables it, for that hint (default: its first setting's)."""
    standin: str | None = None
    """``module:Class`` of the local stand-in the demo and tests send it to."""
    needs: str | None = None
    """A module of an optional extra that building the channel imports (``apprise``):
    the demo leaves the channel out when it is not installed."""

    @property
    def prefix(self) -> str:
        """The prefix of its variables."""
        return self.env_prefix or f"BROADCAST_{self.name.upper().replace('-', '_')}_"

    def keys(self) -> dict[str, str]:
        """Each key of its broadcast.toml table, and the variable it stands for."""
        return {_key(name, f): self._env(name, f) for name, f in self._fields()}

    def secret_keys(self) -> frozenset[str]:
        """The keys that hold credentials (declared ``SecretStr``): masked everywhere."""
        return frozenset(_key(n, f) for n, f in self._fields() if _is_secret(f))

    def required_keys(self) -> list[str]:
        """The keys that have no default."""
        return [_key(n, f) for n, f in self._fields() if f.is_required()]

    def summary(self) -> str:
        """What the channel does, in one line: its settings model's docstring."""
        return (self.settings.__doc__ or "").strip().splitlines()[0]

    def secret_variables(self) -> frozenset[str]:
        """The variables that hold credentials."""
        return frozenset(self._env(n, f) for n, f in self._fields() if _is_secret(f))

    def env_names(self) -> frozenset[str]:
        """Every variable it reads."""
        return frozenset(self.keys().values())

    def hint(self) -> str:
        """``BROADCAST_WEBHOOK_URL (webhook)``: how to enable it, in the empty-config error."""
        first = self.enabled_by or next(iter(self.keys().values()))
        return f"{first} ({self.label or self.name})"

    def capabilities(self) -> frozenset[str]:
        """What the channel can do beyond posting: check, threading, fan-out, idempotency."""
        return capabilities_of(self.channel)

    def rows(self) -> list[tuple[str, str, str, str]]:
        """``(key, variable, meaning, default)`` for each setting, for the docs table."""
        return [
            (_key(n, f), self._env(n, f), f.description or "", _shown_default(f))
            for n, f in self._fields()
        ]

    def from_env(self, env: Env) -> Channel[Any] | None:
        """The channel its ``BROADCAST_*`` variables configure, or None."""
        if self.build is not None:
            return self.build(env)
        keys = self.keys()
        given = {key: value for key, name in keys.items() if (value := env.get(name)) is not None}
        if not given:
            return None
        try:
            model = self.settings.model_validate(given)
        except ValidationError as exc:
            raise ConfigError(_explain(exc, keys)) from None
        secrets = [v.get_secret_value() for _, v in model if isinstance(v, SecretStr)]
        register_secret(*secrets)  # masked in every log, report and error from here on
        values = {
            name: value.get_secret_value() if isinstance(value, SecretStr) else value
            for name, value in model
        }
        channel: Channel[Any] = env.build(next(iter(keys.values())), lambda: self.channel(**values))
        channel.name = self.name  # named after its type, as the built-ins are
        return channel

    def _fields(self) -> list[tuple[str, FieldInfo]]:
        return list(self.settings.model_fields.items())

    def _env(self, name: str, info: FieldInfo) -> str:
        extra = info.json_schema_extra
        if isinstance(extra, Mapping) and isinstance(env := extra.get("env"), str):
            return env
        return self.prefix + _key(name, info).upper()


def _key(name: str, info: FieldInfo) -> str:
    return info.alias or name


def _is_secret(info: FieldInfo) -> bool:
    annotation = info.annotation
    return annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ())


def _shown_default(info: FieldInfo) -> str:
    extra = info.json_schema_extra
    if isinstance(extra, Mapping) and isinstance(shown := extra.get("shown"), str):
        return shown
    if info.is_required():
        return "required"
    if info.default is None:
        return "—"
    if isinstance(info.default, str):
        return f"`{info.default}`"
    if isinstance(info.default, float) and info.default.is_integer():
        return str(int(info.default))
    return str(info.default)


def _explain(exc: ValidationError, keys: Mapping[str, str]) -> str:
    """The first problem, naming the variable; never the value, which may be a secret."""
    error = exc.errors(include_input=False)[0]
    variable = keys.get(str(error["loc"][0]), str(error["loc"][0])) if error["loc"] else ""
    if error["type"] == "missing":
        return f"{variable} is required"
    return f"{variable}: {error['msg']}"
