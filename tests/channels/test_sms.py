from __future__ import annotations

import asyncio
import base64
import itertools
import json
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from broadcast import Broadcaster, ConfigError, Outcome, Receipt, RetryPolicy, Update
from broadcast.channels import TwilioSMS
from broadcast.channels._sms import RateLimiter, normalise_number
from broadcast.config import Env, channels_from_env
from broadcast.testing import FakeClock, LoopbackServer, RecordedRequest, Reply, fast_retries
from broadcast.testing._providers import twilio as twilio_api

SID = "AC" + "a" * 32
TOKEN = "twilio-auth-token-123"
API = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"
FROM = "+15017122661"
PEOPLE = ["+14155550101", "+14155550102", "+14155550103"]


def message_created(to: str, body: str, n: int) -> dict[str, object]:
    """Twilio's documented 201 body for CreateMessage."""
    sid = f"SM{n:032x}"
    return {
        "account_sid": SID,
        "api_version": "2010-04-01",
        "body": body,
        "date_created": "Thu, 21 Apr 2011 09:00:00 +0000",
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": FROM,
        "messaging_service_sid": None,
        "num_segments": "1",
        "price": None,
        "sid": sid,
        "status": "queued",
        "to": to,
        "uri": f"/2010-04-01/Accounts/{SID}/Messages/{sid}.json",
    }


def twilio_error(status: int, code: int, message: str) -> httpx.Response:
    reply = twilio_api.error(status, code, message)
    return httpx.Response(status, content=reply.body, headers={"content-type": "application/json"})


class FakeTwilio:
    def __init__(self, errors: dict[str, list[httpx.Response]] | None = None) -> None:
        self.errors = errors or {}
        self.forms: list[dict[str, str]] = []
        self.requests: list[httpx.Request] = []
        self.serial = itertools.count(1)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        queued = self.errors.get(form["To"])
        if queued:
            return queued.pop(0)
        self.forms.append(form)
        return httpx.Response(
            201, json=message_created(form["To"], form["Body"], next(self.serial))
        )


@pytest.fixture
def fast(clock: FakeClock) -> RetryPolicy:
    return RetryPolicy(attempts=3, deadline=3600, sleep=clock.sleep, clock=clock)


def _sms(recipients: object = PEOPLE, **options: object) -> TwilioSMS:
    options.setdefault("from_", FROM)
    options.setdefault("retry", fast_retries())
    return TwilioSMS(SID, TOKEN, recipients=recipients, **options)  # type: ignore[arg-type]


async def _send(channel: TwilioSMS, update: Update, retry: RetryPolicy) -> Receipt:
    async with Broadcaster([channel], retry=retry) as broadcaster:
        return (await broadcaster.send(update))["sms"]


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    with respx.mock(using="httpx") as router:
        router.post(API).mock(side_effect=fake)
        yield fake


async def test_texts_every_subscriber(
    twilio: FakeTwilio, update: Update, fast: RetryPolicy
) -> None:
    """One form-encoded, basic-auth call per subscriber; SIDs and segments in the Receipt."""
    receipt = await _send(_sms(), update, fast)
    assert receipt.outcome is Outcome.DELIVERED
    assert receipt.accepted == 3
    assert len(receipt.ids) == 3
    assert all(i.startswith("SM") for i in receipt.ids)
    assert sorted(f["To"] for f in twilio.forms) == PEOPLE
    assert {f["From"] for f in twilio.forms} == {FROM}
    assert twilio.forms[0]["Body"].startswith("[Investigating] PlayStation Network is down")
    basic = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert twilio.requests[0].headers["authorization"] == f"Basic {basic}"
    assert receipt.details["segments_per_message"] >= 1


