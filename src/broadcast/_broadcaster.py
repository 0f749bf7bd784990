"""Broadcaster: fan one update out to every channel, isolated, retried, reported."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import httpx

from ._capabilities import Capabilities
from ._channel import Channel, Delivery, UsesHTTPClient
from ._errors import AlreadyDelivered, JournalError, PermanentError
from ._redact import describe
from ._report import (
    STOP_GRACE,
    Failure,
    Outcome,
    Receipt,
    Report,
    delivered_fields,
    failure_fields,
    safe_traceback,
)
from ._retry import RetryPolicy
from ._scope import ProgressCallback, SendScope, entered, reporting, scoped_sleep, stop_reporting
from ._selection import names_in
from ._update import Update
from .http import new_client
from .journal._protocol import Journal, UsesJournal
from .journal._run import journaled
from .page._model import page_url

if TYPE_CHECKING:
    from .distributed import Distributed

__all__ = ["Broadcaster"]

log = logging.getLogger("broadcast")

DEFAULT_TIMEOUT = 180.0
"""Seconds one channel may take in all, retries included, before it is given up."""
DEFAULT_FAN_OUT_TIMEOUT = 3600.0
"""Seconds a fan-out channel (email, SMS) may take; it stops starting sends a little
before, drains what is in flight, and reports the rest as not sent."""
MAX_DURATION_GRACE = 5.0
"""Seconds past a fan-out's own deadline before the Broadcaster cuts it off."""


class _Superseded(PermanentError):
    """A later resolution of the incident went out while this update was retrying."""


class _Stopped(PermanentError):
    """The send was asked to stop (a signal) before this attempt began."""


