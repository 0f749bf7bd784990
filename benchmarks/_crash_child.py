"""The process ``crash_resume.py`` kills and runs again: one update, one channel, a journal.

``python benchmarks/_crash_child.py '<spec json>'`` builds the one channel the spec
names (``sms``, ``email``, ``twitter`` or ``webhook``), pointed at the parent's stand-in
on 127.0.0.1, sends the update with the SQLite journal at ``spec["journal"]`` and prints
the Report as JSON on stdout. Logs go to stderr at INFO. The update has a fixed
``created_at``, so every run computes the same key, as a re-run of a killed job would.

Unlike ``tests/journal_child.py`` it sets the email pool size and the update's body
(a long body makes a thread on X).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from broadcast import Broadcaster, RetryPolicy, SQLiteJournal, Update
from broadcast.channels import Email, TwilioSMS, Twitter, Webhook

T0 = datetime(2011, 4, 20, 22, 0, tzinfo=UTC)
ACCOUNT_SID = "AC" + "0" * 30 + "11"
ONCE = RetryPolicy(attempts=1)
"""Per recipient: a kill, not a retry, is what this measures."""


def make_update(body: str = "We are investigating.") -> Update:
    """The update every run sends; the same ``body`` gives the same key."""
    return Update(
        title="PlayStation Network is down",
        body=body,
        incident="psn-2011-04",
        created_at=T0,
        next_update_at=T0 + timedelta(hours=1),
    )


def _lines(path: str) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return handle.read().split()


def make_channel(spec: dict[str, Any]) -> Any:
    """The channel the spec names."""
    kind, url = spec["channel"], spec.get("url", "")
    if kind == "twitter":
        token = "crash-child-bearer-token"  # noqa: S105 - the stand-in checks nothing
        return Twitter(bearer_token=token, base_url=url)
    if kind == "webhook":
        return Webhook(url)
    if kind == "sms":
        return TwilioSMS(
            ACCOUNT_SID,
            "crash-child-auth-token",
            from_="+15017122661",
            recipients=_lines(spec["recipients"]),
            base_url=url,
            concurrency=spec["workers"],
            rate=1_000_000,
            retry=ONCE,
        )
    if kind == "email":
        return Email(
            "127.0.0.1",
            spec["port"],
            sender="status@example.com",
            recipients=_lines(spec["recipients"]),
            tls="none",
            pool_size=spec["workers"],
            retry=ONCE,
        )
    raise ValueError(f"unknown channel {kind!r}")


async def main(spec: dict[str, Any]) -> None:
    """Send the update and print the Report."""
    journal = SQLiteJournal(spec["journal"])
    update = make_update(spec.get("body", "We are investigating."))
    async with Broadcaster([make_channel(spec)], journal=journal, timeout=60) as broadcaster:
        report = await broadcaster.send(update)
    await journal.aclose()
    print(json.dumps(report.to_dict()))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    asyncio.run(main(json.loads(sys.argv[1])))
