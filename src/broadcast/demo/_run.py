"""Run the demo: an outage told in three updates through every stand-in, then a re-send."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import logging
import sys
import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

from .._broadcaster import Broadcaster
from .._report import Report
from .._retry import RetryPolicy
from .._update import Update
from ..journal._sqlite import SQLiteJournal
from ..testing import StandIn
from ..text import status_tag
from ._timeline import psn_timeline

__all__ = ["STAND_INS", "main", "run"]


def stand_ins() -> list[Callable[[], StandIn]]:
    """Each registered channel's stand-in (its ``ChannelSpec.standin``), in registry order."""
    from ..config._registry import specs  # noqa: PLC0415 - loads every channel module

    return [_import(s.standin) for s in specs() if s.standin and _installed(s.needs)]


def _installed(module: str | None) -> bool:
    """Whether an optional extra's module can be imported (None: nothing is needed)."""
    return module is None or importlib.util.find_spec(module) is not None


def _import(target: str) -> Callable[[], StandIn]:
    module, _, attr = target.partition(":")
    made: Callable[[], StandIn] = getattr(importlib.import_module(module), attr)
    return made


STAND_INS: list[Callable[[], StandIn]] = stand_ins()
"""The demo's stand-ins, generated from the registry."""


async def run(
    stand_ins: Sequence[StandIn],
    timeline: Sequence[Update],
    out: TextIO = sys.stdout,
    *,
    retry: RetryPolicy | None = None,
) -> tuple[list[Report], bool]:
    """Send ``timeline`` in order, then its last update again; print what happened.

    Returns each send's Report (the re-send's last) and whether every stand-in's
    checks passed.
    """
    channels = [s.channel() for s in stand_ins]
    reports: list[Report] = []
    with tempfile.TemporaryDirectory(prefix="broadcast-demo-") as scratch:
        journal = SQLiteJournal(Path(scratch) / "broadcast.db")
        async with Broadcaster(channels, timeout=30, retry=retry, journal=journal) as broadcaster:
            for number, update in enumerate(timeline, 1):
                for stand_in in stand_ins:
                    stand_in.update_number = number
                _headline(update, number, len(timeline), out)
                reports.append(await broadcaster.send(update))
                print(reports[-1].to_text(), file=out)
            # A panicked second run of the last command: the journal sends nothing twice.
            # Anything that did arrive would be filed under the last update, as a repeat.
            reports.append(await broadcaster.send(timeline[-1]))
        await journal.aclose()
    print(f"\nUpdate {len(timeline)} sent again (the journal remembers):", file=out)
    for receipt in reports[-1].receipts:
        had = receipt.details.get("already_delivered")
        said = receipt.reason
        if had:
            said = f"{had} already had it, nothing sent twice; {said}"
        print(f"  {receipt.channel}: {receipt.outcome} ({said})", file=out)
    print("\nOn the receiving side, update by update:", file=out)
    all_verified = True
    for stand_in in stand_ins:
        ok = stand_in.verified()
        all_verified &= ok
        print(f"  {stand_in.name}: {'OK' if ok else 'PROBLEM'}", file=out)
        for line in stand_in.arrivals():
            print(f"    {line}", file=out)
    return reports, all_verified


def _headline(update: Update, number: int, total: int, out: TextIO) -> None:
    print(f"\nUpdate {number} of {total}: {status_tag(update)} {update.title}", file=out)
    promise = "no further updates"
    if update.next_update_at is not None:
        promise = f"next update by {update.next_update_at:%H:%M} UTC"
    when = f"{update.created_at:%Y-%m-%d %H:%M} UTC"
    print(f"  {when}, by {update.author}; {promise}", file=out)


def main(out: TextIO = sys.stdout, *, retry: RetryPolicy | None = None) -> int:
    """Entry point of ``broadcast demo``; exit status 0 when no channel failed and all verified."""
    logging.basicConfig(level=logging.WARNING, format="  log %(levelname)s %(message)s", stream=out)
    timeline = psn_timeline()
    print(
        f"Replaying the PlayStation Network outage of April 2011: incident "
        f"{timeline[0].incident}, {len(timeline)} updates, to stand-ins on 127.0.0.1.",
        file=out,
    )
    with ExitStack() as stack:
        stand_ins = [stack.enter_context(make()) for make in STAND_INS]
        reports, verified = asyncio.run(run(stand_ins, timeline, out, retry=retry))
    # The SMS stand-in refuses one subscriber on purpose (a STOP reply), so "partial"
    # is expected there; what must hold is that nothing failed and every receiver's
    # checks passed.
    return 0 if verified and not any(report.failed for report in reports) else 1
