"""One provider account's rate limit shared by every worker: a token bucket in the store.

Ten workers each pacing themselves at Twilio's rate would send ten times it. Instead
each takes tokens from one bucket per account in the shared database (a few at a
time, so the database sees a write per batch, not per message). Over any span of
``t`` seconds all workers together send at most ``rate * t + capacity`` messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from ._shards import ShardStore

__all__ = ["SharedRateLimiter"]

BATCH_SECONDS = 0.05
"""A worker takes at most this many seconds' worth of tokens at once."""

MIN_WAIT = 0.001
"""Shortest wait for a token: a rounding error never makes a busy loop."""


class SharedRateLimiter:
    """``acquire()`` as ``RateLimiter``'s, drawing on ``account``'s bucket in ``store``.

    ``capacity`` (default a tenth of a second's worth, at least 1) is the burst the
    bucket allows after an idle spell. ``sleep`` is injectable for tests.
    """

    def __init__(
        self,
        store: ShardStore,
        account: str,
        *,
        rate: float,
        capacity: float | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.account = account
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(1.0, rate / 10)
        self._batch = max(1, min(int(rate * BATCH_SECONDS), int(self.capacity)))
        self._store = store
        self._sleep = sleep
        self._held = 0
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"SharedRateLimiter({self.account!r}, rate={self.rate:g}/s)"

    async def acquire(self) -> None:
        """Wait until the shared bucket grants this caller one message."""
        async with self._lock:
            while not self._held:
                granted, wait = await self._store.take_tokens(
                    self.account, rate=self.rate, capacity=self.capacity, want=self._batch
                )
                self._held = granted
                if not granted:
                    await self._sleep(max(wait, MIN_WAIT))
            self._held -= 1
