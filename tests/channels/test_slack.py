from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from broadcast import Broadcaster, Outcome, Receipt, RetryPolicy, SQLiteJournal, Status, Update
from broadcast.channels._slack import (
    MAX_SECTION,
    Slack,
    SlackMessage,
    escape,
    render_message,
)
from broadcast.testing import FakeClock
from broadcast.testing._providers.slack import SlackFake


@pytest.fixture
def slack() -> Iterator[SlackFake]:
    with SlackFake() as fake:
        yield fake


@pytest.fixture
def fast(clock: FakeClock) -> RetryPolicy:
    return RetryPolicy(attempts=3, deadline=3600, sleep=clock.sleep, clock=clock)


async def _send(
    channel: Slack, update: Update, retry: RetryPolicy, journal: object = None
) -> Receipt:
    async with Broadcaster([channel], retry=retry, journal=journal) as broadcaster:  # type: ignore[arg-type]
        return (await broadcaster.send(update))[channel.name]


def test_message_carries_every_fact(make_update: Callable[..., Update]) -> None:
    """Status, severity, title, body, next update, author and link are in text and blocks."""
    message = render_message(make_update(severity="critical"))
    text = message.text()
    blocks = str(message.blocks())
    for fact in (
        "[Investigating | Critical] PlayStation Network is down",
        "Sign-in and the Store are affected.",
        "Next update by 23:00 UTC.",
        "— Head of Network Operations",
        "Details: https://status.example.com/psn",
    ):
        assert fact in text
        assert fact in blocks


def test_user_text_cannot_ping_or_link(make_update: Callable[..., Update]) -> None:
    """<!channel>, <@U1> and & in user text arrive as entities, in text and blocks alike."""
    message = render_message(make_update(title="Down <!channel>", body="a & b <@U123|x>"))
    assert "<!channel>" not in message.text()
    assert "&lt;!channel&gt;" in message.text()
    assert "a &amp; b &lt;@U123|x&gt;" in str(message.blocks())
    assert escape("<&>") == "&lt;&amp;&gt;"


def test_long_update_shortened_at_a_word_with_the_link(make_update: Callable[..., Update]) -> None:
    """A body past the limit is cut after a whole word; the closing facts and link stay."""
    body = " ".join(f"word{i}" for i in range(1500))
    message = render_message(make_update(body=body), limit=4000)
    text = message.text(12)
    assert len(text) <= 4000
    assert text.endswith("Details: https://status.example.com/psn")
    cut = message.body[-1]
    assert cut.endswith("…")
    assert cut[:-1].split(" ")[-1] in body.split(" ")  # a whole word before the ellipsis


def test_sections_stay_within_3000_characters(make_update: Callable[..., Update]) -> None:
    """A long paragraph is split into sections of at most 3,000 characters, at words."""
    body = " ".join(f"w{i}" for i in range(3000))
    blocks = render_message(make_update(body=body), limit=40_000).blocks()
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert len(sections) > 3
    assert all(len(s) <= MAX_SECTION for s in sections)
    assert len(blocks) <= 50


def test_preview_shows_text_and_blocks(make_update: Callable[..., Update]) -> None:
    """The preview is the first update's fallback text and the count of blocks."""
    preview = Slack("xoxb-1-2-3", "C1").render(make_update()).preview()
    assert preview.startswith("*[Investigating] PlayStation Network is down*")
    assert "Block Kit blocks" in preview


async def test_follow_ups_reply_in_the_incident_thread(
    slack: SlackFake, make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """The first update starts a thread; a same-status follow-up replies quietly; a status
    change replies with reply_broadcast so the channel sees it."""
    channel = slack.channel()
    first = await _send(channel, make_update(), fast)
    second = await _send(channel, make_update(body="Still looking."), fast)
    third = await _send(channel, make_update(status="identified"), fast)
    assert [r.outcome for r in (first, second, third)] == [Outcome.DELIVERED] * 3
    root, reply, broadcast = slack.posts
    assert root.thread_ts is None
    assert (reply.thread_ts, reply.reply_broadcast) == (root.ts, False)
    assert (broadcast.thread_ts, broadcast.reply_broadcast) == (root.ts, True)
    assert first.ids == (root.ts,)
    assert "Update 3 on this incident." in broadcast.text


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        ("channel_not_found", True),
        ("not_in_channel", True),
        ("invalid_auth", True),
        ("msg_too_long", True),
        ("is_archived", True),
        ("ratelimited", False),
    ],
)
async def test_ok_false_errors_are_classified(  # noqa: PLR0917 - fixtures and parameters
    slack: SlackFake,
    update: Update,
    fast: RetryPolicy,
    clock: FakeClock,
    error: str,
    permanent: bool,
) -> None:
    """HTTP 200 ok:false is a failure; ratelimited (429 + Retry-After) is retried after its
    wait, the rest are permanent and sent once."""
    slack.fail(error)
    receipt = await _send(slack.channel(), update, fast)
    posts = [r for r in slack.requests if r.path.endswith("chat.postMessage")]
    if permanent:
        assert receipt.outcome is Outcome.FAILED
        assert receipt.permanent
        assert error in (receipt.reason or "")
        assert len(posts) == 1
    else:
        assert receipt.outcome is Outcome.DELIVERED
        assert len(posts) == 2
        assert 1.0 in clock.sleeps  # Retry-After: 1


