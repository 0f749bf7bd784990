"""Fan-out to many recipients: stream the list, send with N workers, count who got it.

Email and SMS share this engine. The list is read through a bounded queue, so a
million recipients never sit in memory. Each recipient is tried under the channel's
RetryPolicy. What the engine guarantees:

* a per-recipient permanent error (a 550, a Twilio 21211) is recorded and the others go on;
* a transient failure (``NotSent``, or an answer saying "try later") is retried; one
  that outlasts the retries is recorded against that recipient, and a re-run tries
  it again. Random faults never stop the fan-out;
* a send that went out but got no whole answer (``Unconfirmed``) may have arrived, so
  that recipient is not sent to again in this run; it is listed as unanswered;
* the run stops early only on evidence: credentials refused (``AuthError``), a journal
  that cannot write, the provider looking down (``BREAKER_WINDOW`` attempts in a row,
  across all workers, failed with no success between: a circuit breaker, not the
  last failure's kind), its deadline, or a stop request (a signal);
* a stop **drains**: no new send starts, retry waits end, and the sends in flight are
  given ``DRAIN_GRACE`` seconds to finish and be counted. Only what is still unanswered
  then is cut off, and listed as unanswered. What was never sent is counted in
  ``details["not_sent"]``; a re-run sends it.

With a ``RecipientLog`` (from the journal) each recipient is marked pending, then
delivered or failed. A worker waits until its "delivered" row is durable before it
takes the next recipient, so a crash leaves at most one sent-but-unrecorded recipient
per worker: a re-run re-sends at most ``len(workers)`` people. A re-run skips those
delivered before and those refused permanently (a STOP, a 550), and reports both.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Sequence, Sized
from dataclasses import dataclass, field
from typing import Protocol

from .._channel import Delivery, Rejection
from .._errors import AuthError, ChannelError, JournalError, Unconfirmed
from .._redact import describe
from .._retry import RetryPolicy
from .._scope import current_scope, progress_reporter, silent, stoppable_sleep, watched
from ..journal._protocol import RecipientLog
from ._recipients import Normalise, RecipientSource, size_hint, stream

__all__ = ["BREAKER_WINDOW", "DRAIN_GRACE", "SAMPLE_IDS", "FanOut", "Worker"]

log = logging.getLogger("broadcast")

SAMPLE_IDS = 10
"""Provider ids kept in the Receipt: a sample, not one per recipient."""
RESUME_CHUNK = 500
"""On a re-run, recipients are looked up in the journal this many at a time."""
BREAKER_WINDOW = 30
"""Fewest failed attempts in a row (across workers, none succeeding between) that stop
a fan-out as "the provider looks down"; at least twice the workers."""
DRAIN_GRACE = 10.0
"""Seconds the sends in flight get to finish after a stop (at most a quarter of the budget)."""
_STOP = None


class Worker(Protocol):
    """One sender: an SMTP connection, or a slot of HTTP concurrency."""

    async def send(self, recipient: str, /) -> str:
        """Send to one recipient; return the provider's id or raise ChannelError."""
        ...

    async def close(self) -> None:
        """Release what the worker holds."""
        ...


class _Breaker:
    """Trips after ``window`` failed attempts in a row; any answered attempt resets it."""

    def __init__(self, window: int) -> None:
        self.window = window
        self.streak = 0

    def answered(self) -> None:
        self.streak = 0

    def failed(self, exc: ChannelError) -> bool:
        """Count a failed attempt; True when the provider now looks down."""
        if not exc.transient:
            self.streak = 0  # refused, so it answered: it is up
            return False
        if getattr(exc, "retry_after", None) is not None:
            return False  # throttled: it is up and pacing us
        self.streak += 1
        return self.streak >= self.window


