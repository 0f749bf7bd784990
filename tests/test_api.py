from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

import broadcast
from broadcast import ConfigError, Outcome, Update
from broadcast.cli import main
from broadcast.testing import LoopbackServer, RecordingChannel

from .conftest import SECRET, T0


def test_make_update_from_text() -> None:
    """The first line is the title and leaves the body; the incident is a slug of it."""
    u = broadcast.make_update("PSN is down\n\nWe are investigating.", created_at=T0)
    assert u.title == "PSN is down"
    assert u.body == "We are investigating."
    assert u.incident == "psn-is-down"


def test_one_line_of_text_is_a_title_alone() -> None:
    """One line becomes the title and the body is empty, so nothing is said twice."""
    u = broadcast.make_update("  We are investigating.  \n")
    assert (u.title, u.body, u.paragraphs) == ("We are investigating.", "", ())


def test_given_title_keeps_the_whole_text_as_body() -> None:
    """With title= given, the text is the body as written, first line included."""
    u = broadcast.make_update("Sign-in fails.\n\nWe are on it.", title="PSN is down")
    assert u.body == "Sign-in fails.\n\nWe are on it."


def test_first_line_too_long_for_a_title_stays_in_the_body() -> None:
    """A first line over 200 characters stays whole in the body; the title is its start."""
    line = "Sign-in and online play are unavailable " * 10
    u = broadcast.make_update(line)
    assert u.body == line.strip()
    assert u.title.endswith("…")
    assert len(u.title) <= 200
    assert line.startswith(u.title.removesuffix("…"))


def test_blank_text_without_title_is_an_error_naming_the_body() -> None:
    """Neither a title nor a body: ValidationError on body, the field the user gave."""
    with pytest.raises(ValidationError) as caught:
        broadcast.make_update("  \n ")
    assert [e["loc"] for e in caught.value.errors()] == [("body",)]


def test_preview_of_one_line_says_it_once() -> None:
    """Every channel's preview of a one-line update holds the line exactly once."""
    for item in broadcast.preview("We are investigating.", config=None, env_file=None):
        text = item.text.split("\n\nIncident ")[0]  # the email footer repeats nothing
        if item.channel == "email":
            text = text.split("\n", 2)[2]  # the subject line, then the message
        assert text.count("We are investigating.") == 1, (item.channel, item.text)
        assert "None" not in item.text


def test_misspelt_keyword_is_a_type_error_before_anything_is_sent(tmp_path: Path) -> None:
    """send(titel=...) raises TypeError with a did-you-mean, as a Python call would."""
    channel = RecordingChannel()
    with pytest.raises(
        TypeError, match=r"unexpected keyword argument 'titel' \(did you mean 'title'\?\)"
    ):
        broadcast.send("Down", channels=[channel], titel="PSN", journal=None)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="'severty'"):
        broadcast.preview("Down", channels=[channel], severty="major")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="make_update"):
        broadcast.make_update("Down", incidnet="x")  # type: ignore[call-arg]
    assert channel.sent == []


def test_next_update_as_a_delay_or_in_the_command_line_words() -> None:
    """next_update_at takes a timedelta or "1h"/"30m", counted from created_at."""
    u = broadcast.make_update("Down", created_at=T0, next_update_at=timedelta(hours=2))
    assert u.next_update_at == T0 + timedelta(hours=2)
    u = broadcast.make_update("Down", created_at=T0, next_update_at="30m")
    assert u.next_update_at == T0 + timedelta(minutes=30)
    u = broadcast.make_update("Down", created_at=T0, next_update_at="2011-04-21T10:00Z")
    assert u.next_update_at == T0 + timedelta(hours=12)


def test_make_update_replaces_fields_with_validation(update: Update) -> None:
    """Fields given with an Update replace its values and are validated again."""
    resolved = broadcast.make_update(update, status="resolved", next_update_at=None)
    assert resolved.status is broadcast.Status.RESOLVED
    assert resolved.incident == update.incident
    with pytest.raises(ValidationError, match="status"):
        broadcast.make_update(update, status="fine")


def test_make_update_rejects_other_types() -> None:
    """Anything but an Update or text is a TypeError."""
    with pytest.raises(TypeError, match="Update or text"):
        broadcast.make_update(42)  # type: ignore[arg-type]


async def test_asend_uses_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: LoopbackServer
) -> None:
    """asend() builds channels from the environment and delivers."""
    monkeypatch.setenv("BROADCAST_WEBHOOK_URL", server.url)
    monkeypatch.setenv("BROADCAST_WEBHOOK_SECRET", SECRET)
    report = await broadcast.asend(
        "We are investigating.", title="PSN down", incident="psn", env_file=tmp_path / "none"
    )
    assert report["webhook"].outcome is Outcome.DELIVERED
    assert len(server.requests) == 1


