"""The journal across real processes: killed and re-run, run twice at once, followed up."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from broadcast.testing import LoopbackServer, RecordedRequest, Reply
from broadcast.testing._providers import x
from broadcast.testing._providers._base import json_reply
from broadcast.testing._providers.twilio import message_resource, message_sid

from .journal_store import Store
from .smtp_server import Recorder, smtp_server

ROOT = Path(__file__).resolve().parent.parent
WAIT = 60.0
"""Seconds any one wait may take before the test fails (it never sleeps)."""
CONCURRENCY = 10


class XSink:
    """``POST /2/tweets`` answering like X; ``gate`` holds every post until set."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.arrived = threading.Event()
        self.gate = threading.Event()
        self.gate.set()
        self.server = LoopbackServer(self._respond)

    def _respond(self, request: RecordedRequest) -> Reply:
        body = json.loads(request.body)
        self.posts.append(body)
        self.arrived.set()
        self.gate.wait(WAIT)
        return x.created(len(self.posts), body["text"])


class TwilioSink:
    """A Twilio Messages API that, once ``hold`` is set, stops answering.

    Every request is counted as it arrives (Twilio would have accepted it); when
    ``holding`` requests are stuck, ``stuck`` is set.
    """

    def __init__(self, holding: int) -> None:
        self.to: Counter[str] = Counter()
        self.hold = threading.Event()
        self.stuck = threading.Event()
        self.release = threading.Event()
        self._holding = holding
        self._held = 0
        self._lock = threading.Lock()
        self.server = LoopbackServer(self._respond)

    def _respond(self, request: RecordedRequest) -> Reply:
        number = parse_qs(request.body.decode())["To"][0]
        with self._lock:
            self.to[number] += 1
            sid = message_sid(sum(self.to.values()))
            held = self.hold.is_set()
            if held:
                self._held += 1
                if self._held >= self._holding:
                    self.stuck.set()
        if held:
            self.release.wait(WAIT)
        return json_reply(201, message_resource(sid, {"To": number}))


def _numbers(count: int) -> list[str]:
    return [f"+1415555{i:04d}" for i in range(count)]


