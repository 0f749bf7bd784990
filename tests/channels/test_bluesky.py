"""Bluesky: posts and threads, byte-offset link facets, sessions kept and refreshed."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import regex

from broadcast import Broadcaster, Outcome, RetryPolicy, SQLiteJournal, Update
from broadcast.channels import Bluesky
from broadcast.channels import _bluesky_session as sessions
from broadcast.testing import BlueskyFake, FakeClock

LONG_BODY = " ".join(
    f"Sentence {n} about the sign-in outage and what the network team is doing now."
    for n in range(40)
)


@pytest.fixture
def pds() -> Iterator[BlueskyFake]:
    with BlueskyFake() as fake:
        yield fake


def channel(fake: BlueskyFake, **options: object) -> Bluesky:
    options.setdefault("session_file", "off")
    return Bluesky(fake.handle, fake.password, service=fake.url, **options)  # type: ignore[arg-type]


def records(fake: BlueskyFake) -> list[dict[str, object]]:
    """Each createRecord body as the fake received it, decoded from the wire."""
    return [json.loads(r.body) for r in fake.requests if r.path.endswith("createRecord")]


async def test_a_link_after_japanese_and_emoji_has_utf8_byte_offsets(
    pds: BlueskyFake, make_update: Callable[..., Update], retry: RetryPolicy
) -> None:
    """byteStart/byteEnd slice the link out of the text's UTF-8 bytes exactly."""
    url = "https://status.example.com/psn/2011"
    update = make_update(title="PSN の障害 🎮🔥", body=f"詳細はこちら 👉 {url} まで。", url=None)
    async with Broadcaster([channel(pds)], retry=retry, journal=None) as broadcaster:
        report = await broadcaster.send(update)
    assert report.receipts[0].outcome is Outcome.DELIVERED
    (sent,) = records(pds)
    record = sent["record"]
    assert isinstance(record, dict)
    encoded = record["text"].encode("utf-8")
    (facet,) = record["facets"]
    index = facet["index"]
    assert encoded[index["byteStart"] : index["byteEnd"]].decode("utf-8") == url
    assert index["byteStart"] > record["text"].index(url)  # bytes, not characters
    assert facet["features"] == [{"$type": "app.bsky.richtext.facet#link", "uri": url}]


async def test_a_long_update_is_a_thread_within_300_graphemes_and_3000_bytes(
    pds: BlueskyFake, make_update: Callable[..., Update], retry: RetryPolicy
) -> None:
    """Latin text is cut by graphemes, families (25 bytes each) by bytes; parts reply in a chain."""
    families = "👨‍👩‍👧‍👦" * 200
    async with Broadcaster([channel(pds)], retry=retry, journal=None) as broadcaster:
        await broadcaster.send(make_update(body=LONG_BODY))
        await broadcaster.send(make_update(body=families, status="identified"))
    texts = [p.text for p in pds.posts]
    assert all(len(regex.findall(r"\X", t)) <= 300 for t in texts)
    assert all(len(t.encode()) <= 3000 for t in texts)
    assert any(len(t.encode()) > 2900 for t in texts if "👦" in t)  # the byte limit bit
    assert texts[0].endswith("1/" + texts[0].rsplit("/", 1)[1])
    assert pds.verified()


async def test_follow_ups_reply_with_root_and_parent_across_two_processes(
    pds: BlueskyFake, make_update: Callable[..., Update], tmp_path: Path, retry: RetryPolicy
) -> None:
    """A second Broadcaster on the journal file replies under the root to the last post."""
    path = tmp_path / "journal.db"
    journal = SQLiteJournal(path)
    async with Broadcaster([channel(pds)], retry=retry, journal=journal) as broadcaster:
        await broadcaster.send(make_update(body=LONG_BODY))
    await journal.aclose()
    opening = list(pds.posts)
    pds.update_number = 2
    follow_up = make_update(status="identified", body="We found the cause.")
    for _ in range(2):  # the second run finds it sent
        journal = SQLiteJournal(path)
        async with Broadcaster([channel(pds)], retry=retry, journal=journal) as broadcaster:
            report = await broadcaster.send(follow_up)
        await journal.aclose()
    assert report.receipts[0].outcome is Outcome.SKIPPED
    (second,) = [p for p in pds.posts if p.update == 2]
    assert second.record["reply"] == {
        "root": {"uri": opening[0].uri, "cid": opening[0].cid},
        "parent": {"uri": opening[-1].uri, "cid": opening[-1].cid},
    }
    assert pds.verified()
    assert b"eyJ" not in path.read_bytes()  # no session token in the journal


