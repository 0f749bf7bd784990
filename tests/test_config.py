from __future__ import annotations

from pathlib import Path

import pytest

from broadcast import ConfigError
from broadcast.channels import Webhook
from broadcast.config import Env, broadcaster_from_env, channels_from_env

from .conftest import SECRET

URL = "https://cms.example.com/hooks/incidents"


def test_webhook_from_environment() -> None:
    """BROADCAST_WEBHOOK_URL and _SECRET configure a signed webhook channel."""
    env = Env({"BROADCAST_WEBHOOK_URL": URL, "BROADCAST_WEBHOOK_SECRET": SECRET, "HOME": "/x"})
    [channel] = channels_from_env(env)
    assert isinstance(channel, Webhook)
    assert channel.signed
    assert channel.name == "webhook"


def test_no_channel_says_how_to_configure() -> None:
    """With nothing configured, the error says which variable to set."""
    with pytest.raises(ConfigError, match="no channel is configured: set BROADCAST_WEBHOOK_URL"):
        channels_from_env(Env({}))


def test_no_channel_points_at_typos() -> None:
    """Unknown BROADCAST_* variables are listed when nothing is configured."""
    with pytest.raises(ConfigError, match="BROADCAST_WEBHOK_URL"):
        channels_from_env(Env({"BROADCAST_WEBHOK_URL": URL}))


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"BROADCAST_WEBHOOK_URL": "cms.example.com/hook"}, "BROADCAST_WEBHOOK_URL"),
        (
            {"BROADCAST_WEBHOOK_URL": URL, "BROADCAST_WEBHOOK_SECRET": "hunter2"},
            "BROADCAST_WEBHOOK_SECRET",
        ),
        ({"BROADCAST_WEBHOOK_SECRET": SECRET}, "BROADCAST_WEBHOOK_URL"),
        (
            {"BROADCAST_WEBHOOK_URL": URL, "BROADCAST_WEBHOOK_TIMEOUT": "soon"},
            "BROADCAST_WEBHOOK_TIMEOUT",
        ),
        (
            {"BROADCAST_WEBHOOK_URL": URL, "BROADCAST_WEBHOOK_TIMEOUT": "-1"},
            "BROADCAST_WEBHOOK_TIMEOUT",
        ),
    ],
)
def test_malformed_variable_is_named(values: dict[str, str], variable: str) -> None:
    """A malformed or missing variable gives a ConfigError that names it."""
    with pytest.raises(ConfigError, match=variable):
        channels_from_env(Env(values))


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"BROADCAST_RETRY_ATTEMPTS": "2.5"}, "BROADCAST_RETRY_ATTEMPTS"),
        ({"BROADCAST_RETRY_DEADLINE": "0"}, "BROADCAST_RETRY_DEADLINE"),
        ({"BROADCAST_TIMEOUT": "inf"}, "BROADCAST_TIMEOUT"),
    ],
)
def test_malformed_broadcaster_settings_are_named(values: dict[str, str], variable: str) -> None:
    """Retry and timeout settings are validated and named."""
    with pytest.raises(ConfigError, match=variable):
        broadcaster_from_env(Env({"BROADCAST_WEBHOOK_URL": URL, **values}))


def test_config_error_is_a_value_error() -> None:
    """ConfigError can be caught as ValueError by callers that do not import broadcast."""
    assert issubclass(ConfigError, ValueError)


def test_dotenv_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    """.env supplies variables; the process environment overrides it; os.environ is untouched."""
    env_file = tmp_path / ".env"
    env_file.write_text(f"BROADCAST_WEBHOOK_URL={URL}\nBROADCAST_WEBHOOK_TIMEOUT=3\n# comment\n")
    env = Env.load(env_file, environ={"BROADCAST_WEBHOOK_TIMEOUT": "9"})
    assert env.get("BROADCAST_WEBHOOK_URL") == URL
    assert env.number("BROADCAST_WEBHOOK_TIMEOUT", 1) == 9.0


def test_missing_dotenv_file_is_fine(tmp_path: Path) -> None:
    """No .env file means the environment alone."""
    env = Env.load(tmp_path / "absent.env", environ={"BROADCAST_WEBHOOK_URL": URL})
    assert env.url("BROADCAST_WEBHOOK_URL") == URL


def test_blank_values_count_as_unset() -> None:
    """An empty variable is treated as not set, not as an empty URL."""
    with pytest.raises(ConfigError, match="no channel is configured"):
        channels_from_env(Env({"BROADCAST_WEBHOOK_URL": "  "}))


