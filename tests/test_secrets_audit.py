"""Secrets audit: every credential of every channel is a canary; none may show anywhere.

Each channel runs a success path and a failure path through the Broadcaster with DEBUG
logging on for every logger, then through the ``broadcast`` command with ``--debug``
and ``--json``. Then the providers turn hostile: they echo the credentials they were
sent (``tests/echoing.py``), as sent, as base64 without the word Basic at each of the
three offsets within a base64 group, URL-safe, decoded, in the error body or in a
header; the SMTP server quotes the AUTH line in its 535, for user names of each length
modulo 3. Everything a person or a log could see (log records, reprs, the Report as
text and JSON, exception tracebacks, the journal's rows and raw file, CLI output) is
searched for each canary: plain, URL-encoded, every stable base64 fragment of it in
both alphabets, and any long enough piece of those (a secret cut in half still leaks).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from broadcast import Broadcaster, DeliveryError, SQLiteJournal, Update
from broadcast.channels import Email, FacebookPage, TwilioSMS, Twitter, Webhook
from broadcast.channels._apprise import AppriseChannel
from broadcast.channels._bluesky import Bluesky
from broadcast.channels._discord import DiscordWebhook
from broadcast.channels._mastodon import Mastodon
from broadcast.channels._slack import Slack
from broadcast.channels._statuspage import Statuspage
from broadcast.channels._teams import Teams
from broadcast.channels._telegram import Telegram
from broadcast.cli import main
from broadcast.email import DKIM, Unsubscribe
from broadcast.testing import LoopbackServer, RecordedRequest, Reply, fast_retries
from broadcast.testing._providers import bluesky as bluesky_api
from broadcast.testing._providers import graph as graph_api
from broadcast.testing._providers import mastodon as mastodon_api
from broadcast.testing._providers import twilio as twilio_api
from broadcast.testing._providers import x as x_api
from broadcast.testing._providers._base import json_reply

from .canaries import (
    CANARIES,
    DKIM_PEM,
    SID,
    SMTP_USERS,
    assert_clean,
    journal_texts,
    own_logs,
    report_texts,
)
from .dns_server import threaded_txt_server
from .echoing import FORMS, EchoingAuth, EchoingProviders, Where
from .smtp_server import Recorder, authenticator, smtp_server


class Providers:
    """One loopback server shaped like all four HTTP APIs; it can succeed or refuse."""

    def __init__(self) -> None:
        self.failing = False
        self.server = LoopbackServer(self._respond)
        self.ids = 0

    def _respond(self, request: RecordedRequest) -> Reply:  # noqa: PLR0911 - a table
        self.ids += 1
        if self.failing:
            status = 401 if self.ids % 2 else 500
            body = {"title": "Unauthorized", "detail": f"bad {request.path}", "status": status}
            return Reply(status, json.dumps(body).encode())
        if request.method == "GET":
            return Reply(200, json.dumps(self._account(request.path)).encode())
        if request.path.startswith("/2/tweets"):
            return x_api.created(self.ids, "x")
        if "/feed" in request.path or "/comments" in request.path:
            return json_reply(200, {"id": graph_api.feed_post_id(self.ids, "123")})
        if "/bot" in request.path:  # Telegram: getMe, getChat, sendMessage
            result = {"message_id": self.ids, "id": -1001, "title": "Status", "username": "bot"}
            return Reply(200, json.dumps({"ok": True, "result": result}).encode())
        if "/Messages.json" in request.path:
            return json_reply(201, twilio_api.message_resource(twilio_api.message_sid(self.ids)))
        if request.path.startswith("/chat.postMessage"):
            return Reply(200, json.dumps({"ok": True, "channel": "C1", "ts": "1.1"}).encode())
        if request.path.startswith("/v1/pages/"):  # Statuspage: the incident object
            return json_reply(201, {"id": f"inc{self.ids}", "incident_updates": []})
        if request.path.startswith("/api/webhooks/"):
            return Reply(200, json.dumps({"id": str(self.ids), "channel_id": "9"}).encode())
        if request.path.startswith("/api/v1/statuses"):  # Mastodon
            return json_reply(200, mastodon_api.status(self.ids, {"status": "x"}))
        if request.path.startswith("/xrpc/com.atproto.server."):  # Bluesky's sign-in
            return json_reply(200, bluesky_api.session(self.ids))
        if request.path.startswith("/xrpc/com.atproto.repo.createRecord"):
            rkey = json.loads(request.body)["rkey"]
            return json_reply(200, {"uri": f"at://{bluesky_api.DID}/p/{rkey}", "cid": "bafy1"})
        return Reply(204)

    @staticmethod
    def _account(path: str) -> dict[str, Any]:
        """The documented shapes of X's users/me, a Graph Page and a Twilio account."""
        if path.startswith("/2/users/me"):
            return {"data": {"id": "2244994945", "name": "Status", "username": "status"}}
        if path.startswith("/api/v2/instance"):
            return mastodon_api.instance()
        if path.startswith("/api/v1/accounts/"):
            return mastodon_api.ACCOUNT
        if path.startswith("/xrpc/"):
            return {"did": bluesky_api.DID, "handle": "status.example.com"}
        if "/Accounts/" in path:
            return {"friendly_name": "Status", "status": "active", "sid": SID}
        return {"name": "Status page", "id": "123"}


