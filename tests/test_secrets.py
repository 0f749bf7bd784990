from __future__ import annotations

import base64
import json
import logging

import pytest

from broadcast import Broadcaster, ConfigError, DeliveryError, RetryPolicy, Update
from broadcast.channels import Webhook
from broadcast.config import Env, channels_from_env
from broadcast.testing import LoopbackServer, RecordingChannel, Reply

from .conftest import SECRET

SECRET_KEY_PART = SECRET.removeprefix("whsec_")
PASSWORD = "pa55word-XYZ"
TOKEN = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
LEAKS = (SECRET, SECRET_KEY_PART, PASSWORD, TOKEN)


def _assert_clean(text: str) -> None:
    for secret in LEAKS:
        assert secret not in text, f"secret leaked: {secret[:6]}..."


async def test_no_secret_in_logs_reprs_report_or_errors(
    caplog: pytest.LogCaptureFixture, update: Update, retry: RetryPolicy
) -> None:
    """With DEBUG logging on everywhere, no secret reaches logs, reprs, Report or exceptions."""
    caplog.set_level(logging.DEBUG)
    with LoopbackServer() as server:
        server.script(500, Reply(401, json.dumps({"message": "bad token"}).encode()))
        url = server.url.replace("http://", f"http://ops:{PASSWORD}@") + "/hook"
        webhook = Webhook(url, secret=SECRET, headers={"X-Api-Key": TOKEN})
        leaky = RecordingChannel(
            "third-party",
            failures=[RuntimeError(f"POST https://ops:{PASSWORD}@x.example/ Bearer {TOKEN}")],
        )
        async with Broadcaster([webhook, leaky], retry=retry) as broadcaster:
            report = await broadcaster.send(update)
            texts = [repr(webhook), str(webhook), repr(broadcaster)]
        # the secrets did go out on the wire, where they belong
        assert server.requests[0].headers["x-api-key"] == TOKEN
        basic = base64.b64encode(f"ops:{PASSWORD}".encode()).decode()
        assert server.requests[0].headers["authorization"] == f"Basic {basic}"
    assert not report.ok
    with pytest.raises(DeliveryError) as info:
        report.raise_for_failures()
    texts += [
        caplog.text,
        repr(report),
        str(report),
        json.dumps(report.to_dict()),
        str(info.value),
        repr(info.value),
        *(r.getMessage() for r in caplog.records),
    ]
    assert "credentials rejected" in (report["webhook"].reason or "")
    assert "third-party" in str(info.value)
    for text in texts:
        _assert_clean(text)


def test_config_errors_do_not_echo_secret_values() -> None:
    """A malformed secret variable is named in the error, its value is not."""
    bad = "whsec_" + "A" * 7 + "!" + PASSWORD
    env = Env(
        {"BROADCAST_WEBHOOK_URL": "https://cms.example.com/h", "BROADCAST_WEBHOOK_SECRET": bad}
    )
    with pytest.raises(ConfigError) as info:
        channels_from_env(env)
    assert "BROADCAST_WEBHOOK_SECRET" in str(info.value)
    assert PASSWORD not in str(info.value)


def test_webhook_repr_hides_path_query_and_secret() -> None:
    """The repr shows only the origin: paths and queries often hold tokens."""
    webhook = Webhook(
        f"https://ops:{PASSWORD}@hooks.example.com/services/{TOKEN}?key={TOKEN}",
        secret=SECRET,
    )
    assert (
        repr(webhook) == "Webhook(name='webhook', url='https://hooks.example.com/…', signed=True)"
    )
    _assert_clean(repr(vars(webhook)))