async def test_broadcaster_from_env_applies_settings() -> None:
    """Retry attempts and deadline come from the environment."""
    env = Env(
        {
            "BROADCAST_WEBHOOK_URL": URL,
            "BROADCAST_RETRY_ATTEMPTS": "2",
            "BROADCAST_RETRY_DEADLINE": "30",
        }
    )
    broadcaster = broadcaster_from_env(env)
    assert broadcaster._retry.attempts == 2
    assert broadcaster._retry.deadline == 30.0
    assert [c.name for c in broadcaster.channels] == ["webhook"]
    await broadcaster.aclose()


SMTP = {
    "BROADCAST_SMTP_HOST": "smtp.example.com",
    "BROADCAST_SMTP_SENDER": "Status <status@example.com>",
    "BROADCAST_SMTP_RECIPIENTS": "alex@example.com, sam@example.org",
}


def test_email_from_environment() -> None:
    """BROADCAST_SMTP_* variables configure the email channel."""
    env = Env({**SMTP, "BROADCAST_SMTP_TLS": "implicit", "BROADCAST_SMTP_PASSWORD": "pw-123"})
    [channel] = channels_from_env(env)
    assert channel.name == "email"
    assert "port=465" in repr(channel)
    assert "pw-123" not in repr(channel)


def test_email_recipients_from_file(tmp_path: Path) -> None:
    """BROADCAST_SMTP_RECIPIENTS=@file reads one address per line, on each send."""
    people = tmp_path / "people.txt"
    people.write_text("alex@example.com\n# comment\n\nsam@example.org\n")
    [channel] = channels_from_env(Env({**SMTP, "BROADCAST_SMTP_RECIPIENTS": f"@{people}"}))
    assert channel.name == "email"


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"BROADCAST_SMTP_SENDER": ""}, "BROADCAST_SMTP_SENDER"),
        ({"BROADCAST_SMTP_SENDER": "not an address"}, "BROADCAST_SMTP_SENDER"),
        ({"BROADCAST_SMTP_RECIPIENTS": ""}, "BROADCAST_SMTP_RECIPIENTS"),
        ({"BROADCAST_SMTP_RECIPIENTS": "alex@example.com, nope"}, "BROADCAST_SMTP_RECIPIENTS"),
        ({"BROADCAST_SMTP_RECIPIENTS": "@/no/such/file"}, "BROADCAST_SMTP_RECIPIENTS"),
        ({"BROADCAST_SMTP_TLS": "ssl"}, "BROADCAST_SMTP_TLS"),
        ({"BROADCAST_SMTP_PORT": "smtp"}, "BROADCAST_SMTP_PORT"),
        ({"BROADCAST_SMTP_POOL_SIZE": "0"}, "BROADCAST_SMTP_POOL_SIZE"),
        ({"BROADCAST_SMTP_REPLY_TO": "help desk"}, "BROADCAST_SMTP_REPLY_TO"),
        ({"BROADCAST_SMTP_HOST": ""}, "BROADCAST_SMTP_HOST"),
    ],
)
def test_email_variables_are_named_in_errors(changes: dict[str, str], variable: str) -> None:
    """Each missing or malformed SMTP variable gives an error naming it."""
    with pytest.raises(ConfigError, match=variable):
        channels_from_env(Env({**SMTP, **changes}))


def test_both_channels_from_environment() -> None:
    """Webhook and email variables together configure both channels."""
    channels = channels_from_env(Env({**SMTP, "BROADCAST_WEBHOOK_URL": URL}))
    assert [c.name for c in channels] == ["webhook", "email"]


X_OAUTH1 = {
    "BROADCAST_TWITTER_CONSUMER_KEY": "ck",
    "BROADCAST_TWITTER_CONSUMER_SECRET": "cs-secret",
    "BROADCAST_TWITTER_ACCESS_TOKEN": "at",
    "BROADCAST_TWITTER_ACCESS_TOKEN_SECRET": "ats-secret",
}


def test_twitter_from_oauth1_or_bearer() -> None:
    """The four OAuth 1.0a variables, or a bearer token, configure the X channel."""
    [oauth1] = channels_from_env(Env(X_OAUTH1))
    [bearer] = channels_from_env(Env({"BROADCAST_TWITTER_BEARER_TOKEN": "tok"}))
    assert "auth='oauth1'" in repr(oauth1)
    assert "auth='bearer'" in repr(bearer)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"BROADCAST_TWITTER_CONSUMER_KEY": "ck"}, "missing BROADCAST_TWITTER_CONSUMER_SECRET"),
        ({**X_OAUTH1, "BROADCAST_TWITTER_BEARER_TOKEN": "t"}, "not both"),
        ({"BROADCAST_TWITTER_BASE_URL": "http://127.0.0.1:1"}, "no X credentials"),
        (
            {"BROADCAST_TWITTER_BEARER_TOKEN": "t", "BROADCAST_TWITTER_BASE_URL": "x"},
            "BROADCAST_TWITTER_BASE_URL",
        ),
    ],
)
def test_twitter_variables_are_named_in_errors(values: dict[str, str], message: str) -> None:
    """Incomplete or conflicting X settings name the variables to fix."""
    with pytest.raises(ConfigError, match=message):
        channels_from_env(Env(values))