async def test_unanswered_post_is_found_not_posted_twice(
    slack: SlackFake, make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """A post whose answer was lost is looked up (conversations.history, then .replies in
    a thread) by its metadata, and recorded rather than posted again."""
    slack.lose_answers(1)
    first = await _send(slack.channel(), make_update(), fast)
    assert first.outcome is Outcome.DELIVERED
    assert len(slack.posts) == 1
    assert first.ids == (slack.posts[0].ts,)
    channel = slack.channel()
    await _send(channel, make_update(), fast)  # a new process would know the thread via journal
    slack.lose_answers(1)
    reply = await _send(channel, make_update(status="monitoring"), fast)
    assert reply.outcome is Outcome.DELIVERED
    methods = [r.path.split("?")[0].rsplit("/", 1)[-1] for r in slack.requests]
    assert "conversations.history" in methods
    assert "conversations.replies" in methods
    assert len([p for p in slack.posts if "monitoring" in p.text.lower()]) == 1


async def test_unanswered_post_that_never_arrived_is_posted_again(
    slack: SlackFake, update: Update, fast: RetryPolicy
) -> None:
    """If the lookup finds nothing, the update is posted (once)."""
    slack.fail("internal_error")  # Slack: it may have been posted (here: it was not)
    receipt = await _send(slack.channel(), update, fast)
    assert receipt.outcome is Outcome.DELIVERED
    assert len(slack.posts) == 1


async def test_check_is_auth_test(slack: SlackFake) -> None:
    """check() calls auth.test and posts nothing; a bad token is an AuthError."""
    channel = slack.channel()
    assert "workspace 'Fake'" in await channel.check()
    await channel.aclose()
    assert not slack.posts
    from broadcast import AuthError  # noqa: PLC0415

    wrong = Slack("xoxb-wrong-token-0", "C1", base_url=slack.url)
    with pytest.raises(AuthError, match="invalid_auth"):
        await wrong.check()
    await wrong.aclose()


async def test_webhook_form_posts_anew_with_the_incident(
    slack: SlackFake, make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """By incoming webhook nothing threads: each update is posted anew, titled with the
    incident and numbered, and check() probes with an empty message that is not posted."""
    channel = slack.webhook_channel()
    assert "live" in await channel.check()
    await channel.aclose()
    await _send(channel, make_update(), fast)
    await _send(channel, make_update(status="identified"), fast)
    first, second = slack.posts
    assert all(p.via_webhook and p.thread_ts is None for p in (first, second))
    assert "(incident psn-2011-04)" in first.text
    assert "Update 2 on this incident." in second.text
    assert "webhook" in repr(channel)
    assert "fakeHookSecret" not in repr(channel)


async def test_webhook_url_masked_in_httpx_log(
    slack: SlackFake, update: Update, fast: RetryPolicy, caplog: pytest.LogCaptureFixture
) -> None:
    """httpx's INFO line carries the webhook URL: its secret path is masked."""
    caplog.set_level(logging.INFO, logger="httpx")
    channel = slack.webhook_channel()
    await _send(channel, update, fast)
    from broadcast.testing._providers.slack import HOOK_PATH  # noqa: PLC0415

    assert HOOK_PATH not in caplog.text
    assert "fakeHookSecret" not in caplog.text


def test_one_form_or_the_other() -> None:
    """A token without a channel, both forms, or neither, are refused naming the fix."""
    with pytest.raises(ValueError, match="channel"):
        Slack("xoxb-1-2-3")
    with pytest.raises(ValueError, match="either"):
        Slack("xoxb-1-2-3", "C1", webhook_url="https://hooks.slack.com/services/x")
    with pytest.raises(ValueError, match="either"):
        Slack()


def test_rendered_is_a_slack_message(update: Update) -> None:
    """render returns a SlackMessage keyed by the update."""
    message = Slack("xoxb-1-2-3", "C1").render(update)
    assert isinstance(message, SlackMessage)
    assert message.update_key == update.key


_RUN = """
import asyncio, sys
from broadcast import Broadcaster, RetryPolicy, SQLiteJournal, Update
from broadcast.channels._slack import Slack

async def main():
    update = Update(title="PSN is down", incident="psn-2011-04", status=sys.argv[3],
                    body=sys.argv[4])
    channel = Slack("xoxb-fake-0000-slack-token", "C0FAKE0001", base_url=sys.argv[1])
    async with Broadcaster([channel], journal=SQLiteJournal(sys.argv[2])) as b:
        print((await b.send(update))["slack"].outcome.value)

asyncio.run(main())
"""


def test_follow_up_from_another_process_joins_the_thread(slack: SlackFake, tmp_path: Path) -> None:
    """Two processes sharing an SQLite journal: the second's follow-up replies in the
    thread of the first's message."""
    journal = tmp_path / "journal.db"
    for status, body in (("investigating", "Looking."), ("identified", "Found it.")):
        done = subprocess.run(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", _RUN, slack.url, str(journal), status, body],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert done.stdout.strip() == "delivered", done.stderr
    root, reply = slack.posts
    assert reply.thread_ts == root.ts
    assert reply.reply_broadcast
    SQLiteJournal(journal)  # still a readable journal
    assert Status.IDENTIFIED.value in reply.text.lower()
