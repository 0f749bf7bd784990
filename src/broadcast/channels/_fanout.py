"""Fan-out to many recipients: stream the list, send with N workers, count who got it.

Email and SMS share this engine. The list is read through a bounded queue, so a
million recipients never sit in memory. Each recipient is tried under the channel's
RetryPolicy. What the engine guarantees:

* a per-recipient permanent error (a 550, a Twilio 21211) is recorded and the others go on;
* credentials refused (``AuthError``) stop everything at once;
* a connection that stays broken through the retries stops everything: the server is
  gone, and every later recipient would wait the same;
* a send that went out but got no whole answer (``Unconfirmed``: a read timeout, an
  answer cut off) may have arrived, so that recipient is not sent to again in this run;
  it is listed as not confirmed (a re-run tries them again), and as many of those in a
  row as there are workers (at least ``UNANSWERED_IN_A_ROW``) stop everything;
* ``max_duration`` stops it too; in every early stop the counts so far are returned.

With a ``RecipientLog`` (from the journal) each recipient is marked pending, then
delivered or failed. A worker waits until its "delivered" row is durable before it
takes the next recipient, so a crash leaves at most one sent-but-unrecorded recipient
per worker: a re-run re-sends at most ``len(workers)`` people. A re-run skips those
delivered before and those refused permanently (a STOP, a 550), and reports both.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence, Sized
from dataclasses import dataclass, field
from typing import Protocol

from .._channel import Delivery, Rejection
from .._errors import AuthError, ChannelError, JournalError, Unconfirmed
from .._journal import RecipientLog
from .._progress import progress_reporter, silent
from .._redact import describe
from .._retry import RetryPolicy
from ._recipients import Normalise, RecipientSource, stream

__all__ = ["SAMPLE_IDS", "FanOut", "Worker"]

log = logging.getLogger("broadcast")

SAMPLE_IDS = 10
"""Provider ids kept in the Receipt: a sample, not one per recipient."""
RESUME_CHUNK = 500
"""On a re-run, recipients are looked up in the journal this many at a time."""
UNANSWERED_IN_A_ROW = 3
"""Fewest unanswered sends in a row that stop a fan-out (else one per worker)."""
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
    already: int = 0
    """Delivered by an earlier run (counted in ``accepted`` too)."""
    resent: int = 0
    """Left pending by a run that stopped: sent again, maybe a second time."""
    report: Callable[..., None] = silent
    """Progress for a live display (``broadcast._progress``)."""
    stop_after: int = UNANSWERED_IN_A_ROW
    unconfirmed_in_a_row: int = 0
    """Sends in a row that went out unanswered; ``stop_after`` of them stop the run."""

    def accept(self, provider_id: str) -> None:
        self.accepted += 1
        self.unconfirmed_in_a_row = 0
        if len(self.ids) < SAMPLE_IDS:
            self.ids.append(provider_id)
        self.report(self.accepted, len(self.rejected))


class _Stop(Exception):
    """Stop the whole fan-out; the message says why."""


class _NotResent(ChannelError):
    """An ``Unconfirmed`` send, kept from being retried: it may have arrived."""


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
        tally = _Tally(stop_after=max(len(workers), UNANSWERED_IN_A_ROW))
        total = len(self.recipients) if isinstance(self.recipients, Sized) else None
        tally.report = progress_reporter(self.name, total)
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
            note = await self._flush(note)
            tally.report(tally.accepted, len(tally.rejected), finished=True)
        note = note or tally.stopped
        if note:
            note += "; the remaining recipients were not sent"
        extra: dict[str, object] = {"stopped_early": True} if note else {}
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
        except* JournalError as journal:
            stopped = str(journal.exceptions[0])
        return f"stopped early: {stopped}" if stopped else None

    async def _flush(self, note: str | None) -> str | None:
        if self.ledger is None:
            return note
        try:
            await self.ledger.flush()
        except JournalError as exc:
            log.error("%s: %s", self.name, exc)
            return note or f"stopped early: {exc}"
        return note

    async def _produce(self, queue: asyncio.Queue[str | None], tally: _Tally, workers: int) -> None:
        resuming = self.ledger is not None and await self.ledger.resuming()
        chunk: list[str] = []
        try:
            async for recipient, invalid in stream(self.recipients, self.normalise):
                if invalid is not None:
                    tally.rejected.append(
                        Rejection(invalid.recipient, f"invalid: {invalid.reason}")
                    )
                elif not resuming:
                    await queue.put(recipient)
                else:
                    chunk.append(recipient)
                    if len(chunk) >= RESUME_CHUNK:
                        await self._resume(chunk, queue, tally)
                        chunk = []
            await self._resume(chunk, queue, tally)
        except JournalError:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken list stops the send, not the Report
            tally.stopped = f"reading the recipient list failed: {describe(exc)}"
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
                tally.rejected.append(Rejection(recipient, row.reason or "refused", row.code))
            else:
                tally.resent += int(row.state == "pending")
                await queue.put(recipient)

    async def _work(self, worker: Worker, queue: asyncio.Queue[str | None], tally: _Tally) -> None:
        task = asyncio.current_task()
        while (recipient := await queue.get()) is not _STOP:
            await self._send_one(worker, recipient, tally)
            if task is not None and task.cancelling():
                # aiosmtplib waits with asyncio.wait_for, which on Python 3.11 can
                # swallow a cancellation; honour it here so timeouts always end.
                raise asyncio.CancelledError

    async def _send_one(self, worker: Worker, recipient: str, tally: _Tally) -> None:
        async def send() -> str:
            try:
                return await worker.send(recipient)
            except Unconfirmed as exc:
                raise _NotResent(f"{exc}; not sent again: it may have arrived") from exc

        ledger = self.ledger
        if ledger is not None:
            ledger.sending(recipient)
        try:
            provider_id = await self.retry.call(send, label=self.name)
        except AuthError:
            raise
        except ChannelError as exc:
            if exc.transient and exc.code is None:
                # Retries ran out on the connection itself, not on a provider's answer.
                tally.rejected.append(Rejection(recipient, f"not sent: {exc}"))
                raise _Stop(str(exc)) from None
            unanswered = isinstance(exc, _NotResent)
            tally.rejected.append(Rejection(recipient, str(exc), exc.code, unanswered))
            if ledger is not None:
                permanent = not exc.transient and not unanswered
                ledger.failed(recipient, str(exc), exc.code, permanent=permanent)
            if unanswered:
                tally.unconfirmed_in_a_row += 1
                if tally.unconfirmed_in_a_row >= tally.stop_after:
                    count = tally.unconfirmed_in_a_row
                    raise _Stop(f"{count} sends in a row unanswered: {exc}") from None
            return
        tally.accept(provider_id)
        if ledger is not None:
            await ledger.delivered(recipient, provider_id)
