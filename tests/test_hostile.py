"""A hostile network: every send ends, every miss is reported, nothing goes out twice.

Each test runs the real channels against real loopback stand-ins (``ChaosServer``)
and counts at the stand-in, not only from the Report.
"""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from broadcast import (
    Broadcaster,
    JournalError,
    NotSent,
    Outcome,
    RetryPolicy,
    SQLiteJournal,
    TransientError,
    Update,
)
from broadcast.channels import Delivery, TwilioSMS
from broadcast.channels._fanout import BREAKER_WINDOW, FanOut
from broadcast.cli._output import exit_code
from broadcast.testing import ChaosServer, FakeClock, Fault, RecordingChannel
from broadcast.testing import Text as RecordedText

PEOPLE = [f"+1415555{i:04d}" for i in range(300)]


def _retry(attempts: int = 5) -> RetryPolicy:
    clock = FakeClock()
    return RetryPolicy(attempts=attempts, deadline=600, jitter=0, sleep=clock.sleep, clock=clock)


def _texted(twilio: ChaosServer) -> Counter[str]:
    return Counter(twilio.accepted)


async def _send(channel: Any, update: Update, **options: Any) -> Any:
    async with Broadcaster([channel], journal=options.pop("journal", None), **options) as b:
        return (await b.send(update)).receipts[0]


async def test_a_trickling_answer_is_cut_off_by_the_whole_exchange_deadline(
    update: Update,
) -> None:
    """A server sending one byte at a time never outlasts the request's deadline."""
    with ChaosServer("twilio") as twilio:
        twilio.script(*[Fault.trickle(0.05)] * 3)
        sms = twilio.channel(recipients=PEOPLE[:3], timeout=0.3, retry=_retry(), rate=1e6)
        receipt = await _send(sms, update)
    assert receipt.outcome is Outcome.FAILED
    assert len(twilio.received) == 3  # each once: an unanswered text is not sent again
    assert all(r.unanswered and not r.permanent for r in receipt.rejected)
    assert all("no answer came within 0.3s" in r.reason for r in receipt.rejected)
    assert exit_code(_report(receipt)) == 1


def _report(*receipts: Any) -> Any:
    from broadcast import Report  # noqa: PLC0415

    return Report("key", "psn-2011-04", tuple(receipts))


async def test_random_faults_never_stop_a_fan_out_and_nothing_goes_twice(update: Update) -> None:
    """30 % random 500/503/resets: everyone is reached or listed, none texted twice."""
    with ChaosServer("twilio") as twilio:
        twilio.randomly(
            0.3, Fault.error(500), Fault.error(503), Fault.reset(after_body=False), seed=7
        )
        sms = twilio.channel(recipients=PEOPLE, concurrency=10, retry=_retry(), rate=1e6)
        receipt = await _send(sms, update)
    texted = _texted(twilio)
    assert "stopped_early" not in receipt.details
    assert max(texted.values()) == 1  # no duplicates without a crash
    listed = {r.recipient for r in receipt.rejected}
    assert receipt.accepted == len(texted)
    assert set(texted) | listed == set(PEOPLE)  # each one delivered or individually listed
    assert not set(texted) & listed
    assert receipt.accepted > 250


async def test_a_provider_that_is_down_trips_the_breaker_and_the_rest_is_counted(
    update: Update,
) -> None:
    """Every attempt failing, none between succeeding: the fan-out stops on that evidence."""
    with ChaosServer("twilio") as twilio:
        twilio.randomly(1.0, Fault.error(503))
        sms = twilio.channel(recipients=PEOPLE, concurrency=5, retry=_retry(3), rate=1e6)
        receipt = await _send(sms, update)
    assert receipt.outcome is Outcome.FAILED
    assert "the provider looks down" in (receipt.reason or "")
    assert receipt.details["stopped_early"] is True
    assert BREAKER_WINDOW <= len(twilio.received) < BREAKER_WINDOW + 5 * 3
    tried = {r.recipient for r in receipt.rejected}
    assert receipt.details["not_sent"] + len(tried) <= len(PEOPLE)
    assert twilio.accepted == []


