"""The chaos stand-ins themselves, and what a fan-out does with an unanswered send."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from broadcast import Broadcaster, Receipt, RetryPolicy, SQLiteJournal, Update
from broadcast.testing import ChaosServer, ChaosSMTP, FakeClock, Fault, SmtpFault, fast_retries


async def _post_text(client: httpx.AsyncClient, server: ChaosServer, text: str) -> httpx.Response:
    return await client.post(f"{server.url}/2/tweets", json={"text": text})


async def test_faults_are_taken_in_order_then_it_behaves() -> None:
    with ChaosServer("x") as x:
        x.script(Fault.error(503), None, Fault.redirect(308))
        async with httpx.AsyncClient() as client:
            answers = [(await _post_text(client, x, f"post {i}")).status_code for i in range(4)]
    assert answers == [503, 201, 308, 201]
    assert x.accepted == ["post 1", "post 3"]
    assert [f.kind if f else None for f in x.faults] == ["http 503", None, "redirect 308", None]


async def test_x_speaks_xs_shapes() -> None:
    with ChaosServer("x") as x:
        x.script(Fault.throttle(reset_in=60))
        async with httpx.AsyncClient() as client:
            throttled = await _post_text(client, x, "hello")
            posted = await _post_text(client, x, "hello")
            again = await _post_text(client, x, "hello")
    assert throttled.status_code == 429
    assert throttled.json()["title"] == "Too Many Requests"
    assert 55 <= int(throttled.headers["x-rate-limit-reset"]) - time.time() <= 61
    assert posted.status_code == 201
    assert posted.json()["data"]["text"] == "hello"
    assert again.status_code == 403  # X refuses duplicate content
    assert "duplicate content" in again.json()["detail"]
    assert (x.duplicates, x.duplicates_refused) == (0, 1)


async def test_without_dedupe_every_repeat_is_acted_on() -> None:
    with ChaosServer("graph", dedupe=False) as graph:
        async with httpx.AsyncClient() as client:
            for _ in range(3):
                answer = await client.post(f"{graph.url}/v23.0/1/feed", data={"message": "m"})
                assert answer.json()["id"].startswith("546349135390552_")
    assert graph.duplicates == 2


async def test_twilio_answers_a_message_resource_and_its_error_body() -> None:
    with ChaosServer("twilio") as twilio:
        twilio.script(Fault.error(500))
        url = f"{twilio.url}/2010-04-01/Accounts/AC1/Messages.json"
        async with httpx.AsyncClient() as client:
            failed = await client.post(url, data={"To": "+14155550101", "Body": "b"})
            sent = await client.post(url, data={"To": "+14155550101", "Body": "b"})
    assert failed.json() == {
        "code": 20500,
        "message": "Internal Server Error",
        "more_info": "https://www.twilio.com/docs/errors/20500",
        "status": 500,
    }
    assert sent.status_code == 201
    assert sent.json()["sid"].startswith("SM")
    assert sent.json()["to"] == "+14155550101"


def test_unknown_provider_is_refused() -> None:
    with pytest.raises(ValueError, match="provider must be one of x, graph, twilio, webhook"):
        ChaosServer("pigeon")  # type: ignore[arg-type]


def _sms_retry() -> RetryPolicy:
    clock = FakeClock()
    return RetryPolicy(attempts=3, jitter=0, sleep=clock.sleep, clock=clock)


async def test_unanswered_sends_are_each_tried_once_and_listed(update: Update) -> None:
    """A few unanswered sends in a row are no proof the provider is down: each is listed."""
    people = [f"+1415555010{i}" for i in range(1, 7)]
    with ChaosServer("twilio") as twilio:
        twilio.script(*[Fault.hang()] * len(people))
        sms = twilio.channel(
            recipients=people, concurrency=1, timeout=0.2, retry=_sms_retry(), rate=1e6
        )
        async with Broadcaster([sms], journal=None) as broadcaster:
            (receipt,) = (await broadcaster.send(update)).receipts
    assert len(twilio.received) == len(people)  # each once, never again
    assert "stopped_early" not in receipt.details
    assert [r.recipient for r in receipt.rejected] == people
    assert all(r.unanswered and not r.permanent for r in receipt.rejected)
    assert receipt.to_dict()["rejected"][0]["unanswered"] is True


async def test_a_re_run_sends_again_to_a_recipient_left_unconfirmed(
    update: Update, tmp_path: Path
) -> None:
    """Not confirmed is not refused: the journal lets a re-run try them again."""
    people = ["+14155550101", "+14155550102"]
    with ChaosServer("twilio") as twilio:
        twilio.script(Fault.reset(after_body=True))
        for _ in range(2):
            sms = twilio.channel(recipients=people, concurrency=1, retry=_sms_retry(), rate=1e6)
            async with Broadcaster([sms], journal=SQLiteJournal(tmp_path / "j.db")) as b:
                (receipt,) = (await b.send(update)).receipts
    sent_to = [parse_qs(r.body.decode())["To"][0] for r in twilio.received]
    assert sent_to == [people[0], people[1], people[0]]
    assert receipt.outcome.value == "delivered"
    assert receipt.details["already_delivered"] == 1


async def test_smtp_faults_go_one_per_session(update: Update) -> None:
    from broadcast.channels import Email  # noqa: PLC0415

    with ChaosSMTP() as smtp:
        smtp.script(SmtpFault.reply(421, at="banner"), SmtpFault.drop_mid_data())
        email = Email(
            "127.0.0.1",
            smtp.port,
            sender="status@example.com",
            recipients=["a@example.com", "b@example.com"],
            tls="none",
            pool_size=1,
            retry=_sms_retry(),
        )
        async with Broadcaster([email], journal=None) as broadcaster:
            (receipt,) = (await broadcaster.send(update)).receipts
    assert [s.kind if s else None for s in smtp.sessions] == [
        "421 at banner",
        "drop mid-DATA",
        None,
    ]
    assert sorted(r for m in smtp.messages for r in m.rcpt_tos) == [
        "a@example.com",
        "b@example.com",
    ]
    assert (receipt.outcome.value, receipt.accepted) == ("delivered", 2)


async def test_a_thread_part_whose_answer_was_lost_is_settled_then_finished(
    tmp_path: Path,
) -> None:
    """X took part 2 but the answer broke off: no part twice, and settling finishes it."""
    long_update = Update(
        title="PlayStation Network is down",
        body=" ".join(["Sign-in, online play and the Store are unavailable."] * 12),
        incident="psn-2011-04",
        url="https://status.example.com/psn",
        author="Head of Network Operations",
    )
    journal = tmp_path / "journal.db"
    with ChaosServer("x") as x:
        x.script(None, Fault.reset(after_body=True))

        async def send() -> Receipt:
            channel = x.channel(timeout=1.0)
            retry = fast_retries(3)
            async with Broadcaster([channel], journal=SQLiteJournal(journal), retry=retry) as b:
                return (await b.send(long_update)).receipts[0]

        first = await send()
        assert first.outcome.value == "failed"
        assert "part 2 of 3 is up but its answer was lost" in (first.reason or "")
        assert f"broadcast settle {long_update.key} twitter --part 1 --post-id ID" in (
            first.reason or ""
        )
        part_two = str(1_400_000_000_000_000_000 + 2)  # the stand-in's id for its 2nd post
        settling = SQLiteJournal(journal)
        await settling.settle(long_update.key, "twitter", part=1, post_id=part_two)
        await settling.aclose()
        second = await send()
    assert second.outcome.value == "delivered"
    assert x.duplicates == 0
    assert len(x.accepted) == 3
    last = json.loads(x.received[-1].body)  # part 3, replying to the settled part 2
    assert last["reply"]["in_reply_to_tweet_id"] == part_two
