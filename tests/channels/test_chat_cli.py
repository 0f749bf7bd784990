"""Slack and Discord through the command: check, send --only, with their stand-ins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from broadcast.cli import main
from broadcast.testing._providers.discord import TOKEN, DiscordFake
from broadcast.testing._providers.slack import SlackFake

FLAGS = ["--title", "PlayStation Network is down", "--incident", "psn-2011-04"]


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, object]]:
    monkeypatch.chdir(tmp_path)
    with SlackFake() as slack, DiscordFake() as discord:
        yield {"slack": slack, "discord": discord}


def _env(fakes: dict[str, object]) -> dict[str, str]:
    slack, discord = fakes["slack"], fakes["discord"]
    assert isinstance(slack, SlackFake)
    assert isinstance(discord, DiscordFake)
    return {
        "BROADCAST_SLACK_TOKEN": slack.token,
        "BROADCAST_SLACK_CHANNEL": slack.channel_id,
        "BROADCAST_SLACK_BASE_URL": slack.url,
        "BROADCAST_DISCORD_WEBHOOK_URL": discord.webhook_url,
        "BROADCAST_DISCORD_CHANNEL_TYPE": "forum",
    }


def run(*args: str, env: dict[str, str]) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_check_probes_both_without_posting(fakes: dict[str, object]) -> None:
    """`broadcast check` calls Slack's auth.test and reads the Discord webhook; no post."""
    result = run("check", env=_env(fakes))
    assert result.exit_code == 0, result.output
    assert "auth.test" in result.output
    assert "webhook 'Status'" in result.output
    assert TOKEN not in result.output
    slack, discord = fakes["slack"], fakes["discord"]
    assert isinstance(slack, SlackFake)
    assert isinstance(discord, DiscordFake)
    assert not slack.posts
    assert not discord.posts


def test_send_only_one_of_them(fakes: dict[str, object]) -> None:
    """`send --only slack` posts to Slack and leaves Discord alone."""
    result = run("send", *FLAGS, "--only", "slack", "We are investigating.", env=_env(fakes))
    assert result.exit_code == 0, result.output
    slack, discord = fakes["slack"], fakes["discord"]
    assert isinstance(slack, SlackFake)
    assert isinstance(discord, DiscordFake)
    assert len(slack.posts) == 1
    assert not discord.posts
