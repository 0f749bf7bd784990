"""Distributed sends across real worker processes (`broadcast worker`) on taskiq's ZeroMQ broker.

The test process is the sender (it plans the shards in a SQLite journal and kicks
one task per shard) and hosts a fast Twilio stand-in (``tests/twilio_sink.py``, the
answers of broadcast.testing's Twilio fake); three `broadcast worker` processes share
the journal file. Nothing sleeps: every wait is on an event or a process, with
a bound after which the test fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadcast import Broadcaster, Update
from broadcast.channels import TwilioSMS
from broadcast.channels._recipients import from_file
from broadcast.distributed import Distributed, SendStatus, ShardStore, status
from broadcast.distributed._env import store_for
from broadcast.distributed.tasks import TaskiqQueue, broker_from
from broadcast.journal._setting import journal_from_setting

from .twilio_sink import SID, TOKEN, TwilioSink

WAIT = 120.0
"""Seconds any one wait may take before the test fails."""


def numbers(count: int) -> list[str]:
    return [f"+1415{2000000 + n}" for n in range(count)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def the_update() -> Update:
    return Update(title="PSN is down", body="We are investigating.", incident="psn-2011-04")


class Setup:
    """The journal, the recipient file, the broker and the workers' environment."""

    def __init__(
        self,
        tmp_path: Path,
        sink: TwilioSink,
        recipients: list[str],
        *,
        dsn: str | None = None,
        **sms: str,
    ) -> None:
        self.journal: str = dsn or str(tmp_path / "journal.db")
        self.file = tmp_path / "numbers.txt"
        self.file.write_text("\n".join(recipients) + "\n", encoding="utf-8")
        self.broker = f"zmq://127.0.0.1:{free_port()}"
        self.cwd = tmp_path
        self.sink = sink
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("BROADCAST_")}
        self.env |= {
            "BROADCAST_JOURNAL": self.journal,
            "BROADCAST_TWILIO_ACCOUNT_SID": SID,
            "BROADCAST_TWILIO_AUTH_TOKEN": TOKEN,
            "BROADCAST_TWILIO_FROM": "+15017122661",
            "BROADCAST_TWILIO_BASE_URL": sink.url,
            "BROADCAST_SMS_RECIPIENTS": f"@{self.file}",
            "BROADCAST_SMS_RATE": sms.get("rate", "100000"),
            "BROADCAST_SMS_CONCURRENCY": sms.get("concurrency", "20"),
        }
        self.workers: list[subprocess.Popen[str]] = []
        self.logs: list[str] = []
        self.readers: list[threading.Thread] = []
        self.nothing_to_do = threading.Semaphore(0)
        self.queue = TaskiqQueue(broker_from(self.broker))

    def channel(self) -> TwilioSMS:
        return TwilioSMS(
            SID,
            TOKEN,
            from_="+15017122661",
            recipients=from_file(self.file),
            base_url=self.sink.url,
        )

    def start_workers(self, count: int) -> list[subprocess.Popen[str]]:
        """``count`` workers, returned once each says it listens."""
        started = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "broadcast",
                    "-v",
                    "worker",
                    "--json",
                    "--sweep-every",
                    "0.2",
                ],
                env=self.env | {"BROADCAST_BROKER": self.broker},
                cwd=self.cwd,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(count)
        ]
        for process in started:
            assert process.stderr is not None
            ready = threading.Event()
            reader = threading.Thread(target=self._read, args=(process, ready), daemon=True)
            reader.start()
            self.readers.append(reader)
            assert ready.wait(WAIT), "".join(self.logs)
        self.workers += started
        return started

    def _read(self, process: subprocess.Popen[str], ready: threading.Event) -> None:
        assert process.stderr is not None
        with process.stderr:
            for line in process.stderr:
                self.logs.append(line)
                if line.startswith("ready"):
                    ready.set()
                if "nothing sent here" in line:
                    self.nothing_to_do.release()

    async def prepare(self, *, bind: bool = True) -> None:
        """Make the journal (before several workers open it at once) and bind the broker."""
        journal = journal_from_setting(self.journal)
        assert journal is not None
        store = store_for(journal)
        await store.open()
        await store.aclose()
        if bind:
            await self.queue.start()  # bound before the workers connect: they get the tasks

    async def send(self, size: int) -> tuple[Distributed, TaskiqQueue]:
        queue = self.queue
        journal = journal_from_setting(self.journal)
        assert journal is not None
        plan = Distributed(store_for(journal), queue, shard_size=size)
        async with Broadcaster([self.channel()], journal=journal) as broadcaster:
            report = await broadcaster.send(the_update(), distributed=plan)
        await journal.aclose()
        assert report["sms"].outcome.value == "busy"
        return plan, queue

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``broadcast ARGS`` with the workers' configuration."""
        return subprocess.run(  # noqa: S603 - our own command
            [sys.executable, "-m", "broadcast", *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )

    def stop(self) -> list[dict[str, int]]:
        """SIGTERM every live worker; what each says it did."""
        said = []
        for process in self.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.workers:
            assert process.stdout is not None
            with process.stdout:
                out = process.stdout.read()
            process.wait(WAIT)
            if process.returncode == 0:
                said.append(json.loads(out.strip().splitlines()[-1]))
            else:
                assert process.returncode == -signal.SIGKILL, "".join(self.logs)
        return said


async def _finished(where: Distributed | ShardStore, key: str | None = None) -> SendStatus:
    """The send's status once every shard is done (the texts arrived; the last writes follow)."""
    store = where.store if isinstance(where, Distributed) else where
    deadline = time.monotonic() + WAIT
    try:
        while not (found := await status(store, key or the_update().key)).finished:
            assert time.monotonic() < deadline, found
            await asyncio.sleep(0.05)  # a poll of the journal, which has no event to wait on
    finally:
        if not isinstance(where, Distributed):  # a store made for this look: closed here
            await store.aclose()
    return found


@pytest.fixture
def cleanup() -> Iterator[list[Setup]]:
    made: list[Setup] = []
    yield made
    for setup in made:
        setup.sink.let_go()
        for process in setup.workers:
            if process.poll() is None:
                process.kill()
                process.wait(WAIT)
            if process.stdout is not None:
                process.stdout.close()
        for reader in setup.readers:
            reader.join(WAIT)


async def test_three_workers_reach_30000_recipients_each_exactly_once(
    tmp_path: Path, cleanup: list[Setup]
) -> None:
    """3 worker processes, 30,000 numbers in 3 shards, every task delivered again: each once."""
    recipients = numbers(30_000)
    with TwilioSink(expect=len(recipients)) as sink:
        setup = Setup(tmp_path, sink, recipients)
        cleanup.append(setup)
        await setup.prepare()
        setup.start_workers(3)
        plan, queue = await setup.send(size=10_000)
        assert sink.all_arrived.wait(WAIT)
        final = await _finished(plan)
        shards = [r.shard for r in await plan.store.shards(the_update().key)]
        await queue.enqueue(shards)  # the broker delivers every task again
        for _ in shards:
            assert setup.nothing_to_do.acquire(timeout=WAIT)
        said = setup.stop()
        shown = setup.command("status", the_update().key, "--json")
        await queue.aclose()
        await plan.store.aclose()
    assert set(sink.to) == set(recipients)
    assert max(sink.to.values()) == 1
    assert final.finished
    assert final.accepted == len(recipients)
    assert final.report["sms"].outcome.value == "delivered"
    assert sum(w["sent"] for w in said) == 3
    assert sum(w["skipped"] for w in said) >= len(shards)  # redelivered: nothing to do
    assert shown.returncode == 0, shown.stderr  # `broadcast status`: done, everyone reached
    assert json.loads(shown.stdout)["accepted"] == len(recipients)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_a_worker_killed_mid_shard_is_finished_by_the_others_within_the_bound(
    tmp_path: Path, cleanup: list[Setup], backend: str, request: pytest.FixtureRequest
) -> None:
    """SIGKILL a worker with 5 texts in flight: others finish its shard; at most 5 twice."""
    concurrency = 5
    recipients = numbers(600)
    dsn = request.getfixturevalue("postgres_dsn") if backend == "postgres" else None
    with TwilioSink(expect=len(recipients), hold_after=50, holding=concurrency) as sink:
        setup = Setup(tmp_path, sink, recipients, dsn=dsn, concurrency=str(concurrency))
        cleanup.append(setup)
        await setup.prepare()
        (first,) = setup.start_workers(1)
        plan, queue = await setup.send(size=200)
        assert sink.stuck.wait(WAIT)  # 50 answered, then 5 in flight and unanswered
        first.kill()
        first.wait(WAIT)
        sink.let_go()
        setup.start_workers(2)
        assert sink.all_arrived.wait(WAIT)
        final = await _finished(plan)
        said = setup.stop()
        await queue.aclose()
        await plan.store.aclose()
    twice = sum(n - 1 for n in sink.to.values())
    print(
        f"crash duplicates: {twice} (bound {concurrency})",
        sorted(recipients.index(n) for n, c in sink.to.items() if c > 1),
    )
    assert set(sink.to) == set(recipients)
    assert twice <= concurrency
    assert final.finished
    assert final.taken_over == 1
    assert final.accepted == len(recipients)
    assert len(said) == 2


async def test_send_distributed_to_three_workers_keeps_to_the_accounts_rate(
    tmp_path: Path, cleanup: list[Setup]
) -> None:
    """`send --distributed` to 3 workers at 40 texts/s: the stand-in sees <= 40/s; status."""
    rate, recipients = 40.0, numbers(100)
    with TwilioSink(expect=len(recipients)) as sink:
        setup = Setup(tmp_path, sink, recipients, rate=str(rate), concurrency="5")
        cleanup.append(setup)
        await setup.prepare(bind=False)  # the command binds the broker itself
        setup.start_workers(3)
        sent = setup.command(
            *("send", "--yes", "--json", "--distributed", setup.broker, "--shard-size", "34"),
            *("--title", "PSN is down", "--incident", "psn-2011-04", "We are investigating."),
        )
        assert sent.returncode == 0, sent.stderr
        key = json.loads(sent.stdout)["update_key"]
        assert sink.all_arrived.wait(WAIT), "".join(setup.logs)
        journal = journal_from_setting(setup.journal)
        await _finished(store_for(journal), key)
        said = setup.stop()
        await setup.queue.aclose()
    span = max(sink.arrived_at) - min(sink.arrived_at)
    capacity = rate / 10
    assert len(sink.arrived_at) == len(recipients)
    assert len(recipients) <= rate * span * 1.1 + capacity, (len(recipients), span)
    assert sum(w["sent"] > 0 for w in said) >= 2  # the shards really were shared
