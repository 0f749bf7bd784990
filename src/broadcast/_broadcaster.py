"""Broadcaster: fan one update out to every channel, isolated, retried, reported."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
import traceback
from collections.abc import Callable, Collection, Iterable, Mapping
from types import TracebackType
from typing import Any, Self

import httpx

from ._channel import Channel, Delivery, UsesHTTPClient
from ._errors import AlreadyDelivered, ChannelError, JournalError, PermanentError
from ._journal import Journal, UsesJournal
from ._journal_run import journaled
from ._journal_sqlite import default_journal
from ._progress import ProgressCallback, reporting, stop_reporting
from ._redact import describe, redact
from ._report import Outcome, Receipt, Report
from ._retry import RetryPolicy, is_transient
from ._update import Update
from .channels._http import new_client

__all__ = ["Broadcaster"]

log = logging.getLogger("broadcast")

DEFAULT_TIMEOUT = 180.0
"""Seconds one channel may take in all, retries included, before it is given up."""
MAX_DURATION_GRACE = 5.0
"""Seconds past a channel's own ``max_duration`` before the Broadcaster cuts it off."""


class _Default(enum.Enum):
    JOURNAL = "the default journal"


DEFAULT_JOURNAL = _Default.JOURNAL
"""``SQLiteJournal`` at ``$BROADCAST_JOURNAL``, else ``./broadcast.db``."""


class _Superseded(PermanentError):
    """A later resolution of the incident went out while this update was retrying."""


def safe_traceback(exc: BaseException) -> str:
    """The traceback of a channel's bug, for the log, with secrets masked.

    Logged as text rather than with ``exc_info`` so the redaction cannot be bypassed
    by a handler that formats the exception itself.
    """
    return redact("".join(traceback.format_exception(exc)).rstrip())


