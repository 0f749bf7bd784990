"""A backend service: build the Broadcaster once, await it from request handlers.

    BLOG_HOOK_URL=https://cms.example.com/hooks/incidents \
    BLOG_HOOK_SECRET=whsec_... python examples/backend_async.py
"""

import asyncio
import json
import os
from datetime import UTC, datetime, timedelta

import broadcast
from broadcast.channels import Webhook


async def announce(broadcaster: broadcast.Broadcaster) -> broadcast.Report:
    update = broadcast.Update(
        title="PlayStation Network is down; we are investigating",
        body="Sign-in, online play and the Store are unavailable.\n\n"
        "Games you own still work offline.",
        incident="psn-2011-04",
        status=broadcast.Status.INVESTIGATING,
        severity=broadcast.Severity.CRITICAL,
        author="Head of Network Operations",
        next_update_at=datetime.now(UTC) + timedelta(hours=1),
    )
    return await broadcaster.send(update)


async def main() -> int:
    webhook = Webhook(os.environ["BLOG_HOOK_URL"], secret=os.environ.get("BLOG_HOOK_SECRET"))
    # The per-user journal the command uses: a re-run sends only what is missing.
    journal = broadcast.SQLiteJournal()
    async with broadcast.Broadcaster([webhook], journal=journal) as broadcaster:
        report = await announce(broadcaster)
    await journal.aclose()  # given to the Broadcaster, so ours to close
    print(json.dumps(report.to_dict(), indent=2))
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
