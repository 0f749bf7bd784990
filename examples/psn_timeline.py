"""An outage told as it unfolds: three updates of one incident, threaded on every outlet.

Updates that share ``incident`` are one story. On X each update replies to the last
post of the one before; on Facebook follow-ups are comments under the first post;
email follow-ups reply into the incident's thread; webhook documents carry the same
incident id. The journal remembers where each thread is, so a follow-up sent hours
later, by another process, still lands in the right place.

Every outlet here is a local stand-in from ``broadcast demo`` (two fail once on
purpose, to show a retry), so it runs with no accounts:

    python examples/psn_timeline.py [--no-wait]
"""

import asyncio
import logging
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import broadcast
from broadcast.demo import STAND_INS, psn_timeline
from broadcast.testing import fast_retries


async def tell(
    channels: list[broadcast.Channel],
    journal: broadcast.SQLiteJournal,
    retry: broadcast.RetryPolicy | None,
) -> bool:
    """Send the updates in order, printing each Report; True when no channel failed."""
    ok = True
    async with broadcast.Broadcaster(channels, journal=journal, retry=retry) as broadcaster:
        for update in psn_timeline():  # investigating, identified, resolved
            report = await broadcaster.send(update)
            print(f"\n{update.created_at:%H:%M} UTC, {update.status}: {update.title}")
            print(report)
            ok = ok and not report.failed  # a STOP reply makes SMS "partial", not failed
    await journal.aclose()
    return ok


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    # --no-wait retries at once rather than after the providers' delays (for tests).
    retry = fast_retries() if "--no-wait" in argv else None
    with ExitStack() as stack, tempfile.TemporaryDirectory() as scratch:
        stand_ins = [stack.enter_context(make()) for make in STAND_INS]
        # Keep the journal in one lasting place in production (SQLiteJournal(): per user):
        # it is what threads tomorrow's follow-up. This example starts afresh each run.
        journal = broadcast.SQLiteJournal(Path(scratch) / "broadcast.db")
        ok = asyncio.run(tell([s.channel() for s in stand_ins], journal, retry))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
