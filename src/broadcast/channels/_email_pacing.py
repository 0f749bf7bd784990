"""Pacing per receiving domain: at most N messages a second to gmail.com, outlook.com, ...

Receivers throttle a sender that arrives too fast (``421 4.7.0 Try again later``). A
``DomainPacer`` gives each recipient domain its own ``RateLimiter`` (the one SMS and
Telegram use), at the rate configured for it or the ``"*"`` default, shared by every
connection of the pool. Time is injectable, so tests never sleep.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._sms import RateLimiter

__all__ = ["DomainPacer", "parse_rates"]


def parse_rates(text: str) -> dict[str, float]:
    """``gmail.com=20, outlook.com=10, *=5`` as a mapping; ValueError naming a bad item."""
    rates: dict[str, float] = {}
    for item in (i.strip() for i in text.split(",")):
        if not item:
            continue
        domain, eq, value = item.partition("=")
        try:
            rates[domain.strip().lower()] = float(value) if eq else float("nan")
        except ValueError:
            raise ValueError(f"{item!r} is not domain=messages per second") from None
    DomainPacer(rates)  # the same checks as the channel's
    return rates


class DomainPacer:
    """``await pacer.wait(recipient)`` before each send to keep every domain in its rate."""

    def __init__(
        self,
        rates: Mapping[str, float],
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        for domain, rate in rates.items():
            if not (rate > 0) or rate == float("inf"):
                raise ValueError(f"domain_rates[{domain!r}] must be a positive number, got {rate}")
            if not domain or any(c in domain for c in "@ \t"):
                raise ValueError(f"domain_rates key must be a domain or '*', got {domain!r}")
        self._rates = {d.lower().rstrip("."): r for d, r in rates.items() if d != "*"}
        self._default = rates.get("*")
        self._clock = clock or time.monotonic
        self._sleep = sleep or asyncio.sleep
        self._limiters: dict[str, RateLimiter] = {}

    def rate(self, domain: str) -> float | None:
        """Messages per second allowed to ``domain``; None: not paced."""
        return self._rates.get(domain, self._default)

    async def wait(self, recipient: str) -> None:
        """Wait for the next free slot of the recipient's domain."""
        domain = recipient.rpartition("@")[2].lower()
        limiter = self._limiters.get(domain)
        if limiter is None:
            rate = self.rate(domain)
            if rate is None:
                return
            from ._sms import RateLimiter  # noqa: PLC0415 - shared with SMS and Telegram

            limiter = self._limiters[domain] = RateLimiter(
                rate, clock=self._clock, sleep=self._sleep
            )
        await limiter.acquire()
