"""A separate process that sends one update, for the journal's multi-process tests.

``python -m tests.journal_child '<spec json>'`` builds the channels the spec names,
pointed at the parent test's loopback servers, sends the update with the journal at
``spec["journal"]`` (an SQLite file or a PostgreSQL URL; ``spec["owner"]`` poses as
another machine's worker), and prints the Report as JSON on stdout. Logs go to stderr
at INFO, so the parent can follow along.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from broadcast import Broadcaster, RetryPolicy, Update
from broadcast.channels import Email, TwilioSMS, Twitter, Webhook
from broadcast.journal._setting import journal_from_setting

T0 = datetime(2011, 4, 20, 22, 0, tzinfo=UTC)
ACCOUNT_SID = "AC" + "0" * 30 + "11"


def channels(spec: dict[str, Any]) -> list[Any]:
    """The channels named in the spec."""
    made: list[Any] = []
    if url := spec.get("twitter"):
        made.append(Twitter(bearer_token="child-bearer-token", base_url=url))
    if url := spec.get("webhook"):
        made.append(Webhook(url))
    if sms := spec.get("sms"):
        with open(sms["numbers"], encoding="utf-8") as handle:
            numbers = handle.read().split()
        made.append(
            TwilioSMS(
                ACCOUNT_SID,
                "child-auth-token",
                from_="+15017122661",
                recipients=numbers,
                base_url=sms["url"],
                concurrency=sms["concurrency"],
                rate=1_000_000,
                retry=RetryPolicy(attempts=1),
            )
        )
    if email := spec.get("email"):
        made.append(
            Email(
                "127.0.0.1",
                email["port"],
                sender=email["sender"],
                recipients=email["recipients"],
                tls="none",
                pool_size=1,
                retry=RetryPolicy(attempts=1),
            )
        )
    return made


def update(spec: dict[str, Any]) -> Update:
    """The spec's update, at a fixed time so every process computes the same key."""
    fields: dict[str, Any] = {
        "title": "PlayStation Network is down",
        "body": "We are investigating.",
        "incident": "psn-2011-04",
        "created_at": T0,
        "next_update_at": T0 + timedelta(hours=1),
    }
    fields.update(spec.get("update", {}))
    if "minutes" in fields:
        fields["created_at"] = T0 + timedelta(minutes=fields.pop("minutes"))
        fields["next_update_at"] = fields["created_at"] + timedelta(hours=1)
    return Update(**fields)


async def main(spec: dict[str, Any]) -> None:
    """Send the update and print the Report."""
    journal = journal_from_setting(spec["journal"])  # a file, or a postgresql:// URL
    assert journal is not None
    if owner := spec.get("owner"):
        journal.owner = owner
    async with Broadcaster(channels(spec), journal=journal, timeout=60) as broadcaster:
        report = await broadcaster.send(update(spec))
    await journal.aclose()
    print(json.dumps(report.to_dict()))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    asyncio.run(main(json.loads(sys.argv[1])))
