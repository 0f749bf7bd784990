from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Callable

import pytest
from standardwebhooks.webhooks import Webhook as Verifier

from broadcast import Broadcaster, Outcome, RetryPolicy, Update
from broadcast.channels import Webhook
from broadcast.channels._webhook import sign
from broadcast.testing import FakeClock, LoopbackServer, RecordingChannel, Reply

from ..conftest import SECRET


def _verify(request_body: bytes, headers: dict[str, str]) -> object:
    return Verifier(SECRET).verify(request_body, headers)


def test_signature_matches_standard_webhooks_vector() -> None:
    """sign() reproduces the Standard Webhooks reference test vector."""
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signature = sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_render_is_pure_and_complete(update: Update) -> None:
    """render() gives the same bytes every time, with every field, the key and the incident."""
    webhook = Webhook("https://cms.example.com/hook", secret=SECRET)
    first, second = webhook.render(update), webhook.render(update)
    assert first == second
    assert first.message_id == f"msg_{update.key}"
    doc = first.document
    assert doc["type"] == "incident.update"
    assert doc["data"]["key"] == update.key
    assert doc["data"]["incident"] == "psn-2011-04"
    assert doc["data"]["author"] == "Head of Network Operations"
    assert doc["data"]["next_update_at"] == "2011-04-20T23:00:00Z"
    assert doc["data"]["paragraphs"] == [
        "We are investigating.",
        "Sign-in and the Store are affected.",
    ]
    assert "PlayStation Network is down" in first.preview()


async def test_delivers_signed_json_verified_by_standardwebhooks(
    server: LoopbackServer, update: Update, retry: RetryPolicy
) -> None:
    """A delivered request verifies with the standardwebhooks library and carries the update."""
    server.script(Reply(201, b'{"id": "post-77"}'))
    webhook = Webhook(f"{server.url}/hook", secret=SECRET)
    async with Broadcaster([webhook], retry=retry) as broadcaster:
        report = await broadcaster.send(update)
    receipt = report["webhook"]
    assert receipt.outcome is Outcome.DELIVERED
    assert receipt.ids == (f"msg_{update.key}",)
    assert receipt.details == {"status_code": 201, "receiver_id": "post-77"}
    [request] = server.requests
    assert request.method == "POST"
    assert request.path == "/hook"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == f"msg_{update.key}"
    payload = _verify(request.body, request.headers)
    assert isinstance(payload, dict)
    assert payload["data"]["title"] == "PlayStation Network is down"


async def test_tampered_body_fails_verification(
    server: LoopbackServer, update: Update, retry: RetryPolicy
) -> None:
    """The signature covers the exact body: a changed byte no longer verifies."""
    async with Broadcaster([Webhook(server.url, secret=SECRET)], retry=retry) as broadcaster:
        await broadcaster.send(update)
    [request] = server.requests
    with pytest.raises(Exception, match="No matching signature"):
        _verify(request.body.replace(b"down", b"up!!"), request.headers)


async def test_retries_500_503_and_429_with_same_id(
    server: LoopbackServer, update: Update, retry: RetryPolicy, clock: FakeClock
) -> None:
    """500, 503 and 429 are retried, Retry-After is honoured, and every try has one webhook-id."""
    server.script(500, 503, Reply(429, headers={"Retry-After": "7"}), 200)
    async with Broadcaster([Webhook(server.url, secret=SECRET)], retry=retry) as broadcaster:
        report = await broadcaster.send(update)
    assert report["webhook"].outcome is Outcome.DELIVERED
    assert report["webhook"].attempts == 4
    assert len(server.requests) == 4
    assert clock.sleeps[2] == 7.0
    assert {r.headers["webhook-id"] for r in server.requests} == {f"msg_{update.key}"}
    for request in server.requests:
        _verify(request.body, request.headers)


