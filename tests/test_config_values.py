"""Every number, URL and choice is checked when the configuration loads, not at send time."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from broadcast import Broadcaster, ConfigError, TransientError, Update, load_config
from broadcast.cli import main
from broadcast.cli._output import print_report
from broadcast.testing import RecordingChannel, fast_retries

FLAGS = ["--title", "PSN is down", "--incident", "psn-2011-04", "--yes", "We are investigating."]
HOOK = {"BROADCAST_WEBHOOK_URL": "https://hooks.example.com/x"}
MAIL = {
    "BROADCAST_SMTP_HOST": "127.0.0.1",
    "BROADCAST_SMTP_SENDER": "status@example.com",
    "BROADCAST_SMTP_RECIPIENTS": "ops@example.com",
    "BROADCAST_SMTP_TLS": "none",
}


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str, env: dict[str, str]) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_an_smtp_port_out_of_range_stops_send_before_anything(here: Path) -> None:
    """BROADCAST_SMTP_PORT=99999: exit 2 naming it and the value; no traceback, no 'Re-run'."""
    result = run("send", *FLAGS, env={**MAIL, "BROADCAST_SMTP_PORT": "99999"})
    assert result.exit_code == 2
    assert result.stderr == (
        "error: BROADCAST_SMTP_PORT must be a port number from 1 to 65535, got '99999'\n"
    )
    assert "Re-run" not in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({**MAIL, "BROADCAST_SMTP_PORT": "0"}, "BROADCAST_SMTP_PORT must be a port number"),
        ({**MAIL, "BROADCAST_SMTP_PORT": "²"}, "BROADCAST_SMTP_PORT must be a port number"),
        ({**MAIL, "BROADCAST_SMTP_POOL_SIZE": "0"}, "POOL_SIZE must be a whole number from 1"),
        ({**MAIL, "BROADCAST_SMTP_POOL_SIZE": "100000"}, "from 1 to 100, got '100000'"),
        ({**HOOK, "BROADCAST_RETRY_ATTEMPTS": "0"}, "RETRY_ATTEMPTS must be a whole number"),
        ({**HOOK, "BROADCAST_RETRY_ATTEMPTS": "2.5"}, "from 1 to 100, got '2.5'"),
        ({**HOOK, "BROADCAST_RETRY_DEADLINE": "-1"}, "RETRY_DEADLINE must be positive"),
        ({**HOOK, "BROADCAST_TIMEOUT": "1e12"}, "BROADCAST_TIMEOUT must be at most 604800"),
        ({**HOOK, "BROADCAST_FAN_OUT_TIMEOUT": "nan"}, "FAN_OUT_TIMEOUT must be positive"),
        ({**HOOK, "BROADCAST_WEBHOOK_TIMEOUT": "inf"}, "WEBHOOK_TIMEOUT must be positive"),
        ({"BROADCAST_WEBHOOK_URL": "http://[::1/x"}, "BROADCAST_WEBHOOK_URL is not a valid URL"),
        (
            {"BROADCAST_WEBHOOK_URL": "http://127.0.0.1:99999/x"},
            "BROADCAST_WEBHOOK_URL is not a valid URL: its port must be a number from 1 to 65535",
        ),
        ({"BROADCAST_WEBHOOK_URL": "http://127.0.0.1:0/x"}, "WEBHOOK_URL: a URL's port must"),
        (
            {**HOOK, "BROADCAST_TWITTER_BEARER_TOKEN": "t", "BROADCAST_TWITTER_BASE_URL": "x:/"},
            "BASE_URL must be an absolute",
        ),
        (
            {"BROADCAST_TWITTER_BEARER_TOKEN": "t", "BROADCAST_TWITTER_MAX_POSTS": "0"},
            "BROADCAST_TWITTER_MAX_POSTS must be a whole number from 1 to 100, got '0'",
        ),
    ],
)
def test_bad_values_are_named_at_load(values: dict[str, str], message: str) -> None:
    """Each bad value is a ConfigError from load_config naming the variable."""
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace(".", r"\.")):
        load_config(environ=values, env_file=None)


def test_check_refuses_a_bad_setting_before_probing(here: Path) -> None:
    """`broadcast check` validates the settings too (they were read only when sending)."""
    result = run("check", env={**HOOK, "BROADCAST_RETRY_DEADLINE": "-1"})
    assert result.exit_code == 2
    assert "BROADCAST_RETRY_DEADLINE must be positive, got '-1'" in result.stderr


def test_a_bad_url_never_shows_its_token() -> None:
    """A webhook URL holding a token is named in the error, never quoted."""
    token = "tok_9f8e7d6c5b4a"
    with pytest.raises(ConfigError) as caught:
        load_config(environ={"BROADCAST_WEBHOOK_URL": f"https://h.example.com:70000/{token}"})
    assert token not in str(caught.value)
    assert "70000" not in str(caught.value)


def test_file_values_are_named_by_file_table_and_key(here: Path) -> None:
    """[settings] and [channels.*] values out of range name the file, the table and the key."""
    (here / "broadcast.toml").write_text(
        '[settings]\ntimeout = 1e12\n\n[channels.hook]\ntype = "webhook"\n'
        'url = "https://hooks.example.com/x"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_config(environ={})
    assert str(caught.value).startswith(
        "broadcast.toml: [settings] timeout must be at most 604800 seconds (a week)"
    )
    (here / "broadcast.toml").write_text(
        '[channels.mail]\ntype = "email"\nhost = "127.0.0.1"\nport = 99999\n'
        'sender = "status@example.com"\nrecipients = "ops@example.com"\n'
    )
    with pytest.raises(ConfigError, match=r"\[channels\.mail\]: port must be a port number"):
        load_config(environ={})
    # The environment wins over the file, and is named as itself.
    (here / "broadcast.toml").write_text("[settings]\ntimeout = 1e12\n")
    with pytest.raises(ConfigError, match=r"^BROADCAST_TIMEOUT must be at most"):
        load_config(environ={"BROADCAST_TIMEOUT": "1e13", **HOOK})


async def test_a_crash_at_send_time_is_not_followed_by_re_run(
    update: Update, capsys: pytest.CaptureFixture[str]
) -> None:
    """A crash (a setting the channel cannot use) is told 'a re-run will not fix', not 'Re-run'."""
    crashing = RecordingChannel("email", failures=[OverflowError("port must be 0-65535")])
    flaky = RecordingChannel("webhook", failures=[TransientError("503")] * 3)
    async with Broadcaster([crashing, flaky], retry=fast_retries(2)) as broadcaster:
        report = await broadcaster.send(update)
    print_report(report, str)
    last = capsys.readouterr().out.splitlines()[-1]
    assert last == (
        "Not everyone was reached: email, webhook. Re-run the same command to retry webhook. "
        "A re-run will not fix email: fix what its reason says first (`broadcast check` tests "
        "each channel; --debug shows a crash's traceback)."
    )
    async with Broadcaster([RecordingChannel("solo", failures=[ValueError("x")])]) as b:
        print_report(await b.send(update), str)
    assert "Re-run" not in capsys.readouterr().out


def test_max_posts_for_x_comes_from_the_environment_and_the_file(here: Path) -> None:
    """BROADCAST_TWITTER_MAX_POSTS and a [channels.x] max_posts bound X's thread length."""
    env = {"BROADCAST_TWITTER_BEARER_TOKEN": "t", "BROADCAST_TWITTER_MAX_POSTS": "3"}
    [x] = load_config(environ=env, env_file=None).channels
    assert x.channel._max_posts == 3  # type: ignore[attr-defined]
    (here / "broadcast.toml").write_text(
        '[channels.x]\ntype = "twitter"\nbearer_token = "t"\nmax_posts = 4\n'
    )
    [x] = load_config(here / "broadcast.toml", environ={}, env_file=None).channels
    assert x.channel._max_posts == 4  # type: ignore[attr-defined]