async def test_messaging_service_instead_of_from(
    twilio: FakeTwilio, update: Update, fast: RetryPolicy
) -> None:
    """A Messaging Service SID replaces From, and a status callback is passed on."""
    channel = TwilioSMS(
        SID,
        TOKEN,
        recipients=PEOPLE[:1],
        messaging_service_sid="MG" + "b" * 32,
        status_callback="https://status.example.com/twilio",
    )
    await _send(channel, update, fast)
    [form] = twilio.forms
    assert "From" not in form
    assert form["MessagingServiceSid"] == "MG" + "b" * 32
    assert form["StatusCallback"] == "https://status.example.com/twilio"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (21211, "The 'To' number +14155550102 is not a valid phone number."),
        (21610, "Attempt to send to unsubscribed recipient"),
        (21614, "'To' number is not a valid mobile number"),
    ],
)
async def test_recipient_errors_are_counted_not_retried(
    update: Update, fast: RetryPolicy, code: int, message: str
) -> None:
    """Per-recipient errors are recorded with their code; the others still get the text."""
    fake = FakeTwilio({PEOPLE[1]: [twilio_error(400, code, message)]})
    with respx.mock(using="httpx") as router:
        router.post(API).mock(side_effect=fake)
        receipt = await _send(_sms(), update, fast)
    assert receipt.outcome is Outcome.PARTIAL
    assert receipt.accepted == 2
    [rejection] = receipt.rejected
    assert (rejection.recipient, rejection.code) == (PEOPLE[1], code)
    assert message in rejection.reason
    assert len(fake.requests) == 3


@pytest.mark.parametrize("code", [20429, None])
async def test_429_waits_retry_after(update: Update, clock: FakeClock, code: int | None) -> None:
    """A 429 (with or without code 20429) waits Retry-After and is retried."""
    limited = twilio_error(429, 20429, "Too Many Requests") if code else httpx.Response(429)
    limited.headers["Retry-After"] = "4"
    fake = FakeTwilio({PEOPLE[0]: [limited]})
    retry = RetryPolicy(attempts=3, deadline=3600, sleep=clock.sleep, clock=clock)
    with respx.mock(using="httpx") as router:
        router.post(API).mock(side_effect=fake)
        receipt = await _send(_sms(PEOPLE[:1], retry=retry), update, retry)
    assert receipt.outcome is Outcome.DELIVERED
    assert clock.sleeps == [4.0]


async def test_auth_failure_stops_early(update: Update, fast: RetryPolicy) -> None:
    """20003 fails the channel at once instead of trying every subscriber."""
    people = [f"+1415555{i:04d}" for i in range(200)]

    def refuse(request: httpx.Request) -> httpx.Response:
        return twilio_error(401, 20003, "Authenticate")

    route_calls: list[int] = []
    with respx.mock(using="httpx") as router:
        route = router.post(API).mock(side_effect=refuse)
        receipt = await _send(_sms(people, concurrency=4), update, fast)
        route_calls.append(route.call_count)
    assert receipt.outcome is Outcome.FAILED
    assert "credentials rejected" in (receipt.reason or "")
    assert route_calls[0] <= 4
    assert TOKEN not in (receipt.reason or "")


def test_invalid_numbers_are_rejected_up_front() -> None:
    """A list with bad numbers is an error listing each of them."""
    with pytest.raises(ValueError, match=r"2 invalid recipient\(s\): 'call me'.*'\+1 555'"):
        _sms(["+14155550101", "call me", "+1 555"])


async def test_numbers_are_normalised_and_deduplicated(
    twilio: FakeTwilio, update: Update, fast: RetryPolicy
) -> None:
    """National formats use the default region; the same number twice is texted once."""
    people = ["(415) 555-0101", "+1 415 555 0101", "415.555.0102", "+44 20 7946 0958"]
    receipt = await _send(_sms(people), update, fast)
    assert receipt.accepted == 3
    assert sorted(f["To"] for f in twilio.forms) == [
        "+14155550101",
        "+14155550102",
        "+442079460958",
    ]


