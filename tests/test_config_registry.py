"""Configuration, preview examples, the demo and the docs are generated from the registry."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr

from broadcast import ConfigError, load_config
from broadcast.api._preview import example_channels
from broadcast.channels import BUILTIN, ChannelSpec, setting
from broadcast.config import Env
from broadcast.config._docs import render
from broadcast.config._file import KEYS
from broadcast.config._from_env import KNOWN_VARIABLES
from broadcast.config._registry import (
    builtin_specs,
    how_to_configure,
    known_env_names,
    settings_table,
    types_table,
)
from broadcast.demo._run import stand_ins
from broadcast.testing import RecordingChannel, WebhookReceiver

PAGE = Path(__file__).parent.parent / "docs" / "configuration.md"

# The tables that _config_file.py and _config.py wrote by hand before the registry:
# the generated ones must say exactly the same.
HAND_WRITTEN_KEYS = {
    "webhook": ["url", "secret", "timeout"],
    "email": [
        "host", "port", "username", "password", "sender", "recipients", "tls", "pool_size",
        "reply_to", "dkim_selector", "dkim_key", "dkim_domain", "unsubscribe_url",
        "unsubscribe_secret", "unsubscribe_mailto", "list_id", "suppress", "dns_server",
        "domain_rates",
    ],
    "twitter": [
        "consumer_key", "consumer_secret", "access_token", "access_token_secret",
        "bearer_token", "base_url", "max_posts",
    ],
    "facebook": ["page_id", "page_token", "app_secret", "follow_up", "api_version", "base_url"],
    "sms": [
        "account_sid", "auth_token", "from", "messaging_service_sid", "base_url", "recipients",
        "region", "max_segments", "rate", "concurrency",
    ],
}  # fmt: skip
HAND_WRITTEN_SECRETS = {
    "secret", "password", "bearer_token", "consumer_key", "consumer_secret", "access_token",
    "access_token_secret", "page_token", "app_secret", "auth_token", "dkim_key",
    "unsubscribe_secret",
}  # fmt: skip
PREFIXES = {"webhook": "WEBHOOK", "email": "SMTP", "twitter": "TWITTER", "facebook": "FACEBOOK"}
SMS_OWN = {"recipients", "region", "max_segments", "rate", "concurrency"}


def _variable(kind: str, key: str) -> str:
    if kind == "sms":
        return f"BROADCAST_{'SMS' if key in SMS_OWN else 'TWILIO'}_{key.upper()}"
    return f"BROADCAST_{PREFIXES[kind]}_{key.upper()}"


def test_generated_keys_are_the_hand_written_ones() -> None:
    """Every built-in's keys and variables, read from its ChannelSpec, are as before."""
    assert {k: list(KEYS[k]) for k in HAND_WRITTEN_KEYS} == HAND_WRITTEN_KEYS
    for kind, keys in HAND_WRITTEN_KEYS.items():
        assert KEYS[kind] == {key: _variable(kind, key) for key in keys}
    secrets = {
        (s.name, k) for s in builtin_specs() if s.name in HAND_WRITTEN_KEYS for k in s.secret_keys()
    }
    expected = {(k, key) for k, keys in HAND_WRITTEN_KEYS.items() for key in keys}
    assert secrets == {(k, key) for k, key in expected if key in HAND_WRITTEN_SECRETS} | {
        ("webhook", "url")
    }


def test_known_variables_are_every_declared_one_and_the_settings() -> None:
    """KNOWN_VARIABLES (and known_env_names) is generated: channels' variables and settings."""
    channel_vars = {_variable(k, key) for k, keys in HAND_WRITTEN_KEYS.items() for key in keys}
    general = {"BROADCAST_TIMEOUT", "BROADCAST_FAN_OUT_TIMEOUT", "BROADCAST_JOURNAL"}
    general |= {"BROADCAST_CONFIG", "BROADCAST_RETRY_ATTEMPTS", "BROADCAST_RETRY_DEADLINE"}
    declared = {v for keys in KEYS.values() for v in keys.values()}
    assert KNOWN_VARIABLES == known_env_names() == declared | general
    assert channel_vars <= declared


def test_the_configuration_page_tables_are_the_generated_ones() -> None:
    """docs/configuration.md shows the generated tables (python -m broadcast.config._docs)."""
    page = PAGE.read_text(encoding="utf-8")
    assert types_table() in page
    assert settings_table() in page
    assert render(page) == page, "run: python -m broadcast.config._docs"