@pytest.fixture
def providers() -> Iterator[Providers]:
    stand_in = Providers()
    with stand_in.server:
        yield stand_in


@pytest.fixture
def smtp_port() -> Iterator[int]:
    with smtp_server(
        Recorder(),
        authenticator=authenticator(CANARIES["smtp_user"], CANARIES["smtp_pass"]),
        auth_require_tls=False,
    ) as port:
        yield port


@pytest.fixture
def dns_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A DNS stand-in publishing example.com's SPF, DMARC and the canary DKIM key, at
    ``$C_DNS_SERVER``."""
    signer = DKIM(selector="s1", domain="example.com", private_key=CANARIES["dkim_b64"])
    records = {
        "example.com": ["v=spf1 ip4:127.0.0.1 -all"],
        "_dmarc.example.com": ["v=DMARC1; p=none"],
        signer.record_name: [signer.record()],
    }
    with threaded_txt_server(records) as (port, _):
        monkeypatch.setenv("C_DNS_SERVER", f"127.0.0.1:{port}")
        yield


def teams_url(url: str) -> str:
    """A Workflows URL whose SAS signature is a canary."""
    return f"{url}/workflows/abc/invoke?api-version=2016-06-01&sig={CANARIES['teams_sig']}"


def hook_url(server: LoopbackServer) -> str:
    creds = f"{CANARIES['hook_user']}:{CANARIES['hook_pass']}@"
    return server.url.replace("http://", f"http://{creds}") + f"/hooks/{CANARIES['hook_path']}"


def apprise_url(server: LoopbackServer) -> str:
    """An Apprise json:// URL with a password and a token in its path, both canaries."""
    host = server.url.removeprefix("http://")
    token, password = CANARIES["apprise_token"], CANARIES["apprise_pass"]
    return f"json://status:{password}@{host}/apprise/{token}"