def test_facebook_from_environment() -> None:
    """Page id and token configure the Facebook channel; the app secret adds the proof."""
    env = Env(
        {
            "BROADCAST_FACEBOOK_PAGE_ID": "546349135390552",
            "BROADCAST_FACEBOOK_PAGE_TOKEN": "EAAB-token",
            "BROADCAST_FACEBOOK_APP_SECRET": "s",
            "BROADCAST_FACEBOOK_FOLLOW_UP": "comment",
        }
    )
    [channel] = channels_from_env(env)
    assert repr(channel) == (
        "FacebookPage(name='facebook', page_id='546349135390552', follow_up='comment', "
        "app_secret_proof=True)"
    )


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"BROADCAST_FACEBOOK_PAGE_TOKEN": "t"}, "BROADCAST_FACEBOOK_PAGE_ID"),
        ({"BROADCAST_FACEBOOK_PAGE_ID": "123"}, "BROADCAST_FACEBOOK_PAGE_TOKEN"),
        (
            {"BROADCAST_FACEBOOK_PAGE_ID": "psn", "BROADCAST_FACEBOOK_PAGE_TOKEN": "t"},
            "BROADCAST_FACEBOOK_PAGE_ID",
        ),
        (
            {
                "BROADCAST_FACEBOOK_PAGE_ID": "1",
                "BROADCAST_FACEBOOK_PAGE_TOKEN": "t",
                "BROADCAST_FACEBOOK_FOLLOW_UP": "thread",
            },
            "BROADCAST_FACEBOOK_FOLLOW_UP",
        ),
        (
            {
                "BROADCAST_FACEBOOK_PAGE_ID": "1",
                "BROADCAST_FACEBOOK_PAGE_TOKEN": "t",
                "BROADCAST_FACEBOOK_API_VERSION": "23",
            },
            "BROADCAST_FACEBOOK_API_VERSION",
        ),
    ],
)
def test_facebook_variables_are_named_in_errors(values: dict[str, str], variable: str) -> None:
    """Missing or malformed Facebook settings name the variable."""
    with pytest.raises(ConfigError, match=variable):
        channels_from_env(Env(values))


SMS = {
    "BROADCAST_TWILIO_ACCOUNT_SID": "AC" + "a" * 32,
    "BROADCAST_TWILIO_AUTH_TOKEN": "tok-123",
    "BROADCAST_TWILIO_FROM": "+15017122661",
    "BROADCAST_SMS_RECIPIENTS": "+14155550101, (415) 555-0102",
}


def test_sms_from_environment(tmp_path: Path) -> None:
    """Twilio variables and a recipient list (inline or @file) configure the SMS channel."""
    [channel] = channels_from_env(Env(SMS))
    assert channel.name == "sms"
    assert "tok-123" not in repr(channel)
    people = tmp_path / "people.txt"
    people.write_text("+14155550101\n")
    [from_file] = channels_from_env(Env({**SMS, "BROADCAST_SMS_RECIPIENTS": f"@{people}"}))
    assert from_file.name == "sms"


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"BROADCAST_TWILIO_ACCOUNT_SID": "SK123"}, "BROADCAST_TWILIO_ACCOUNT_SID"),
        ({"BROADCAST_TWILIO_ACCOUNT_SID": ""}, "BROADCAST_TWILIO_ACCOUNT_SID"),
        ({"BROADCAST_TWILIO_AUTH_TOKEN": ""}, "BROADCAST_TWILIO_AUTH_TOKEN"),
        ({"BROADCAST_TWILIO_FROM": "call us"}, "BROADCAST_TWILIO_FROM"),
        ({"BROADCAST_TWILIO_MESSAGING_SERVICE_SID": "MG1"}, "BROADCAST_TWILIO_FROM"),
        ({"BROADCAST_SMS_RECIPIENTS": "+14155550101, nope"}, "BROADCAST_SMS_RECIPIENTS"),
        ({"BROADCAST_SMS_MAX_SEGMENTS": "11"}, "BROADCAST_SMS_MAX_SEGMENTS"),
        ({"BROADCAST_SMS_RATE": "fast"}, "BROADCAST_SMS_RATE"),
    ],
)
def test_sms_variables_are_named_in_errors(changes: dict[str, str], variable: str) -> None:
    """Each missing or malformed SMS variable gives an error naming it."""
    with pytest.raises(ConfigError, match=variable):
        channels_from_env(Env({**SMS, **changes}))
