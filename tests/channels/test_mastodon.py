"""Mastodon: statuses and self-threads, Idempotency-Key, per-instance limits, rate limits."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from broadcast import Broadcaster, Outcome, RetryPolicy, SQLiteJournal, Update
from broadcast.channels import Mastodon
from broadcast.channels._mastodon import idempotency_key
from broadcast.testing import FakeClock, MastodonFake
from broadcast.text._social import mastodon_length

LONG_BODY = " ".join(
    f"Sentence {n} about the sign-in outage and what the network team is doing now."
    for n in range(40)
)


@pytest.fixture
def instance() -> Iterator[MastodonFake]:
    with MastodonFake() as fake:
        yield fake


def channel(fake: MastodonFake, **options: object) -> Mastodon:
    return Mastodon(fake.url, fake.token, **options)  # type: ignore[arg-type]


def sent(fake: MastodonFake) -> list[dict[str, object]]:
    return [json.loads(r.body) for r in fake.requests if r.method == "POST"]


async def test_a_long_update_is_a_numbered_thread_within_the_instance_limit(
    instance: MastodonFake, make_update: Callable[..., Update], retry: RetryPolicy
) -> None:
    """Each status fits 500 as Mastodon counts; each replies to the one before."""
    async with Broadcaster([channel(instance)], retry=retry, journal=None) as broadcaster:
        report = await broadcaster.send(make_update(body=LONG_BODY))
    (receipt,) = report.receipts
    assert receipt.outcome is Outcome.DELIVERED
    texts = [s.text for s in instance.statuses]
    assert len(texts) > 2
    assert all(mastodon_length(t) <= 500 for t in texts)
    assert texts[0].endswith(f" 1/{len(texts)}")
    assert [s.reply_to for s in instance.statuses] == [
        None,
        *(s.status_id for s in instance.statuses[:-1]),
    ]
    assert list(receipt.ids) == [s.status_id for s in instance.statuses]


async def test_the_instance_limit_is_read_once_and_used(
    make_update: Callable[..., Update], retry: RetryPolicy
) -> None:
    """An instance allowing 5,000 gets the long update in one status; its limits are read once."""
    with MastodonFake(max_characters=5000) as fake:
        mastodon = channel(fake)
        async with Broadcaster([mastodon], retry=retry, journal=None) as broadcaster:
            await broadcaster.send(make_update(body=LONG_BODY))
            await broadcaster.send(make_update(body="Still down.", status="identified"))
        assert [len(s.text) > 500 for s in fake.statuses] == [True, False]
        assert fake.instance_reads == 1  # cached per instance
        assert "5000" in mastodon.render(make_update(body=LONG_BODY)).preview()


async def test_the_configured_fallback_is_used_when_the_instance_cannot_be_read(
    make_update: Callable[..., Update], retry: RetryPolicy
) -> None:
    """With /api/v2/instance failing, statuses are cut to max_characters."""
    with MastodonFake(max_characters=5000) as fake:
        fake.instance_fails = True
        async with Broadcaster(
            [channel(fake, max_characters=300)], retry=retry, journal=None
        ) as broadcaster:
            report = await broadcaster.send(make_update(body=LONG_BODY))
    assert report.receipts[0].outcome is Outcome.DELIVERED
    assert len(fake.statuses) > 3
    assert all(mastodon_length(s.text) <= 300 for s in fake.statuses)


async def test_a_retry_after_an_unanswered_post_posts_once(
    instance: MastodonFake, make_update: Callable[..., Update], retry: RetryPolicy, tmp_path: Path
) -> None:
    """The fake makes the status and drops the answer; the retry's same key gets it back."""
    instance.drop_answers(1)
    update = make_update()
    journal = SQLiteJournal(tmp_path / "journal.db")
    async with Broadcaster([channel(instance)], retry=retry, journal=journal) as broadcaster:
        report = await broadcaster.send(update)
    await journal.aclose()
    (receipt,) = report.receipts
    posts = [r for r in instance.requests if r.method == "POST"]
    assert len(posts) == 2  # the lost answer, then the retry
    assert {r.headers["idempotency-key"] for r in posts} == {idempotency_key(update.key, 0)}
    assert len(instance.statuses) == 1
    assert receipt.outcome is Outcome.DELIVERED
    assert receipt.ids == (instance.statuses[0].status_id,)


