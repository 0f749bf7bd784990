"""broadcast's taskiq task: one per shard, keyed by it, idempotent.

``broadcast worker --broker SPEC`` runs it; so does taskiq's own worker command:
``BROADCAST_BROKER=SPEC taskiq worker broadcast.distributed.tasks:broker`` (the channel
configuration and journal come from the environment, as for ``broadcast send``).

``SPEC`` is ``zmq://HOST:PORT`` (taskiq's ZeroMQ broker: no server, one machine; it
*broadcasts* each task to every worker and drops tasks published while none listens,
so it is fit only because workers also sweep the store, see docs/scaling.md),
``memory://`` (in one process, for tests), or ``package.module:attribute`` naming a
broker of your own (taskiq-redis' ``RedisStreamBroker``, taskiq-aio-pika, ...).

The broker only says "there is work": a task claims its shard in the ``ShardStore``
under a lease, so a task delivered twice finds it done or held and sends nothing, and
after its shard each task sweeps the store for shards nobody holds (a dead worker's, a
lost task's). Importing this module imports taskiq; ``import broadcast`` does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from taskiq import (
    AsyncBroker,
    AsyncTaskiqDecoratedTask,
    Context,
    InMemoryBroker,
    TaskiqDepends,
    TaskiqEvents,
    TaskiqState,
)
from taskiq.receiver import Receiver

from .._errors import ConfigError, JournalError
from ._shards import Shard
from ._worker import ShardWorker

__all__ = ["TASK_NAME", "TaskiqQueue", "WorkerStats", "broker_from", "register", "serve"]

log = logging.getLogger("broadcast")

TASK_NAME = "broadcast.shard"
"""The task's name on the broker."""
STOP_GRACE = 30.0
"""Seconds a stopping worker gives the shard in hand before it is cut off (and released)."""
SWEEP_EVERY = 5.0
"""Seconds between a worker's sweeps of the store for shards nobody holds."""


@dataclass
class WorkerStats:
    """What one worker did: tasks the broker delivered, shards it sent, tasks with nothing to do."""

    tasks: int = 0
    sent: int = 0
    skipped: int = 0
    running: int = 0
    """Tasks running now (a stop waits for them, up to ``STOP_GRACE``)."""


def broker_from(spec: str) -> AsyncBroker:
    """The broker ``spec`` names (see the module's docstring); ``ConfigError`` if none."""
    if spec == "memory://":
        return InMemoryBroker()
    if spec.startswith("zmq://"):
        parts = urlsplit(spec)
        if not parts.hostname or not parts.port:
            raise ConfigError(f"broker {spec!r}: write zmq://HOST:PORT, e.g. zmq://127.0.0.1:5555")
        from taskiq import ZeroMQBroker  # noqa: PLC0415 - needs pyzmq, only for this broker

        address = f"tcp://{parts.hostname}:{parts.port}"
        return ZeroMQBroker(zmq_pub_host=address, zmq_sub_host=address)
    module, _, name = spec.partition(":")
    if not module or not name:
        raise ConfigError(
            f"broker {spec!r}: give zmq://HOST:PORT, memory:// or package.module:attribute"
        )
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"broker {spec!r} cannot be imported: {exc}") from None
    if not isinstance(found, AsyncBroker):
        raise ConfigError(f"broker {spec!r} is a {type(found).__name__}, not a taskiq broker")
    return found


async def _run_shard(
    update_key: str,
    channel: str,
    index: int,
    context: Annotated[Context, TaskiqDepends()],
) -> str:
    """Send one shard if nobody has (claimed in the store), then sweep for orphans."""
    worker: ShardWorker = context.state.broadcast_worker
    stats: WorkerStats = context.state.broadcast_stats
    stats.tasks += 1
    stats.running += 1
    try:
        said = await worker.run(Shard(update_key, channel, index, "post"))
        if said == "sent":
            stats.sent += 1
        else:
            stats.skipped += 1
        stats.sent += await worker.drain()
    finally:
        stats.running -= 1
    return said


def register(broker: AsyncBroker) -> AsyncTaskiqDecoratedTask[Any, Any]:
    """Broadcast's shard task on ``broker`` (registered once)."""
    found = broker.find_task(TASK_NAME)
    if found is not None:
        return found
    return broker.register_task(_run_shard, task_name=TASK_NAME)