class Broadcaster:
    """Sends an update to every channel concurrently and returns a Report.

    ``async with Broadcaster([Webhook(url, secret=s)]) as b: report = await b.send(u)``

    Each channel runs in its own task under its own timeout: ``timeouts[name]``; else,
    for a channel with a ``max_duration`` attribute (one that stops itself), that plus
    a grace, or no limit when it is ``None``; else ``timeout``. A failing, slow or
    crashing channel never delays, cancels or hides another. Transient failures are
    retried per ``retry``. The Broadcaster owns the HTTP client it gives to channels
    that talk HTTP, and closes it with the channels.

    ``journal`` remembers what went where (``./broadcast.db``, or ``$BROADCAST_JOURNAL``,
    by default): a re-send of the same update delivers only what is missing, two
    processes never send the same update at once, follow-ups find their thread, and a
    late retry never goes out after the incident's resolution. ``journal=None`` keeps
    nothing between sends. A journal the Broadcaster opened itself it also closes.
    """

    def __init__(
        self,
        channels: Iterable[Channel[Any]],
        /,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        timeouts: Mapping[str, float] | None = None,
        http_client: httpx.AsyncClient | None = None,
        journal: Journal | _Default | None = DEFAULT_JOURNAL,
    ) -> None:
        self._channels: tuple[Channel[Any], ...] = tuple(channels)
        names = [c.name for c in self._channels]
        if not names:
            raise ValueError("Broadcaster needs at least one channel")
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"channel names must be unique; repeated: {', '.join(dupes)}")
        self._timeouts = dict(timeouts or {})
        if unknown := sorted(set(self._timeouts) - set(names)):
            raise ValueError(f"timeouts= names unknown channels: {', '.join(unknown)}")
        self._retry = retry or RetryPolicy()
        self._timeout = timeout
        self._http = http_client
        self._owns_http = http_client is None
        self._owns_journal = journal is DEFAULT_JOURNAL
        self._journal: Journal | None
        self._journal = default_journal() if isinstance(journal, _Default) else journal
        self._opened = False
        self._closed = False

    @property
    def journal(self) -> Journal | None:
        """Where deliveries are recorded (None: nowhere)."""
        return self._journal

    @property
    def channels(self) -> tuple[Channel[Any], ...]:
        """The channels, in report order."""
        return self._channels

    def __repr__(self) -> str:
        names = ", ".join(c.name for c in self._channels)
        return f"<Broadcaster channels=[{names}]>"

    async def __aenter__(self) -> Self:
        self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _open(self) -> None:
        if self._closed:
            raise RuntimeError("this Broadcaster is closed; create a new one")
        if self._opened:
            return
        self._opened = True
        http_channels = [c for c in self._channels if isinstance(c, UsesHTTPClient)]
        if http_channels:
            if self._http is None:
                self._http = new_client()
            for channel in http_channels:
                channel.use_http_client(self._http)
        if self._journal is not None:
            for keeper in self._channels:
                if isinstance(keeper, UsesJournal):
                    keeper.use_journal(self._journal)

    async def aclose(self) -> None:
        """Close every channel (one failing does not stop the others), then the client."""
        if self._closed:
            return
        self._closed = True
        for channel in self._channels:
            try:
                await channel.aclose()
            except Exception as exc:  # noqa: BLE001 - closing must reach every channel
                log.warning("%s: aclose failed: %s", channel.name, describe(exc))
        if self._owns_http and self._http is not None:
            await self._http.aclose()
        if self._owns_journal and self._journal is not None:
            try:
                await self._journal.aclose()
            except JournalError as exc:
                log.error("closing the journal failed: %s", exc)

    async def send(
        self,
        update: Update,
        /,
        *,
        only: Collection[str] | str | None = None,
        dry_run: bool = False,
        progress: ProgressCallback | None = None,
    ) -> Report:
        """Render and deliver ``update`` on every selected channel; never raises for them.

        ``only`` names the channels to use (the rest are reported as skipped);
        ``dry_run`` renders every channel and sends nothing. ``progress`` is called
        with a ``Progress`` every few dozen recipients of a fan-out (email, SMS), for
        a live display; it must be quick and is dropped if it raises. Raises
        ``JournalError``, before anything is sent, if the journal cannot be used.
        """
        if not isinstance(update, Update):
            raise TypeError(f"send() takes a broadcast.Update, not {type(update).__name__}")
        selected = self._select(only)
        self._open()
        if self._journal is not None and not dry_run:
            await self._journal.open()
            await self._journal.record_update(update)
        watching = reporting(progress)  # the channel tasks copy it with their context
        tasks = [
            asyncio.create_task(
                self._run(channel, update, dry_run=dry_run)
                if channel.name in selected
                else self._unselected(channel),
                name=f"broadcast:{channel.name}",
            )
            for channel in self._channels
        ]
        stop_reporting(watching)
        try:
            receipts = await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
        return Report(
            update_key=update.key,
            incident=update.incident,
            receipts=tuple(receipts),
            dry_run=dry_run,
        )

    def _select(self, only: Collection[str] | str | None) -> set[str]:
        names = {c.name for c in self._channels}
        if only is None:
            return names
        wanted = {only} if isinstance(only, str) else set(only)
        if unknown := sorted(wanted - names):
            raise ValueError(
                f"only= names unknown channels: {', '.join(unknown)} "
                f"(configured: {', '.join(sorted(names))})"
            )
        return wanted

    async def _unselected(self, channel: Channel[Any]) -> Receipt:
        return Receipt(channel.name, Outcome.SKIPPED, reason="not selected by only=")

    async def _run(self, channel: Channel[Any], update: Update, *, dry_run: bool) -> Receipt:
        clock = self._retry.clock
        start = clock()
        attempts = 0

        def receipt(outcome: Outcome, **kwargs: Any) -> Receipt:
            return Receipt(
                channel.name, outcome, attempts=attempts, elapsed=clock() - start, **kwargs
            )

        try:
            rendered = channel.render(update)
            preview = _preview(rendered) if dry_run else None
        except (Exception, asyncio.CancelledError) as exc:  # noqa: BLE001 - a channel's bug stays in its Receipt
            log.error("%s: render failed: %s", channel.name, safe_traceback(exc))
            return receipt(Outcome.FAILED, reason=f"render failed: {describe(exc)}")
        if dry_run:
            return receipt(Outcome.SKIPPED, reason="dry run", preview=preview)
        if self._journal is None:
            return await self._deliver(channel, update, rendered, receipt)

        journal = self._journal
        return await journaled(
            journal,
            channel,
            update,
            lambda: self._deliver(channel, update, rendered, receipt, journal),
            receipt,
        )

    async def _deliver(
        self,
        channel: Channel[Any],
        update: Update,
        rendered: Any,
        receipt: Callable[..., Receipt],
        journal: Journal | None = None,
    ) -> Receipt:
        timeout = self._timeout_for(channel)
        attempts = 0
        last_error: BaseException | None = None

        async def attempt() -> Delivery:
            nonlocal attempts, last_error
            attempts += 1
            try:
                if (
                    attempts > 1
                    and journal is not None
                    and (by := await journal.superseded_by(update))
                ):
                    raise _Superseded(f"superseded: the incident was resolved by {by}")
                delivery = await channel.deliver(rendered)
                if not isinstance(delivery, Delivery):
                    raise TypeError(
                        f"deliver() must return broadcast.Delivery, not {type(delivery).__name__}"
                    )
            except Exception as exc:
                last_error = exc
                raise
            return delivery

        def done(outcome: Outcome, **kwargs: Any) -> Receipt:
            result: Receipt = receipt(outcome, **kwargs)
            return dataclasses.replace(result, attempts=attempts)

        timer = asyncio.timeout(timeout)
        try:
            async with timer:
                delivery = await self._retry.call(attempt, label=channel.name)
        except asyncio.CancelledError as exc:
            if _being_cancelled():
                raise  # send() itself was cancelled: let it go
            reason = f"deliver raised {describe(exc)}"
            log.error("%s: %s", channel.name, reason)
            return done(Outcome.FAILED, reason=reason)
        except (AlreadyDelivered, _Superseded) as exc:
            log.info("%s: skipped: %s", channel.name, describe(exc))
            ids = exc.ids if isinstance(exc, AlreadyDelivered) else ()
            details = {"superseded": True} if isinstance(exc, _Superseded) else {}
            return done(Outcome.SKIPPED, reason=describe(exc), ids=ids, details=details)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a Receipt
            reason = self._failure_reason(exc, timer.expired(), timeout, attempts, last_error)
            crashed = not timer.expired() and not isinstance(exc, ChannelError)
            if crashed and not is_transient(exc):
                log.error("%s: deliver crashed: %s", channel.name, safe_traceback(exc))
            else:
                log.error("%s: failed: %s", channel.name, reason)
            unknown = (
                timer.expired()
                or not isinstance(exc, ChannelError)
                or (exc.transient and exc.code is None)
            )
            details = {"outcome_unknown": True} if unknown else {}
            return done(Outcome.FAILED, reason=reason, details=details)

        ids = tuple(str(i) for i in delivery.ids)
        outcome, summary = _fan_out_outcome(delivery)
        log_level = logging.INFO if outcome is Outcome.DELIVERED else logging.ERROR
        log.log(log_level, "%s: %s after %d attempt(s)", channel.name, summary or outcome, attempts)
        return done(
            outcome,
            ids=ids,
            details=dict(delivery.details),
            reason=summary,
            accepted=delivery.accepted,
            rejected=tuple(delivery.rejected),
        )

    def _timeout_for(self, channel: Channel[Any]) -> float | None:
        """``timeouts[name]``, else the channel's own ``max_duration``, else ``timeout``."""
        if channel.name in self._timeouts:
            return self._timeouts[channel.name]
        if hasattr(channel, "max_duration"):
            own = channel.max_duration
            # The channel stops itself (and reports what it did); ours is a backstop.
            return float(own) + MAX_DURATION_GRACE if isinstance(own, int | float) else None
        return self._timeout

    @staticmethod
    def _failure_reason(
        exc: BaseException,
        timed_out: bool,
        timeout: float | None,
        attempts: int,
        last_error: BaseException | None,
    ) -> str:
        if timed_out:
            reason = f"timed out after {timeout:g}s"
            if last_error is not None:
                reason += f" ({attempts} attempts; last error: {describe(last_error)})"
            return reason
        reason = describe(exc)
        if is_transient(exc):
            noun = "attempt" if attempts == 1 else "attempts"
            reason = f"{reason}; gave up after {attempts} {noun}"
            wait = getattr(exc, "retry_after", None)
            if isinstance(wait, int | float) and wait > 0:
                reason += f" (the provider asked to wait {wait:g}s, past the retry deadline)"
        return reason