async def test_a_refused_connection_is_nothing_sent_and_is_retried(update: Update) -> None:
    """A closed port: NotSent on each attempt, retried, never listed as 'may have arrived'."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends
    sms = TwilioSMS(
        "AC" + "0" * 32,
        "token-abc123",
        from_="+14155550100",
        recipients=PEOPLE[:2],
        base_url=f"http://127.0.0.1:{port}",
        retry=_retry(3),
        rate=1e6,
        concurrency=1,
    )
    receipt = await _send(sms, update)
    assert receipt.outcome is Outcome.FAILED
    assert [r.recipient for r in receipt.rejected] == PEOPLE[:2]
    assert all("nothing was sent" in r.reason for r in receipt.rejected)
    assert not any(r.unanswered or r.permanent for r in receipt.rejected)


class _Worker:
    """A third-party worker: fails ``fails`` times per recipient with ``error``, then sends."""

    def __init__(self, error: Exception, fails: int) -> None:
        self.error, self.fails = error, fails
        self.calls: Counter[str] = Counter()

    async def send(self, recipient: str, /) -> str:
        self.calls[recipient] += 1
        if self.calls[recipient] <= self.fails:
            raise self.error
        return f"id-{recipient}"

    async def close(self) -> None:
        """Nothing held."""


@pytest.mark.parametrize(
    "error", [TransientError("try later"), NotSent("refused")], ids=["answered", "not sent"]
)
async def test_a_third_party_transient_error_without_a_code_is_retried(error: Exception) -> None:
    """TransientError without a code means "answered, try later": retried, never in doubt."""
    worker = _Worker(error, fails=2)
    fan_out = FanOut("acme", ["a@x.example", "b@x.example"], str, _retry(3))
    delivery = await fan_out.run([worker])
    assert delivery.accepted == 2
    assert worker.calls == Counter({"a@x.example": 3, "b@x.example": 3})
    assert delivery.rejected == ()


async def test_retries_that_run_out_are_listed_and_not_permanent() -> None:
    """A recipient still failing after every retry is listed, and a re-run will try it."""
    worker = _Worker(TransientError("HTTP 503", code=503), fails=99)
    fan_out = FanOut("acme", ["a@x.example"], str, _retry(2))
    delivery = await fan_out.run([worker])
    (rejection,) = delivery.rejected
    assert (rejection.permanent, rejection.unanswered, rejection.code) == (False, False, 503)
    receipt = _receipt(delivery)
    assert exit_code(_report(receipt)) == 1


def _receipt(delivery: Delivery) -> Any:
    from broadcast import Receipt  # noqa: PLC0415

    outcome = Outcome.PARTIAL if delivery.accepted else Outcome.FAILED
    return Receipt("acme", outcome, accepted=delivery.accepted, rejected=delivery.rejected)


async def test_a_stop_drains_what_is_in_flight_instead_of_cancelling_it(update: Update) -> None:
    """On stop() the answers in flight are awaited and counted: none is left pending."""
    with ChaosServer("twilio") as twilio:
        twilio.script(*[Fault.delay(0.2)] * len(PEOPLE))
        sms = twilio.channel(recipients=PEOPLE, concurrency=4, retry=_retry(), rate=1e6)
        async with Broadcaster([sms], journal=None) as broadcaster:
            sending = asyncio.create_task(broadcaster.send(update))
            while len(twilio.received) < 6:  # noqa: ASYNC110 - the stand-in is another thread
                await asyncio.sleep(0)  # yield to the loop; no wall-clock wait
            broadcaster.stop("stopped by SIGTERM")
            report = await sending
    (receipt,) = report.receipts
    assert report.stopped == "stopped by SIGTERM"
    assert receipt.accepted == len(twilio.accepted)  # every text that went out is counted
    assert receipt.rejected == ()
    assert receipt.details["stopped_early"] is True
    assert receipt.accepted + receipt.details["not_sent"] <= len(PEOPLE)
    assert not report.reached_everyone
    assert exit_code(report) == 1


async def test_a_stop_ends_only_the_send_it_interrupted(update: Update) -> None:
    """After stop() the same Broadcaster sends the next update as usual."""
    channel = RecordingChannel("hook")
    async with Broadcaster([channel], journal=None) as broadcaster:
        broadcaster.stop("stopped by SIGTERM")
        report = await broadcaster.send(update)
    assert report.stopped is None
    assert report["hook"].outcome is Outcome.DELIVERED


async def test_a_fan_out_without_max_duration_stops_at_the_broadcasters_deadline(
    update: Update, tmp_path: Path
) -> None:
    """fan_out_timeout bounds a fan-out; a re-run with the journal sends only the rest."""
    journal = SQLiteJournal(tmp_path / "journal.db")
    with ChaosServer("twilio") as twilio:
        twilio.script(*[Fault.delay(0.05)] * 80)
        sms = twilio.channel(recipients=PEOPLE, concurrency=2, retry=_retry(), rate=1e6)
        first = await _send(sms, update, journal=journal, fan_out_timeout=0.4)
        assert "stopped at its deadline (0.4s)" in (first.reason or "")
        assert first.accepted == len(twilio.accepted)
        sms = twilio.channel(recipients=PEOPLE, concurrency=10, retry=_retry(), rate=1e6)
        second = await _send(sms, update, journal=journal)
    await journal.aclose()
    assert second.outcome is Outcome.DELIVERED
    assert second.details["already_delivered"] == first.accepted
    assert _texted(twilio) == Counter(PEOPLE)  # everyone once, over the two runs


async def test_every_channel_renders_before_any_channel_sends(update: Update) -> None:
    """A channel that cannot render fails alone, and before anything went out anywhere."""
    events: list[str] = []

    class Logged(RecordingChannel):
        def render(self, update: Update, /) -> RecordedText:
            events.append(f"render {self.name}")
            return super().render(update)

        async def deliver(self, rendered: RecordedText, /) -> Delivery:
            events.append(f"deliver {self.name}")
            return await super().deliver(rendered)

    broken = RecordingChannel("broken", render_error=UnicodeEncodeError("utf-8", "", 0, 1, "x"))
    channels = [Logged("a"), broken, Logged("b")]
    async with Broadcaster(channels, journal=None) as broadcaster:
        report = await broadcaster.send(update)
    assert events[:2] == ["render a", "render b"]
    assert sorted(events[2:]) == ["deliver a", "deliver b"]
    assert report["broken"].outcome is Outcome.FAILED
    assert "render failed" in (report["broken"].reason or "")


async def test_a_thread_that_fails_midway_keeps_the_ids_of_what_is_up() -> None:
    """Parts posted before a failure are in the failed Receipt, with their ids."""
    long = Update(
        title="PlayStation Network is down",
        body=" ".join(["Sign-in, online play and the Store are unavailable."] * 14),
        incident="psn-2011-04",
    )
    with ChaosServer("x") as x:
        x.script(None, None, Fault.error(400))
        twitter = x.channel()
        receipt = await _send(twitter, long, retry=_retry(1))
    assert receipt.outcome is Outcome.FAILED
    assert len(receipt.ids) == 2
    assert len(x.accepted) == 2
    assert "posted 2 of" in (receipt.reason or "")


async def test_a_full_journal_stops_the_fan_out_and_the_report_counts_what_was_sent(
    update: Update, tmp_path: Path
) -> None:
    """SQLITE_FULL mid-send: sending stops, and the Receipt counts every text that went out."""
    journal = SQLiteJournal(tmp_path / "journal.db")
    await journal.open()

    def cap(connection: Any) -> None:
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count = {pages + 3}")

    await journal._call(cap)
    if journal._fast is not None:  # the loop thread's writer: a full disk is full for it too
        cap(journal._fast)
    with ChaosServer("twilio") as twilio:
        sms = twilio.channel(recipients=PEOPLE, concurrency=4, retry=_retry(), rate=1e6)
        receipt = await _send(sms, update, journal=journal)
    with pytest.raises(JournalError, match="full"):  # the rows it could not write
        await journal.aclose()
    texted = _texted(twilio)
    assert "full" in (receipt.reason or ""), receipt
    assert 0 < len(texted) <= len(PEOPLE)
    assert receipt.accepted == len(texted), receipt  # counted from memory, not the journal
    assert max(texted.values()) == 1
    if len(texted) < len(PEOPLE):
        # The write failed while the list was being sent: sending stopped there. (When the
        # threads commit late, every text may be out before the journal says it is full.)
        assert receipt.stopped_early, receipt


def test_chaos_random_faults_are_seeded() -> None:
    """The same seed gives the same faults, so a failing run can be replayed."""
    draws = []
    for _ in range(2):
        with ChaosServer("webhook") as server:
            server.randomly(0.5, Fault.error(500), Fault.hang(), seed=3)
            draws.append([server._draw() for _ in range(40)])
    assert draws[0] == draws[1]
    assert {None, Fault.error(500), Fault.hang()} == set(draws[0])
    with ChaosServer("x") as x, pytest.raises(ValueError, match="rate from 0 to 1"):
        x.randomly(1.5, Fault.hang())