async def test_asend_reads_dotenv_file(tmp_path: Path, server: LoopbackServer) -> None:
    """asend() reads channel settings from a .env file."""
    env_file = tmp_path / ".env"
    env_file.write_text(f"BROADCAST_WEBHOOK_URL={server.url}/from-dotenv\n")
    report = await broadcast.asend("Investigating.", title="PSN down", env_file=env_file)
    assert report.ok
    assert server.requests[0].path == "/from-dotenv"


async def test_asend_with_explicit_channels_and_dry_run(tmp_path: Path) -> None:
    """asend() accepts channels= and dry_run=, and needs no environment then."""
    channel = RecordingChannel("rec")
    report = await broadcast.asend(
        "Investigating.",
        title="PSN down",
        channels=[channel],
        dry_run=True,
        env_file=tmp_path / "none",
    )
    assert report["rec"].outcome is Outcome.SKIPPED
    assert channel.calls == 0


async def test_asend_without_configuration_explains(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """asend() with no channel configured says how to configure one."""
    for name in ("BROADCAST_WEBHOOK_URL", "BROADCAST_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="BROADCAST_WEBHOOK_URL"):
        await broadcast.asend("x", title="y", env_file=tmp_path / "none")


async def test_asend_validates_before_sending(tmp_path: Path) -> None:
    """Bad input raises ValidationError and nothing is sent."""
    channel = RecordingChannel()
    with pytest.raises(ValidationError, match="severity"):
        await broadcast.asend(
            "x", title="y", severity="huge", channels=[channel], env_file=tmp_path / "none"
        )
    assert channel.calls == 0


def test_send_is_synchronous(tmp_path: Path) -> None:
    """send() runs the broadcast to completion from plain synchronous code."""
    channel = RecordingChannel()
    report = broadcast.send(
        "We are investigating.", title="PSN down", channels=[channel], env_file=tmp_path / "none"
    )
    assert report.ok
    assert len(channel.sent) == 1


async def test_send_inside_event_loop_points_to_asend() -> None:
    """send() called where a loop is running raises an error that names asend."""
    with pytest.raises(RuntimeError, match=r"await broadcast\.asend"):
        broadcast.send("x", title="y", channels=[RecordingChannel()])


def test_preview_renders_every_channel_and_isolates_a_broken_one(update: Update) -> None:
    """preview() renders each given channel; one that cannot render is a Preview with why."""

    class Broken(RecordingChannel):
        def render(self, update: Update, /) -> broadcast.testing.Text:
            raise ValueError("template missing")

    broken = Broken(name="broken")
    previews = broadcast.preview(update, channels=[RecordingChannel(), broken])
    assert [(p.channel, p.error) for p in previews] == [
        ("recording", None),
        ("broken", "ValueError: template missing"),
    ]
    assert update.title in previews[0].text


def test_preview_without_configuration_shows_the_built_in_channels(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With nothing configured, preview() uses one example channel of each built-in type."""
    monkeypatch.chdir(tmp_path)
    previews = broadcast.preview("We are investigating.", title="PSN is down", env_file=None)
    assert [p.kind for p in previews] == [
        "Webhook",
        "Email",
        "Twitter",
        "FacebookPage",
        "TwilioSMS",
        "Slack",
        "DiscordWebhook",
        "Telegram",
        "Teams",
        "Mastodon",
        "Bluesky",
        "AppriseChannel",
        "StatusSite",
        "Statuspage",
    ]
    assert all(p.error is None and "PSN is down" in p.text for p in previews)


def test_check_probes_the_configured_channels(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: LoopbackServer
) -> None:
    """check() loads the configuration and probes it; a refusal is a failed result."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BROADCAST_WEBHOOK_URL", server.url)
    [result] = broadcast.check()
    assert (result.channel, result.ok) == ("webhook", True)
    assert [r.method for r in server.requests] == ["HEAD"]
    server.script(401)
    [refused] = broadcast.check()
    assert not refused.ok
    with pytest.raises(ConfigError, match="unknown channel sms"):
        broadcast.check(only="sms")


async def test_asend_to_a_tag_from_a_config_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: LoopbackServer
) -> None:
    """asend(to=...) sends to the channels with that tag in broadcast.toml, and only them."""
    monkeypatch.chdir(tmp_path)
    with LoopbackServer() as other:
        (tmp_path / "broadcast.toml").write_text(
            f'[channels.a]\ntype = "webhook"\ntags = ["affected"]\nurl = "{server.url}"\n'
            f'[channels.b]\ntype = "webhook"\ntags = ["everyone"]\nurl = "{other.url}"\n'
        )
        report = await broadcast.asend("We are investigating.", title="PSN is down", to="affected")
        assert [r.channel for r in report.receipts] == ["a"]
        assert (len(server.requests), len(other.requests)) == (1, 0)


def test_command_line_preview_of_one_line_says_it_once(tmp_path: Path) -> None:
    """`broadcast preview "We are investigating."` texts the line once, as the API does."""
    args = ["--env-file", str(tmp_path / "none"), "preview", "We are investigating."]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    sms = result.output.split("=== sms")[1].split("\n=== ")[0]
    assert "[Investigating] We are investigating.\n" in sms
    assert sms.count("We are investigating.") == 1
