"""The delivery journal: re-sends, resumed fan-out, leases, doubt, supersession, history."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from broadcast import (
    Broadcaster,
    Journal,
    JournalError,
    Outcome,
    PermanentError,
    RetryPolicy,
    SQLiteJournal,
    TransientError,
    Update,
)
from broadcast.channels import TwilioSMS, Twitter, Webhook
from broadcast.channels._fanout import FanOut
from broadcast.config._env import Env
from broadcast.config._from_env import broadcaster_from_env
from broadcast.journal import overdue
from broadcast.testing import FakeClock, LoopbackServer, RecordedRequest, RecordingChannel, Reply
from broadcast.testing._providers import twilio as twilio_api
from broadcast.testing._providers import x as x_api
from broadcast.testing._providers._base import json_reply

from .conftest import T0
from .journal_store import Store

ACCOUNT_SID = "AC" + "0" * 30 + "11"
STOPPED = "+14155550103"


@pytest.fixture
def journal(store: Store) -> Journal:
    """The test's journal: each test using it runs on SQLite and on PostgreSQL."""
    made: Journal = store.make()
    return made


def _x_reply(request: RecordedRequest) -> Reply:
    text = json.loads(request.body)["text"]
    return x_api.created(len(text), text)


@pytest.fixture
def x() -> Iterator[LoopbackServer]:
    with LoopbackServer(_x_reply) as server:
        yield server


def _twilio_reply(request: RecordedRequest) -> Reply:
    to = parse_qs(request.body.decode())["To"][0]
    if to == STOPPED:
        return twilio_api.error(400, 21610, "Attempt to send to unsubscribed recipient")
    return json_reply(201, twilio_api.message_resource(f"SM{to[-4:]:0>32}", {"To": to}))


def _sms(server: LoopbackServer, numbers: list[str]) -> TwilioSMS:
    return TwilioSMS(
        ACCOUNT_SID,
        "test-auth-token",
        from_="+15017122661",
        recipients=numbers,
        base_url=server.url,
        concurrency=2,
        retry=RetryPolicy(attempts=1),
    )


def _texted(server: LoopbackServer) -> list[str]:
    return [parse_qs(r.body.decode())["To"][0] for r in server.requests]


