"""The bounds one channel's ``deliver`` runs under: its deadline and the stop request.

The Broadcaster sets a ``SendScope`` around each channel's delivery (a context
variable, so the channel's own tasks see it too). A fan-out reads it to stop starting
sends before its deadline, drain what is in flight and report the rest as not sent;
retry waits end early when a stop is asked for (SIGTERM, Ctrl-C, ``Broadcaster.stop``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

__all__ = ["SendScope", "current_scope", "entered", "stoppable_sleep"]


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
