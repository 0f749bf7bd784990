from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from broadcast import AuthError, Broadcaster, Outcome, Receipt, RetryPolicy, Update
from broadcast.channels._discord import MAX_CONTENT, DiscordWebhook, render_message
from broadcast.testing import FakeClock
from broadcast.testing._providers.discord import TOKEN, DiscordFake


@pytest.fixture
def discord() -> Iterator[DiscordFake]:
    with DiscordFake() as fake:
        yield fake


@pytest.fixture
def fast(clock: FakeClock) -> RetryPolicy:
    return RetryPolicy(attempts=3, deadline=3600, sleep=clock.sleep, clock=clock)


async def _send(channel: DiscordWebhook, update: Update, retry: RetryPolicy) -> Receipt:
    async with Broadcaster([channel], retry=retry, journal=None) as broadcaster:
        return (await broadcaster.send(update))[channel.name]


def test_content_carries_every_fact(make_update: Callable[..., Update]) -> None:
    """Status, severity, title, body, next update, author and link are in the content."""
    content = render_message(make_update(severity="critical")).content()
    for fact in (
        "**[Investigating | Critical] PlayStation Network is down**",
        "Sign-in and the Store are affected.",
        "Next update by 23:00 UTC.",
        "— Head of Network Operations",
        "Details: <https://status.example.com/psn>",
    ):
        assert fact in content


def test_long_update_fits_2000_at_a_word_with_the_link(
    make_update: Callable[..., Update],
) -> None:
    """Past 2,000 code points the body is cut after a whole word; the facts and link stay."""
    body = " ".join(f"mot{i}" for i in range(1000))
    message = render_message(make_update(body=body))
    content = message.content(99)
    assert len(content) <= MAX_CONTENT
    assert content.endswith("Details: <https://status.example.com/psn>")
    assert message.body[-1].endswith("…")
    assert message.body[-1][:-1].split(" ")[-1] in body.split(" ")


async def test_forum_follow_ups_go_into_the_incident_thread(
    discord: DiscordFake, make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """The first update creates a forum post with thread_name; follow-ups carry its
    thread_id, ?wait=true, and allowed_mentions parse []."""
    channel = discord.channel()
    first = await _send(channel, make_update(title="PSN down @everyone"), fast)
    second = await _send(channel, make_update(status="identified"), fast)
    assert (first.outcome, second.outcome) == (Outcome.DELIVERED, Outcome.DELIVERED)
    root, follow = discord.posts
    assert root.thread_name == "PSN down @everyone"
    assert follow.channel_id == root.channel_id
    assert follow.thread_name is None
    assert all(p.allowed_mentions == {"parse": []} for p in discord.posts)
    posts = [r for r in discord.requests if r.method == "POST"]
    assert all("wait=true" in r.path for r in posts)
    assert f"thread_id={root.channel_id}" in posts[1].path
    assert first.ids == (root.message_id,)


async def test_text_channel_posts_anew_numbered(
    make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """In a text channel nothing threads: each update is its own numbered message."""
    with DiscordFake(forum=False) as discord:
        channel = discord.channel()
        await _send(channel, make_update(), fast)
        await _send(channel, make_update(status="identified"), fast)
    assert [p.thread_name for p in discord.posts] == [None, None]
    assert "Update 2 on this incident." in discord.posts[1].content


async def test_429_waits_as_long_as_discord_says(
    discord: DiscordFake, update: Update, fast: RetryPolicy, clock: FakeClock
) -> None:
    """A 429 is retried after the longest of retry_after, X-RateLimit-Reset-After and
    Retry-After."""
    discord.throttle(retry_after=1.5)
    receipt = await _send(discord.channel(), update, fast)
    assert receipt.outcome is Outcome.DELIVERED
    assert 2.0 in clock.sleeps  # Retry-After: 2 is the longest of 1.5, 1.5, 2


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_refusal_stops_the_channel_at_once(
    discord: DiscordFake, make_update: Callable[..., Update], fast: RetryPolicy, status: int
) -> None:
    """A 401/403 is permanent and the channel sends nothing more in this process."""
    discord.refuse(status)
    channel = discord.channel()
    first = await _send(channel, make_update(), fast)
    second = await _send(channel, make_update(status="identified"), fast)
    assert first.outcome is Outcome.FAILED
    assert first.permanent
    assert second.outcome is Outcome.FAILED
    assert "not sent" in (second.reason or "")
    assert len(discord.requests) == 1


async def test_unanswered_post_is_not_posted_twice(
    discord: DiscordFake, update: Update, fast: RetryPolicy
) -> None:
    """A post whose answer was lost is not re-posted (no lookup without its id): one
    message, and the Receipt says the outcome is unknown."""
    discord.lose_answers(1)
    receipt = await _send(discord.channel(), update, fast)
    assert len(discord.posts) == 1
    assert len([r for r in discord.requests if r.method == "POST"]) == 1
    assert receipt.outcome is Outcome.FAILED
    assert receipt.outcome_unknown
    assert "cannot look a message up" in (receipt.reason or "")


async def test_check_reads_the_webhook(discord: DiscordFake) -> None:
    """check() is a GET of the webhook (its metadata); a deleted webhook says so."""
    channel = discord.channel()
    assert "webhook 'Status'" in await channel.check()
    assert not discord.posts
    discord.refuse(401)
    with pytest.raises(AuthError):
        await channel.check()
    await channel.aclose()


async def test_webhook_url_masked_in_logs_and_repr(
    discord: DiscordFake, update: Update, fast: RetryPolicy, caplog: pytest.LogCaptureFixture
) -> None:
    """The webhook's token is in its URL: masked in httpx's INFO line and not in repr."""
    caplog.set_level(logging.INFO, logger="httpx")
    channel = discord.channel()
    await _send(channel, update, fast)
    assert caplog.text
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(channel)


def test_bad_webhook_url_is_refused() -> None:
    """A URL that is not a Discord webhook is a ValueError naming the shape."""
    with pytest.raises(ValueError, match="webhooks/ID/TOKEN"):
        DiscordWebhook("https://discord.com/channels/1/2")


_RUN = """
import asyncio, sys
from broadcast import Broadcaster, SQLiteJournal, Update
from broadcast.channels._discord import DiscordWebhook

async def main():
    update = Update(title="PSN is down", incident="psn-2011-04", status=sys.argv[3])
    channel = DiscordWebhook(sys.argv[1], channel_type="forum")
    async with Broadcaster([channel], journal=SQLiteJournal(sys.argv[2])) as b:
        print((await b.send(update))["discord"].outcome.value)

asyncio.run(main())
"""


def test_follow_up_from_another_process_joins_the_thread(
    discord: DiscordFake, tmp_path: Path
) -> None:
    """Two processes sharing an SQLite journal: the second posts into the first's thread."""
    journal = tmp_path / "journal.db"
    for status in ("investigating", "identified"):
        done = subprocess.run(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", _RUN, discord.webhook_url, str(journal), status],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert done.stdout.strip() == "delivered", done.stderr
    root, follow = discord.posts
    assert root.thread_name is not None
    assert follow.channel_id == root.channel_id
    assert follow.thread_name is None