def _fan_out_outcome(delivery: Delivery) -> tuple[Outcome, str | None]:
    """Delivered, partial or failed, from who the provider accepted and rejected."""
    note = f"; {redact(delivery.note)}" if delivery.note else ""
    accepted = delivery.accepted or 0
    if not delivery.rejected and not delivery.incomplete:
        return Outcome.DELIVERED, (redact(delivery.note) if delivery.note else None)
    outcome = Outcome.PARTIAL if accepted else Outcome.FAILED
    if not delivery.rejected:
        return outcome, f"stopped after {accepted} recipients{note}"
    first = delivery.rejected[0]
    example = redact(f"first: {first.recipient}: {first.reason}")
    rejected = len(delivery.rejected)
    if delivery.incomplete:
        return outcome, f"{accepted} reached, {rejected} rejected ({example}){note}"
    if not accepted:
        return outcome, f"all {rejected} recipients rejected ({example}){note}"
    total = rejected + accepted
    return outcome, f"{rejected} of {total} recipients not reached ({example}){note}"


def _being_cancelled() -> bool:
    """Whether this task was asked to stop (vs. a channel raising CancelledError itself)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _preview(rendered: object) -> str:
    preview = getattr(rendered, "preview", None)
    return str(preview()) if callable(preview) else str(rendered)