def channels(server: LoopbackServer, smtp_port: int) -> list[Any]:
    url = server.url
    return [
        Webhook(hook_url(server), secret=CANARIES["hook_secret"]),
        Email(
            "127.0.0.1",
            smtp_port,
            sender="status@example.com",
            recipients=["a@example.com", "b@example.com"],
            username=CANARIES["smtp_user"],
            password=CANARIES["smtp_pass"],
            tls="none",
            dkim=DKIM(selector="s1", domain="example.com", private_key=DKIM_PEM),
            unsubscribe=Unsubscribe(
                "https://status.example.com/u/{token}", secret=CANARIES["unsub_secret"]
            ),
        ),
        Twitter(
            consumer_key=CANARIES["x_ck"],
            consumer_secret=CANARIES["x_cs"],
            access_token=CANARIES["x_at"],
            access_token_secret=CANARIES["x_ats"],
            base_url=url,
        ),
        Twitter(bearer_token=CANARIES["x_bearer"], base_url=url, name="x-bearer"),
        FacebookPage("123", CANARIES["fb_token"], app_secret=CANARIES["fb_secret"], base_url=url),
        TwilioSMS(
            SID,
            CANARIES["twilio_token"],
            from_="+15005550006",
            recipients=["+14155550101", "+14155550102"],
            base_url=url,
        ),
        Slack(CANARIES["slack_token"], "C1", base_url=url),
        Slack(webhook_url=f"{url}/services/T1/B1/{CANARIES['slack_hook']}", name="slack-hook"),
        DiscordWebhook(f"{url}/api/webhooks/1/{CANARIES['discord_token']}"),
        Telegram(CANARIES["tg_token"], ["-1001", "-1002"], base_url=url),
        Teams(teams_url(url)),
        Mastodon(url, CANARIES["mastodon_token"]),
        Bluesky("status.example.com", CANARIES["bsky_pass"], service=url, session_file="off"),
        AppriseChannel([apprise_url(server)], retry=fast_retries(attempts=2)),
        Statuspage("page1", CANARIES["sp_key"], base_url=url, rate=1_000),
    ]


@pytest.mark.parametrize("failing", [False, True], ids=["success", "failure"])
async def test_library_paths_leak_nothing(
    providers: Providers,
    smtp_port: int,
    update: Update,
    caplog: pytest.LogCaptureFixture,
    failing: bool,
) -> None:
    """Success and failure through the Broadcaster, DEBUG on for every logger: no canary."""
    caplog.set_level(logging.DEBUG)
    providers.failing = failing
    sent = channels(providers.server, smtp_port)
    if failing:
        sent[1]._password = sent[1]._password.__class__("wrong-" + CANARIES["smtp_pass"])
    async with Broadcaster(sent, retry=fast_retries(attempts=2), journal=None) as broadcaster:
        report = await broadcaster.send(update)
        texts = {"repr": " ".join([repr(broadcaster), *(repr(c) for c in sent)])}
    assert report.ok is not failing, report.to_text()
    texts |= {
        "logs": caplog.text,
        "report text": report.to_text(),
        "report json": json.dumps(report.to_dict()),
        "report repr": repr(report),
    }
    if failing:
        try:
            report.raise_for_failures()
        except DeliveryError as exc:
            texts["traceback"] = "".join(traceback.format_exception(exc))
        assert "traceback" in texts
    # The canaries did travel, where they belong: to the providers.
    wire = " ".join(r.headers.get("authorization", "") for r in providers.server.requests)
    assert "Basic" in wire
    for where, text in texts.items():
        assert_clean(where, text)


