"""Secrets audit: every credential of every channel is a canary; none may show anywhere.

Each channel runs a success path and a failure path through the Broadcaster with DEBUG
logging on for every logger, then through the ``broadcast`` command with ``--debug``
and ``--json``. Everything a person or a log could see (log records, reprs, the Report
as text and JSON, exception tracebacks, CLI output) is searched for each canary, plain,
URL-encoded, and base64 of the user:password pairs that travel as Basic or SMTP auth.
"""

from __future__ import annotations

import base64
import json
import logging
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from broadcast import Broadcaster, DeliveryError, Update
from broadcast.channels import Email, FacebookPage, TwilioSMS, Twitter, Webhook
from broadcast.cli import main
from broadcast.testing import LoopbackServer, RecordedRequest, Reply, fast_retries

from .smtp_server import Recorder, authenticator, smtp_server

SID = "AC" + "5" * 32
CANARIES = {
    "hook_path": "CANARYhookpath7781",
    "hook_user": "CANARYhookuser",
    "hook_pass": "CANARYhookpass5521",
    "hook_secret": "whsec_Q0FOQVJZd2Vib29rc2VjcmV0a2V5MTIzNDU2",
    "smtp_user": "CANARYsmtpuser",
    "smtp_pass": "CANARYsmtppass9931",
    "x_ck": "CANARYconsumerkey001",
    "x_cs": "CANARYconsumersecret002",
    "x_at": "CANARYaccesstoken003",
    "x_ats": "CANARYaccesstokensecret004",
    "x_bearer": "CANARYbearer005xyz",
    "fb_token": "EAACANARYpagetoken0000000006",
    "fb_secret": "CANARYappsecret007",
    "twilio_token": "CANARYtwiliotoken008",
}
PAIRS = [
    ("hook_user", "hook_pass"),
    ("smtp_user", "smtp_pass"),
]
USERNAMES = {"hook_user", "smtp_user"}
"""Login names are not secrets (``check`` says which account it logged in as); their
pairs with the passwords, as Basic and AUTH PLAIN carry them, are."""


def forms() -> list[str]:
    """Every way a canary could leak: plain, URL-encoded, base64, Basic and AUTH PLAIN."""
    found = []
    for name, value in CANARIES.items():
        if name in USERNAMES:
            continue
        found += [value, quote(value, safe=""), base64.b64encode(value.encode()).decode()]
    found.append(CANARIES["hook_secret"].removeprefix("whsec_"))
    for user, password in PAIRS:
        u, p = CANARIES[user], CANARIES[password]
        found += [
            base64.b64encode(f"{u}:{p}".encode()).decode(),
            base64.b64encode(f"\0{u}\0{p}".encode()).decode(),
        ]
    found.append(base64.b64encode(f"{SID}:{CANARIES['twilio_token']}".encode()).decode())
    return found


def assert_clean(where: str, text: str) -> None:
    for form in forms():
        assert form not in text, f"a credential leaked into {where}: {form[:12]}..."


class Providers:
    """One loopback server shaped like all four HTTP APIs; it can succeed or refuse."""

    def __init__(self) -> None:
        self.failing = False
        self.server = LoopbackServer(self._respond)
        self.ids = 0

    def _respond(self, request: RecordedRequest) -> Reply:
        self.ids += 1
        if self.failing:
            status = 401 if self.ids % 2 else 500
            body = {"title": "Unauthorized", "detail": f"bad {request.path}", "status": status}
            return Reply(status, json.dumps(body).encode())
        if request.method == "GET":
            return Reply(200, json.dumps(self._account(request.path)).encode())
        if request.path.startswith("/2/tweets"):
            return Reply(201, json.dumps({"data": {"id": str(self.ids), "text": "x"}}).encode())
        if "/feed" in request.path or "/comments" in request.path:
            return Reply(200, json.dumps({"id": f"123_{self.ids}"}).encode())
        if "/Messages.json" in request.path:
            sid = f"SM{self.ids:032d}"
            return Reply(201, json.dumps({"sid": sid, "status": "queued"}).encode())
        return Reply(204)

    @staticmethod
    def _account(path: str) -> dict[str, Any]:
        """The documented shapes of X's users/me, a Graph Page and a Twilio account."""
        if path.startswith("/2/users/me"):
            return {"data": {"id": "2244994945", "name": "Status", "username": "status"}}
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


def hook_url(server: LoopbackServer) -> str:
    creds = f"{CANARIES['hook_user']}:{CANARIES['hook_pass']}@"
    return server.url.replace("http://", f"http://{creds}") + f"/hooks/{CANARIES['hook_path']}"


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
