from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest
import respx
from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth1.rfc5849 import signature as oauth_signature
from pydantic import SecretStr

from broadcast import Broadcaster, Outcome, RetryPolicy, Update
from broadcast.channels import Twitter
from broadcast.channels._oauth1 import OAuth1
from broadcast.channels._twitter import render_posts
from broadcast.journal import MemoryThreads
from broadcast.testing import FakeClock
from broadcast.text import weighted_length

from ..js_oracle import JsOracle

API = "https://api.x.com/2/tweets"
CREDS = {
    "consumer_key": "xvz1evFS4wEEPTGEFPHBog",
    "consumer_secret": "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
    "access_token": "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
    "access_token_secret": "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
}
LONG_BODY = "\n\n".join(
    f"Paragraph {i}: sign-in, online play and the Store are unavailable while we work. "
    "We will share what we learn as soon as we can confirm it."
    for i in range(1, 6)
)


def created(post_id: str, text: str = "") -> httpx.Response:
    """X's documented 201 body for POST /2/tweets."""
    return httpx.Response(201, json={"data": {"id": post_id, "text": text}})


def problem(status: int, title: str, detail: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={"title": title, "detail": detail, "type": "about:blank", "status": status},
        headers={"content-type": "application/problem+json"},
    )


class FakeX:
    """respx side effect: numbered ids, records request bodies, scripted failures."""

    def __init__(self, *failures: httpx.Response | None) -> None:
        self.failures = list(failures)
        self.bodies: list[dict[str, object]] = []
        self.requests: list[httpx.Request] = []
        self.next_id = 1000

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.failures and (failure := self.failures.pop(0)) is not None:
            return failure
        body = json.loads(request.content)
        self.bodies.append(body)
        self.next_id += 1
        return created(str(self.next_id), str(body["text"]))

    def replies(self) -> list[str | None]:
        return [
            (b.get("reply") or {}).get("in_reply_to_tweet_id")  # type: ignore[union-attr]
            for b in self.bodies
        ]


@pytest.fixture
def x() -> Iterator[FakeX]:
    fake = FakeX()
    with respx.mock(assert_all_called=False, using="httpx") as router:
        router.post(API).mock(side_effect=fake)
        yield fake


@pytest.fixture
def fast(clock: FakeClock) -> RetryPolicy:
    return RetryPolicy(attempts=4, deadline=3600, sleep=clock.sleep, clock=clock)


async def _send(channel: Twitter, update: Update, retry: RetryPolicy) -> object:
    async with Broadcaster([channel], retry=retry, journal=None) as broadcaster:
        return (await broadcaster.send(update))["twitter"]


# --- rendering -------------------------------------------------------------------------


def test_short_update_is_one_post_with_tag_title_link_and_author(
    make_update: Callable[..., Update],
) -> None:
    """A short update is one post: status tag and title first, then link, body, promise, author."""
    [post] = render_posts(make_update())
    assert post.startswith(
        "[Investigating] PlayStation Network is down\nhttps://status.example.com/psn"
    )
    assert "Next update by 23:00 UTC." in post
    assert post.endswith("— Head of Network Operations")
    assert weighted_length(post) <= 280


