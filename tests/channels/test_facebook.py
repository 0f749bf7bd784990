from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from broadcast import Broadcaster, Outcome, Receipt, RetryPolicy, Update
from broadcast.channels import FacebookPage
from broadcast.channels._facebook import MAX_MESSAGE, appsecret_proof, render_post
from broadcast.journal import MemoryThreads
from broadcast.testing import FakeClock

PAGE = "546349135390552"
TOKEN = "EAAB-page-token"
GRAPH = "https://graph.facebook.com/v23.0"
FEED = f"{GRAPH}/{PAGE}/feed"


def graph_error(
    code: int, message: str, *, subcode: int | None = None, status: int = 400
) -> httpx.Response:
    """Graph's documented error shape."""
    error: dict[str, object] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "EJplcsCHuLu",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return httpx.Response(status, json={"error": error})


class FakeGraph:
    def __init__(self, *failures: httpx.Response) -> None:
        self.failures = list(failures)
        self.calls: list[tuple[str, dict[str, list[str]]]] = []
        self.serial = 1116689038356556

    def __call__(self, request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        self.calls.append((request.url.path, form))
        if self.failures:
            return self.failures.pop(0)
        self.serial += 1
        if request.url.path.endswith("/comments"):
            return httpx.Response(200, json={"id": f"{self.serial}_{self.serial}"})
        return httpx.Response(200, json={"id": f"{PAGE}_{self.serial}"})


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph()
    with respx.mock(using="httpx") as router:
        router.post(url__regex=rf"{GRAPH}/.*").mock(side_effect=fake)
        yield fake


@pytest.fixture
def fast(clock: FakeClock) -> RetryPolicy:
    return RetryPolicy(attempts=3, deadline=3600, sleep=clock.sleep, clock=clock)


async def _send(channel: FacebookPage, update: Update, retry: RetryPolicy) -> Receipt:
    async with Broadcaster([channel], retry=retry, journal=None) as broadcaster:
        return (await broadcaster.send(update))["facebook"]


def test_appsecret_proof_vector() -> None:
    """appsecret_proof matches the documented vector."""
    assert appsecret_proof("EAAB-page-token", "app-secret") == (
        "2041874cf677f28474003d490c1294b18ddd048bffddbb9ccb7a200a19faf6f4"
    )


def test_post_text_carries_every_fact(make_update: Callable[..., Update]) -> None:
    """The post has the status line, paragraphs, promise, signature and link."""
    post = render_post(make_update(severity="critical"))
    message = post.message()
    assert message.startswith("[Investigating | Critical] PlayStation Network is down\n\n")
    assert "Sign-in and the Store are affected." in message
    assert "Next update by 23:00 UTC." in message
    assert "— Head of Network Operations" in message
    assert "Details: https://status.example.com/psn" in message
    assert "Update 3 on this incident." in post.message(3)


def test_long_post_is_cut_at_a_paragraph_with_read_more(
    make_update: Callable[..., Update],
) -> None:
    """An update longer than Facebook's limit ends at a paragraph with a Read more link."""
    body = "\n\n".join(f"Paragraph {i}. " + "x" * 1900 for i in range(10))
    post = render_post(make_update(body=body), limit=6000)
    message = post.message(12)
    assert len(message) <= 6000
    assert message.endswith("Read more: https://status.example.com/psn")
    assert "Paragraph 0." in message
    assert "Paragraph 9." not in message
    assert len(render_post(make_update()).message()) < MAX_MESSAGE


async def test_post_with_link_and_proof(
    graph: FakeGraph, update: Update, fast: RetryPolicy
) -> None:
    """A post goes to /{page}/feed with message, link, token and appsecret_proof."""
    channel = FacebookPage(PAGE, TOKEN, app_secret="app-secret")
    receipt = await _send(channel, update, fast)
    assert receipt.outcome is Outcome.DELIVERED
    assert receipt.ids == (f"{PAGE}_1116689038356557",)
    [(path, form)] = graph.calls
    assert path == f"/v23.0/{PAGE}/feed"
    assert form["link"] == ["https://status.example.com/psn"]
    assert form["access_token"] == [TOKEN]
    assert form["appsecret_proof"] == [
        "2041874cf677f28474003d490c1294b18ddd048bffddbb9ccb7a200a19faf6f4"
    ]


async def test_post_without_link(
    graph: FakeGraph, make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """Without a url there is no link field, and no proof without an app secret."""
    await _send(FacebookPage(PAGE, TOKEN), make_update(url=None), fast)
    [(_, form)] = graph.calls
    assert "link" not in form
    assert "appsecret_proof" not in form


async def test_follow_ups_are_numbered_posts(
    graph: FakeGraph, make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """By default each update is a new post naming itself update N of the incident."""
    threads = MemoryThreads()
    await _send(FacebookPage(PAGE, TOKEN, threads=threads), make_update(), fast)
    second = await _send(
        FacebookPage(PAGE, TOKEN, threads=threads), make_update(status="identified"), fast
    )
    assert [path for path, _ in graph.calls] == [f"/v23.0/{PAGE}/feed"] * 2
    assert "Update 2 on this incident." in graph.calls[1][1]["message"][0]
    assert second.details["update_number"] == 2


async def test_comment_mode_chains_under_the_first_post(
    graph: FakeGraph, make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """follow_up="comment" posts later updates as comments on the incident's first post."""
    threads = MemoryThreads()

    def page() -> FacebookPage:
        return FacebookPage(PAGE, TOKEN, follow_up="comment", threads=threads)

    first = await _send(page(), make_update(), fast)
    await _send(page(), make_update(status="identified", body="Found the cause."), fast)
    await _send(page(), make_update(status="resolved", body="Service is back."), fast)
    paths = [path for path, _ in graph.calls]
    assert paths == [
        f"/v23.0/{PAGE}/feed",
        f"/v23.0/{first.ids[0]}/comments",
        f"/v23.0/{first.ids[0]}/comments",
    ]
    assert "link" not in graph.calls[1][1]
    assert "Details: https://status.example.com/psn" in graph.calls[1][1]["message"][0]


async def test_resend_of_a_posted_update_is_skipped(
    graph: FakeGraph, update: Update, fast: RetryPolicy
) -> None:
    """Sending the same update again with the same thread store does not post twice."""
    threads = MemoryThreads()
    await _send(FacebookPage(PAGE, TOKEN, threads=threads), update, fast)
    again = await _send(FacebookPage(PAGE, TOKEN, threads=threads), update, fast)
    assert again.outcome is Outcome.SKIPPED
    assert len(graph.calls) == 1


@pytest.mark.parametrize("code", [1, 2, 4, 17, 32, 341, 613, 80000, 80001, 80004, 80014])
async def test_transient_codes_are_retried(update: Update, fast: RetryPolicy, code: int) -> None:
    """Each throttling or service code is retried (even on HTTP 400) and then succeeds."""
    fake = FakeGraph(graph_error(code, "(#80004) There have been too many calls"))
    with respx.mock(using="httpx") as router:
        router.post(FEED).mock(side_effect=fake)
        receipt = await _send(FacebookPage(PAGE, TOKEN), update, fast)
    assert receipt.outcome is Outcome.DELIVERED
    assert receipt.attempts == 2


async def test_regain_access_time_is_honoured(update: Update, clock: FakeClock) -> None:
    """A business-use-case throttle waits the minutes Graph says it needs."""
    usage = {
        PAGE: [
            {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 20,
                "total_time": 30,
                "estimated_time_to_regain_access": 2,
            }
        ]
    }
    throttled = graph_error(80001, "There have been too many calls to this Page")
    throttled.headers["x-business-use-case-usage"] = json.dumps(usage)
    retry = RetryPolicy(attempts=3, deadline=3600, sleep=clock.sleep, clock=clock)
    with respx.mock(using="httpx") as router:
        router.post(FEED).mock(side_effect=FakeGraph(throttled))
        receipt = await _send(FacebookPage(PAGE, TOKEN), update, retry)
    assert receipt.outcome is Outcome.DELIVERED
    assert clock.sleeps == [120.0]


@pytest.mark.parametrize(
    ("response", "words"),
    [
        (
            graph_error(190, "Error validating access token", subcode=463),
            "Page access token rejected (expired or invalid: the token expired)",
        ),
        (graph_error(190, "Invalid OAuth access token."), "Page access token rejected"),
        (graph_error(10, "Permission denied", status=403), "lacks a permission"),
        (
            graph_error(200, "Requires pages_manage_posts permission", status=403),
            "lacks a permission",
        ),
        (graph_error(299, "Permission error"), "lacks a permission"),
        (graph_error(368, "You're temporarily blocked"), "temporarily blocked"),
        (graph_error(100, "Invalid parameter"), "Graph error 100: Invalid parameter"),
    ],
)
async def test_permanent_codes_are_not_retried(
    update: Update, fast: RetryPolicy, response: httpx.Response, words: str
) -> None:
    """Token, permission, block and parameter errors fail once, keeping the fbtrace_id."""
    fake = FakeGraph(response)
    with respx.mock(using="httpx") as router:
        router.post(FEED).mock(side_effect=fake)
        receipt = await _send(FacebookPage(PAGE, TOKEN), update, fast)
    assert receipt.outcome is Outcome.FAILED
    assert receipt.attempts == 1
    assert words in (receipt.reason or "")
    assert "fbtrace_id EJplcsCHuLu" in (receipt.reason or "")
    assert TOKEN not in (receipt.reason or "")


async def test_duplicate_post_is_skipped(update: Update, fast: RetryPolicy) -> None:
    """Graph code 506 (duplicate) is reported as skipped."""
    with respx.mock(using="httpx") as router:
        router.post(FEED).mock(side_effect=FakeGraph(graph_error(506, "Duplicate status message")))
        receipt = await _send(FacebookPage(PAGE, TOKEN), update, fast)
    assert receipt.outcome is Outcome.SKIPPED
    assert "duplicate" in (receipt.reason or "")


async def test_usage_over_80_percent_is_logged(
    update: Update, fast: RetryPolicy, caplog: pytest.LogCaptureFixture
) -> None:
    """X-Page-Usage or X-App-Usage above 80% logs a warning."""
    ok = httpx.Response(
        200,
        json={"id": f"{PAGE}_1"},
        headers={
            "x-page-usage": json.dumps({"call_count": 85, "total_cputime": 10, "total_time": 12}),
            "x-app-usage": json.dumps({"call_count": 5, "total_cputime": 1, "total_time": 1}),
        },
    )
    with respx.mock(using="httpx") as router, caplog.at_level(logging.WARNING, logger="broadcast"):
        router.post(FEED).mock(return_value=ok)
        await _send(FacebookPage(PAGE, TOKEN), update, fast)
    assert "x-page-usage at 85%" in caplog.text
    assert "x-app-usage" not in caplog.text


async def test_token_never_appears_in_output(
    update: Update, fast: RetryPolicy, caplog: pytest.LogCaptureFixture
) -> None:
    """The Page token is in no log line, repr, Report or error, even at DEBUG."""
    caplog.set_level(logging.DEBUG)
    channel = FacebookPage(PAGE, TOKEN, app_secret="app-secret")
    with respx.mock(using="httpx") as router:
        router.post(FEED).mock(side_effect=FakeGraph(graph_error(190, "bad token " + TOKEN)))
        async with Broadcaster([channel], retry=fast) as broadcaster:
            report = await broadcaster.send(update)
    text = (
        caplog.text
        + repr(channel)
        + repr(vars(channel))
        + str(report)
        + json.dumps(report.to_dict())
    )
    assert TOKEN not in text
    assert "app-secret" not in text


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("my-page", TOKEN), {}, "numeric id"),
        ((PAGE, ""), {}, "empty"),
        ((PAGE, TOKEN), {"follow_up": "reply"}, "follow_up"),
        ((PAGE, TOKEN), {"api_version": "23.0"}, "api_version"),
        ((PAGE, TOKEN), {"api_version": "v"}, "api_version"),
    ],
)
def test_bad_options(args: tuple[str, str], kwargs: dict[str, str], message: str) -> None:
    """Bad constructor arguments are clear errors."""
    with pytest.raises(ValueError, match=message):
        FacebookPage(*args, **kwargs)  # type: ignore[arg-type]


async def test_malformed_usage_headers_do_not_lose_a_post(
    update: Update, fast: RetryPolicy
) -> None:
    """A post that went up is recorded even when Graph's usage headers are malformed."""
    ok = httpx.Response(
        200,
        json={"id": f"{PAGE}_9"},
        headers={"x-business-use-case-usage": json.dumps({PAGE: 5}), "x-app-usage": "[1, 2]"},
    )
    with respx.mock(using="httpx") as router:
        router.post(FEED).mock(return_value=ok)
        receipt = await _send(FacebookPage(PAGE, TOKEN), update, fast)
    assert receipt.outcome is Outcome.DELIVERED
    assert receipt.ids == (f"{PAGE}_9",)


async def test_token_in_a_graph_message_is_masked(update: Update, fast: RetryPolicy) -> None:
    """A Meta token quoted in any Graph error message is masked in the Receipt."""
    leaked = "EAABwzLixnjYBAOZBZCvYNoRealTokenHere123"
    with respx.mock(using="httpx") as router:
        router.post(FEED).mock(side_effect=FakeGraph(graph_error(100, f"Bad param {leaked}")))
        receipt = await _send(FacebookPage(PAGE, TOKEN), update, fast)
    assert leaked not in (receipt.reason or "")
    assert "EAA***" in (receipt.reason or "")


async def test_comment_carries_the_link_once(
    graph: FakeGraph, make_update: Callable[..., Update], fast: RetryPolicy
) -> None:
    """A comment follow-up mentions the link once, on its Details line."""
    threads = MemoryThreads()
    await _send(
        FacebookPage(PAGE, TOKEN, follow_up="comment", threads=threads), make_update(), fast
    )
    await _send(
        FacebookPage(PAGE, TOKEN, follow_up="comment", threads=threads),
        make_update(status="identified"),
        fast,
    )
    comment = graph.calls[1][1]["message"][0]
    assert comment.count("https://status.example.com/psn") == 1


def test_title_alone_is_a_post_without_a_gap(make_update: Callable[..., Update]) -> None:
    """A title-only update posts the headline and the closing facts, nothing empty."""
    post = render_post(make_update(title="We are investigating.", body=""))
    assert post.message() == (
        "[Investigating] We are investigating.\n\nNext update by 23:00 UTC.\n\n"
        "— Head of Network Operations\n\nDetails: https://status.example.com/psn"
    )
    bare = render_post(
        make_update(title="Down", body="", next_update_at=None, author=None, url=None)
    )
    assert bare.message() == "[Investigating] Down"
    assert bare.message(2) == "[Investigating] Down\nUpdate 2 on this incident."