def _dead_owner() -> str:
    """An owner id on this host whose process has exited."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return f"{socket.gethostname()}:{child.stdout.strip()}:dead0000"


async def _send(
    channels: list[Any], update: Update, journal: Journal, **options: Any
) -> dict[str, Any]:
    async with Broadcaster(channels, journal=journal, **options) as broadcaster:
        report = await broadcaster.send(update)
    return {r.channel: r for r in report.receipts}


# --- exactly-once intent ------------------------------------------------------------


async def test_the_same_update_again_is_skipped_with_its_ids(
    server: LoopbackServer, x: LoopbackServer, journal: Journal, make_update: Any
) -> None:
    """A re-send delivers nothing new; the Report says skipped and gives the ids."""
    channels = lambda: [Webhook(server.url), Twitter(bearer_token="t", base_url=x.url)]  # noqa: E731
    first = await _send(channels(), make_update(), journal)
    again = await _send(channels(), make_update(), journal)
    assert len(server.requests) == 1
    assert len(x.requests) == 1
    for name in ("webhook", "twitter"):
        assert first[name].outcome is Outcome.DELIVERED
        assert again[name].outcome is Outcome.SKIPPED
        assert again[name].reason == "already delivered"
        assert again[name].ids == first[name].ids


async def test_a_resend_texts_only_who_is_missing_and_not_who_refused(
    server: LoopbackServer, journal: Journal, make_update: Any
) -> None:
    """After a partial send, a re-run reaches the rest; a STOP (21610) is not retried."""
    numbers = ["+14155550101", "+14155550102", STOPPED]
    server.script(Reply(201, json.dumps({"sid": "SM1", "status": "queued"}).encode()), 503)
    first = await _send([_sms(server, numbers)], make_update(), journal)
    assert first["sms"].outcome is Outcome.PARTIAL
    server._responder = _twilio_reply  # the outage at Twilio is over
    reached_first = _texted(server)[0]
    again = await _send([_sms(server, numbers)], make_update(), journal)
    receipt = again["sms"]
    texted = _texted(server)[len(numbers) :]
    assert reached_first not in texted
    assert receipt.accepted == 2
    assert receipt.details["already_delivered"] == 1
    assert [r.code for r in receipt.rejected] == [21610]
    third = await _send([_sms(server, numbers)], make_update(), journal)
    assert STOPPED not in _texted(server)[len(numbers) + len(texted) :]
    assert third["sms"].rejected[0].recipient == STOPPED


async def test_a_re_run_re_sends_who_a_killed_run_left_pending_and_counts_them(
    server: LoopbackServer, journal: Journal, make_update: Any, store: Store
) -> None:
    """A pending row from a dead run is sent again and counted in resent_after_stop."""
    update = make_update()
    pending, delivered, fresh = "+14155550101", "+14155550102", "+14155550104"
    crashed = store.make()
    crashed.owner = _dead_owner()
    await crashed.record_update(update)
    await crashed.claim(update, "sms")
    log = crashed.recipients(update.key, "sms")
    log.sending(pending)  # ...sent, and the process dies before the answer
    await log.delivered(delivered, "SM0")
    await log.flush()
    await crashed.aclose()
    server._responder = _twilio_reply
    receipt = (await _send([_sms(server, [pending, delivered, fresh])], update, journal))["sms"]
    assert sorted(_texted(server)) == [pending, fresh]
    assert receipt.accepted == 3
    assert receipt.details["already_delivered"] == 1
    assert receipt.details["resent_after_stop"] == 1


async def test_a_live_holder_makes_a_second_sender_skip(
    server: LoopbackServer, journal: Journal, make_update: Any, store: Store, tmp_path: Path
) -> None:
    """While another live process holds the lease, the channel is busy: not sent, not ok."""
    other = store.make()
    claim = await other.claim(make_update(), "webhook")
    assert claim.status == "claimed"
    receipts = await _send([Webhook(server.url)], make_update(), journal)
    assert receipts["webhook"].outcome is Outcome.BUSY
    assert "being sent by another process" in str(receipts["webhook"].reason)
    assert server.requests == []


async def test_an_expired_lease_is_taken_over(
    server: LoopbackServer, make_update: Any, store: Store, tmp_path: Path
) -> None:
    """A holder elsewhere that stopped renewing loses the lease when it runs out."""
    clock = FakeClock(start=1_000_000.0)
    elsewhere = store.make(clock=clock)
    elsewhere.owner = "another-host:4242:abcd"
    await elsewhere.claim(make_update(), "webhook")
    here = store.make(clock=clock)
    assert (await here.claim(make_update(), "webhook")).status == "busy"
    clock.now += here.lease + 1
    claim = await here.claim(make_update(), "webhook")
    assert (claim.status, claim.in_doubt) == ("claimed", True)


# --- doubt --------------------------------------------------------------------------


async def test_a_part_a_killed_run_was_posting_is_in_doubt_until_settled(
    x: LoopbackServer, journal: Journal, make_update: Any, store: Store
) -> None:
    """A tweet pending from a dead run is not re-posted; settle() says what happened."""
    update = make_update()
    crashed = store.make()
    crashed.owner = _dead_owner()
    await crashed.record_update(update)
    await crashed.claim(update, "twitter")
    await crashed.start_part("twitter", update.key, 0)  # ...and the process dies here
    await crashed.aclose()

    receipt = (await _send([Twitter(bearer_token="t", base_url=x.url)], update, journal))["twitter"]
    assert receipt.outcome is Outcome.FAILED
    assert "may or may not be up" in str(receipt.reason)
    assert f"journal.settle({update.key!r}, 'twitter', part=0" in str(receipt.reason)
    assert x.requests == []

    await journal.settle(update.key, "twitter", part=0, post_id="1399")
    receipt = (await _send([Twitter(bearer_token="t", base_url=x.url)], update, journal))["twitter"]
    assert (receipt.outcome, receipt.ids) == (Outcome.SKIPPED, ("1399",))
    assert x.requests == []


async def test_a_channel_that_cannot_resume_is_in_doubt_and_a_webhook_is_resent(
    server: LoopbackServer, journal: Journal, make_update: Any, store: Store
) -> None:
    """A plain channel left mid-send fails as in doubt; a webhook re-sends its webhook-id."""
    update = make_update()
    crashed = store.make()
    crashed.owner = _dead_owner()
    await crashed.record_update(update)
    await crashed.claim(update, "recording")
    await crashed.claim(update, "webhook")
    await crashed.aclose()

    plain = RecordingChannel()
    receipts = await _send([plain, Webhook(server.url)], update, journal)
    assert receipts["recording"].outcome is Outcome.FAILED
    assert str(receipts["recording"].reason).startswith("in doubt")
    assert plain.calls == 0
    assert receipts["webhook"].outcome is Outcome.DELIVERED
    assert server.requests[0].headers["webhook-id"] == f"msg_{update.key}"

    await journal.settle(update.key, "recording", post_id=None)
    receipts = await _send([plain], update, journal)
    assert receipts["recording"].outcome is Outcome.DELIVERED
    assert plain.calls == 1


async def test_a_timeout_on_a_plain_channel_leaves_it_in_doubt(
    journal: Journal, make_update: Any
) -> None:
    """A send cut off without an answer is not re-sent blindly by the next run."""
    hanging = RecordingChannel(hang=True)
    first = await _send([hanging], make_update(), journal, timeouts={"recording": 0.01})
    assert first["recording"].outcome is Outcome.FAILED
    again = await _send([RecordingChannel()], make_update(), journal)
    assert str(again["recording"].reason).startswith("in doubt")


# --- supersession -------------------------------------------------------------------


async def test_a_resolution_supersedes_a_stale_update_still_retrying(
    journal: Journal, make_update: Any
) -> None:
    """An 'investigating' retry due after 'resolved' went out is skipped, not delivered."""
    stale = make_update(status="investigating")
    resolved = make_update(status="resolved", created_at=T0 + timedelta(minutes=30))
    late = RecordingChannel(failures=[TransientError("503 from the provider")])
    prompt = RecordingChannel()
    clock = FakeClock()

    async def sleep(seconds: float) -> None:  # while the stale update waits to retry...
        await clock.sleep(seconds)
        await _send([prompt], resolved, journal)  # ...the resolution goes out

    retry = RetryPolicy(attempts=3, sleep=sleep, clock=clock)
    receipt = (await _send([late], stale, journal, retry=retry))["recording"]
    assert receipt.outcome is Outcome.SKIPPED
    assert receipt.reason == f"superseded: the incident was resolved by {resolved.key}"
    assert late.sent == []
    assert prompt.sent == [prompt.render(resolved).text]
    history = await journal.history("psn-2011-04")
    assert [h.channels[0].state for h in history] == ["superseded", "delivered"]


async def test_an_update_older_than_the_resolution_is_not_sent(
    journal: Journal, make_update: Any
) -> None:
    """Sent after the resolution, an earlier update is skipped as superseded."""
    resolved = make_update(status="resolved", created_at=T0 + timedelta(minutes=30))
    await _send([RecordingChannel()], resolved, journal)
    channel = RecordingChannel()
    receipt = (await _send([channel], make_update(), journal))["recording"]
    assert receipt.outcome is Outcome.SKIPPED
    assert str(receipt.reason).startswith("superseded")
    assert channel.calls == 0
    first = (await journal.history("psn-2011-04"))[0]
    assert [(c.channel, c.state) for c in first.channels] == [("recording", "superseded")]


# --- incident state -----------------------------------------------------------------


async def test_history_is_the_timeline_with_outcomes_and_ids(
    journal: Journal, make_update: Any
) -> None:
    """history() lists each update in order with each channel's outcome and ids."""
    first, second = (
        make_update(),
        make_update(status="identified", body="Found it.", created_at=T0 + timedelta(minutes=45)),
    )
    crashing = RecordingChannel("c", failures=[ValueError("bug")])
    refused = RecordingChannel("b", failures=[PermanentError("400 refused")])
    await _send([RecordingChannel("a"), refused, crashing], second, journal)
    await _send([RecordingChannel("a")], first, journal)
    history = await journal.history("psn-2011-04")
    assert [h.key for h in history] == [first.key, second.key]
    assert [h.status for h in history] == ["investigating", "identified"]
    later = {c.channel: c for c in history[1].channels}
    assert (later["a"].state, later["a"].ids) == ("delivered", ("a-1",))
    assert (later["b"].state, later["b"].reason) == ("failed", "400 refused")
    assert later["c"].state == "in_doubt"  # a crash mid-send: it may have got through
    assert "bug" in str(later["c"].reason)
    assert history[0].created_at == T0
    assert history[1].next_update_at == second.next_update_at