class TaskiqQueue:
    """A ``ShardQueue`` on a taskiq broker: one task per shard, its id the shard's key."""

    def __init__(self, broker: AsyncBroker) -> None:
        self.broker = broker
        self._task = register(broker)
        self._started = False

    def __repr__(self) -> str:
        return f"TaskiqQueue({type(self.broker).__name__})"

    async def start(self) -> None:
        """Start the broker (``enqueue`` does it if need be); idempotent."""
        if not self._started and not self.broker.is_worker_process:
            await self.broker.startup()
            self._started = True

    async def enqueue(self, shards: Sequence[Shard], /) -> None:
        """Kick one task per shard."""
        await self.start()
        for shard in shards:
            kicker = self._task.kicker().with_task_id(shard.key)
            await kicker.kiq(shard.update_key, shard.channel, shard.index)

    async def aclose(self) -> None:
        """Shut the broker down if this queue started it; release ZeroMQ's context anyway."""
        started, self._started = self._started, False
        await _shutdown_broker(self.broker, started=started)


def attach(broker: AsyncBroker, worker: ShardWorker) -> WorkerStats:
    """Make ``broker``'s tasks run on ``worker``; the stats it will keep."""
    register(broker)
    stats = WorkerStats()
    broker.state.broadcast_worker = worker
    broker.state.broadcast_stats = stats
    return stats


async def serve(
    broker: AsyncBroker,
    worker: ShardWorker,
    *,
    stop: asyncio.Event,
    sweep_every: float = SWEEP_EVERY,
    max_async_tasks: int = 1,
    ready: Callable[[], None] | None = None,
) -> WorkerStats:
    """Run ``worker`` on ``broker``'s tasks until ``stop`` is set, sweeping the store too.

    ``ready`` is called once the broker is started and the worker listens. One task
    runs at a time (``max_async_tasks``): a shard is already ``concurrency`` sends.
    """
    stats = attach(broker, worker)
    broker.is_worker_process = True
    await broker.startup()
    receiver = Receiver(broker, max_async_tasks=max_async_tasks, run_startup=False)
    listening = asyncio.create_task(receiver.listen(stop), name="broadcast:worker")
    if ready is not None:
        ready()
    try:
        while not stop.is_set() and not listening.done():
            try:
                stats.sent += await worker.drain()
            except JournalError as exc:  # the database is away: try again at the next sweep
                log.error("worker: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), sweep_every)
    finally:
        stop.set()
        loop = asyncio.get_running_loop()
        until = loop.time() + STOP_GRACE
        while stats.running and not listening.done() and loop.time() < until:
            await asyncio.wait({listening}, timeout=0.1)  # the shard in hand finishes
        listening.cancel()  # a broker waiting for a message never sees the stop itself
        await asyncio.gather(listening, return_exceptions=True)
        await _shutdown_broker(broker)
    return stats


async def _shutdown_broker(broker: AsyncBroker, *, started: bool = True) -> None:
    """Shut ``broker`` down; ZeroMQ's socket and context too (taskiq leaves them open)."""
    if started:
        with contextlib.suppress(Exception):
            await broker.shutdown()
    socket, context = getattr(broker, "socket", None), getattr(broker, "context", None)
    if socket is not None and callable(getattr(socket, "close", None)):
        socket.close(linger=0)
    if context is not None and callable(getattr(context, "term", None)):
        context.term()


def __getattr__(name: str) -> Any:
    """``broker``: the one ``BROADCAST_BROKER`` names, for ``taskiq worker``."""
    if name != "broker":
        raise AttributeError(name)
    spec = os.environ.get("BROADCAST_BROKER")
    if not spec:
        raise ConfigError("BROADCAST_BROKER is not set: zmq://HOST:PORT or package.module:broker")
    broker = broker_from(spec)
    register(broker)
    broker.add_event_handler(TaskiqEvents.WORKER_STARTUP, _startup)
    broker.add_event_handler(TaskiqEvents.WORKER_SHUTDOWN, _shutdown)
    globals()["broker"] = broker
    return broker


async def _startup(state: TaskiqState) -> None:
    """Under ``taskiq worker``: this process's channels and store, from the environment."""
    from ._env import worker_from_env  # noqa: PLC0415 - reads the configuration

    worker, closing = await worker_from_env()
    state.broadcast_closing = closing
    state.broadcast_worker = worker
    state.broadcast_stats = WorkerStats()


async def _shutdown(state: TaskiqState) -> None:
    closing = getattr(state, "broadcast_closing", None)
    if closing is not None:
        await closing.aclose()