async def test_each_attempt_is_signed_with_a_fresh_timestamp(
    server: LoopbackServer, update: Update
) -> None:
    """A retry re-signs with the time of that attempt, so receivers never see it as stale."""
    clock = FakeClock(start=1_700_000_000.0)
    retry = RetryPolicy(attempts=3, deadline=1000, sleep=clock.sleep, clock=clock)
    server.script(Reply(503, headers={"retry-after": "300"}), 200)
    webhook = Webhook(server.url, secret=SECRET, clock=clock)
    async with Broadcaster([webhook], retry=retry) as broadcaster:
        await broadcaster.send(update)
    stamps = [r.headers["webhook-timestamp"] for r in server.requests]
    assert stamps == ["1700000000", "1700000300"]
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    for request in server.requests:
        expected = sign(
            key,
            request.headers["webhook-id"],
            int(request.headers["webhook-timestamp"]),
            request.body,
        )
        assert request.headers["webhook-signature"] == expected


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (400, "HTTP 400 Bad Request"),
        (401, "credentials rejected"),
        (403, "credentials rejected"),
        (404, "HTTP 404 Not Found"),
        (410, "endpoint is gone"),
        (422, "HTTP 422"),
    ],
)
async def test_permanent_statuses_are_not_retried(
    server: LoopbackServer, update: Update, retry: RetryPolicy, status: int, words: str
) -> None:
    """400, 401, 403, 404, 410 and 422 fail after one request, with a reason naming the status."""
    server.script(status)
    async with Broadcaster([Webhook(server.url, secret=SECRET)], retry=retry) as broadcaster:
        report = await broadcaster.send(update)
    receipt = report["webhook"]
    assert receipt.outcome is Outcome.FAILED
    assert receipt.attempts == 1
    assert len(server.requests) == 1
    assert words in (receipt.reason or "")


async def test_provider_error_text_is_in_the_reason(
    server: LoopbackServer, update: Update, retry: RetryPolicy
) -> None:
    """The receiver's error message is quoted, briefly, in the reason."""
    server.script(Reply(422, json.dumps({"message": "title too long for the blog"}).encode()))
    async with Broadcaster([Webhook(server.url)], retry=retry) as broadcaster:
        report = await broadcaster.send(update)
    assert report["webhook"].reason == (
        f"HTTP 422 Unprocessable Entity from {server.url}: title too long for the blog"
    )


async def test_redirects_are_not_followed(
    server: LoopbackServer, update: Update, retry: RetryPolicy
) -> None:
    """A 3xx is a permanent failure telling the user to fix the URL; the body is not re-sent."""
    server.script(Reply(307, headers={"location": "/elsewhere"}))
    async with Broadcaster([Webhook(server.url)], retry=retry) as broadcaster:
        report = await broadcaster.send(update)
    assert "redirects are not followed" in (report["webhook"].reason or "")
    assert len(server.requests) == 1


async def test_slow_receiver_times_out_while_other_delivers(
    update: Update, retry: RetryPolicy
) -> None:
    """A webhook whose receiver hangs is cut off by its timeout; another webhook delivers."""
    with LoopbackServer() as slow, LoopbackServer() as fast:
        slow.script(Reply(hang=True))
        channels = [
            Webhook(slow.url, secret=SECRET, name="slow"),
            Webhook(fast.url, secret=SECRET, name="fast"),
        ]
        async with Broadcaster(channels, retry=retry, timeouts={"slow": 0.3}) as broadcaster:
            report = await broadcaster.send(update)
    assert report["fast"].outcome is Outcome.DELIVERED
    assert report["slow"].outcome is Outcome.FAILED
    assert (report["slow"].reason or "").startswith("timed out after 0.3s")
    assert len(fast.requests) == 1


async def test_per_attempt_timeout_is_transient(update: Update, clock: FakeClock) -> None:
    """The channel's own per-request timeout counts as a failed attempt and is retried."""
    policy = RetryPolicy(attempts=2, sleep=clock.sleep, clock=clock)
    with LoopbackServer() as slow:
        slow.script(Reply(hang=True))
        async with Broadcaster([Webhook(slow.url, timeout=0.1)], retry=policy) as broadcaster:
            report = await broadcaster.send(update)
    assert report["webhook"].attempts == 2
    assert report["webhook"].reason == (
        f"no answer came within 0.1s from {slow.url}; gave up after 2 attempts"
    )


