"""Fan-out to many recipients: stream the list, send with N workers, count who got it.

Email and SMS share this engine. The list is read through a bounded queue, so a
million recipients never sit in memory. Each recipient is tried under the channel's
RetryPolicy. What the engine guarantees:

* a per-recipient permanent error (a 550, a Twilio 21211) is recorded and the others go on;
* credentials refused (``AuthError``) stop everything at once;
* a connection that stays broken through the retries stops everything: the server is
  gone, and every later recipient would wait the same;
* ``max_duration`` stops it too; in every early stop the counts so far are returned.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .._channel import Delivery, Rejection
from .._errors import AuthError, ChannelError
from .._redact import describe
from .._retry import RetryPolicy
from ._recipients import Normalise, RecipientSource, stream

__all__ = ["SAMPLE_IDS", "FanOut", "Worker"]

log = logging.getLogger("broadcast")

SAMPLE_IDS = 10
"""Provider ids kept in the Receipt: a sample, not one per recipient."""
_STOP = None


class Worker(Protocol):
    """One sender: an SMTP connection, or a slot of HTTP concurrency."""

    async def send(self, recipient: str, /) -> str:
        """Send to one recipient; return the provider's id or raise ChannelError."""
        ...

    async def close(self) -> None:
        """Release what the worker holds."""
        ...


@dataclass
class _Tally:
    accepted: int = 0
    ids: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    stopped: str | None = None

    def accept(self, provider_id: str) -> None:
        self.accepted += 1
        if len(self.ids) < SAMPLE_IDS:
            self.ids.append(provider_id)


class _Stop(Exception):
    """Stop the whole fan-out; the message says why."""


@dataclass
class FanOut:
    """One fan-out run's settings."""

    name: str
    recipients: RecipientSource
    normalise: Normalise
    retry: RetryPolicy
    max_duration: float | None = None
    queue_per_worker: int = 8

    async def run(
        self, workers: Sequence[Worker], *, details: dict[str, object] | None = None
    ) -> Delivery:
        """Send to every recipient with ``workers``; the Delivery counts who got it."""
        tally = _Tally()
        queue: asyncio.Queue[str | None] = asyncio.Queue(
            maxsize=len(workers) * self.queue_per_worker
        )
        timer = asyncio.timeout(self.max_duration)
        note: str | None = None
        try:
            async with timer:
                note = await self._run(workers, queue, tally)
        except TimeoutError:
            if not timer.expired():
                raise
            note = f"stopped at max_duration ({self.max_duration:g}s)"
        finally:
            await asyncio.gather(*(w.close() for w in workers), return_exceptions=True)
        note = note or tally.stopped
        if note:
            note += "; the remaining recipients were not sent"
        return Delivery(
            ids=tuple(tally.ids),
            details=details or {},
            accepted=tally.accepted,
            rejected=tuple(tally.rejected),
            note=note,
            incomplete=note is not None,
        )

    async def _run(
        self, workers: Sequence[Worker], queue: asyncio.Queue[str | None], tally: _Tally
    ) -> str | None:
        stopped: str | None = None
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._produce(queue, tally, len(workers)))
                for worker in workers:
                    group.create_task(self._work(worker, queue, tally))
        except* _Stop as stop:
            stopped = str(stop.exceptions[0])
        except* AuthError as auth:
            if not tally.accepted:
                raise auth.exceptions[0] from None
            stopped = str(auth.exceptions[0])
        return f"stopped early: {stopped}" if stopped else None

    async def _produce(self, queue: asyncio.Queue[str | None], tally: _Tally, workers: int) -> None:
        try:
            async for recipient, invalid in stream(self.recipients, self.normalise):
                if invalid is not None:
                    tally.rejected.append(
                        Rejection(invalid.recipient, f"invalid: {invalid.reason}")
                    )
                else:
                    await queue.put(recipient)
        except Exception as exc:  # noqa: BLE001 - a broken list stops the send, not the Report
            tally.stopped = f"reading the recipient list failed: {describe(exc)}"
            log.error("%s: %s", self.name, tally.stopped)
        for _ in range(workers):
            await queue.put(_STOP)

    async def _work(self, worker: Worker, queue: asyncio.Queue[str | None], tally: _Tally) -> None:
        task = asyncio.current_task()
        while (recipient := await queue.get()) is not _STOP:
            await self._send_one(worker, recipient, tally)
            if task is not None and task.cancelling():
                # aiosmtplib waits with asyncio.wait_for, which on Python 3.11 can
                # swallow a cancellation; honour it here so timeouts always end.
                raise asyncio.CancelledError

    async def _send_one(self, worker: Worker, recipient: str, tally: _Tally) -> None:
        send: Callable[[], Awaitable[str]] = lambda: worker.send(recipient)  # noqa: E731
        try:
            provider_id = await self.retry.call(send, label=self.name)
        except AuthError:
            raise
        except ChannelError as exc:
            if exc.transient and exc.code is None:
                # Retries ran out on the connection itself, not on a provider's answer.
                tally.rejected.append(Rejection(recipient, f"not sent: {exc}"))
                raise _Stop(str(exc)) from None
            tally.rejected.append(Rejection(recipient, str(exc), exc.code))
            return
        tally.accept(provider_id)
