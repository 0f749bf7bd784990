"""Progress of long fan-outs, for a live display: ``send(update, progress=callback)``.

The Broadcaster puts the caller's callback in a context variable for the duration of
one ``send``; fan-out channels report through ``progress_reporter(name, total)``, so
the channel seam stays as it is. Each report is ``Progress(channel, done, failed,
total)`` and is made at most every ``EVERY`` recipients (and once at the end).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass

__all__ = [
    "EVERY",
    "Progress",
    "ProgressCallback",
    "progress_reporter",
    "reporting",
    "silent",
    "stop_reporting",
    "watched",
]

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
