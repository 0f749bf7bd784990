from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from broadcast import ConfigError, SQLiteJournal, load_config
from broadcast.channels import Email, FacebookPage, TwilioSMS, Twitter, Webhook, available
from broadcast.config._file import KEYS, SECRET_KEYS
from broadcast.config._names import known_env_names

from .conftest import SECRET

SID = "AC" + "a1" * 16

TWO_ACCOUNTS = f"""
[settings]
timeout = 30
retry_attempts = 2

[channels.x-main]
type = "twitter"
tags = ["everyone"]
bearer_token = "${{X_MAIN_TOKEN}}"

[channels.x-support]
type = "twitter"
tags = ["everyone", "affected"]
consumer_key = "ck"
consumer_secret = "${{X_SUPPORT_SECRET}}"
access_token = "at"
access_token_secret = "ats"

[channels.status-page]
type = "webhook"
tags = ["everyone", "affected"]
url = "https://cms.example.com/hooks/incidents"
secret = "{SECRET}"

[channels.affected-sms]
type = "sms"
tags = ["affected"]
account_sid = "{SID}"
auth_token = "${{TWILIO_TOKEN}}"
from = "+15005550006"
recipients = ["+14155550101", "+14155550102"]
max_segments = 3
"""
VARIABLES = {"X_MAIN_TOKEN": "main-token-1", "X_SUPPORT_SECRET": "cs", "TWILIO_TOKEN": "tw-9"}


def write(tmp_path: Path, text: str, name: str = "broadcast.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load(path: Path, environ: dict[str, str] | None = None, **kwargs: object):  # type: ignore[no-untyped-def]
    return load_config(path, env_file=None, environ=environ or {}, **kwargs)  # type: ignore[arg-type]


def test_several_channels_of_a_kind_with_names_and_tags(tmp_path: Path) -> None:
    """Two X accounts, a webhook and an SMS list, each named by its table, with tags."""
    config = load(write(tmp_path, TWO_ACCOUNTS), VARIABLES)
    assert [c.name for c in config.channels] == [
        "x-main",
        "x-support",
        "status-page",
        "affected-sms",
    ]
    kinds = [type(c.channel) for c in config.channels]
    assert kinds == [Twitter, Twitter, Webhook, TwilioSMS]
    assert config.tags == ["affected", "everyone"]
    assert [c.name for c in config.select(to="affected")] == [
        "x-support",
        "status-page",
        "affected-sms",
    ]
    assert [c.name for c in config.select(to="everyone", only="x-main,status-page")] == [
        "x-main",
        "status-page",
    ]
    # Credentials substituted from ${VAR} are known, so output can mask them.
    assert {"main-token-1", "cs", "tw-9"} <= config.secrets
    assert "ck" in config.secrets  # a literal credential in the file too


def test_settings_precedence_environment_over_file(tmp_path: Path) -> None:
    """[settings] apply unless the environment (or .env) sets the same variable."""
    path = write(tmp_path, TWO_ACCOUNTS)
    from_file = load(path, VARIABLES).broadcaster()
    assert from_file._timeout == 30
    assert from_file._retry.attempts == 2
    env_file = write(tmp_path, "BROADCAST_TIMEOUT=45\nBROADCAST_RETRY_ATTEMPTS=3\n", ".env")
    dotenv = load_config(path, env_file=env_file, environ=VARIABLES).broadcaster()
    assert (dotenv._timeout, dotenv._retry.attempts) == (45, 3)
    environ = {**VARIABLES, "BROADCAST_TIMEOUT": "60"}
    both = load_config(path, env_file=env_file, environ=environ).broadcaster()
    assert (both._timeout, both._retry.attempts) == (60, 3)


def test_journal_setting_is_relative_to_the_file_and_can_be_off(tmp_path: Path) -> None:
    """journal = "state/b.db" is next to the file; journal = false turns it off."""
    (tmp_path / "etc").mkdir()
    hook = '[channels.hook]\ntype = "webhook"\nurl = "https://cms.example.com/h"\n'
    path = write(tmp_path / "etc", f'[settings]\njournal = "state/b.db"\n{hook}')
    journal = load(path).broadcaster()._journal
    assert isinstance(journal, SQLiteJournal)
    assert journal.path == tmp_path / "etc" / "state" / "b.db"
    off = write(tmp_path, f"[settings]\njournal = false\n{hook}")
    assert load(off).broadcaster()._journal is None


def test_recipient_file_is_relative_to_the_config_file(tmp_path: Path) -> None:
    """recipients = "@affected.txt" reads the list next to broadcast.toml."""
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "affected.txt").write_text("a@example.com\nb@example.org\n")
    path = write(
        tmp_path / "conf",
        '[channels.mail]\ntype = "email"\nhost = "smtp.example.com"\n'
        'sender = "Status <status@example.com>"\nrecipients = "@affected.txt"\n',
    )
    [mail] = load(path).channels
    assert isinstance(mail.channel, Email)
    source = mail.channel._recipients
    assert [line.strip() for line in source()] == ["a@example.com", "b@example.org"]