@pytest.mark.parametrize("failing", [False, True], ids=["success", "failure"])
@pytest.mark.usefixtures("dns_server")
def test_command_line_leaks_nothing(
    providers: Providers,
    smtp_port: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    failing: bool,
) -> None:
    """The same through `broadcast --debug send`, `--json`, `check` and `preview`."""
    monkeypatch.chdir(tmp_path)
    providers.failing = failing
    url = providers.server.url
    secrets = {f"C_{k.upper()}": v for k, v in CANARIES.items()}
    secrets["C_HOOK_URL"] = hook_url(providers.server)
    secrets["C_TEAMS_URL"] = teams_url(url)
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in secrets.items()))
    password = "${C_SMTP_PASS}" if not failing else "wrong-${C_SMTP_PASS}"
    (tmp_path / "broadcast.toml").write_text(
        f"""
[settings]
retry_attempts = 2
retry_deadline = 1

[channels.hook]
type = "webhook"
url = "${{C_HOOK_URL}}"
secret = "${{C_HOOK_SECRET}}"

[channels.mail]
type = "email"
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
username = "${{C_SMTP_USER}}"
password = "{password}"
sender = "status@example.com"
recipients = ["a@example.com"]
dkim_selector = "s1"
dkim_key = "${{C_DKIM_B64}}"
dns_server = "${{C_DNS_SERVER}}"
unsubscribe_url = "https://status.example.com/u/{{token}}"
unsubscribe_secret = "${{C_UNSUB_SECRET}}"

[channels.x]
type = "twitter"
consumer_key = "${{C_X_CK}}"
consumer_secret = "${{C_X_CS}}"
access_token = "${{C_X_AT}}"
access_token_secret = "${{C_X_ATS}}"
base_url = "{url}"

[channels.x-bearer]
type = "twitter"
bearer_token = "${{C_X_BEARER}}"
base_url = "{url}"

[channels.page]
type = "facebook"
page_id = "123"
page_token = "${{C_FB_TOKEN}}"
app_secret = "${{C_FB_SECRET}}"
base_url = "{url}"

[channels.sms]
type = "sms"
account_sid = "{SID}"
auth_token = "${{C_TWILIO_TOKEN}}"
from = "+15005550006"
recipients = ["+14155550101"]
base_url = "{url}"

[channels.tg]
type = "telegram"
bot_token = "${{C_TG_TOKEN}}"
chat_ids = "-1001"
base_url = "{url}"

[channels.teams]
type = "teams"
url = "${{C_TEAMS_URL}}"

[channels.masto]
type = "mastodon"
instance = "{url}"
access_token = "${{C_MASTODON_TOKEN}}"

[channels.sky]
type = "bluesky"
handle = "status.example.com"
app_password = "${{C_BSKY_PASS}}"
service = "{url}"
session_file = "off"
[channels.statuspage]
type = "statuspage"
api_key = "${{C_SP_KEY}}"
page_id = "page1"
rate = 1000
base_url = "{url}"
"""
    )
    runner = CliRunner()
    body = ["--title", "Sign-in is failing", "--incident", "signin", "We are investigating."]
    results = {
        "send --debug": runner.invoke(main, ["--debug", "send", "--no-journal", *body]),
        "send --json": runner.invoke(main, ["-v", "send", "--json", "--no-journal", *body]),
        "check --debug": runner.invoke(main, ["--debug", "check", "--json"]),
        "preview": runner.invoke(main, ["--debug", "preview", "--json", *body]),
    }
    expected = 1 if failing else 0
    assert results["send --debug"].exit_code == expected, results["send --debug"].output
    assert results["check --debug"].exit_code == expected, results["check --debug"].output
    assert "DEBUG" in results["send --debug"].stderr
    for where, result in results.items():
        assert result.exception is None or isinstance(result.exception, SystemExit), where
        assert_clean(where, result.stdout + result.stderr)


# --- providers that echo the credentials back ---------------------------------------


def http_channels(url: str, *, hook_user: str = CANARIES["hook_user"]) -> list[Any]:
    """Every HTTP channel, each with its canaries, against the stand-in at ``url``."""
    creds = f"{hook_user}:{CANARIES['hook_pass']}@"
    hook = url.replace("http://", f"http://{creds}") + f"/hooks/{CANARIES['hook_path']}"
    return [
        Webhook(hook, secret=CANARIES["hook_secret"]),
        Twitter(
            consumer_key=CANARIES["x_ck"],
            consumer_secret=CANARIES["x_cs"],
            access_token=CANARIES["x_at"],
            access_token_secret=CANARIES["x_ats"],
            base_url=url,
        ),
        Twitter(bearer_token=CANARIES["x_bearer"], base_url=url, name="x-bearer"),
        FacebookPage("123", CANARIES["fb_token"], app_secret=CANARIES["fb_secret"], base_url=url),
        TwilioSMS(
            SID,
            CANARIES["twilio_token"],
            from_="+15005550006",
            recipients=["+14155550101", "+14155550102"],
            base_url=url,
        ),
        Slack(CANARIES["slack_token"], "C1", base_url=url),
        Slack(webhook_url=f"{url}/services/T1/B1/{CANARIES['slack_hook']}", name="slack-hook"),
        DiscordWebhook(f"{url}/api/webhooks/1/{CANARIES['discord_token']}"),
        Telegram(CANARIES["tg_token"], ["-1001", "-1002"], base_url=url),
        Teams(teams_url(url)),
        Mastodon(url, CANARIES["mastodon_token"]),
        Bluesky("status.example.com", CANARIES["bsky_pass"], service=url, session_file="off"),
        Statuspage("page1", CANARIES["sp_key"], base_url=url, rate=1_000),
    ]