def test_normalise_number() -> None:
    """E.164 out, clear errors in."""
    assert normalise_number("020 7946 0958", "GB") == "+442079460958"
    with pytest.raises(ValueError, match="not a valid phone number"):
        normalise_number("+1 555 0000")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("call me", "not a phone number"),
        ("+999 1234", "not a phone number: unknown country code; write it as +<country code>"),
        ("+1 41555501011234567890", "too long to be a phone number"),
    ],
)
def test_number_errors_read_as_plain_words(text: str, reason: str) -> None:
    """The reason is in words, without phonenumbers' "(0)"-style codes."""
    with pytest.raises(ValueError, match="invalid recipient") as caught:
        _sms(["+14155550101", text])
    assert f"{text!r} ({reason}" in str(caught.value)
    assert "(0)" not in str(caught.value)
    assert "(1)" not in str(caught.value)


@pytest.mark.parametrize("region", ["XX", "UK", "usa", ""])
def test_unknown_region_is_blamed_on_the_region(region: str) -> None:
    """An unknown default_region is its own error, before any number is looked at."""
    with pytest.raises(ValueError, match=r"^default_region: .* is not a region") as caught:
        _sms(["4155550101"], default_region=region)
    assert "4155550101" not in str(caught.value)
    if region == "UK":
        assert "the United Kingdom is GB" in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"from_": FROM, "messaging_service_sid": "MG1"}, "exactly one"),
        ({"from_": None}, "exactly one"),
        ({"from_": FROM, "concurrency": 0}, "at least 1"),
    ],
)
def test_bad_options(kwargs: dict[str, object], message: str) -> None:
    """Sender and limits are checked at construction."""
    with pytest.raises(ValueError, match=message):
        TwilioSMS(SID, TOKEN, recipients=PEOPLE, **kwargs)  # type: ignore[arg-type]


def test_bad_account_sid() -> None:
    """The Account SID must look like one."""
    with pytest.raises(ValueError, match="Account SID"):
        TwilioSMS("SK123", TOKEN, recipients=PEOPLE, from_=FROM)


def test_repr_hides_the_token() -> None:
    """The auth token is never in the repr."""
    channel = _sms()
    assert TOKEN not in repr(channel)
    assert TOKEN not in repr(vars(channel))


async def test_rate_limiter_spaces_calls(clock: FakeClock) -> None:
    """N acquisitions at rate r take (N - burst) / r seconds of waiting."""
    limiter = RateLimiter(100, burst=10, clock=clock, sleep=clock.sleep)
    for _ in range(110):
        await limiter.acquire()
    assert sum(clock.sleeps) == pytest.approx(1.0, abs=0.02)