@dataclass
class _Tally:
    accepted: int = 0
    ids: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    already: int = 0
    """Delivered by an earlier run (counted in ``accepted`` too)."""
    resent: int = 0
    """Left pending by a run that stopped: sent again, maybe a second time."""
    not_sent: int = 0
    """Taken from the list but never sent, because the run stopped."""
    not_recorded: int = 0
    """Sent, but the journal could not record it (a re-run may send it again)."""
    report: Callable[..., None] = silent
    """Progress for a live display (``broadcast._scope``)."""
    stopped: str | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    auth: AuthError | None = None

    def accept(self, provider_id: str) -> None:
        self.accepted += 1
        if len(self.ids) < SAMPLE_IDS:
            self.ids.append(provider_id)
        self.report(self.accepted, len(self.rejected))

    def reject(self, rejection: Rejection) -> None:
        self.rejected.append(rejection)

    def halt(self, reason: str) -> None:
        """Stop starting sends; the first reason is the one reported."""
        if self.stopped is None:
            self.stopped = reason
            log.error("fan-out stopping: %s", reason)
        self.stopping.set()


class _Halted(ChannelError):
    """Not attempted (again): the fan-out is stopping."""


class _NotResent(ChannelError):
    """An ``Unconfirmed`` send, kept from being retried: it may have arrived."""


@dataclass
class _Run:
    """What the workers of one run share."""

    tally: _Tally
    queue: asyncio.Queue[str | None]
    retry: RetryPolicy
    breaker: _Breaker


@dataclass
class _Slot:
    """What one worker is doing, so a stop knows what is in flight."""

    recipient: str | None = None
    in_flight: bool = False