async def send_and_collect(
    channels: list[Any], update: Update, journal: Path, caplog: pytest.LogCaptureFixture
) -> dict[str, str]:
    """Send through a Broadcaster with a journal; every text anyone could see after."""
    caplog.set_level(logging.DEBUG)
    keeper = SQLiteJournal(journal)
    async with Broadcaster(channels, retry=fast_retries(attempts=2), journal=keeper) as sender:
        report = await sender.send(update)
        texts = {"repr": " ".join([repr(sender), *(repr(c) for c in channels)])}
    await keeper.aclose()
    assert not report.ok, report.to_text()
    return texts | report_texts(report) | journal_texts(journal) | {"logs": own_logs(caplog)}


@pytest.mark.parametrize("where", ["body", "header"])
@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("status", [400, 401])
async def test_providers_echoing_credentials_leak_nothing(
    update: Update,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    *,
    form: str,
    where: Where,
    status: int,
) -> None:
    """Every HTTP channel against a provider quoting its credentials: no canary anywhere."""
    echoing = EchoingProviders(form, where, status=status)
    with echoing.server:
        texts = await send_and_collect(
            http_channels(echoing.server.url), update, tmp_path / "j.db", caplog
        )
    # Every channel's request was answered with an echo, and it reached what is searched.
    assert len(echoing.echoed) >= 6
    said = "invalid credentials: " if where == "body" else "see the headers"
    assert said in texts["report json"]
    assert said in texts["journal rows"]
    assert where == "header" or "***" in texts["journal rows"]
    for name, text in texts.items():
        assert_clean(name, text)


@pytest.mark.parametrize("hook_user_length", [1, 2, 3])
async def test_basic_auth_echoed_without_basic_leaks_nothing(
    update: Update, caplog: pytest.LogCaptureFixture, tmp_path: Path, hook_user_length: int
) -> None:
    """The webhook's user:password echoed as bare base64, for user names of 3 lengths."""
    echoing = EchoingProviders("base64-at-0")
    with echoing.server:
        hook = http_channels(echoing.server.url, hook_user="u" * hook_user_length)[0]
        texts = await send_and_collect([hook], update, tmp_path / "j.db", caplog)
    [echoed, *_] = echoing.echoed
    password = base64.b64decode(echoed).split(b" ")[0].split(b":")[1]
    assert password == CANARIES["hook_pass"].encode()
    for name, text in texts.items():
        assert_clean(name, text)


@pytest.fixture
def echoing_smtp() -> Iterator[tuple[int, EchoingAuth]]:
    """An SMTP server whose 535 quotes the AUTH line it refused."""
    handler = EchoingAuth()
    with smtp_server(handler, auth_require_tls=False) as port:  # type: ignore[arg-type]
        yield port, handler


def email(port: int, user: str) -> Email:
    return Email(
        "127.0.0.1",
        port,
        sender="status@example.com",
        recipients=["a@example.com", "b@example.com"],
        username=user,
        password=CANARIES["smtp_pass"],
        tls="none",
    )


@pytest.mark.parametrize("offset", [0, 1, 2])
async def test_an_smtp_535_quoting_auth_plain_leaks_nothing(
    update: Update,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    offset: int,
) -> None:
    """A 535 that quotes the AUTH PLAIN line, the password at each base64 offset: masked."""
    handler = EchoingAuth()
    with smtp_server(
        handler,  # type: ignore[arg-type]
        auth_require_tls=False,
        auth_exclude_mechanism=["LOGIN"],
    ) as port:
        texts = await send_and_collect(
            [email(port, SMTP_USERS[offset])], update, tmp_path / "j.db", caplog
        )
    [echo, *_] = handler.echoed
    assert echo.startswith("PLAIN ")
    assert (2 + len(SMTP_USERS[offset])) % 3 == offset
    refused = "credentials rejected (5.7.8 Authentication credentials invalid: PLAIN ***)"
    assert refused in texts["report json"]
    for name, text in texts.items():
        assert_clean(name, text)