async def test_follow_ups_reply_to_the_last_status_across_two_processes(
    instance: MastodonFake, make_update: Callable[..., Update], tmp_path: Path, retry: RetryPolicy
) -> None:
    """A second Broadcaster on the journal file replies to the last status; a re-run skips."""
    path = tmp_path / "journal.db"
    first_journal = SQLiteJournal(path)
    async with Broadcaster([channel(instance)], retry=retry, journal=first_journal) as broadcaster:
        await broadcaster.send(make_update(body=LONG_BODY))
    await first_journal.aclose()
    opening = list(instance.statuses)
    instance.update_number = 2
    follow_up = make_update(status="identified", body="We found the cause.")
    for _ in range(2):  # the second run finds it sent
        journal = SQLiteJournal(path)
        async with Broadcaster([channel(instance)], retry=retry, journal=journal) as broadcaster:
            report = await broadcaster.send(follow_up)
        await journal.aclose()
    assert report.receipts[0].outcome is Outcome.SKIPPED
    (second,) = [s for s in instance.statuses if s.update == 2]
    assert len(opening) > 1
    assert second.reply_to == opening[-1].status_id
    assert instance.verified()


async def test_visibility_and_language_are_sent(
    instance: MastodonFake, make_update: Callable[..., Update], retry: RetryPolicy
) -> None:
    """visibility as configured; the update's language as its ISO 639 code; no spoiler."""
    async with Broadcaster(
        [channel(instance, visibility="unlisted")], retry=retry, journal=None
    ) as broadcaster:
        await broadcaster.send(make_update(language="pt-br"))
        await broadcaster.send(make_update(body="Fixed.", status="resolved"))
    first, second = sent(instance)
    assert (first["visibility"], first["language"]) == ("unlisted", "pt")
    assert "language" not in second
    assert "spoiler_text" not in first


def test_a_bad_visibility_is_refused_naming_the_field() -> None:
    """Only Mastodon's four visibilities are taken."""
    with pytest.raises(ValueError, match="visibility must be one of public"):
        Mastodon("https://mastodon.example", "token", visibility="everyone")


async def test_a_429_waits_until_the_iso_8601_reset(
    instance: MastodonFake, make_update: Callable[..., Update]
) -> None:
    """X-RateLimit-Reset is a time: the retry waits until then, then posts."""
    clock = FakeClock()
    retry = RetryPolicy(attempts=3, deadline=600, jitter=0, sleep=clock.sleep, clock=clock)
    instance.throttle(1, reset_in=90)
    async with Broadcaster([channel(instance)], retry=retry, journal=None) as broadcaster:
        report = await broadcaster.send(make_update())
    assert report.receipts[0].outcome is Outcome.DELIVERED
    assert len(clock.sleeps) == 1
    assert 85 <= clock.sleeps[0] <= 91


async def test_check_verifies_the_token_and_posts_nothing(instance: MastodonFake) -> None:
    """check() calls verify_credentials and reads the instance's limit."""
    mastodon = channel(instance)
    try:
        said = await mastodon.check()
    finally:
        await mastodon.aclose()
    assert said == "authenticated as @status; statuses up to 500 characters"
    assert instance.statuses == []


async def test_a_rejected_token_says_which_scope_and_hides_it(
    instance: MastodonFake, make_update: Callable[..., Update], retry: RetryPolicy
) -> None:
    """401 is an AuthError naming write:statuses; the token is nowhere in the Report."""
    wrong = Mastodon(instance.url, "wrong-token-value-0123")
    async with Broadcaster([wrong], retry=retry, journal=None) as broadcaster:
        report = await broadcaster.send(make_update())
    (receipt,) = report.receipts
    assert receipt.outcome is Outcome.FAILED
    assert "write:statuses" in (receipt.reason or "")
    assert "wrong-token-value-0123" not in repr(report) + str(receipt.reason) + repr(wrong)


async def test_a_retry_after_part_of_a_thread_keeps_the_instance_cut(
    make_update: Callable[..., Update], retry: RetryPolicy
) -> None:
    """Rendered before the limits were read, retried after part 2 failed: still one thread."""
    with MastodonFake(max_characters=1000) as fake:
        mastodon = channel(fake)
        rendered = mastodon.render(make_update(body=LONG_BODY))  # the 500 fallback's cut
        fake.fail_attempt(2)
        async with Broadcaster([mastodon], retry=retry, journal=None) as broadcaster:
            report = await broadcaster.send(make_update(body=LONG_BODY))
    assert report.receipts[0].outcome is Outcome.DELIVERED
    texts = [s.text for s in fake.statuses]
    assert len(texts) < len(rendered.posts)  # cut to 1,000, not to the fallback's 500
    assert texts[0].endswith(f" 1/{len(texts)}")
    assert all(t.endswith(f"/{len(texts)}") for t in texts)