def _start(spec: dict[str, Any]) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and test module
        [sys.executable, "-m", "tests.journal_child", json.dumps(spec)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _report(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=WAIT)
    assert process.returncode == 0, err
    report: dict[str, Any] = json.loads(out)
    return {r["channel"]: r for r in report["receipts"]}


def _watch(
    process: subprocess.Popen[str], lines: list[str], *wanted: str
) -> tuple[threading.Event, threading.Thread]:
    """An Event set once every ``wanted`` text has appeared in the child's log."""
    seen = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if all(any(w in seen_line for seen_line in lines) for w in wanted):
                seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return seen, reader


@pytest.fixture
def sinks() -> Iterator[tuple[XSink, LoopbackServer, TwilioSink]]:
    x, sms = XSink(), TwilioSink(holding=CONCURRENCY)
    with x.server, LoopbackServer() as webhook, sms.server:
        yield x, webhook, sms
        sms.release.set()
        x.gate.set()


def test_killed_mid_fan_out_a_re_run_finishes_without_duplicate_posts(
    tmp_path: Path, store: Store, sinks: tuple[XSink, LoopbackServer, TwilioSink]
) -> None:
    """SIGKILL mid-SMS, re-run: all 2,000 reached, duplicates <= concurrency, posts once."""
    x, webhook, sms = sinks
    numbers = _numbers(2000)
    (tmp_path / "numbers.txt").write_text("\n".join(numbers))
    spec = {
        "journal": store.target,
        "twitter": x.server.url,
        "webhook": webhook.url,
        "sms": {
            "url": sms.server.url,
            "numbers": str(tmp_path / "numbers.txt"),
            "concurrency": CONCURRENCY,
        },
    }
    log: list[str] = []
    with _start(spec) as first:
        posted, reader = _watch(
            first, log, "twitter: recorded as delivered", "webhook: recorded as delivered"
        )
        assert posted.wait(WAIT), "".join(log)
        sms.hold.set()  # from now on every text hangs in flight
        assert sms.stuck.wait(WAIT)  # every worker is waiting on an answer
        first.kill()
        first.wait(WAIT)
        reader.join(WAIT)
    reached_before = len(sms.to)
    assert 0 < reached_before < len(numbers)

    sms.hold.clear()
    sms.release.set()
    receipts = _report(_start(spec))

    assert set(sms.to) == set(numbers)
    duplicates = sum(sms.to.values()) - len(numbers)
    assert duplicates <= CONCURRENCY
    assert len(x.posts) == 1
    assert len(webhook.requests) == 1
    assert receipts["twitter"]["outcome"] == "skipped"
    assert receipts["twitter"]["ids"] == ["1400000000000000001"]
    assert receipts["webhook"]["outcome"] == "skipped"
    assert receipts["sms"]["outcome"] == "delivered"
    assert receipts["sms"]["accepted"] == len(numbers)
    # Only pending rows that reached the disk before the kill are counted; a row still
    # queued (a loaded machine) is re-sent uncounted, within the same bound.
    assert receipts["sms"]["details"]["resent_after_stop"] <= duplicates
    assert receipts["sms"]["details"]["already_delivered"] == reached_before - duplicates


def test_two_processes_sending_the_same_update_post_it_once(
    tmp_path: Path, store: Store, sinks: tuple[XSink, LoopbackServer, TwilioSink]
) -> None:
    """Two processes at once: one sends each channel, the other is told it is busy; each once."""
    x, webhook, sms = sinks
    numbers = _numbers(50)
    (tmp_path / "numbers.txt").write_text("\n".join(numbers))
    spec = {
        "journal": store.target,
        "twitter": x.server.url,
        "webhook": webhook.url,
        "sms": {"url": sms.server.url, "numbers": str(tmp_path / "numbers.txt"), "concurrency": 4},
    }
    x.gate.clear()  # the first process's tweet waits at X ...
    first = _start(spec)
    assert x.arrived.wait(WAIT)
    second = _start(spec)  # ... while the second process sends the same update
    seconds = _report(second)
    x.gate.set()
    firsts = _report(first)

    assert len(x.posts) == 1
    assert len(webhook.requests) == 1
    assert sms.to == Counter(numbers)
    assert firsts["twitter"]["outcome"] == "delivered"
    assert seconds["twitter"]["outcome"] == "busy"
    assert "being sent by another process" in seconds["twitter"]["reason"]
    for channel in ("webhook", "sms"):
        outcomes = sorted([firsts[channel]["outcome"], seconds[channel]["outcome"]])
        # The second finds it in progress (busy) or, if the first was quicker, done.
        assert outcomes in (["busy", "delivered"], ["delivered", "skipped"])


def test_follow_up_from_a_new_process_threads_under_the_incident(
    tmp_path: Path, sinks: tuple[XSink, LoopbackServer, TwilioSink]
) -> None:
    """A later process replies to the incident's last tweet and emails into its thread."""
    x, _, _ = sinks
    mail = Recorder()
    with smtp_server(mail) as port:
        spec: dict[str, Any] = {
            "journal": str(tmp_path / "journal.db"),
            "twitter": x.server.url,
            "email": {
                "port": port,
                "sender": "status@example.com",
                "recipients": ["a@example.net"],
            },
        }
        _report(_start(spec))
        # A day later, from another machine's cron job with a new sender domain.
        spec["update"] = {"status": "identified", "body": "Found it.", "minutes": 90}
        spec["email"]["sender"] = "status@mail.example.org"
        receipts = _report(_start(spec))

    assert receipts["twitter"]["outcome"] == "delivered"
    assert x.posts[1]["reply"] == {"in_reply_to_tweet_id": "1400000000000000001"}
    assert "reply" not in x.posts[0]
    first, second = (message_from_bytes(m.content, policy=policy.default) for m in mail.messages)
    root = "<incident.psn-2011-04@example.com>"
    assert first["In-Reply-To"] == root
    assert second["In-Reply-To"] == root
    assert second["References"] == root


async def test_a_killed_worker_elsewhere_loses_its_lease_when_it_expires(
    store: Store, sinks: tuple[XSink, LoopbackServer, TwilioSink], make_update: Any
) -> None:
    """SIGKILLed while posting, on 'another machine': busy until its lease runs out, then taken."""
    x, _, _ = sinks
    x.gate.clear()  # its tweet hangs at X: the lease is held
    spec = {"journal": store.target, "twitter": x.server.url, "owner": "worker-b:4242:cafe0000"}
    with _start(spec) as worker:
        assert await asyncio.to_thread(x.arrived.wait, WAIT)
        worker.kill()
        await asyncio.to_thread(worker.wait, WAIT)
    update = make_update(body="We are investigating.", author=None, url=None)
    now = time.time()
    here = store.make(clock=lambda: now)
    busy = await here.claim(update, "twitter")
    assert (busy.status, busy.holder) == ("busy", "worker-b:4242:cafe0000")
    later = store.make(clock=lambda: now + here.lease + 1)
    taken = await later.claim(update, "twitter")
    assert (taken.status, taken.in_doubt) == ("claimed", True)