def test_environment_channels_join_the_file_ones(tmp_path: Path) -> None:
    """BROADCAST_* channels are added (untagged); the same name twice is an error."""
    path = write(tmp_path, TWO_ACCOUNTS)
    environ = {
        **VARIABLES,
        "BROADCAST_FACEBOOK_PAGE_ID": "123",
        "BROADCAST_FACEBOOK_PAGE_TOKEN": "t",
    }
    config = load(path, environ)
    assert [c.source for c in config.channels][-1] == "environment"
    assert isinstance(config.channels[-1].channel, FacebookPage)
    clash = write(
        tmp_path, '[channels.webhook]\ntype = "webhook"\nurl = "https://a.example/h"\n', "c.toml"
    )
    with pytest.raises(ConfigError, match=r"channel 'webhook' is defined in .*c\.toml and by the"):
        load(clash, {"BROADCAST_WEBHOOK_URL": "https://b.example/h"})


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            'type = "twitter"\nbearer_tokn = "x"',
            r"\[channels\.x\] unknown key 'bearer_tokn'; did you mean bearer_token\?",
        ),
        (
            'type = "pigeon"',
            rf"\[channels\.x\]: set type to one of {', '.join(sorted(available()))}",
        ),
        ('bearer_token = "x"', r"\[channels\.x\]: set type to one of"),
        (
            'type = "email"\nhost = "smtp.example.com"\nsender = "s@example.com"\n'
            'recipients = ["a@example.com"]\nport = "abc"',
            r"\[channels\.x\]: port must be a port number from 1 to 65535, got 'abc'",
        ),
        (
            'type = "email"\nhost = "smtp.example.com"\nsender = "s@example.com"\n'
            'recipients = ["a@example.com"]\npool_size = true',
            r"\[channels\.x\]: pool_size must be text or a number, got True",
        ),
        ('type = "webhook"\nurl = "https://a.example/h"\ntags = "all"', r"tags must be a list"),
        ('type = "webhook"\nurl = "https://a.example/h"\ntags = ["All Users"]', r"tag 'All Users'"),
        (
            'type = "facebook"\npage_id = "123"',
            r"\[channels\.x\]: page_token is required when page_id is set",
        ),
        (
            'type = "twitter"\nbearer_token = "${X_TOKEN}"',
            r"\[channels\.x\]: bearer_token refers to \$\{X_TOKEN\}, which is not set; "
            r"export X_TOKEN or add it to \.env",
        ),
        ('type = "webhook"', r"\[channels\.x\]: a webhook channel needs url"),
        (
            'type = "sms"\naccount_sid = "AC1"\nauth_token = "t"\nfrom = "+15005550006"\n'
            'recipients = "+14155550101"',
            r"\[channels\.x\]: account_sid must be 'AC' and 32 characters",
        ),
    ],
)
def test_bad_table_names_file_table_key_and_fix(tmp_path: Path, table: str, message: str) -> None:
    """Every mistake in a channel table names the file, the table, the key and the fix."""
    path = write(tmp_path, f"[channels.x]\n{table}\n")
    with pytest.raises(ConfigError, match=message) as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}: ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[channels.x]\ntype = 'webhook'\nurl = \n", r"not valid TOML: .*line 3"),
        ("[channel.x]\ntype = 'webhook'\n", r"unknown key 'channel'; did you mean channels\?"),
        ("[settings]\ntimeout = 'soon'\n", r"\[settings\] timeout must be a number, got 'soon'"),
        (
            "[settings]\njournal = 3\n",
            r"\[settings\] journal must be a path, a postgresql:// URL, or false",
        ),
        ("[settings]\nretries = 3\n", r"\[settings\] unknown key 'retries'"),
        ("[channels.X_Main]\ntype = 'webhook'\n", r"\[channels\.X_Main\]: a channel name is"),
        ("[settings]\ntimeout = 30\n", r"defines no \[channels\.NAME\] table"),
    ],
)
def test_bad_file_is_named_with_the_fix(tmp_path: Path, text: str, message: str) -> None:
    """Broken TOML, unknown sections, wrong setting types: the error names the file."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as caught:
        load(path)
    assert str(path) in str(caught.value)


def test_missing_file_named_explicitly_is_an_error(tmp_path: Path) -> None:
    """An explicit path that does not exist is an error, not a silent fallback."""
    with pytest.raises(ConfigError, match=r"nope\.toml: no such file"):
        load(tmp_path / "nope.toml")


def test_default_file_and_broadcast_config_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """./broadcast.toml is read when present; BROADCAST_CONFIG names another file."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, '[channels.here]\ntype = "webhook"\nurl = "https://a.example/h"\n')
    write(tmp_path, '[channels.there]\ntype = "webhook"\nurl = "https://a.example/h"\n', "o.toml")
    assert [c.name for c in load_config(env_file=None, environ={}).channels] == ["here"]
    named = load_config(env_file=None, environ={"BROADCAST_CONFIG": "o.toml"})
    assert [c.name for c in named.channels] == ["there"]


