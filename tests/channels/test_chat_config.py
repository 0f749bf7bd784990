"""Slack and Discord from BROADCAST_* variables and from broadcast.toml tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from broadcast import ConfigError, load_config
from broadcast.channels._discord import DiscordWebhook
from broadcast.channels._slack import Slack
from broadcast.config._env import Env
from broadcast.config._from_env import channels_from_env

HOOK = "https://discord.com/api/webhooks/123456789012345678/tok-en_1"


def test_slack_and_discord_from_environment() -> None:
    """A bot token and channel configure Slack (threaded); a webhook URL, Discord."""
    env = Env(
        {
            "BROADCAST_SLACK_TOKEN": "xoxb-env-token-1",
            "BROADCAST_SLACK_CHANNEL": "C0123",
            "BROADCAST_DISCORD_WEBHOOK_URL": HOOK,
            "BROADCAST_DISCORD_CHANNEL_TYPE": "forum",
        }
    )
    slack, discord = channels_from_env(env)
    assert isinstance(slack, Slack)
    assert isinstance(discord, DiscordWebhook)
    assert repr(slack) == "Slack(name='slack', channel='C0123')"
    assert slack.threaded
    assert discord.threaded
    assert "tok-en_1" not in repr(discord)


def test_slack_webhook_form_from_environment() -> None:
    """BROADCAST_SLACK_WEBHOOK_URL alone configures the webhook form, which cannot thread."""
    env = Env({"BROADCAST_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x"})
    [slack] = channels_from_env(env)
    assert isinstance(slack, Slack)
    assert not slack.threaded


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"BROADCAST_SLACK_TOKEN": "xoxb-1"}, "channel is required"),
        ({"BROADCAST_SLACK_CHANNEL": "C1"}, "either a bot token"),
        ({"BROADCAST_DISCORD_WEBHOOK_URL": "https://example.com/x"}, "webhooks/ID/TOKEN"),
        (
            {"BROADCAST_DISCORD_WEBHOOK_URL": HOOK, "BROADCAST_DISCORD_CHANNEL_TYPE": "voice"},
            "BROADCAST_DISCORD_CHANNEL_TYPE",
        ),
    ],
)
def test_bad_values_are_refused_before_sending(values: dict[str, str], message: str) -> None:
    """Incomplete or malformed settings are a ConfigError saying what to fix."""
    with pytest.raises(ConfigError, match=message):
        channels_from_env(Env(values))


def test_from_broadcast_toml(tmp_path: Path) -> None:
    """[channels.NAME] tables with type slack and discord, secrets from variables."""
    path = tmp_path / "broadcast.toml"
    path.write_text(
        """
[channels.staff]
type = "slack"
token = "${SLACK_TOKEN}"
channel = "C0STAFF"

[channels.community]
type = "discord"
webhook_url = "${DISCORD_HOOK}"
channel_type = "forum"
""",
        encoding="utf-8",
    )
    environ = {"SLACK_TOKEN": "xoxb-file-token", "DISCORD_HOOK": HOOK}
    config = load_config(path, env_file=None, environ=environ)
    kinds = {c.name: type(c.channel) for c in config.channels}
    assert kinds == {"staff": Slack, "community": DiscordWebhook}
