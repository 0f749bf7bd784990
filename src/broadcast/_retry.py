"""Bounded retries on tenacity: what is transient, how long to wait, when to stop.

A call is retried only when it fails transiently, and stops at whichever comes first:
the attempt cap or the total deadline. A wait that would cross the deadline is not
taken. The provider's own ``Retry-After`` (or rate-limit reset) wins over backoff.
Both the sleep and the clock are injectable, so tests never sleep.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

from ._errors import ChannelError
from ._redact import describe

__all__ = ["RetryPolicy", "is_transient", "retry_after_from_headers"]

log = logging.getLogger("broadcast")

T = TypeVar("T")

TRANSIENT_STATUS = frozenset({408, 425, 429}) | (frozenset(range(500, 600)) - {501, 505})
"""HTTP statuses worth retrying: request timeout, too early, too many requests, and 5xx
except 501 Not Implemented and 505 HTTP Version Not Supported, which no retry can fix."""


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is worth another attempt.

    Channel errors say so themselves. Network-level failures (timeouts, refused or
    reset connections) are transient. Anything else (a bug, a ``ValueError``) is not:
    retrying a crash only repeats it.
    """
    if isinstance(exc, ChannelError):
        return exc.transient
    return isinstance(exc, httpx.TransportError | TimeoutError | ConnectionError)


def retry_after_from_headers(headers: Mapping[str, str], *, now: float) -> float | None:  # noqa: PLR0911 - one per header form
    """Seconds the provider asks us to wait, or ``None`` if it does not say.

    Reads ``Retry-After`` (delta seconds or an HTTP date), then the rate-limit reset
    headers: ``x-rate-limit-reset`` / ``x-ratelimit-reset`` (Unix epoch seconds, as X
    and GitHub send, or an ISO 8601 time, as Mastodon does) and ``ratelimit-reset``
    (delta seconds, IETF draft; epoch seconds, as Bluesky sends). ``now`` is the
    current Unix time, injected so tests control it.
    """
    lower = {k.lower(): v.strip() for k, v in headers.items()}
    if value := lower.get("retry-after"):
        try:
            return _non_negative(float(value))
        except ValueError:
            pass
        try:
            return _non_negative(parsedate_to_datetime(value).timestamp() - now)
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    for name in ("x-rate-limit-reset", "x-ratelimit-reset"):
        if value := lower.get(name):
            try:
                reset = float(value)
            except ValueError:
                if (moment := _iso_time(value)) is not None:  # Mastodon: ISO 8601
                    return _non_negative(moment - now)
                continue
            # Epoch seconds in practice; a small number is a delta.
            return _non_negative(reset - now if reset > 1_000_000_000 else reset)
    if value := lower.get("ratelimit-reset"):
        try:
            reset = float(value)
        except ValueError:
            return None
        # Delta seconds in the IETF draft; epoch seconds from Bluesky.
        return _non_negative(reset - now if reset > 1_000_000_000 else reset)
    return None


def _iso_time(value: str) -> float | None:
    """An ISO 8601 time (``2026-12-03T15:00:00.000Z``) as Unix time, or None."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _non_negative(seconds: float) -> float | None:
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


class _StopAtDeadline(stop_base):
    """Stop when the next wait would end past the deadline (so it is never taken)."""

    def __init__(self, clock: Callable[[], float], start: float, deadline: float) -> None:
        self._clock = clock
        self._start = start
        self._deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        elapsed = self._clock() - self._start
        return elapsed + retry_state.upcoming_sleep > self._deadline


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How a channel's delivery is retried.

    ``attempts`` caps the tries (1 means no retry); ``deadline`` caps the total time in
    seconds, waits included; ``max_wait`` caps one backoff wait (a provider's
    ``Retry-After`` is honoured as given, as long as it fits the deadline).
    """

    attempts: int = 5
    deadline: float = 120.0
    max_wait: float = 30.0
    jitter: float = 1.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {self.attempts}")
        if self.deadline <= 0:
            raise ValueError(f"deadline must be positive, got {self.deadline}")

    async def call(
        self,
        fn: Callable[[], Awaitable[T]],
        /,
        *,
        label: str = "call",
    ) -> T:
        """Await ``fn()`` until it succeeds, fails permanently, or the policy runs out.

        The last exception is re-raised as it was. The first attempt runs without
        tenacity (a fan-out calls this per recipient, and most first attempts succeed);
        its failure is replayed into tenacity, so counting, waits and the deadline are
        the same as if tenacity had run it.
        """
        start = self.clock()
        try:
            return await fn()
        except Exception as exc:
            if self.attempts == 1 or not is_transient(exc):
                raise
            first_failure: list[Exception] = [exc]

        async def replay_then_call() -> T:
            if first_failure:
                raise first_failure.pop()
            return await fn()

        backoff = wait_exponential_jitter(max=self.max_wait, jitter=self.jitter)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            retry_after = getattr(exc, "retry_after", None)
            if isinstance(retry_after, int | float):
                return float(retry_after)
            return float(backoff(state))

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "%s: attempt %d failed (%s); retrying in %.1fs",
                label,
                state.attempt_number,
                describe(exc) if exc is not None else "?",
                state.upcoming_sleep,
            )

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.attempts)
            | _StopAtDeadline(self.clock, start, self.deadline),
            wait=wait,
            retry=retry_if_exception(is_transient),
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await replay_then_call()
        raise AssertionError("unreachable: tenacity re-raises or returns")  # pragma: no cover