async def test_render_crash_elsewhere_does_not_stop_webhook(
    server: LoopbackServer, update: Update, retry: RetryPolicy
) -> None:
    """An exception in another channel's render leaves the webhook delivered."""
    broken = RecordingChannel("broken", render_error=RuntimeError("template missing"))
    async with Broadcaster([broken, Webhook(server.url)], retry=retry) as broadcaster:
        report = await broadcaster.send(update)
    assert report["webhook"].outcome is Outcome.DELIVERED
    assert report["broken"].outcome is Outcome.FAILED
    assert len(server.requests) == 1


async def test_connection_refused_is_retried(update: Update, retry: RetryPolicy) -> None:
    """Nothing listening on the port is transient: retried, then reported."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with Broadcaster([Webhook(f"http://127.0.0.1:{port}/")], retry=retry) as broadcaster:
        report = await broadcaster.send(update)
    receipt = report["webhook"]
    assert receipt.attempts == 4
    assert (receipt.reason or "").startswith(f"ConnectError talking to http://127.0.0.1:{port}")


async def test_unsigned_webhook_still_sends_an_id(
    server: LoopbackServer, update: Update, retry: RetryPolicy
) -> None:
    """Without a secret no signature is sent, but webhook-id still lets receivers dedupe."""
    async with Broadcaster([Webhook(server.url)], retry=retry) as broadcaster:
        await broadcaster.send(update)
    [request] = server.requests
    assert request.headers["webhook-id"] == f"msg_{update.key}"
    assert "webhook-signature" not in request.headers


async def test_url_credentials_become_basic_auth(
    server: LoopbackServer, update: Update, retry: RetryPolicy
) -> None:
    """user:password in the URL is sent as Basic auth and custom headers are passed through."""
    url = server.url.replace("http://", "http://ops:pa55word@") + "/hook?x=1"
    webhook = Webhook(url, headers={"X-Blog-Key": "k-123"})
    async with Broadcaster([webhook], retry=retry) as broadcaster:
        await broadcaster.send(update)
    [request] = server.requests
    assert request.path == "/hook?x=1"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"ops:pa55word").decode()
    assert request.headers["x-blog-key"] == "k-123"


async def test_standalone_use_opens_and_closes_its_own_client(
    server: LoopbackServer, update: Update
) -> None:
    """Used without a Broadcaster, the channel makes its own client and closes it."""
    webhook = Webhook(server.url, secret=SECRET)
    delivery = await webhook.deliver(webhook.render(update))
    await webhook.aclose()
    assert delivery.ids == (f"msg_{update.key}",)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"url": "ftp://x/"}, "absolute http"),
        ({"url": "https://x/", "secret": "hunter2"}, "whsec_"),
        ({"url": "https://x/", "secret": "whsec_!!!"}, "not valid base64"),
        (
            {"url": "https://x/", "secret": "whsec_" + base64.b64encode(b"short").decode()},
            "24-64 bytes",
        ),
        ({"url": "https://x/", "headers": {"Webhook-Signature": "v1,x"}}, "may not set"),
        ({"url": "https://u:p@x/", "headers": {"Authorization": "Bearer t"}}, "give only one"),
    ],
)
def test_bad_construction_is_a_clear_error(kwargs: dict[str, object], message: str) -> None:
    """Bad URL, secret or headers are rejected at construction, saying what is wrong."""
    with pytest.raises(ValueError, match=message):
        Webhook(**kwargs)  # type: ignore[arg-type]


def test_generated_secret_is_usable() -> None:
    """generate_secret() gives a whsec_ secret that the verifier library accepts."""
    secret = Webhook.generate_secret()
    assert secret.startswith("whsec_")
    body = b"{}"
    key = base64.b64decode(secret.removeprefix("whsec_"))
    now = int(time.time())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(now),
        "webhook-signature": sign(key, "msg_1", now, body),
    }
    assert Verifier(secret).verify(body, headers) == {}


async def test_channel_outlives_a_broadcaster(
    server: LoopbackServer, make_update: Callable[..., Update], retry: RetryPolicy
) -> None:
    """One channel object can serve a second Broadcaster after the first has closed."""
    webhook = Webhook(server.url, secret=SECRET)
    async with Broadcaster([webhook], retry=retry) as first:
        await first.send(make_update())
    async with Broadcaster([webhook], retry=retry) as second:
        report = await second.send(make_update(status="resolved"))
    assert report["webhook"].outcome is Outcome.DELIVERED
    assert len(server.requests) == 2
    await webhook.aclose()