def test_signature_is_dropped_when_only_it_does_not_fit(
    make_update: Callable[..., Update],
) -> None:
    """When the signature alone would force a thread, it is left out instead."""
    base = make_update(author=None, body="x")
    room = 280 - weighted_length(render_posts(base)[0]) - len("\n\n")
    update = make_update(body="x" + " y" * (room // 2), author="Head of Network Operations")
    [post] = render_posts(update)
    assert "Head of Network Operations" not in post


def test_long_update_is_a_numbered_thread_with_link_first(
    make_update: Callable[..., Update],
) -> None:
    """A long update becomes numbered parts, each within 280, the link in the first."""
    posts = render_posts(make_update(body=LONG_BODY))
    assert len(posts) > 1
    assert all(0 < weighted_length(p) <= 280 for p in posts)
    assert "https://status.example.com/psn" in posts[0]
    assert [p.rsplit(" ", 1)[-1] for p in posts] == [
        f"{i}/{len(posts)}" for i in range(1, len(posts) + 1)
    ]
    assert "Head of Network Operations" in posts[-1]


def test_cjk_and_emoji_stay_within_weighted_limit(make_update: Callable[..., Update]) -> None:
    """CJK counts double and emoji sequences once; every part still fits."""
    body = ("ネットワークに障害が発生しています。" * 20) + " 👨‍👩‍👧‍👦🙋🏽" * 30
    posts = render_posts(make_update(title="PSN の障害", body=body))
    assert all(0 < weighted_length(p) <= 280 for p in posts)


def test_preview_shows_parts_and_lengths(make_update: Callable[..., Update]) -> None:
    """The preview lists each part with its weighted length."""
    channel = Twitter(bearer_token="t")
    preview = channel.render(make_update(body=LONG_BODY)).preview()
    assert preview.startswith("--- post 1/")
    assert "/280) ---" in preview


HUGE_BODY = "\n\n".join(
    f"{i}: " + "Sign-in and the Store are unavailable. " * 12 for i in range(40)
)


def test_title_alone_is_one_post_saying_it_once(make_update: Callable[..., Update]) -> None:
    """A title-only update is one post: tag, title, link, promise, signature; no gap."""
    [post] = render_posts(make_update(title="We are investigating.", body=""))
    assert post == (
        "[Investigating] We are investigating.\nhttps://status.example.com/psn\n\n"
        "Next update by 23:00 UTC.\n\n— Head of Network Operations"
    )


def test_thread_longer_than_max_posts_is_cut_and_points_to_the_link(
    make_update: Callable[..., Update],
) -> None:
    """A 19 KB body is cut to max_posts; the last post sends readers to the link."""
    update = make_update(body=HUGE_BODY)
    assert len(render_posts(update, max_posts=None)) > 40
    posts = render_posts(update)
    assert len(posts) == 10
    assert all(0 < weighted_length(p) <= 280 for p in posts)
    assert [p.rsplit(" ", 1)[-1] for p in posts] == [f"{i}/10" for i in range(1, 11)]
    assert "… Full update: https://status.example.com/psn" in posts[-1]
    assert "Next update by 23:00 UTC." in posts[-1]
    assert posts[0].startswith("[Investigating] PlayStation Network is down")


def test_thread_too_long_without_a_link_fails_to_render(
    make_update: Callable[..., Update],
) -> None:
    """With no link to point to, too long a thread is a render failure; nothing is posted."""
    update = make_update(body=HUGE_BODY, url=None)
    with pytest.raises(
        ValueError, match=r"body: too long for X: it needs \d+ posts, and max_posts is 10"
    ):
        render_posts(update)


def test_thread_too_long_with_a_link_too_long_to_point_to_fails_to_render(
    make_update: Callable[..., Update],
) -> None:
    """A url too long for the pointer to fit in a post is no link to point to."""
    update = make_update(body=HUGE_BODY, url="https://example.com/障害/" + "x" * 1900)
    with pytest.raises(ValueError, match=r"\(its url is too long to point to from a post\)"):
        render_posts(update)


async def test_too_long_thread_is_reported_and_nothing_posted(
    x: FakeX, make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """The Receipt says why, naming max_posts, and X receives no request."""
    receipt = await _send(
        Twitter(**CREDS, max_posts=2), make_update(body=LONG_BODY, url=None), fast
    )
    assert receipt.outcome is Outcome.FAILED  # type: ignore[attr-defined]
    assert "max_posts is 2" in receipt.reason  # type: ignore[attr-defined]
    assert x.requests == []


async def test_max_posts_is_set_per_channel(
    x: FakeX, make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """Twitter(max_posts=2) posts at most two parts; None lifts the limit."""
    update = make_update(body=LONG_BODY)
    assert len(Twitter(**CREDS, max_posts=2).render(update).posts) == 2
    assert len(Twitter(**CREDS, max_posts=None).render(update).posts) > 2
    with pytest.raises(ValueError, match="max_posts must be at least 1"):
        Twitter(**CREDS, max_posts=0)


# --- posting ---------------------------------------------------------------------------


async def test_thread_parts_reply_to_each_other(
    x: FakeX, make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """Each part of a thread replies to the part before it; ids are in the Receipt."""
    receipt = await _send(Twitter(**CREDS), make_update(body=LONG_BODY), fast)
    n = len(x.bodies)
    assert n > 1
    assert receipt.outcome is Outcome.DELIVERED  # type: ignore[attr-defined]
    assert receipt.ids == tuple(str(1001 + i) for i in range(n))  # type: ignore[attr-defined]
    assert x.replies() == [None] + [str(1001 + i) for i in range(n - 1)]


# Text the old counter weighed light (issue #16): bare domains with a port or query, a host
# after non-ASCII letters, VS16 after an emoji, a ZWJ chain that is no listed emoji.
UNDERCOUNTED = " ".join(
    ["db1.example.com:5432", "api.example.com?region=eu", "障害.co.uk", "😀\ufe0f", "👨\u200d🐱"]
    * 12
)


async def test_posted_parts_fit_by_twitter_text_js(
    x: FakeX, fast: RetryPolicy, js: JsOracle, make_update: Callable[..., Update]
) -> None:
    """Every part the channel posts is valid and at most 280 for twitter-text 3.1.0 itself."""
    channel = Twitter(bearer_token="t")
    await _send(channel, make_update(body=UNDERCOUNTED), fast)
    posted = [str(body["text"]) for body in x.bodies]
    assert len(posted) > 1
    answers = js.tweets(posted)
    assert [(a["valid"], a["weightedLength"] <= 280) for a in answers] == [(True, True)] * len(
        posted
    )
    assert [a["weightedLength"] for a in answers] == [weighted_length(p) for p in posted]


async def test_follow_up_replies_to_the_incidents_last_post(
    x: FakeX, make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """A follow-up of the same incident replies to its last post; another incident does not."""
    threads = MemoryThreads()
    channel = Twitter(**CREDS, threads=threads)
    first = await _send(channel, make_update(body=LONG_BODY), fast)
    last_id = first.ids[-1]  # type: ignore[attr-defined]
    await _send(
        Twitter(**CREDS, threads=threads), make_update(status="identified", body="Found it."), fast
    )
    await _send(
        Twitter(**CREDS, threads=threads), make_update(incident="other", body="Unrelated."), fast
    )
    assert x.replies()[-2] == last_id
    assert x.replies()[-1] is None
    state = await threads.thread("twitter", "psn-2011-04")
    assert state.first == first.ids[0]  # type: ignore[attr-defined]


async def test_rate_limit_waits_until_reset(
    make_update: Callable[..., Update], clock: FakeClock
) -> None:
    """A 429 waits until x-rate-limit-reset, then posts."""
    now = 1_303_336_800.0
    reset = httpx.Response(
        429,
        json={
            "title": "Too Many Requests",
            "detail": "Too Many Requests",
            "type": "about:blank",
            "status": 429,
        },
        headers={
            "x-rate-limit-limit": "200",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(int(now) + 90),
        },
    )
    fake = FakeX(reset)
    retry = RetryPolicy(attempts=3, deadline=3600, sleep=clock.sleep, clock=clock)
    with respx.mock(using="httpx") as router:
        router.post(API).mock(side_effect=fake)
        receipt = await _send(Twitter(**CREDS, clock=lambda: now), make_update(), retry)
    assert receipt.outcome is Outcome.DELIVERED  # type: ignore[attr-defined]
    assert clock.sleeps == [90.0]
    assert receipt.attempts == 2  # type: ignore[attr-defined]


async def test_v1_style_rate_limit_body_is_understood(
    make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """The v1-style 429 body (code 88) is retried like the v2 one."""
    v1 = httpx.Response(429, json={"errors": [{"code": 88, "message": "Rate limit exceeded"}]})
    with respx.mock(using="httpx") as router:
        router.post(API).mock(side_effect=FakeX(v1))
        receipt = await _send(Twitter(**CREDS), make_update(), fast)
    assert receipt.outcome is Outcome.DELIVERED  # type: ignore[attr-defined]


async def test_duplicate_is_skipped_not_retried(
    make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """403 duplicate content is reported as skipped, after one request."""
    dup = problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content.")
    fake = FakeX(dup)
    with respx.mock(using="httpx") as router:
        router.post(API).mock(side_effect=fake)
        receipt = await _send(Twitter(**CREDS), make_update(), fast)
    assert receipt.outcome is Outcome.SKIPPED  # type: ignore[attr-defined]
    assert "duplicate" in receipt.reason  # type: ignore[attr-defined]
    assert len(fake.requests) == 1


async def test_unauthorized_says_credentials_rejected(
    make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """401 is a permanent failure saying the credentials were rejected, never printing them."""
    fake = FakeX(problem(401, "Unauthorized", "Unauthorized"))
    with respx.mock(using="httpx") as router:
        router.post(API).mock(side_effect=fake)
        receipt = await _send(Twitter(**CREDS), make_update(), fast)
    assert receipt.outcome is Outcome.FAILED  # type: ignore[attr-defined]
    assert receipt.attempts == 1  # type: ignore[attr-defined]
    assert "credentials rejected" in receipt.reason  # type: ignore[attr-defined]
    for secret in CREDS.values():
        assert secret not in receipt.reason  # type: ignore[attr-defined]


async def test_partial_thread_is_reported_and_resumed(
    make_update: Callable[..., Update], clock: FakeClock
) -> None:
    """Part 3 failing reports the posted parts; a re-send continues without reposting them."""
    update = make_update(body=LONG_BODY)
    total = len(render_posts(update))
    assert total >= 4
    down = problem(503, "Service Unavailable", "Service Unavailable")
    fake = FakeX(None, None, down, down)
    threads = MemoryThreads()
    retry = RetryPolicy(attempts=2, deadline=3600, sleep=clock.sleep, clock=clock)
    with respx.mock(using="httpx") as router:
        router.post(API).mock(side_effect=fake)
        failed = await _send(Twitter(**CREDS, threads=threads), update, retry)
        assert failed.outcome is Outcome.FAILED  # type: ignore[attr-defined]
        assert f"posted 2 of {total} parts (1001, 1002); re-send to continue" in failed.reason  # type: ignore[attr-defined]
        resumed = await _send(Twitter(**CREDS, threads=threads), update, retry)
    assert resumed.outcome is Outcome.DELIVERED  # type: ignore[attr-defined]
    assert len(resumed.ids) == total  # type: ignore[attr-defined]
    texts = [str(b["text"]) for b in fake.bodies]
    assert len(texts) == total  # parts 1-2 were not posted twice
    assert len(set(texts)) == total
    assert fake.replies()[2] == "1002"


async def test_bearer_token_is_sent(
    x: FakeX, make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """An OAuth 2.0 user token goes in a Bearer header."""
    await _send(Twitter(bearer_token="user-token-abc"), make_update(), fast)
    assert x.requests[0].headers["authorization"] == "Bearer user-token-abc"


# --- OAuth 1.0a ------------------------------------------------------------------------


def test_oauth1_matches_the_documented_example() -> None:
    """Signing reproduces X's worked example (pinned nonce, timestamp and URL)."""
    auth = OAuth1(
        CREDS["consumer_key"],
        SecretStr(CREDS["consumer_secret"]),
        CREDS["access_token"],
        SecretStr(CREDS["access_token_secret"]),
        nonce="kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
        timestamp="1318622958",
    )
    header = auth.authorization(
        "POST",
        "https://api.twitter.com/1.1/statuses/update.json?include_entities=true",
        b"status=Hello%20Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21",
        "application/x-www-form-urlencoded",
    )
    assert 'oauth_signature="hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D"' in header


async def test_server_side_verifier_accepts_the_sent_header(
    x: FakeX, make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """oauthlib's server-side HMAC-SHA1 check accepts the header the channel really sends."""
    await _send(Twitter(**CREDS), make_update(), fast)
    request = x.requests[0]
    oauth_request = OAuthRequest(
        str(request.url),
        http_method="POST",
        body=request.content.decode(),
        headers={
            "Authorization": request.headers["authorization"],
            "Content-Type": "application/json",
        },
    )
    collected = oauth_signature.collect_parameters(
        headers=oauth_request.headers, exclude_oauth_signature=False
    )
    # As oauthlib's own endpoints prepare a request: the signature apart from the params.
    oauth_request.signature = dict(collected)["oauth_signature"]
    oauth_request.params = [(k, v) for k, v in collected if k != "oauth_signature"]
    assert oauth_signature.verify_hmac_sha1(
        oauth_request, CREDS["consumer_secret"], CREDS["access_token_secret"]
    )
    assert not oauth_signature.verify_hmac_sha1(
        oauth_request, "wrong", CREDS["access_token_secret"]
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "missing: consumer_key, consumer_secret, access_token, access_token_secret"),
        (
            {"consumer_key": "k", "consumer_secret": "s"},
            "missing: access_token, access_token_secret",
        ),
        ({**CREDS, "bearer_token": "t"}, "not both"),
    ],
)
def test_credentials_must_be_one_complete_set(kwargs: dict[str, str], message: str) -> None:
    """Exactly one of bearer token or the four OAuth 1.0a values; else a clear error."""
    with pytest.raises(ValueError, match=message):
        Twitter(**kwargs)  # type: ignore[arg-type]


def test_repr_hides_credentials() -> None:
    """No credential appears in the channel's repr."""
    text = repr(Twitter(**CREDS)) + repr(vars(Twitter(**CREDS)))
    for secret in (CREDS["consumer_secret"], CREDS["access_token_secret"]):
        assert secret not in text


async def test_resend_of_a_posted_update_is_skipped(
    x: FakeX, make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """The same update sent again with the same thread store posts nothing new."""
    threads = MemoryThreads()
    first = await _send(Twitter(**CREDS, threads=threads), make_update(), fast)
    again = await _send(Twitter(**CREDS, threads=threads), make_update(), fast)
    assert again.outcome is Outcome.SKIPPED  # type: ignore[attr-defined]
    assert again.reason == f"already posted as {first.ids[0]}"  # type: ignore[attr-defined]
    assert len(x.bodies) == 1


async def test_duplicate_first_part_of_unknown_thread_is_a_failure(
    make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """A thread X has seen but this process has no record of is not reported as done."""
    dup = problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content.")
    with respx.mock(using="httpx") as router:
        router.post(API).mock(side_effect=FakeX(dup))
        receipt = await _send(Twitter(**CREDS), make_update(body=LONG_BODY), fast)
    assert receipt.outcome is Outcome.FAILED  # type: ignore[attr-defined]
    assert "no record of the thread" in receipt.reason  # type: ignore[attr-defined]


async def test_rate_limit_past_the_deadline_says_so(
    make_update: Callable[..., Update], clock: FakeClock
) -> None:
    """A reset further away than the retry deadline fails with the wait X asked for."""
    now = 1_303_336_800.0
    limited = httpx.Response(
        429,
        json={"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429},
        headers={"x-rate-limit-reset": str(int(now) + 900)},
    )
    retry = RetryPolicy(attempts=3, deadline=120, sleep=clock.sleep, clock=clock)
    with respx.mock(using="httpx") as router:
        router.post(API).mock(side_effect=FakeX(limited))
        receipt = await _send(Twitter(**CREDS, clock=lambda: now), make_update(), retry)
    assert receipt.outcome is Outcome.FAILED  # type: ignore[attr-defined]
    assert receipt.reason.endswith(  # type: ignore[attr-defined]
        "gave up after 1 attempt (the provider asked to wait 900s, past the retry deadline)"
    )
    assert clock.sleeps == []