class Broadcaster:
    """Sends an update to every channel concurrently and returns a Report.

    ``async with Broadcaster([Webhook(url, secret=s)]) as b: report = await b.send(u)``

    Every channel is rendered before any sends, so a render that fails sends nothing
    anywhere. Each channel then runs in its own task under its own deadline:
    ``timeouts[name]``; else, for a fan-out channel (one with a ``max_duration``
    attribute), its ``max_duration`` or ``fan_out_timeout`` (an hour); else ``timeout``.
    A fan-out sees its deadline, stops starting sends before it and reports the rest as
    not sent; ``MAX_DURATION_GRACE`` later it is cut off whatever happens. A failing,
    slow or crashing channel never delays, cancels or hides another. ``stop()`` (what
    the command does on SIGTERM or Ctrl-C) ends a send early but in order. Transient failures are
    retried per ``retry``. The Broadcaster owns the HTTP client it gives to channels
    that talk HTTP, and closes it with the channels.

    ``journal`` remembers what went where: a re-send of the same update delivers only
    what is missing, two processes never send the same update at once, follow-ups find
    their thread, and a late retry never goes out after the incident's resolution. A
    Broadcaster built in code keeps none unless given one (``journal=SQLiteJournal()``
    is the per-user journal the command and ``broadcast.send()`` use; or pass a path),
    so two Broadcasters share nothing unless they share a journal. The caller closes
    the journal it passed.

    ``status_page_base_url`` is where the status page is published: an update sent
    without a ``url`` gets its incident's page there (``<base>/incidents/<id>.html``),
    so every outlet links to the whole story.
    """

    def __init__(
        self,
        channels: Iterable[Channel[Any]],
        /,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        fan_out_timeout: float = DEFAULT_FAN_OUT_TIMEOUT,
        timeouts: Mapping[str, float] | None = None,
        http_client: httpx.AsyncClient | None = None,
        journal: Journal | None = None,
        status_page_base_url: str | None = None,
    ) -> None:
        self._channels: tuple[Channel[Any], ...] = tuple(channels)
        names = [c.name for c in self._channels]
        if not names:
            raise ValueError("Broadcaster needs at least one channel")
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"channel names must be unique; repeated: {', '.join(dupes)}")
        # Each channel's capabilities, read once here: a malformed one is a TypeError now.
        self._capabilities = {c.name: Capabilities.of(c) for c in self._channels}
        self._timeouts = dict(timeouts or {})
        if unknown := sorted(set(self._timeouts) - set(names)):
            raise ValueError(f"timeouts= names unknown channels: {', '.join(unknown)}")
        self._retry = retry or RetryPolicy()
        # One policy for every send: its waits end early on the stop of the send's scope.
        self._send_retry = dataclasses.replace(self._retry, sleep=scoped_sleep(self._retry.sleep))
        self._timeout = timeout
        self._fan_out_timeout = fan_out_timeout
        self._scopes: dict[SendScope, asyncio.Timeout] = {}
        """The sends under way, each with the timer that cuts it off."""
        self._stop_reason: str | None = None
        self._http = http_client
        self._owns_http = http_client is None
        self._owns_journal = False
        """Set by ``broadcaster_from_env`` for the journal it made: closed by ``aclose``."""
        self._journal = journal
        self._page_base = _checked_base_url(status_page_base_url)
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

    def stop(self, reason: str = "asked to stop") -> None:
        """End the sends under way early, in order: what a signal handler calls.

        No new send or retry starts; a fan-out drains what is in flight and reports the
        rest as not sent; posts in flight get ``STOP_GRACE`` seconds to be answered.
        ``send()`` then returns its Report as usual. Safe to call from a signal handler
        installed with ``loop.add_signal_handler``.
        """
        self._stop_reason = reason
        loop = asyncio.get_running_loop()
        for scope, timer in list(self._scopes.items()):
            scope.request_stop(reason)
            if scope.deadline is None or scope.deadline > loop.time() + STOP_GRACE:
                scope.deadline = loop.time() + STOP_GRACE
            when = timer.when()
            if when is None or when > scope.deadline:
                timer.reschedule(scope.deadline)  # the cut-off comes forward with it

    async def send(
        self,
        update: Update,
        /,
        *,
        only: Collection[str] | str | None = None,
        dry_run: bool = False,
        progress: ProgressCallback | None = None,
        distributed: Distributed | None = None,
    ) -> Report:
        """Render and deliver ``update`` on every selected channel; never raises for them.

        ``only`` names the channels to use (the rest are reported as skipped);
        ``dry_run`` renders every channel and sends nothing. ``progress`` is called
        with a ``Progress`` every few dozen recipients of a fan-out (email, SMS), for
        a live display; it must be quick and is dropped if it raises. Raises
        ``JournalError``, before anything is sent, if the journal cannot be used.
        Every selected channel is rendered before the first one sends. ``distributed``
        (``broadcast.distributed.Distributed``) queues the send for workers instead and
        returns at once, each channel ``busy`` (docs/scaling.md).
        """
        if not isinstance(update, Update):
            raise TypeError(f"send() takes a broadcast.Update, not {type(update).__name__}")
        if self._page_base is not None and update.url is None:
            url = page_url(self._page_base, update.incident)
            update = Update.model_validate({**update.model_dump(), "url": url})
        selected = self._select(only)
        self._open()
        self._stop_reason = None  # a stop ends the send it interrupted, not the next one
        if distributed is not None and not dry_run:
            return await distributed.dispatch(
                update,
                [c for c in self._channels if c.name in selected],
                journal=self._journal,
                skipped=[
                    await self._unselected(c) for c in self._channels if c.name not in selected
                ],
            )
        if self._journal is not None and not dry_run:
            await self._journal.open()
            await self._journal.record_update(update)
        rendered = {c.name: self._render(c, update) for c in self._channels if c.name in selected}
        if len(self._channels) == 1 and rendered:
            # One channel: nothing to isolate it from, so it runs in this task (a task
            # per send was a tenth of a webhook's cost); its receipt is the same.
            channel = self._channels[0]
            watching = reporting(progress)
            try:
                receipt = await self._run(channel, update, rendered[channel.name], dry_run=dry_run)
            finally:
                stop_reporting(watching)
            return self._report(update, (receipt,), dry_run=dry_run)
        watching = reporting(progress)  # the channel tasks copy it with their context
        tasks = [
            asyncio.create_task(
                self._run(channel, update, rendered[channel.name], dry_run=dry_run)
                if channel.name in rendered
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
        return self._report(update, tuple(receipts), dry_run=dry_run)

    def _report(self, update: Update, receipts: tuple[Receipt, ...], *, dry_run: bool) -> Report:
        return Report(
            update_key=update.key,
            incident=update.incident,
            receipts=receipts,
            dry_run=dry_run,
            stopped=self._stop_reason,
        )

    def _select(self, only: Collection[str] | str | None) -> set[str]:
        names = {c.name for c in self._channels}
        if only is None:
            return names
        wanted = names_in(only)
        if unknown := sorted(wanted - names):
            raise ValueError(
                f"only= names unknown channels: {', '.join(unknown)} "
                f"(configured: {', '.join(sorted(names))})"
            )
        return wanted

    async def _unselected(self, channel: Channel[Any]) -> Receipt:
        return Receipt(channel.name, Outcome.SKIPPED, reason="not selected by only=")

    @staticmethod
    def _render(channel: Channel[Any], update: Update) -> Any | Receipt:
        """What ``channel`` would send, or the failed Receipt saying why it cannot render."""
        try:
            return channel.render(update)
        except Exception as exc:  # noqa: BLE001 - a channel's bug stays in its Receipt
            log.error("%s: render failed: %s", channel.name, safe_traceback(exc))
            return Receipt(channel.name, Outcome.FAILED, reason=f"render failed: {describe(exc)}")

    async def _run(
        self, channel: Channel[Any], update: Update, rendered: Any, *, dry_run: bool
    ) -> Receipt:
        if isinstance(rendered, Receipt):
            return rendered
        clock = self._retry.clock
        start = clock()
        attempts = 0

        def receipt(outcome: Outcome, **kwargs: Any) -> Receipt:
            kwargs.setdefault("attempts", attempts)
            return Receipt(channel.name, outcome, elapsed=clock() - start, **kwargs)

        if dry_run:
            try:
                preview = _preview(rendered)
            except Exception as exc:  # noqa: BLE001 - a channel's bug stays in its Receipt
                return receipt(Outcome.FAILED, reason=f"preview failed: {describe(exc)}")
            return receipt(Outcome.SKIPPED, reason="dry run", preview=preview)
        if self._stop_reason is not None:
            return receipt(Outcome.FAILED, reason=f"not sent: {self._stop_reason}")
        if self._journal is None:
            return await self._deliver(channel, update, rendered, receipt)

        journal = self._journal
        return await journaled(
            journal,
            channel,
            update,
            lambda: self._deliver(channel, update, rendered, receipt, journal),
            receipt,
            resumes=self._capabilities[channel.name].resumes_itself,
        )

    async def _deliver(
        self,
        channel: Channel[Any],
        update: Update,
        rendered: Any,
        receipt: Callable[..., Receipt],
        journal: Journal | None = None,
    ) -> Receipt:
        limit, backstop = self._limits_for(channel)
        loop = asyncio.get_running_loop()
        scope = SendScope(deadline=None if limit is None else loop.time() + limit, limit=limit)
        attempts = 0
        last_error: BaseException | None = None

        async def attempt() -> Delivery:
            nonlocal attempts, last_error
            if scope.stop.is_set():
                raise _Stopped(f"not sent: {scope.reason}")
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
                        "deliver() must return broadcast.channels.Delivery, "
                        f"not {type(delivery).__name__}"
                    )
            except Exception as exc:
                last_error = exc
                raise
            return delivery

        def done(outcome: Outcome, **kwargs: Any) -> Receipt:
            result: Receipt = receipt(outcome, attempts=attempts, **kwargs)
            return result

        timer = asyncio.timeout_at(None if backstop is None else loop.time() + backstop)
        try:
            with entered(scope):
                async with timer:
                    self._scopes[scope] = timer  # stop() brings the timer forward
                    delivery = await self._send_retry.call(attempt, label=channel.name)
        except asyncio.CancelledError as exc:
            if _being_cancelled():
                raise  # send() itself was cancelled: let it go
            reason = f"deliver raised {describe(exc)}"
            log.error("%s: %s", channel.name, reason)
            return done(Outcome.FAILED, reason=reason)
        except (AlreadyDelivered, _Superseded) as exc:
            log.info("%s: skipped: %s", channel.name, describe(exc))
            ids = exc.ids if isinstance(exc, AlreadyDelivered) else ()
            superseded = isinstance(exc, _Superseded)
            return done(Outcome.SKIPPED, reason=describe(exc), ids=ids, superseded=superseded)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a Receipt
            failure = Failure(exc, last_error, attempts, timer.expired(), backstop, scope)
            return done(Outcome.FAILED, **failure_fields(channel.name, failure))
        finally:
            self._scopes.pop(scope, None)

        outcome, fields = delivered_fields(channel.name, delivery, attempts)
        return done(outcome, **fields)

    def _limits_for(self, channel: Channel[Any]) -> tuple[float | None, float | None]:
        """The channel's deadline, and when the Broadcaster cuts it off (seconds from now).

        A post: ``timeouts[name]`` or ``timeout``, both the same. A fan-out (a channel
        with ``max_duration``): ``timeouts[name]``, its ``max_duration`` or
        ``fan_out_timeout``; it stops itself by then, and is cut off
        ``MAX_DURATION_GRACE`` later.
        """
        capabilities = self._capabilities[channel.name]
        if not capabilities.fan_out:
            limit = self._timeouts.get(channel.name, self._timeout)
            return limit, limit
        if channel.name in self._timeouts:
            limit = self._timeouts[channel.name]
        elif capabilities.max_duration is not None:
            limit = capabilities.max_duration
        else:
            limit = self._fan_out_timeout
        return limit, limit + MAX_DURATION_GRACE


def _checked_base_url(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        Update(title="x", incident="x", url=value)
    except ValueError:
        raise ValueError(
            "status_page_base_url must be an absolute http:// or https:// URL "
            f"without credentials, e.g. https://status.example.com/, got {value!r}"
        ) from None
    return value


def _being_cancelled() -> bool:
    """Whether this task was asked to stop (vs. a channel raising CancelledError itself)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _preview(rendered: object) -> str:
    preview = getattr(rendered, "preview", None)
    return str(preview()) if callable(preview) else str(rendered)