def test_builtin_capabilities_are_read_from_their_classes() -> None:
    """Each built-in's capabilities come from the Protocols its class implements."""
    found = {s.name: s.capabilities() for s in builtin_specs() if s.name in HAND_WRITTEN_KEYS}
    assert found == {
        "webhook": {"check", "idempotent"},
        "email": {"check", "fan-out", "journal", "threading"},
        "twitter": {"check", "journal", "threading"},
        "facebook": {"check", "journal", "threading"},
        "sms": {"check", "fan-out", "journal"},
    }


class PagerSettings(BaseModel):
    """Pages the on-call engineer."""

    number: str = setting(doc="Enables the pager.")
    key: SecretStr = setting(doc="Pager API key.")
    retries: int = setting(3, doc="Pages before giving up.")


class Pager(RecordingChannel):
    def __init__(self, number: str, key: str, retries: int = 3, *, name: str = "pager") -> None:
        super().__init__(name=name)
        self.number, self.key, self.retries = number, key, retries


@pytest.fixture
def pager(monkeypatch: pytest.MonkeyPatch) -> ChannelSpec:
    """A built-in added by its module and the registry's one line, nothing else."""
    module = types.ModuleType("pager_module")
    spec = ChannelSpec(
        name="pager",
        channel=Pager,
        settings=PagerSettings,
        example=lambda: Pager("+14155550100", "example-only"),
        standin="broadcast.testing:WebhookReceiver",
    )
    module.SPEC = spec  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pager_module", module)
    monkeypatch.setitem(BUILTIN, "pager", ("pager_module:SPEC", "Pager", None))
    return spec


@pytest.mark.usefixtures("pager")
def test_one_registry_line_makes_a_channel_configurable_everywhere(tmp_path: Path) -> None:
    """A new registry line reaches env, TOML, known variables, hints, examples, demo and docs."""
    env = {"BROADCAST_PAGER_NUMBER": "+14155550100", "BROADCAST_PAGER_KEY": "pager-key-123456"}
    config = load_config(env_file=None, environ=env)
    [channel] = [c.channel for c in config.channels]
    assert isinstance(channel, Pager)
    assert (channel.number, channel.key, channel.retries) == ("+14155550100", "pager-key-123456", 3)
    assert "pager-key-123456" in Env(env).credentials()
    (tmp_path / "broadcast.toml").write_text(
        '[channels.oncall]\ntype = "pager"\nnumber = "+1415"\nkey = "k-123456"\nretries = 5\n'
    )
    [from_file] = load_config(tmp_path / "broadcast.toml", env_file=None, environ={}).channels
    assert isinstance(from_file.channel, Pager)
    assert (from_file.name, from_file.channel.retries) == ("oncall", 5)
    assert "k-123456" in from_file.secrets
    assert "BROADCAST_PAGER_RETRIES" in known_env_names()
    assert "BROADCAST_PAGER_NUMBER (pager)" in how_to_configure()
    assert any(isinstance(c, Pager) for c in example_channels())
    assert stand_ins().count(WebhookReceiver) == 2  # the webhook's, and the pager's
    assert "| `BROADCAST_PAGER_KEY` | `key` (pager) | Pager API key." in settings_table()
    assert "| `pager` | `number` (required), `key` (required), `retries` |" in types_table()


@pytest.mark.usefixtures("pager")
def test_a_declared_setting_is_validated_by_its_model_naming_the_variable() -> None:
    """retries = "many": the error names the variable and never quotes the key's value."""
    env = {
        "BROADCAST_PAGER_NUMBER": "1",
        "BROADCAST_PAGER_KEY": "sekrit-99",
        "BROADCAST_PAGER_RETRIES": "x",
    }
    with pytest.raises(
        ConfigError, match="BROADCAST_PAGER_RETRIES: Input should be a valid integer"
    ):
        load_config(env_file=None, environ=env)
    with pytest.raises(ConfigError, match=r"^BROADCAST_PAGER_KEY is required$"):
        load_config(env_file=None, environ={"BROADCAST_PAGER_NUMBER": "1"})


def test_a_plugin_spec_must_keep_its_entry_point_name_and_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plugin whose ChannelSpec is named otherwise cannot be configured: a clear error."""
    (tmp_path / "misnamed_plugin.py").write_text(
        "from broadcast.channels._spec import ChannelSpec\n"
        "from tests.test_config_registry import Pager, PagerSettings\n"
        "SPEC = ChannelSpec(name='other', channel=Pager, settings=PagerSettings,\n"
        "                   example=lambda: Pager('1', 'k'))\n"
    )
    dist = tmp_path / "misnamed-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: misnamed\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[broadcast.channels]\nbeeper = misnamed_plugin:SPEC\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match="must be named as its entry point"):
        load_config(env_file=None, environ={"BROADCAST_BEEPER_NUMBER": "1"})
