"""What one channel's ``deliver`` runs under: its deadline, the stop request, the progress.

The Broadcaster sets a ``SendScope`` around each channel's delivery (a context
variable, so the channel's own tasks see it too). A fan-out reads it to stop starting
sends before its deadline, drain what is in flight and report the rest as not sent;
retry waits end early when a stop is asked for (SIGTERM, Ctrl-C, ``Broadcaster.stop``).

The caller's progress callback (``send(update, progress=...)``) is a context variable
too: fan-outs report through ``progress_reporter(name, total)``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass, field

__all__ = [
    "EVERY",
    "Progress",
    "ProgressCallback",
    "SendScope",
    "current_scope",
    "entered",
    "progress_reporter",
    "reporting",
    "silent",
    "stop_reporting",
    "stoppable_sleep",
    "watched",
]


@dataclass(eq=False)
class SendScope:
    """One send's bounds: ``deadline`` in ``loop.time()`` seconds, and a stop request."""

    deadline: float | None = None
    limit: float | None = None
    """The seconds the deadline was set from, for messages ("stopped at its deadline (60s)")."""
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    reason: str = ""
    """Why the stop was asked for, e.g. ``"stopped by SIGTERM"``."""

    def request_stop(self, reason: str) -> None:
        """Ask every channel under this scope to stop starting sends."""
        if not self.stop.is_set():
            self.reason = reason
            self.stop.set()

    def remaining(self) -> float | None:
        """Seconds until the deadline (None: no deadline)."""
        if self.deadline is None:
            return None
        return self.deadline - asyncio.get_running_loop().time()


_scope: ContextVar[SendScope | None] = ContextVar("broadcast_send_scope", default=None)


def current_scope() -> SendScope | None:
    """The scope of the delivery running in this context, if any."""
    return _scope.get()


@contextlib.contextmanager
def entered(scope: SendScope) -> Iterator[SendScope]:
    """Run the block (and the tasks it creates) under ``scope``."""
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def stoppable_sleep(
    sleep: Callable[[float], Awaitable[None]], stop: asyncio.Event
) -> Callable[[float], Awaitable[None]]:
    """``sleep``, but returning at once when ``stop`` is set (a retry wait cut short)."""

    async def wait(seconds: float) -> None:
        if stop.is_set():
            return
        sleeper = asyncio.ensure_future(sleep(seconds))
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({sleeper, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, stopped):
                task.cancel()

    return wait


def scoped_sleep(sleep: Callable[[float], Awaitable[None]]) -> Callable[[float], Awaitable[None]]:
    """``sleep``, cut short by the stop request of the scope it is awaited under.

    ``stoppable_sleep`` for whichever ``SendScope`` is current when the wait begins,
    so one wrapper serves every send (the Broadcaster makes one, not one per send).
    """

    async def wait(seconds: float) -> None:
        scope = current_scope()
        if scope is None:
            await sleep(seconds)
            return
        await stoppable_sleep(sleep, scope.stop)(seconds)

    return wait


# ==============================================================================
# Progress of long fan-outs, for a live display: ``send(update, progress=callback)``.
#
# The Broadcaster puts the caller's callback in a context variable for the duration of
# one ``send``; fan-out channels report through ``progress_reporter(name, total)``, so
# the channel seam stays as it is. Each report is ``Progress(channel, done, failed,
# total)`` and is made at most every ``EVERY`` recipients (and once at the end).
# (Was _progress.py.)
# ==============================================================================

EVERY = 50
"""Report once per this many recipients: cheap on the hot path, smooth on screen."""


@dataclass(frozen=True, slots=True)
class Progress:
    """How far one channel's fan-out has got."""

    channel: str
    done: int
    """Recipients reached so far (including those an earlier run reached)."""
    failed: int
    """Recipients refused or not reached so far."""
    total: int | None
    """All recipients, when the list has a length; None for a stream."""
    finished: bool = False


ProgressCallback = Callable[[Progress], None]

_current: ContextVar[ProgressCallback | None] = ContextVar("broadcast_progress", default=None)


def reporting(callback: ProgressCallback | None) -> Token[ProgressCallback | None]:
    """Make ``callback`` the current one; returns the token for ``stop_reporting``."""
    return _current.set(callback)


def stop_reporting(token: Token[ProgressCallback | None]) -> None:
    """Undo ``reporting``."""
    _current.reset(token)


class _Reporter:
    """Calls the callback every ``EVERY`` recipients; a failing callback is dropped."""

    __slots__ = ("_callback", "_channel", "_next", "_total")

    def __init__(self, callback: ProgressCallback, channel: str, total: int | None) -> None:
        self._callback: ProgressCallback | None = callback
        self._channel = channel
        self._total = total
        self._next = 0

    def __call__(self, done: int, failed: int, *, finished: bool = False) -> None:
        if self._callback is None or (done + failed < self._next and not finished):
            return
        self._next = done + failed + EVERY
        try:
            self._callback(Progress(self._channel, done, failed, self._total, finished))
        except Exception:  # noqa: BLE001 - a display must never stop a send
            self._callback = None


def silent(done: int, failed: int, *, finished: bool = False) -> None:
    """The reporter when nobody is watching."""


def watched() -> bool:
    """Whether a display is watching this send (worth counting a file's lines for)."""
    return _current.get() is not None


def progress_reporter(channel: str, total: int | None) -> Callable[..., None]:
    """A ``report(done, failed, finished=False)`` function for one fan-out."""
    callback = _current.get()
    return silent if callback is None else _Reporter(callback, channel, total)
