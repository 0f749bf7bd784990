"""Code as users write it; `make typecheck` runs `mypy --strict` on it (never executed).

Each function is one way the docs say to use broadcast. If a signature stops accepting
one of them, `mypy --strict tests/typing` fails.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import broadcast
from broadcast.channels import Email, Webhook


async def readme_backend_example() -> None:
    """The README's async example: statuses and severities as the strings the docs use."""
    update = broadcast.Update(
        title="PlayStation Network is down; we are investigating",
        body="Sign-in, online play and the Store are unavailable.\n\nGames you own still work.",
        incident="psn-2011-04",
        status="investigating",
        severity="critical",
        author="Head of Network Operations",
        url="https://status.example.com/incidents/psn-2011-04",
        next_update_at=datetime.now(UTC) + timedelta(hours=1),
    )
    webhook = Webhook(os.environ["BLOG_HOOK_URL"], secret=os.environ["BLOG_HOOK_SECRET"])
    async with broadcast.Broadcaster([webhook]) as b:
        report = await b.send(update)
    print(report)
    report.raise_for_failures()


def enums_still_work() -> broadcast.Update:
    """The enums are as good as their strings; the attribute is always the enum."""
    update = broadcast.Update(
        title="Resolved",
        incident="psn-2011-04",
        status=broadcast.Status.RESOLVED,
        severity=broadcast.Severity.MINOR,
    )
    status: broadcast.Status = update.status
    print(status.value)
    return update


def title_only_with_a_delay() -> broadcast.Update:
    """A title alone is an update; the promise may be a delay or the CLI's words."""
    broadcast.Update(title="We are investigating.", incident="x", next_update_at="1h")
    return broadcast.Update(
        title="We are investigating.", incident="x", next_update_at=timedelta(minutes=30)
    )


def ops_script() -> None:
    """The README's sync example, with every keyword spelt as `send` declares it."""
    report = broadcast.send(
        "Sign-in is failing for some users. We are investigating.",
        title="Sign-in problems",
        incident="signin-2026-11-21",
        status="identified",
        severity="major",
        author="On-call lead",
        url="https://status.example.com",
        next_update_at="30m",
        dry_run=True,
    )
    report.raise_for_failures()


def follow_up(first: broadcast.Update) -> broadcast.Update:
    """A follow-up derived from an earlier update."""
    return broadcast.make_update(first, status="resolved", next_update_at=None)


def channels_unparameterised(url: str) -> list[broadcast.Channel]:
    """`list[Channel]`, as a user spells it, holds channels of every kind."""
    channels: list[broadcast.Channel] = [
        Webhook(url),
        Email(host="127.0.0.1", sender="status@example.com", recipients=["a@example.com"]),
    ]
    broadcast.Broadcaster(channels)
    return channels


def previews(channels: list[broadcast.Channel]) -> list[str]:
    """Previews of a title-only update."""
    return [p.text for p in broadcast.preview("We are investigating.", channels=channels)]


def a_list_of_one_kind(url: str) -> None:
    """A `list[Webhook]` is accepted wherever channels are (the parameters are sequences)."""
    hooks = [Webhook(url), Webhook(url + "/other")]
    broadcast.Broadcaster(hooks)
    broadcast.send("Down", channels=hooks, dry_run=True)
    broadcast.preview("Down", channels=hooks)
    broadcast.check(channels=hooks)
