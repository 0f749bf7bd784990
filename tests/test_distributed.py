"""Distributed sends in one process: shards, leases, take-over, redelivery, one Report."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from taskiq import InMemoryBroker

from broadcast import Broadcaster, SQLiteJournal, Update
from broadcast._errors import ConfigError
from broadcast.channels import TwilioSMS, Webhook
from broadcast.channels._recipients import from_file
from broadcast.distributed import (
    Distributed,
    KeyRange,
    PostgresShards,
    Shard,
    ShardWorker,
    SharedRateLimiter,
    SQLiteShards,
    plan_source,
    shard_source,
    status,
)
from broadcast.distributed.tasks import TaskiqQueue, attach
from broadcast.journal import PostgresJournal
from broadcast.testing import FakeClock, LoopbackServer, RecordedRequest, Reply, TwilioEndpoint


class Backend:
    """Where the journal and the shards live: one SQLite file, or one PostgreSQL database."""

    def __init__(self, kind: str, target: str) -> None:
        self.kind, self.target = kind, target

    def journal(self) -> Any:
        if self.kind == "sqlite":
            return SQLiteJournal(self.target)
        return PostgresJournal(self.target)

    def shards(self, clock: Any = None) -> Any:
        options = {"clock": clock} if clock else {}
        if self.kind == "sqlite":
            return SQLiteShards(self.target, **options)
        return PostgresShards(self.target, **options)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """The test's store, once in an SQLite file and once on a real PostgreSQL."""
    if request.param == "sqlite":
        return Backend("sqlite", str(tmp_path / "journal.db"))
    return Backend("postgres", request.getfixturevalue("postgres_dsn"))


NUMBERS = [f"+1415200{n:04d}" for n in range(60)]
SIZE = 25


class Noted:
    """A ShardQueue that only notes what it was asked to enqueue."""

    def __init__(self) -> None:
        self.shards: list[Shard] = []

    async def enqueue(self, shards: Any, /) -> None:
        self.shards += shards


class Hooks:
    """A webhook receiver that answers 200 to every post and keeps them."""

    def __init__(self) -> None:
        self.posts: list[RecordedRequest] = []
        self.server = LoopbackServer(self._respond)
        self.secret = Webhook.generate_secret()

    def _respond(self, request: RecordedRequest) -> Reply:
        self.posts.append(request)
        return Reply(200)

    def __enter__(self) -> Hooks:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def channel(self) -> Webhook:
        return Webhook(self.server.url, secret=self.secret)


def update() -> Update:
    return Update(title="PSN is down", body="We are investigating.", incident="psn-2011-04")


def sms(endpoint: TwilioEndpoint, recipients: Any) -> TwilioSMS:
    return TwilioSMS(
        endpoint.account_sid,
        endpoint.auth_token,
        from_="+15017122661",
        recipients=recipients,
        base_url=endpoint._server.url,
        rate=10_000,
    )


def sent_to(endpoint: TwilioEndpoint) -> Counter[str]:
    return Counter(t.to for t in endpoint.texts)


async def worker(be: Backend, *channels: Any, clock: Any = None) -> ShardWorker:
    """A worker of its own (its own journal and store instances: another owner)."""
    journal = be.journal()
    store = be.shards(clock)
    broadcaster = Broadcaster(channels, journal=journal)
    await broadcaster.__aenter__()
    return ShardWorker(broadcaster, store)


async def close(*workers: ShardWorker) -> None:
    for w in workers:
        await w.broadcaster.aclose()
        await w.journal.aclose()
        await w.store.aclose()


def test_sources_split_into_contiguous_shards(tmp_path: Path) -> None:
    """A list, a file (by bytes, blank and # lines not counted) and a key range split whole."""
    assert [(s.start, s.stop) for s in plan_source("k", "sms", NUMBERS, size=SIZE)] == [
        (0, 25),
        (25, 50),
        (50, 60),
    ]
    file = tmp_path / "numbers.txt"
    file.write_text("# subscribers\n\n" + "\n".join(NUMBERS) + "\n", encoding="utf-8")
    source = from_file(file)
    shards = plan_source("k", "sms", source, size=SIZE)
    assert [s.kind for s in shards] == ["bytes"] * 3
    read = [line for s in shards for line in shard_source(source, s)()]  # type: ignore[operator]
    assert [r for r in read if r.strip() and not r.startswith("#")] == NUMBERS
    keys = KeyRange(lambda lo, hi: [f"key {k}" for k in range(lo, hi)], 10, 70)
    ranges = plan_source("k", "sms", keys, size=SIZE)
    assert [list(shard_source(keys, s)()) for s in ranges][2] == [  # type: ignore[operator]
        f"key {k}" for k in range(60, 70)
    ]


async def test_a_generator_is_refused_naming_the_field_before_anything_is_sent(
    tmp_path: Path,
) -> None:
    """A one-shot generator cannot be sharded: ConfigError names sms.recipients; nothing sent."""
    with TwilioEndpoint() as endpoint:
        journal = SQLiteJournal(tmp_path / "j.db")
        queue = Noted()
        plan = Distributed(SQLiteShards(tmp_path / "j.db"), queue, shard_size=SIZE)
        async with Broadcaster([sms(endpoint, iter(NUMBERS))], journal=journal) as b:
            with pytest.raises(ConfigError, match=r"sms\.recipients: a list_iterator"):
                await b.send(update(), distributed=plan)
        await journal.aclose()
        await plan.store.aclose()
    assert queue.shards == []
    assert endpoint.texts == []