async def test_an_smtp_535_quoting_auth_login_leaks_nothing(
    update: Update, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """AUTH LOGIN, the password's base64 quoted back in the 535: masked."""
    handler = EchoingAuth()
    with smtp_server(
        handler,  # type: ignore[arg-type]
        auth_require_tls=False,
        auth_exclude_mechanism=["PLAIN"],
    ) as port:
        texts = await send_and_collect(
            [email(port, CANARIES["smtp_user"])], update, tmp_path / "j.db", caplog
        )
    [echo, *_] = handler.echoed
    assert echo.startswith("AUTH LOGIN ")
    for name, text in texts.items():
        assert_clean(name, text)


ECHO_CONFIG = """
[settings]
retry_attempts = 2
retry_deadline = 1

[channels.hook]
type = "webhook"
url = "${{C_HOOK_URL}}"
secret = "${{C_HOOK_SECRET}}"

[channels.mail]
type = "email"
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
username = "{smtp_user}"
password = "${{C_SMTP_PASS}}"
sender = "status@example.com"
recipients = ["a@example.com"]

[channels.x]
type = "twitter"
consumer_key = "${{C_X_CK}}"
consumer_secret = "${{C_X_CS}}"
access_token = "${{C_X_AT}}"
access_token_secret = "${{C_X_ATS}}"
base_url = "{url}"

[channels.x-bearer]
type = "twitter"
bearer_token = "${{C_X_BEARER}}"
base_url = "{url}"

[channels.page]
type = "facebook"
page_id = "123"
page_token = "${{C_FB_TOKEN}}"
app_secret = "${{C_FB_SECRET}}"
base_url = "{url}"

[channels.sms]
type = "sms"
account_sid = "{sid}"
auth_token = "${{C_TWILIO_TOKEN}}"
from = "+15005550006"
recipients = ["+14155550101", "+14155550102"]
base_url = "{url}"

[channels.tg]
type = "telegram"
bot_token = "${{C_TG_TOKEN}}"
chat_ids = "-1001"
base_url = "{url}"

[channels.teams]
type = "teams"
url = "${{C_TEAMS_URL}}"

[channels.masto]
type = "mastodon"
instance = "{url}"
access_token = "${{C_MASTODON_TOKEN}}"

[channels.sky]
type = "bluesky"
handle = "status.example.com"
app_password = "${{C_BSKY_PASS}}"
service = "{url}"
session_file = "off"
[channels.statuspage]
type = "statuspage"
api_key = "${{C_SP_KEY}}"
page_id = "page1"
rate = 1000
base_url = "{url}"
"""


def run_commands(*commands: list[str]) -> dict[str, Result]:
    """Each command through one runner, by its first three words."""
    runner = CliRunner()
    return {" ".join(c[:3]): runner.invoke(main, c) for c in commands}


@pytest.mark.parametrize(
    ("form", "where", "offset"),
    [
        ("as-sent", "body", 0),
        ("base64-at-0", "body", 1),
        ("base64-at-1", "body", 2),
        ("base64-at-2", "header", 0),
        ("url-safe-at-2", "body", 1),
    ],
)
def test_command_line_against_echoing_providers_leaks_nothing(
    echoing_smtp: tuple[int, EchoingAuth],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    form: str,
    where: Where,
    offset: int,
) -> None:
    """`broadcast --debug send`, `send --json`, `check`, `history`: nothing, journal too."""
    monkeypatch.chdir(tmp_path)
    smtp_port, handler = echoing_smtp
    echoing = EchoingProviders(form, where)
    with echoing.server:
        url = echoing.server.url
        hook = url.replace("http://", f"http://{CANARIES['hook_user']}:{CANARIES['hook_pass']}@")
        secrets = {f"C_{k.upper()}": v for k, v in CANARIES.items()}
        secrets["C_HOOK_URL"] = f"{hook}/hooks/{CANARIES['hook_path']}"
        secrets["C_TEAMS_URL"] = teams_url(url)
        (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in secrets.items()))
        config = ECHO_CONFIG.format(
            smtp_port=smtp_port, smtp_user=SMTP_USERS[offset], url=url, sid=SID
        )
        (tmp_path / "broadcast.toml").write_text(config)
        body = ["--title", "Sign-in is failing", "--incident", "signin", "We are investigating."]
        results = run_commands(
            ["--debug", "send", *body],
            ["-v", "send", "--json", "--incident", "signin", "--title", "Again", "Still down."],
            ["--debug", "check", "--json"],
            ["history", "signin", "--json"],
        )
    assert results["--debug send --title"].exit_code == 1, results["--debug send --title"].output
    assert "DEBUG" in results["--debug send --title"].stderr
    assert handler.echoed  # the SMTP server quoted the AUTH line back
    texts = {where: r.stdout + r.stderr for where, r in results.items()}
    for name, result in results.items():
        assert result.exception is None or isinstance(result.exception, SystemExit), name
    texts |= journal_texts(tmp_path / "broadcast.db")
    for name, text in texts.items():
        assert_clean(name, text)