async def test_loopback_fan_out_of_5000_with_rate_limit(
    make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """5,000 subscribers over a real loopback server: every one once, at the set rate."""
    sent: list[str] = []

    def respond(request: RecordedRequest) -> Reply:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        sent.append(form["To"])
        body = message_created(form["To"], form["Body"], len(sent))
        return Reply(201, json.dumps(body).encode())

    limiter_clock = FakeClock()
    limiter = RateLimiter(500, burst=20, clock=limiter_clock, sleep=limiter_clock.sleep)
    people = (f"+1415{2_000_000 + i:07d}" for i in range(5_000))
    with LoopbackServer(respond) as server:
        channel = _sms(people, base_url=server.url, concurrency=20, limiter=limiter, retry=fast)
        receipt = await _send(channel, make_update(), fast)
    assert receipt.outcome is Outcome.DELIVERED
    assert receipt.accepted == len(sent) == 5_000
    assert len(set(sent)) == 5_000
    assert sum(limiter_clock.sleeps) == pytest.approx((len(sent) - 20) / 500, rel=0.01)


async def test_answer_without_sid_is_recorded_not_a_crash(
    update: Update, fast: RetryPolicy
) -> None:
    """A 201 that is not Twilio's JSON rejects that recipient; the others still get it."""
    fake = FakeTwilio({PEOPLE[0]: [httpx.Response(201, text="<html>ok</html>")]})
    with respx.mock(using="httpx") as router:
        router.post(API).mock(side_effect=fake)
        receipt = await _send(_sms(), update, fast)
    assert receipt.outcome is Outcome.PARTIAL
    assert receipt.accepted == 2
    assert "without sid" in receipt.rejected[0].reason


async def test_bare_5xx_is_retried_then_recorded_for_that_recipient(
    update: Update, fast: RetryPolicy
) -> None:
    """A 503 without Twilio's body is retried, then rejects that recipient, not the send."""
    fake = FakeTwilio({PEOPLE[0]: [httpx.Response(503)] * 5})
    with respx.mock(using="httpx") as router:
        router.post(API).mock(side_effect=fake)
        receipt = await _send(_sms(), update, fast)
    assert receipt.outcome is Outcome.PARTIAL
    assert receipt.accepted == 2
    assert receipt.rejected[0].code == 503


@pytest.mark.parametrize("sender", ["12345", "PSNStatus"])
async def test_short_codes_and_sender_ids(
    twilio: FakeTwilio, update: Update, fast: RetryPolicy, sender: str
) -> None:
    """A short code or an alphanumeric sender ID is sent as given."""
    await _send(_sms(PEOPLE[:1], from_=sender), update, fast)
    assert twilio.forms[0]["From"] == sender


async def test_region_is_case_insensitive(
    twilio: FakeTwilio, update: Update, fast: RetryPolicy
) -> None:
    """default_region "gb" reads national numbers like "GB"."""
    await _send(_sms(["020 7946 0958"], default_region="gb"), update, fast)
    assert twilio.forms[0]["To"] == "+442079460958"


def test_rate_and_single_string_are_checked_up_front() -> None:
    """A non-positive rate or one string as recipients fails at construction."""
    with pytest.raises(ValueError, match="rate must be positive"):
        _sms(rate=0)
    with pytest.raises(TypeError, match="not one string"):
        _sms("+14155550101")


def test_unknown_region_in_the_environment_names_the_variable() -> None:
    """BROADCAST_SMS_REGION=XX is an error about that variable, not about the numbers."""
    env = Env(
        {
            "BROADCAST_TWILIO_ACCOUNT_SID": SID,
            "BROADCAST_TWILIO_AUTH_TOKEN": TOKEN,
            "BROADCAST_TWILIO_FROM": FROM,
            "BROADCAST_SMS_RECIPIENTS": "4155550101",
            "BROADCAST_SMS_REGION": "XX",
        }
    )
    with pytest.raises(ConfigError, match=r"^BROADCAST_SMS_REGION: 'XX' is not a region") as caught:
        channels_from_env(env)
    assert "4155550101" not in str(caught.value)


def test_title_alone_is_texted_once(make_update: Callable[..., Update]) -> None:
    """A title-only update is texted once, its promise and link after it."""
    sms = _sms().render(make_update(title="We are investigating.", body=""))
    assert sms.text == (
        "[Investigating] We are investigating. Next update by 23:00 UTC. "
        "https://status.example.com/psn - Head of Network Operations"
    )
    bare = _sms().render(make_update(title="Outage", body="", next_update_at=None, url=None))
    assert bare.text == "[Investigating] Outage - Head of Network Operations"


async def test_a_stop_while_a_send_is_in_flight_ends_without_waiting_out_the_drain(
    update: Update, fast: RetryPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker whose send was in flight at an auth stop ends when it is answered.

    The stop empties the queue, stop marks included; without them given back, that
    worker waited for a recipient that never came until the drain grace ran out.
    """
    monkeypatch.setattr("broadcast.channels._fanout.DRAIN_GRACE", 3600.0)
    answered = 0

    async def refuse(request: httpx.Request) -> httpx.Response:
        nonlocal answered
        answered += 1
        # Both sends start; the second is still in flight when the first is refused.
        for _ in range(20 if answered == 1 else 200):
            await asyncio.sleep(0)
        return twilio_error(401, 20003, "Authenticate")

    with respx.mock(using="httpx") as router:
        router.post(API).mock(side_effect=refuse)
        receipt = await asyncio.wait_for(
            _send(_sms(PEOPLE[:2], concurrency=4, max_duration=None), update, fast), 30
        )
    assert answered == 2
    assert receipt.outcome is Outcome.FAILED
    assert "credentials rejected" in (receipt.reason or "")
