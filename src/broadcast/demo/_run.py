"""Run the demo: one realistic outage update through every stand-in, then the Report."""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from .._broadcaster import Broadcaster
from .._journal_sqlite import SQLiteJournal
from .._report import Report
from .._retry import RetryPolicy
from .._update import Severity, Status, Update
from ._apis import GraphEndpoint, TwilioEndpoint, XEndpoint
from ._standins import MailReceiver, StandIn, WebhookReceiver

__all__ = ["STAND_INS", "demo_update", "main", "run"]

STAND_INS: list[Callable[[], StandIn]] = [
    WebhookReceiver,
    MailReceiver,
    XEndpoint,
    GraphEndpoint,
    TwilioEndpoint,
]


def demo_update(now: datetime | None = None) -> Update:
    """The first update of the April 2011 PlayStation Network outage, told early."""
    now = now or datetime.now(UTC)
    return Update(
        title="PlayStation Network is down; we are investigating",
        body=(
            "PlayStation Network and Qriocity services are unavailable worldwide. "
            "We are investigating the cause and will restore service as soon as we can.\n\n"
            "Sign-in, online play and the PlayStation Store are affected. "
            "Games you own still work offline."
        ),
        status=Status.INVESTIGATING,
        severity=Severity.CRITICAL,
        incident="psn-2011-04",
        url="https://status.example.com/incidents/psn-2011-04",
        author="Head of Network Operations",
        next_update_at=now + timedelta(hours=1),
        created_at=now,
    )


async def run(
    stand_ins: Sequence[StandIn],
    update: Update,
    out: TextIO = sys.stdout,
    *,
    retry: RetryPolicy | None = None,
) -> tuple[Report, bool]:
    """Broadcast ``update`` to the stand-ins; print the Report and what arrived."""
    channels = [s.channel() for s in stand_ins]
    with tempfile.TemporaryDirectory(prefix="broadcast-demo-") as scratch:
        journal = SQLiteJournal(Path(scratch) / "broadcast.db")
        async with Broadcaster(channels, timeout=30, retry=retry, journal=journal) as broadcaster:
            report = await broadcaster.send(update)
            print(report.to_text(), file=out)
            # A panicked second run of the same command: the journal sends nothing twice.
            again = await broadcaster.send(update)
        await journal.aclose()
    print("\nThe same update sent again (the journal remembers):", file=out)
    for receipt in again.receipts:
        had = receipt.details.get("already_delivered")
        said = receipt.reason
        if had:
            said = f"{had} already had it, nothing sent twice; {said}"
        print(f"  {receipt.channel}: {receipt.outcome} ({said})", file=out)
    print("\nOn the receiving side:", file=out)
    all_verified = True
    for stand_in in stand_ins:
        ok = stand_in.verified()
        all_verified &= ok
        print(f"  {stand_in.name}: {'OK' if ok else 'PROBLEM'}", file=out)
        for line in stand_in.arrivals():
            print(f"    {line}", file=out)
    return report, all_verified


def main(out: TextIO = sys.stdout, *, retry: RetryPolicy | None = None) -> int:
    """Entry point of ``make demo``; exit status 0 when no channel failed and all verified."""
    logging.basicConfig(level=logging.WARNING, format="  log %(levelname)s %(message)s", stream=out)
    update = demo_update()
    print(f"Broadcasting: {update.title}", file=out)
    print(f"  by {update.author}; next update by {update.next_update_at:%H:%M} UTC\n", file=out)
    with ExitStack() as stack:
        stand_ins = [stack.enter_context(make()) for make in STAND_INS]
        report, verified = asyncio.run(run(stand_ins, update, out, retry=retry))
    # The SMS stand-in refuses one subscriber on purpose (a STOP reply), so "partial"
    # is expected there; what must hold is that nothing failed and every receiver's
    # checks passed.
    return 0 if not report.failed and verified else 1