async def test_one_session_for_many_posts_and_an_expired_token_is_refreshed_once(
    pds: BlueskyFake, make_update: Callable[..., Update], retry: RetryPolicy
) -> None:
    """createSession once; ExpiredToken -> refreshSession -> the post again, once."""
    bluesky = channel(pds)
    async with Broadcaster([bluesky], retry=retry, journal=None) as broadcaster:
        await broadcaster.send(make_update())
        await broadcaster.send(make_update(body="Update two.", status="identified"))
        pds.expire_access()
        report = await broadcaster.send(make_update(body="Update three.", status="monitoring"))
    assert report.receipts[0].outcome is Outcome.DELIVERED
    assert (pds.sessions_created, pds.refreshed, len(pds.posts)) == (1, 1, 3)
    methods = [r.path.rpartition(".")[2] for r in pds.requests]
    assert methods[-3:] == ["createRecord", "refreshSession", "createRecord"]


async def test_the_session_is_kept_across_processes_in_a_0600_file(
    pds: BlueskyFake,
    make_update: Callable[..., Update],
    retry: RetryPolicy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A new process reads the session file (mode 0600, no password) instead of signing in."""
    kept = tmp_path / "state" / "bluesky-sessions.json"
    async with Broadcaster([channel(pds, session_file=kept)], retry=retry, journal=None) as b:
        await b.send(make_update())
    monkeypatch.setattr(sessions, "_MEMORY", {})  # as a new process starts
    async with Broadcaster([channel(pds, session_file=kept)], retry=retry, journal=None) as b:
        await b.send(make_update(body="Update two.", status="identified"))
    assert (pds.sessions_created, len(pds.posts)) == (1, 2)
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert pds.password not in kept.read_text()


def test_the_default_session_file_is_in_the_state_directory(tmp_path: Path) -> None:
    """Beside the per-user journal, in broadcast's state directory (XDG_STATE_HOME here)."""
    assert sessions.default_session_file() == tmp_path / "state" / "broadcast" / (
        "bluesky-sessions.json"
    )


async def test_a_retry_after_an_unanswered_post_finds_it_and_posts_once(
    pds: BlueskyFake, make_update: Callable[..., Update], retry: RetryPolicy
) -> None:
    """The answer is lost; the retry reads the record at its key and does not post again."""
    pds.drop_answers(1)
    async with Broadcaster([channel(pds)], retry=retry, journal=None) as broadcaster:
        report = await broadcaster.send(make_update())
    (receipt,) = report.receipts
    assert receipt.outcome is Outcome.DELIVERED
    assert len(pds.posts) == 1
    assert receipt.ids == (f"{pds.posts[0].uri}#{pds.posts[0].cid}",)
    assert [r.path.split("?")[0].rpartition(".")[2] for r in pds.requests][-2:] == [
        "createRecord",
        "getRecord",
    ]


async def test_a_429_waits_until_the_epoch_reset(
    pds: BlueskyFake, make_update: Callable[..., Update]
) -> None:
    """RateLimit-Reset is epoch seconds: the retry waits until then."""
    clock = FakeClock()
    retry = RetryPolicy(attempts=3, deadline=600, jitter=0, sleep=clock.sleep, clock=clock)
    pds.throttle(1, reset_in=120)
    async with Broadcaster([channel(pds)], retry=retry, journal=None) as broadcaster:
        report = await broadcaster.send(make_update())
    assert report.receipts[0].outcome is Outcome.DELIVERED
    assert len(clock.sleeps) == 1
    assert 115 <= clock.sleeps[0] <= 121


async def test_language_goes_in_langs(
    pds: BlueskyFake, make_update: Callable[..., Update], retry: RetryPolicy
) -> None:
    """The update's BCP 47 tag is the record's langs; none when it has none."""
    async with Broadcaster([channel(pds)], retry=retry, journal=None) as broadcaster:
        await broadcaster.send(make_update(language="ja"))
        await broadcaster.send(make_update(body="Fixed.", status="resolved"))
    first, second = (r["record"] for r in records(pds))
    assert isinstance(first, dict)
    assert isinstance(second, dict)
    assert first["langs"] == ["ja"]
    assert "langs" not in second


async def test_check_asks_get_session_and_posts_nothing(pds: BlueskyFake) -> None:
    """check() signs in (once) and names the account."""
    bluesky = channel(pds)
    try:
        said = await bluesky.check()
    finally:
        await bluesky.aclose()
    assert said == f"authenticated as @{pds.handle} (did:plc:ewvi7nxzyoun6zhxrhs64oiz)"
    assert pds.posts == []


async def test_a_wrong_app_password_fails_and_is_hidden(
    pds: BlueskyFake, make_update: Callable[..., Update], retry: RetryPolicy
) -> None:
    """AuthenticationRequired is an AuthError; the password is nowhere to be seen."""
    wrong = Bluesky(pds.handle, "wrong-app-password-42", service=pds.url, session_file="off")
    async with Broadcaster([wrong], retry=retry, journal=None) as broadcaster:
        report = await broadcaster.send(make_update())
    (receipt,) = report.receipts
    assert receipt.outcome is Outcome.FAILED
    assert "app password" in (receipt.reason or "")
    assert "wrong-app-password-42" not in repr(report) + str(receipt.reason) + repr(wrong)
    assert pds.sessions_created == 0