async def test_two_workers_share_a_send_each_recipient_once_and_one_report(
    backend: Backend,
) -> None:
    """Two workers drain one send: each number once, one Report, history as after one send."""
    be = backend
    with TwilioEndpoint() as endpoint, Hooks() as hook:
        channels = [sms(endpoint, NUMBERS), hook.channel()]
        sender = Broadcaster(channels, journal=be.journal())
        plan = Distributed(be.shards(), Noted(), shard_size=SIZE)
        async with sender:
            queued = await sender.send(update(), distributed=plan)
        assert [r.outcome.value for r in queued] == ["busy", "busy"]
        running = await status(plan.store, update().key)
        assert (running.finished, running.shards, running.report["sms"].outcome.value) == (
            False,
            4,
            "busy",
        )
        one = await worker(be, sms(endpoint, NUMBERS), hook.channel())
        two = await worker(be, sms(endpoint, NUMBERS), hook.channel())
        assert await one.run_next()
        assert await two.run_next()
        await one.drain()
        await two.drain()
        final = await status(plan.store, update().key)
        history = await one.journal.history("psn-2011-04")
        await close(one, two)
        await sender.journal.aclose()  # type: ignore[union-attr]
        await plan.store.aclose()
    assert sent_to(endpoint) == Counter(NUMBERS)
    assert len(hook.posts) == 1
    assert final.finished
    assert final.accepted == len(NUMBERS)
    assert final.report["sms"].outcome.value == "delivered"
    assert final.report["webhook"].outcome.value == "delivered"
    assert {c.channel: c.state for c in history[0].channels} == {
        "sms": "delivered",
        "webhook": "delivered",
    }


async def test_a_task_delivered_twice_sends_nothing_twice(backend: Backend) -> None:
    """The broker delivers every task twice (taskiq's in-memory broker): each number once."""
    be = backend
    with TwilioEndpoint() as endpoint, Hooks() as hook:
        broker = InMemoryBroker()
        one = await worker(be, sms(endpoint, NUMBERS), hook.channel())
        attach(broker, one)
        queue = TaskiqQueue(broker)
        plan = Distributed(be.shards(), queue, shard_size=SIZE)
        await one.broadcaster.send(update(), distributed=plan)
        await broker.wait_all()
        again = [Shard(update().key, "sms", i, "items") for i in range(3)]
        again.append(Shard(update().key, "webhook", 0, "post"))
        await queue.enqueue(again)
        await broker.wait_all()
        final = await status(plan.store, update().key)
        await queue.aclose()
        await close(one)
        await plan.store.aclose()
    assert sent_to(endpoint) == Counter(NUMBERS)
    assert len(hook.posts) == 1
    assert final.finished
    assert final.taken_over == 0


async def test_a_dead_workers_shard_is_taken_over_skipping_who_it_reached(
    backend: Backend,
) -> None:
    """A lease that runs out hands the shard over; recipients it recorded are not sent again."""
    be = backend
    clock = FakeClock(start=1_000_000.0)
    with TwilioEndpoint() as endpoint:
        plan = Distributed(be.shards(clock), Noted(), shard_size=SIZE)
        sender = Broadcaster([sms(endpoint, NUMBERS)], journal=be.journal())
        async with sender:
            await sender.send(update(), distributed=plan)
        dead = be.shards(clock)
        held = await dead.claim(Shard(update().key, "sms", 0, "items"))
        log = sender.journal.recipients(update().key, "sms")  # type: ignore[union-attr]
        for number in NUMBERS[:10]:  # what the dead worker had sent and recorded
            log.sending(number)
            await log.delivered(number, "SMdead")
        await log.flush()
        other = await worker(be, sms(endpoint, NUMBERS), clock=clock)
        assert held.status == "claimed"
        assert (await other.store.claim(held.shard)).status == "busy"  # its lease holds
        clock.now += 61.0
        await other.drain()
        final = await status(plan.store, update().key)
        await close(other)
        await dead.aclose()
        await sender.journal.aclose()  # type: ignore[union-attr]
        await plan.store.aclose()
    assert sent_to(endpoint) == Counter(NUMBERS[10:])
    assert final.finished
    assert final.taken_over == 1
    assert final.accepted == len(NUMBERS)
    assert final.report["sms"].details["already_delivered"] == 10


async def test_workers_sharing_a_bucket_stay_under_the_accounts_rate(backend: Backend) -> None:
    """Three limiters on one account's bucket take at most rate * t + capacity tokens."""
    clock = FakeClock(start=1_000_000.0)
    stores = [backend.shards(clock) for _ in range(3)]
    limiters = [SharedRateLimiter(s, "twilio:AC1", rate=50.0, sleep=clock.sleep) for s in stores]
    start, taken = clock.now, 0
    while clock.now - start < 4.0:
        for limiter in limiters:
            await limiter.acquire()
            taken += 1
    for store in stores:
        await store.aclose()
    elapsed = clock.now - start
    assert taken <= 50.0 * elapsed + limiters[0].capacity + 3 * limiters[0]._batch
    assert taken >= 50.0 * elapsed * 0.9  # and it does not starve them either