@dataclass
class FanOut:
    """One fan-out run's settings."""

    name: str
    recipients: RecipientSource
    normalise: Normalise
    retry: RetryPolicy
    max_duration: float | None = None
    queue_per_worker: int = 8
    ledger: RecipientLog | None = None

    async def run(
        self, workers: Sequence[Worker], *, details: dict[str, object] | None = None
    ) -> Delivery:
        """Send to every recipient with ``workers``; the Delivery counts who got it."""
        tally = _Tally()
        total = len(self.recipients) if isinstance(self.recipients, Sized) else None
        if total is None and watched():  # an @file list: count its lines for the display
            total = await asyncio.to_thread(size_hint, self.recipients)
        tally.report = progress_reporter(self.name, total)
        breaker = _Breaker(max(BREAKER_WINDOW, 2 * len(workers)))
        retry = dataclasses.replace(
            self.retry, sleep=stoppable_sleep(self.retry.sleep, tally.stopping)
        )
        queue: asyncio.Queue[str | None] = asyncio.Queue(
            maxsize=len(workers) * self.queue_per_worker
        )
        slots = [_Slot() for _ in workers]
        producer = asyncio.create_task(self._produce(queue, tally, len(workers)))
        shared = _Run(tally, queue, retry, breaker)
        tasks = [
            asyncio.create_task(self._work(shared, w, s))
            for w, s in zip(workers, slots, strict=True)
        ]
        watcher = asyncio.create_task(self._watch(tally))
        try:
            await self._supervise(tasks, slots, tally, queue)
        finally:
            for task in (producer, watcher, *tasks):
                task.cancel()
            await asyncio.gather(producer, watcher, *tasks, return_exceptions=True)
            await asyncio.gather(*(w.close() for w in workers), return_exceptions=True)
            await self._flush(tally)
            tally.report(tally.accepted, len(tally.rejected), finished=True)
        if tally.auth is not None and not tally.accepted:
            raise tally.auth
        for task in tasks:  # a worker's bug is the channel's failure, not a silent stop
            if task.done() and not task.cancelled() and (exc := task.exception()) is not None:
                raise exc
        return self._delivery(tally, details)

    def _budget(self) -> tuple[float | None, float, float | None]:
        """Seconds until no new send may start, and the drain grace after that.

        The limit is the sooner of ``max_duration`` and the send's deadline (set by the
        Broadcaster); new sends stop ``min(DRAIN_GRACE, limit / 4)`` before it, so what
        is in flight can finish by the limit.
        """
        scope = current_scope()
        remaining = scope.remaining() if scope is not None else None
        limits = [b for b in (self.max_duration, remaining) if b is not None]
        if not limits:
            return None, DRAIN_GRACE, None
        limit = max(0.0, min(limits))
        drain = min(DRAIN_GRACE, limit / 4)
        nominal = scope.limit if scope is not None and scope.limit is not None else limit
        return limit - drain, drain, min(nominal, self.max_duration or nominal)

    async def _watch(self, tally: _Tally) -> None:
        """Turn a stop request on the send (a signal) into a stop of this fan-out."""
        scope = current_scope()
        if scope is not None:
            await scope.stop.wait()
            tally.halt(scope.reason or "asked to stop")

    async def _supervise(
        self,
        tasks: list[asyncio.Task[None]],
        slots: list[_Slot],
        tally: _Tally,
        queue: asyncio.Queue[str | None],
    ) -> None:
        """Wait for the workers; on a stop, drain what is in flight, then cut off the rest."""
        budget, drain, limit = self._budget()
        loop = asyncio.get_running_loop()
        until = None if budget is None else loop.time() + budget
        stopping = asyncio.create_task(tally.stopping.wait())
        pending = set(tasks)
        try:
            while pending and not tally.stopping.is_set():
                timeout = None if until is None else max(0.0, until - loop.time())
                done, _ = await asyncio.wait(
                    {*pending, stopping}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                if not done:
                    tally.halt(f"stopped at its deadline ({limit:g}s)")
                for task in done & pending:
                    if not task.cancelled() and (exc := task.exception()) is not None:
                        tally.halt(f"a worker crashed: {describe(exc)}")
                pending -= done
        finally:
            stopping.cancel()
        if not tally.stopping.is_set():
            return
        tally.not_sent += _empty(queue)
        # Emptying took the producer's stop marks too: give each worker one back, so a
        # worker that finishes its send in flight ends instead of waiting out the drain.
        for _ in tasks:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(_STOP)
        log.info("%s: draining: %d send(s) in flight", self.name, sum(s.in_flight for s in slots))
        if pending := {t for t in tasks if not t.done()}:
            await asyncio.wait(pending, timeout=drain)
        tally.not_sent += _empty(queue)
        for task, slot in zip(tasks, slots, strict=True):
            if not task.done() and slot.recipient is not None:
                reason = f"no answer before the fan-out stopped ({tally.stopped})"
                tally.reject(Rejection(slot.recipient, reason, unanswered=True))
                if self.ledger is not None:
                    self.ledger.failed(slot.recipient, reason, None, permanent=False)
                slot.recipient = None

    def _delivery(self, tally: _Tally, details: dict[str, object] | None) -> Delivery:
        note = None
        extra: dict[str, object] = {}
        if tally.stopped is not None:
            note = f"stopped early: {tally.stopped}"
            if tally.not_sent:
                note += f"; {tally.not_sent} taken from the list and not sent"
            note += "; the remaining recipients were not sent (a re-run sends them)"
            extra |= {"stopped_early": True, "not_sent": tally.not_sent}
        if tally.not_recorded:
            extra["not_recorded"] = tally.not_recorded
        if tally.already or tally.resent:
            extra |= {"already_delivered": tally.already, "resent_after_stop": tally.resent}
        return Delivery(
            ids=tuple(tally.ids),
            details={**(details or {}), **extra},
            accepted=tally.accepted,
            rejected=tuple(tally.rejected),
            note=note,
            incomplete=note is not None,
        )

    async def _flush(self, tally: _Tally) -> None:
        if self.ledger is None:
            return
        try:
            await self.ledger.flush()
        except JournalError as exc:  # what was sent is still counted, from memory
            log.error("%s: %s", self.name, exc)
            tally.halt(str(exc))

    async def _produce(self, queue: asyncio.Queue[str | None], tally: _Tally, workers: int) -> None:
        try:
            resuming = self.ledger is not None and await self.ledger.resuming()
            chunk: list[str] = []
            async for recipient, invalid in stream(self.recipients, self.normalise):
                if tally.stopping.is_set():
                    break
                if invalid is not None:
                    reason = f"invalid: {invalid.reason}"
                    tally.reject(Rejection(invalid.recipient, reason, permanent=True))
                elif not resuming:
                    await queue.put(recipient)
                else:
                    chunk.append(recipient)
                    if len(chunk) >= RESUME_CHUNK:
                        await self._resume(chunk, queue, tally)
                        chunk = []
            if not tally.stopping.is_set():
                await self._resume(chunk, queue, tally)
            else:
                tally.not_sent += len(chunk)
        except JournalError as exc:
            tally.halt(str(exc))
        except Exception as exc:  # noqa: BLE001 - a broken list stops the send, not the Report
            # What is queued still goes out; nothing more is read.
            tally.stopped = tally.stopped or f"reading the recipient list failed: {describe(exc)}"
            log.error("%s: %s", self.name, tally.stopped)
        for _ in range(workers):
            await queue.put(_STOP)

    async def _resume(
        self, chunk: list[str], queue: asyncio.Queue[str | None], tally: _Tally
    ) -> None:
        """Queue the recipients of ``chunk`` an earlier run did not settle."""
        if not chunk or self.ledger is None:
            return
        earlier = await self.ledger.settled(chunk)
        for recipient in chunk:
            row = earlier.get(recipient)
            if row is None:
                await queue.put(recipient)
            elif row.state == "delivered":
                tally.already += 1
                tally.accept(row.provider_id or "")
            elif row.state == "failed" and row.permanent:
                refused = Rejection(recipient, row.reason or "refused", row.code, permanent=True)
                tally.reject(refused)
            else:
                tally.resent += int(row.state == "pending")
                await queue.put(recipient)

    async def _work(self, run: _Run, worker: Worker, slot: _Slot) -> None:
        task, tally = asyncio.current_task(), run.tally
        while (recipient := await run.queue.get()) is not _STOP:
            if tally.stopping.is_set():
                tally.not_sent += 1
                continue
            slot.recipient = recipient
            try:
                await self._send_one(run, worker, slot, recipient)
            except AuthError as exc:
                tally.auth = tally.auth or exc
                tally.halt(str(exc))
            except JournalError as exc:
                tally.not_recorded += 1
                tally.halt(str(exc))
            slot.recipient = None
            if task is not None and task.cancelling():
                # aiosmtplib waits with asyncio.wait_for, which on Python 3.11 can
                # swallow a cancellation; honour it here so timeouts always end.
                raise asyncio.CancelledError

    async def _send_one(self, run: _Run, worker: Worker, slot: _Slot, recipient: str) -> None:
        tally, breaker = run.tally, run.breaker

        async def attempt() -> str:
            if tally.stopping.is_set():
                raise _Halted(f"not sent: the fan-out stopped ({tally.stopped})")
            slot.in_flight = True
            try:
                provider_id = await worker.send(recipient)
            except ChannelError as exc:
                if breaker.failed(exc):
                    tally.halt(
                        f"the provider looks down: {breaker.window} attempts in a row "
                        f"failed ({exc})"
                    )
                if isinstance(exc, Unconfirmed):
                    raise _NotResent(f"{exc}; not sent again: it may have arrived") from exc
                raise
            finally:
                slot.in_flight = False
            breaker.answered()
            return provider_id

        ledger = self.ledger
        if ledger is not None:
            ledger.sending(recipient)
        try:
            provider_id = await run.retry.call(attempt, label=self.name)
        except AuthError:
            raise
        except ChannelError as exc:
            unanswered = isinstance(exc, _NotResent)
            permanent = not exc.transient and not unanswered and not isinstance(exc, _Halted)
            tally.reject(Rejection(recipient, str(exc), exc.code, unanswered, permanent))
            if ledger is not None:
                ledger.failed(recipient, str(exc), exc.code, permanent=permanent)
            return
        tally.accept(provider_id)
        if ledger is not None:
            await ledger.delivered(recipient, provider_id)


def _empty(queue: asyncio.Queue[str | None]) -> int:
    """Take every recipient still queued; how many there were."""
    count = 0
    while not queue.empty():
        if queue.get_nowait() is not _STOP:
            count += 1
    return count