async def test_overdue_lists_open_incidents_whose_promise_has_passed(
    journal: Journal, make_update: Any
) -> None:
    """overdue(now=) lists late open incidents, most late first; resolved ones never."""
    psn = make_update()  # promises an update by T0 + 1h
    store = make_update(
        incident="store-2011", title="Store is slow", next_update_at=T0 + timedelta(minutes=30)
    )
    fixed = make_update(incident="login-2011", title="Sign-in fixed", status="resolved")
    for update in (psn, store, fixed):
        await journal.record_update(update)

    assert await overdue(journal, now=T0 + timedelta(minutes=10)) == []
    late = await overdue(journal, now=T0 + timedelta(minutes=75))
    assert [(o.incident, o.overdue_by) for o in late] == [
        ("store-2011", timedelta(minutes=45)),
        ("psn-2011-04", timedelta(minutes=15)),
    ]
    assert str(late[1]) == (
        "psn-2011-04 (investigating): next update was promised by 2011-04-20 23:00 UTC, 15 min ago"
    )
    follow_up = make_update(
        status="identified",
        created_at=T0 + timedelta(minutes=70),
        next_update_at=T0 + timedelta(hours=3),
    )
    await journal.record_update(follow_up)
    assert [o.incident for o in await overdue(journal, now=T0 + timedelta(minutes=75))] == [
        "store-2011"
    ]
    with pytest.raises(ValueError, match="timezone-aware"):
        await overdue(journal, now=T0.replace(tzinfo=None))


