"""Misspelled ``BROADCAST_*`` variables stop the command, named, before anything is sent."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import broadcast
from broadcast import ConfigError, load_config
from broadcast.cli import main
from broadcast.config import Env, channels_from_env
from broadcast.config._env import CREDENTIALS
from broadcast.config._names import known_env_names
from broadcast.testing import LoopbackServer, RecordingChannel

from .conftest import SECRET

FLAGS = ["--title", "PSN is down", "--incident", "psn-2011-04", "--yes", "We are investigating."]


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.mark.parametrize("command", [["send", *FLAGS], ["-v", "send", *FLAGS], ["check"]])
def test_a_misspelled_secret_in_env_file_stops_send_and_check(
    here: Path, server: LoopbackServer, command: list[str]
) -> None:
    """BROADCAST_WEBHOK_SECRET in .env: exit 2 naming it and the fix; nothing goes out."""
    (here / ".env").write_text(f"BROADCAST_WEBHOK_SECRET={SECRET}\n")
    result = run(*command, env={"BROADCAST_WEBHOOK_URL": server.url})
    assert result.exit_code == 2, result.output
    assert (
        "unknown variable BROADCAST_WEBHOK_SECRET (in .env; did you mean "
        "BROADCAST_WEBHOOK_SECRET?)" in result.stderr
    )
    assert "unsigned" in result.stderr
    assert SECRET not in result.output
    assert SECRET.removeprefix("whsec_") not in result.output
    assert server.requests == []


def test_a_misspelled_variable_in_the_environment_is_named_too(here: Path) -> None:
    """From the environment: the same error, without '(in .env)'; preview stops as well."""
    env = {"BROADCAST_WEBHOOK_URL": "https://hooks.example.com/x", "BROADCAST_RETRY_ATEMPTS": "3"}
    result = run("preview", "We are investigating.", env=env)
    assert result.exit_code == 2
    assert result.stderr == (
        "error: unknown variable BROADCAST_RETRY_ATEMPTS (did you mean "
        "BROADCAST_RETRY_ATTEMPTS?); correct the name or remove the variable (or set "
        "BROADCAST_ALLOW_UNKNOWN=1 to only warn about names that are not credentials)\n"
    )


def test_allow_unknown_warns_for_settings_but_never_for_credentials(
    here: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """BROADCAST_ALLOW_UNKNOWN=1: an unknown setting is a warning; a credential still stops."""
    base = {"BROADCAST_WEBHOOK_URL": "https://hooks.example.com/x", "BROADCAST_ALLOW_UNKNOWN": "1"}
    with caplog.at_level(logging.WARNING, logger="broadcast"):
        config = load_config(environ={**base, "BROADCAST_NEW_SETTING": "7"})
    assert [c.name for c in config.channels] == ["webhook"]
    assert "BROADCAST_NEW_SETTING" in caplog.text
    with pytest.raises(ConfigError, match=r"BROADCAST_HOOK_TOKEN .*would leave a channel"):
        load_config(environ={**base, "BROADCAST_HOOK_TOKEN": "t0ken-value"})
    with pytest.raises(ConfigError, match="BROADCAST_ALLOW_UNKNOWN must be 1 or 0, got 'maybe'"):
        load_config(environ={**base, "BROADCAST_ALLOW_UNKNOWN": "maybe", "BROADCAST_X": "1"})


def test_several_unknown_names_are_listed_and_empty_ones_ignored() -> None:
    """Every unknown name is in the one error; a variable set to nothing counts as unset."""
    environ = {
        "BROADCAST_WEBHOOK_URL": "https://hooks.example.com/x",
        "BROADCAST_SMTP_HSOT": "smtp.example.com",
        "BROADCAST_ZZZ": "1",
        "BROADCAST_EMPTY": "",
    }
    with pytest.raises(ConfigError) as caught:
        load_config(environ=environ, env_file=None)
    message = str(caught.value)
    assert message.startswith(
        "unknown variables BROADCAST_SMTP_HSOT (did you mean BROADCAST_SMTP_HOST?), BROADCAST_ZZZ;"
    )
    assert "BROADCAST_EMPTY" not in message


def test_a_variable_the_toml_file_reads_is_not_unknown(here: Path) -> None:
    """${BROADCAST_HOOK_URL} in broadcast.toml makes that name a used one."""
    (here / "broadcast.toml").write_text(
        '[channels.hook]\ntype = "webhook"\nurl = "${BROADCAST_HOOK_URL}"\n'
    )
    config = load_config(environ={"BROADCAST_HOOK_URL": "https://hooks.example.com/x"})
    assert [c.name for c in config.channels] == ["hook"]


def test_channels_from_env_and_send_with_channels_check_names_too(
    monkeypatch: pytest.MonkeyPatch, here: Path
) -> None:
    """channels_from_env() and send(channels=...) reject a typo even with a channel set."""
    env = {"BROADCAST_WEBHOOK_URL": "https://hooks.example.com/x", "BROADCAST_TIMEOT": "5"}
    with pytest.raises(ConfigError, match="did you mean BROADCAST_TIMEOUT"):
        channels_from_env(Env(env))
    monkeypatch.setenv("BROADCAST_TIMEOT", "5")
    channel = RecordingChannel()
    with pytest.raises(ConfigError, match="BROADCAST_TIMEOT"):
        broadcast.send("We are investigating.", channels=[channel])
    assert channel.sent == []


# The bearer token alone is a whole X configuration: it is used.
CREDENTIAL_NAMES = sorted(
    n
    for n in known_env_names()
    if n.endswith(CREDENTIALS) and n != "BROADCAST_TWITTER_BEARER_TOKEN"
)


@pytest.mark.parametrize("name", CREDENTIAL_NAMES)
def test_a_credential_set_alone_is_an_error_not_ignored(name: str) -> None:
    """Every credential variable set without its channel is an error that never shows it."""
    value = "whsec_" + "Q" * 32 if name == "BROADCAST_WEBHOOK_SECRET" else "s3cr3t-value-99"
    with pytest.raises(ConfigError) as caught:
        channels_from_env(Env({name: value}))
    assert "no channel is configured" not in str(caught.value)
    assert value not in str(caught.value)
    assert "Q" * 32 not in str(caught.value)