def test_unknown_tag_or_name_lists_the_known_ones(tmp_path: Path) -> None:
    """--to and --only with a typo say what exists."""
    config = load(write(tmp_path, TWO_ACCOUNTS), VARIABLES)
    with pytest.raises(
        ConfigError, match=r"unknown tag afected; configured tags: affected, everyone"
    ):
        config.select(to="afected")
    with pytest.raises(ConfigError, match=r"unknown channel x; configured channels: affected-sms"):
        config.select(only="x")


def test_preview_mode_reads_missing_credentials_as_placeholders(tmp_path: Path) -> None:
    """require_secrets=False builds every channel even with no credential set."""
    config = load(write(tmp_path, TWO_ACCOUNTS), require_secrets=False)
    assert len(config.channels) == 4
    with pytest.raises(ConfigError, match="X_MAIN_TOKEN"):
        load(write(tmp_path, TWO_ACCOUNTS))


def test_configuration_page_documents_every_key_and_variable() -> None:
    """docs/configuration.md names every table key and every BROADCAST_* variable."""
    page = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text()
    for kind, keys in KEYS.items():
        row = next(line for line in page.splitlines() if line.startswith(f"| `{kind}` |"))
        assert all(f"`{key}`" in row for key in keys), kind
    assert [v for v in sorted(known_env_names()) if f"`{v}`" not in page] == []


# --- secrets in configuration errors ------------------------------------------------

SECRET_FIELDS = sorted(
    (kind, key)
    for kind, keys in KEYS.items()
    for key in keys
    if key in SECRET_KEYS or (kind, key) == ("webhook", "url")
)


@pytest.fixture
def canary(request: pytest.FixtureRequest) -> str:
    """A credential no other test used: masking registered elsewhere cannot hide a leak."""
    return "CANARY" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:16]