# --- a journal that cannot be used --------------------------------------------------


@pytest.mark.parametrize(
    ("prepare", "expected"),
    [
        (lambda p: p.write_bytes(b"not a database, just bytes" * 100), "is unusable"),
        (lambda p: p.mkdir(), "is a directory"),
        (
            lambda p: sqlite3.connect(p).execute("CREATE TABLE orders (id)").connection.commit(),
            "some other SQLite database",
        ),
        (lambda p: sqlite3.connect(p).execute("PRAGMA user_version = 99"), "newer broadcast"),
    ],
    ids=["corrupt", "directory", "foreign", "newer"],
)
async def test_an_unusable_journal_stops_the_send_before_anything_goes_out(
    server: LoopbackServer,
    tmp_path: Path,
    make_update: Any,
    prepare: Callable[[Path], object],
    expected: str,
) -> None:
    """No silent in-memory fallback: JournalError names the file; nothing is sent."""
    path = tmp_path / "broadcast.db"
    prepare(path)
    async with Broadcaster([Webhook(server.url)], journal=SQLiteJournal(path)) as broadcaster:
        with pytest.raises(JournalError, match=expected) as caught:
            await broadcaster.send(make_update())
    assert str(path) in str(caught.value)
    assert "nothing was sent" in str(caught.value)
    assert server.requests == []


async def test_a_journal_that_cannot_be_created_is_a_clear_error(
    server: LoopbackServer, tmp_path: Path, make_update: Any
) -> None:
    """A journal whose directory cannot exist says so, naming the path; nothing is sent."""
    (tmp_path / "a-file").write_text("not a directory")
    path = tmp_path / "a-file" / "broadcast.db"
    async with Broadcaster([Webhook(server.url)], journal=SQLiteJournal(path)) as broadcaster:
        with pytest.raises(JournalError, match="cannot create journal") as caught:
            await broadcaster.send(make_update())
    assert str(path) in str(caught.value)
    assert server.requests == []


# --- defaults -----------------------------------------------------------------------


async def test_the_default_journal_is_broadcast_journal_and_private(
    server: LoopbackServer, tmp_path: Path, make_update: Any
) -> None:
    """The configured Broadcaster journals to $BROADCAST_JOURNAL, readable by its owner only."""
    async with broadcaster_from_env(Env.load(None), channels=[Webhook(server.url)]) as broadcaster:
        assert isinstance(broadcaster.journal, SQLiteJournal)
        await broadcaster.send(make_update())
    path = Path(os.environ["BROADCAST_JOURNAL"])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    reread = SQLiteJournal(path)
    assert [h.key for h in await reread.history("psn-2011-04")] == [make_update().key]
    await reread.aclose()


async def test_journal_none_keeps_nothing(
    server: LoopbackServer, make_update: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """journal=None writes no file, and the same update is sent again."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BROADCAST_JOURNAL")
    for _ in range(2):
        async with Broadcaster([Webhook(server.url)], journal=None) as broadcaster:
            await broadcaster.send(make_update())
    assert len(server.requests) == 2
    assert os.listdir(tmp_path) == []


# --- a journal that fails mid-send ---------------------------------------------------


class _FailingLog:
    """A RecipientLog whose second durable write fails, as a full disk would."""

    def __init__(self) -> None:
        self.delivered_rows: list[str] = []

    async def resuming(self) -> bool:
        return False

    async def settled(self, recipients: Any) -> dict[str, Any]:
        return {}

    def sending(self, recipient: str) -> None:
        pass

    async def delivered(self, recipient: str, provider_id: str) -> None:
        if self.delivered_rows:
            raise JournalError("cannot write the journal: database or disk is full")
        self.delivered_rows.append(recipient)

    def failed(self, recipient: str, reason: str, code: Any, *, permanent: bool) -> None:
        pass

    async def flush(self) -> None:
        pass


class _Worker:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, recipient: str) -> str:
        self.sent.append(recipient)
        return f"id-{recipient}"

    async def close(self) -> None:
        pass


async def test_a_journal_write_failing_mid_fan_out_stops_it_and_says_why() -> None:
    """No sending on without a record: the fan-out stops at the failed write."""
    worker = _Worker()
    fan_out = FanOut(
        "sms", ["a", "b", "c", "d"], str, RetryPolicy(attempts=1), ledger=_FailingLog()
    )
    delivery = await fan_out.run([worker])
    assert worker.sent == ["a", "b"]
    assert delivery.incomplete
    assert "database or disk is full" in str(delivery.note)
    assert "the remaining recipients were not sent" in str(delivery.note)
