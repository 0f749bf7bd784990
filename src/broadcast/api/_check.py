"""check_channels: probe every channel's credentials at once, posting nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .._channel import Channel, Checkable, UsesHTTPClient
from .._redact import describe, redact
from ..http import new_client

__all__ = ["NO_PROBE", "CheckResult", "check_channels"]

NO_PROBE = "no probe for this channel; configuration is valid, credentials not checked"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One channel's probe: whether it passed, and what was confirmed or why not."""

    channel: str
    """The channel's name."""
    ok: bool
    detail: str
    """The line ``check()`` returned, or the one-line reason it failed."""
    elapsed: float
    """Seconds the probe took."""


async def check_channels(
    channels: Sequence[Channel[Any]],
    *,
    timeout: float = 20.0,  # noqa: ASYNC109 - a limit per probe, not on the call
    clock: Callable[[], float] = time.monotonic,
) -> list[CheckResult]:
    """Run every channel's ``check()`` concurrently; one result per channel, in order.

    Never raises for a channel: a refusal, a crash or no answer within ``timeout``
    seconds is a failed result, and none delays or hides another. A channel without
    ``check`` passes with a detail saying it was not probed. HTTP channels share one
    client, made here and closed before returning; closing the channels is the caller's.
    """
    client = None
    if http := [c for c in channels if isinstance(c, UsesHTTPClient)]:
        client = new_client()  # the Broadcaster's kind of client, shared the same way
        for channel in http:
            channel.use_http_client(client)
    try:
        return list(await asyncio.gather(*(_probe(c, timeout, clock) for c in channels)))
    finally:
        if client is not None:
            await client.aclose()


async def _probe(channel: Channel[Any], limit: float, clock: Callable[[], float]) -> CheckResult:
    start = clock()
    if not isinstance(channel, Checkable):
        said = getattr(channel, "probe_note", None)  # why it cannot be probed, if it says
        return CheckResult(
            channel.name, True, said if isinstance(said, str) else NO_PROBE, clock() - start
        )
    deadline = asyncio.timeout(limit)
    try:
        async with deadline:
            detail, ok = await channel.check(), True
    except TimeoutError as exc:
        ok = False
        detail = f"no answer within {limit:g} s" if deadline.expired() else describe(exc)
    except Exception as exc:  # noqa: BLE001 - a crashing probe is a result, not a crash
        detail, ok = describe(exc), False
    return CheckResult(channel.name, ok, redact(" ".join(str(detail).split())), clock() - start)