@pytest.mark.parametrize(("kind", "key"), SECRET_FIELDS)
@pytest.mark.parametrize("shape", ['["{c}"]', '{{ value = "{c}" }}', '[["{c}", 1]]', '["${{C}}"]'])
def test_a_secret_of_the_wrong_type_is_named_never_quoted(
    tmp_path: Path, kind: str, key: str, shape: str, canary: str
) -> None:
    """`auth_token = ["..."]`: the error names file, table, key and type, not the value."""
    path = write(tmp_path, f'[channels.c]\ntype = "{kind}"\n{key} = {shape.format(c=canary)}\n')
    with pytest.raises(ConfigError) as info:
        load(path, {"C": canary})
    message = str(info.value)
    assert f"[channels.c]: {key} must be text or a number, got a " in message
    assert canary[:10] not in message
    assert "C}" not in message


SMS = f'account_sid = "{SID}"\nfrom = "+15005550006"\nrecipients = ["+14155550101"]\n'
MAIL = 'host = "127.0.0.1"\nsender = "a@example.com"\nrecipients = ["b@example.com"]\n'


@pytest.mark.parametrize(
    ("kind", "table"),
    [
        ("sms", SMS + 'auth_token = "${TOKEN}"\nrate = "${TOKEN}"'),
        ("sms", SMS + 'rate = "${TOKEN}"\nauth_token = "${TOKEN}"'),
        ("email", MAIL + 'username = "u"\npassword = "${TOKEN}"\ntls = "${TOKEN}"'),
        ("facebook", 'page_id = "123"\npage_token = "${TOKEN}"\napi_version = "${TOKEN}"'),
        (
            "webhook",
            'url = "https://h.example.com/${TOKEN}"\ntimeout = "https://h.example.com/${TOKEN}"',
        ),
    ],
)
def test_a_secret_pasted_into_another_key_is_masked_in_its_error(
    tmp_path: Path, kind: str, table: str, canary: str
) -> None:
    """A token also written into a checked key by mistake is masked in that key's error."""
    path = write(tmp_path, f'[channels.c]\ntype = "{kind}"\n{table}\n')
    with pytest.raises(ConfigError) as info:
        load(path, {"TOKEN": canary})
    assert "[channels.c]" in str(info.value)
    assert "***" in str(info.value)
    assert canary[:10] not in str(info.value)


@pytest.mark.parametrize(
    "variables",
    [
        {
            "BROADCAST_TWILIO_ACCOUNT_SID": SID,
            "BROADCAST_TWILIO_AUTH_TOKEN": "{canary}",
            "BROADCAST_TWILIO_FROM": "+15005550006",
            "BROADCAST_SMS_RECIPIENTS": "+14155550101",
            "BROADCAST_SMS_CONCURRENCY": "{canary}",
        },
        {
            "BROADCAST_SMTP_HOST": "127.0.0.1",
            "BROADCAST_SMTP_PASSWORD": "{canary}",
            "BROADCAST_SMTP_SENDER": "a@example.com",
            "BROADCAST_SMTP_RECIPIENTS": "b@example.com",
            "BROADCAST_SMTP_PORT": "{canary}",
        },
        {"BROADCAST_TWITTER_BEARER_TOKEN": "{canary}", "BROADCAST_RETRY_ATTEMPTS": "{canary}"},
        {"BROADCAST_WEBHOOK_URL": "https://h.example.com/h", "BROADCAST_TIMEOUT": "{canary}"},
    ],
    ids=["sms", "email", "x-settings", "not-a-secret"],
)
def test_a_secret_variable_is_masked_before_the_variables_are_read(
    variables: dict[str, str], canary: str
) -> None:
    """Credentials are masked before parsing: one pasted into another variable is too."""
    environ = {k: v.format(canary=canary) for k, v in variables.items()}
    with pytest.raises(ConfigError) as info:
        load_config(env_file=None, environ=environ).broadcaster()
    if "BROADCAST_TIMEOUT" in variables:  # not a credential anywhere: shown, to be fixed
        assert canary in str(info.value)
        return
    assert "***" in str(info.value)
    assert canary[:10] not in str(info.value)