@pytest.mark.parametrize(
    ("where", "table", "variables"),
    [
        ("toml", 'auth_token = ["${C_TWILIO_TOKEN}"]', {}),
        ("toml", 'auth_token = ["{canary}"]', {}),
        ("toml", 'auth_token = { value = "{canary}" }', {}),
        ("toml", 'auth_token = "${C_TWILIO_TOKEN}"\nrate = "${C_TWILIO_TOKEN}"', {}),
        ("env", "", {"BROADCAST_SMS_CONCURRENCY": "{canary}"}),
        ("dotenv", "", {"BROADCAST_SMS_RATE": "{canary}"}),
    ],
    ids=["toml-list-of-ref", "toml-list", "toml-table", "toml-pasted", "env-pasted", "dotenv"],
)
def test_configuration_errors_through_the_command_leak_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    *,
    where: str,
    table: str,
    variables: dict[str, str],
) -> None:
    """A credential of the wrong type, or pasted into another key: exit 2, never shown."""
    monkeypatch.chdir(tmp_path)
    # A token no other test registered, so masking set up elsewhere cannot hide a leak.
    canary = "CANARY" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:16]
    dotenv = {"C_TWILIO_TOKEN": canary}
    environ: dict[str, str] = {}
    if where == "toml":
        (tmp_path / "broadcast.toml").write_text(
            f'[channels.sms]\ntype = "sms"\naccount_sid = "{SID}"\nfrom = "+15005550006"\n'
            f'recipients = ["+14155550101"]\n{table.replace("{canary}", canary)}\n'
        )
    else:
        twilio = {
            "BROADCAST_TWILIO_ACCOUNT_SID": SID,
            "BROADCAST_TWILIO_AUTH_TOKEN": canary,
            "BROADCAST_TWILIO_FROM": "+15005550006",
            "BROADCAST_SMS_RECIPIENTS": "+14155550101",
            **{k: v.replace("{canary}", canary) for k, v in variables.items()},
        }
        (dotenv if where == "dotenv" else environ).update(twilio)
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in dotenv.items()))
    runner = CliRunner()
    body = ["--title", "Sign-in is failing", "--incident", "signin", "We are investigating."]
    for command in (["--debug", "send", *body], ["--debug", "check"], ["preview", *body]):
        result = runner.invoke(main, command, env=environ)
        output = result.stdout + result.stderr
        if command[0] != "preview" or "rate" in table or where != "toml":
            assert result.exit_code == 2, (command, output)
            assert "error: " in result.stderr
        assert canary[:10] not in output, (command, output)
        assert base64.b64encode(canary.encode()).decode()[:10] not in output
