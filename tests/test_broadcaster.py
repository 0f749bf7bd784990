from __future__ import annotations

import asyncio

import httpx
import pytest

from broadcast import AuthError, Broadcaster, Channel, Outcome, RetryPolicy, TransientError, Update
from broadcast._broadcaster import MAX_DURATION_GRACE
from broadcast.channels import Delivery
from broadcast.testing import FakeClock, RecordingChannel, Text


async def test_every_channel_receives_the_update(update: Update, retry: RetryPolicy) -> None:
    """Each channel renders and delivers the same update; the Report lists them in order."""
    a, b = RecordingChannel("a"), RecordingChannel("b")
    async with Broadcaster([a, b], retry=retry) as broadcaster:
        report = await broadcaster.send(update)
    assert [r.channel for r in report] == ["a", "b"]
    assert all(r.outcome is Outcome.DELIVERED for r in report)
    assert report.ok
    assert a.sent == b.sent
    assert a.sent[0].startswith("[investigating] PlayStation Network is down")
    assert report["a"].ids == ("a-1",)
    assert report.update_key == update.key
    assert report.incident == "psn-2011-04"


async def test_failure_is_isolated(update: Update, retry: RetryPolicy) -> None:
    """A permanently failing channel does not stop the others and is reported with its reason."""
    bad = RecordingChannel("bad", failures=[AuthError("HTTP 401 from x: token rejected")])
    good = RecordingChannel("good")
    async with Broadcaster([bad, good], retry=retry) as broadcaster:
        report = await broadcaster.send(update)
    assert report["good"].outcome is Outcome.DELIVERED
    assert report["bad"].outcome is Outcome.FAILED
    assert report["bad"].reason == "HTTP 401 from x: token rejected"
    assert report["bad"].attempts == 1
    assert not report.ok
    assert [r.channel for r in report.failed] == ["bad"]


async def test_render_exception_is_isolated(update: Update, retry: RetryPolicy) -> None:
    """An exception inside one channel's render fails only that channel, before deliver."""
    broken = RecordingChannel("broken", render_error=ZeroDivisionError("division by zero"))
    good = RecordingChannel("good")
    async with Broadcaster([broken, good], retry=retry) as broadcaster:
        report = await broadcaster.send(update)
    assert report["broken"].outcome is Outcome.FAILED
    assert report["broken"].reason == "render failed: ZeroDivisionError: division by zero"
    assert report["broken"].attempts == 0
    assert broken.calls == 0
    assert report["good"].outcome is Outcome.DELIVERED


async def test_deliver_crash_is_not_retried(update: Update, retry: RetryPolicy) -> None:
    """A bug (non-channel exception) in deliver fails the channel once, without retries."""
    crashy = RecordingChannel("crashy", failures=[KeyError("oops")])
    async with Broadcaster([crashy], retry=retry) as broadcaster:
        report = await broadcaster.send(update)
    assert report["crashy"].outcome is Outcome.FAILED
    assert report["crashy"].reason == "KeyError: 'oops'"
    assert crashy.calls == 1


async def test_transient_failures_are_retried(
    update: Update, retry: RetryPolicy, clock: FakeClock
) -> None:
    """Transient errors are retried; the Receipt counts every attempt."""
    flaky = RecordingChannel(
        "flaky", failures=[TransientError("HTTP 503"), httpx.ConnectError("refused")]
    )
    async with Broadcaster([flaky], retry=retry) as broadcaster:
        report = await broadcaster.send(update)
    assert report["flaky"].outcome is Outcome.DELIVERED
    assert report["flaky"].attempts == 3
    assert len(clock.sleeps) == 2


async def test_exhausted_retries_say_so(update: Update, retry: RetryPolicy) -> None:
    """When every attempt fails transiently the reason gives the last error and the count."""
    down = RecordingChannel("down", failures=[TransientError(f"HTTP 50{i}") for i in range(9)])
    async with Broadcaster([down], retry=retry) as broadcaster:
        report = await broadcaster.send(update)
    assert report["down"].outcome is Outcome.FAILED
    assert report["down"].reason == "HTTP 503; gave up after 4 attempts"
    assert report["down"].attempts == 4


async def test_a_hanging_channel_times_out_alone(update: Update, retry: RetryPolicy) -> None:
    """A channel that never answers is cut off by its own timeout; the others deliver."""
    hang = RecordingChannel("hang", hang=True)
    fast = RecordingChannel("fast")
    async with Broadcaster([hang, fast], retry=retry, timeouts={"hang": 0.05}) as broadcaster:
        report = await broadcaster.send(update)
    assert report["hang"].outcome is Outcome.FAILED
    assert report["hang"].reason == "timed out after 0.05s"
    assert report["fast"].outcome is Outcome.DELIVERED


async def test_timeout_mentions_last_error(update: Update, clock: FakeClock) -> None:
    """A channel that times out while retrying reports the last error it saw."""
    policy = RetryPolicy(attempts=5, sleep=clock.sleep, clock=clock)

    class FailsThenHangs(RecordingChannel):
        async def deliver(self, rendered: Text, /) -> Delivery:
            self.calls += 1
            if self.calls == 1:
                raise TransientError("HTTP 502 from upstream")
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

    channel = FailsThenHangs("slow")
    async with Broadcaster([channel], retry=policy, timeout=0.05) as broadcaster:
        report = await broadcaster.send(update)
    assert report["slow"].reason == (
        "timed out after 0.05s (2 attempts; last error: HTTP 502 from upstream)"
    )


async def test_dry_run_renders_and_sends_nothing(update: Update, retry: RetryPolicy) -> None:
    """dry_run renders every channel into the Report's previews and delivers nothing."""
    a = RecordingChannel("a")
    async with Broadcaster([a], retry=retry) as broadcaster:
        report = await broadcaster.send(update, dry_run=True)
    assert a.calls == 0
    assert a.sent == []
    receipt = report["a"]
    assert receipt.outcome is Outcome.SKIPPED
    assert receipt.reason == "dry run"
    assert receipt.preview is not None
    assert "PlayStation Network is down" in receipt.preview
    assert report.dry_run
    assert report.ok


async def test_dry_run_still_reports_render_errors(update: Update, retry: RetryPolicy) -> None:
    """A channel that cannot render fails the dry run, so problems show before sending."""
    broken = RecordingChannel("broken", render_error=ValueError("too long"))
    async with Broadcaster([broken], retry=retry) as broadcaster:
        report = await broadcaster.send(update, dry_run=True)
    assert report["broken"].outcome is Outcome.FAILED


async def test_only_selects_channels(update: Update, retry: RetryPolicy) -> None:
    """only= sends to the named channels; the rest are reported as skipped."""
    a, b, c = RecordingChannel("a"), RecordingChannel("b"), RecordingChannel("c")
    async with Broadcaster([a, b, c], retry=retry) as broadcaster:
        report = await broadcaster.send(update, only=["a", "c"])
        single = await broadcaster.send(update, only="b")
    assert (len(a.sent), len(b.sent), len(c.sent)) == (1, 1, 1)
    assert report["b"].outcome is Outcome.SKIPPED
    assert report["b"].reason == "not selected by only="
    assert single["b"].outcome is Outcome.DELIVERED
    assert single["a"].outcome is Outcome.SKIPPED


async def test_only_with_unknown_name_fails_before_sending(
    update: Update, retry: RetryPolicy
) -> None:
    """An unknown name in only= is an error naming it, and nothing is sent."""
    a = RecordingChannel("a")
    async with Broadcaster([a], retry=retry) as broadcaster:
        with pytest.raises(ValueError, match="twiter"):
            await broadcaster.send(update, only=["twiter"])
    assert a.calls == 0


def test_channel_names_must_be_unique() -> None:
    """Two channels with one name are rejected, naming it."""
    with pytest.raises(ValueError, match="repeated: x"):
        Broadcaster([RecordingChannel("x"), RecordingChannel("x")])


def test_timeouts_must_name_known_channels() -> None:
    """A per-channel timeout for an unknown channel is a clear error."""
    with pytest.raises(ValueError, match="unknown channels: nope"):
        Broadcaster([RecordingChannel("x")], timeouts={"nope": 3})


def test_needs_a_channel() -> None:
    """A Broadcaster without channels is an error."""
    with pytest.raises(ValueError, match="at least one channel"):
        Broadcaster([])


async def test_send_rejects_non_updates(retry: RetryPolicy) -> None:
    """send() takes an Update, not a dict or text."""
    async with Broadcaster([RecordingChannel()], retry=retry) as broadcaster:
        with pytest.raises(TypeError, match=r"broadcast\.Update"):
            await broadcaster.send({"title": "x"})  # type: ignore[arg-type]


async def test_aclose_closes_every_channel_even_if_one_fails(retry: RetryPolicy) -> None:
    """Closing reaches every channel although one aclose raises."""

    class BadClose(RecordingChannel):
        async def aclose(self) -> None:
            raise OSError("already gone")

    bad, good = BadClose("bad"), RecordingChannel("good")
    async with Broadcaster([bad, good], retry=retry):
        pass
    assert good.closed


async def test_closed_broadcaster_refuses_to_send(update: Update, retry: RetryPolicy) -> None:
    """Sending on a closed Broadcaster is a clear error."""
    broadcaster = Broadcaster([RecordingChannel()], retry=retry)
    await broadcaster.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await broadcaster.send(update)


async def test_shared_http_client_is_given_and_closed(update: Update) -> None:
    """HTTP channels get the Broadcaster's client, which it closes on exit."""

    class UsesHTTP(RecordingChannel):
        client: httpx.AsyncClient | None = None

        def use_http_client(self, client: httpx.AsyncClient, /) -> None:
            self.client = client

    a, b = UsesHTTP("a"), UsesHTTP("b")
    async with Broadcaster([a, b]) as broadcaster:
        await broadcaster.send(update, dry_run=True)
        assert a.client is not None
        assert a.client is b.client
        assert not a.client.is_closed
    assert a.client.is_closed


async def test_borrowed_http_client_is_left_open(update: Update) -> None:
    """A client passed in by the caller is not closed by the Broadcaster."""

    class UsesHTTP(RecordingChannel):
        client: httpx.AsyncClient | None = None

        def use_http_client(self, client: httpx.AsyncClient, /) -> None:
            self.client = client

    channel = UsesHTTP()
    async with httpx.AsyncClient() as mine:
        async with Broadcaster([channel], http_client=mine):
            pass
        assert channel.client is mine
        assert not mine.is_closed


def test_recording_channel_satisfies_protocol() -> None:
    """The testing channel is a Channel by structure, not inheritance."""
    assert isinstance(RecordingChannel(), Channel)


async def test_channels_run_concurrently(update: Update, retry: RetryPolicy) -> None:
    """A channel waiting on another's progress is not blocked: both run at once."""
    started = asyncio.Event()

    class Waiter(RecordingChannel):
        async def deliver(self, rendered: Text, /) -> Delivery:
            await started.wait()
            return Delivery(ids=("w",))

    class Starter(RecordingChannel):
        async def deliver(self, rendered: Text, /) -> Delivery:
            started.set()
            return Delivery(ids=("s",))

    async with Broadcaster([Waiter("w"), Starter("s")], retry=retry, timeout=5) as b:
        report = await b.send(update)
    assert report.ok


async def test_channel_raising_cancelled_error_does_not_cancel_others(
    update: Update, retry: RetryPolicy
) -> None:
    """A channel that raises CancelledError itself fails alone; the Report still comes back."""
    rogue = RecordingChannel("rogue", failures=[asyncio.CancelledError()])
    good = RecordingChannel("good")
    async with Broadcaster([rogue, good], retry=retry) as broadcaster:
        report = await broadcaster.send(update)
    assert report["rogue"].outcome is Outcome.FAILED
    assert report["rogue"].reason == "deliver raised CancelledError"
    assert report["good"].outcome is Outcome.DELIVERED


async def test_cancelling_send_cancels_channels(update: Update, retry: RetryPolicy) -> None:
    """Cancelling send() itself propagates and stops the channel tasks."""
    entered = asyncio.Event()
    cancelled = asyncio.Event()

    class Hangs(RecordingChannel):
        async def deliver(self, rendered: Text, /) -> Delivery:
            entered.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise
            raise AssertionError("unreachable")

    async with Broadcaster([Hangs("hang")], retry=retry) as broadcaster:
        task = asyncio.create_task(broadcaster.send(update))
        await entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert cancelled.is_set()


async def test_retry_warnings_are_redacted(
    update: Update, retry: RetryPolicy, caplog: pytest.LogCaptureFixture
) -> None:
    """The warning logged before a retry masks secrets in the error text."""
    leaky = RecordingChannel(
        "leaky", failures=[TransientError("HTTP 503 from https://u:hunter2@x.example/")]
    )
    async with Broadcaster([leaky], retry=retry) as broadcaster:
        await broadcaster.send(update)
    assert "retrying in" in caplog.text
    assert "hunter2" not in caplog.text


async def test_deliver_returning_garbage_fails_alone(update: Update, retry: RetryPolicy) -> None:
    """A deliver() that returns something other than a Delivery fails only its channel."""

    class ReturnsNone(RecordingChannel):
        async def deliver(self, rendered: Text, /) -> Delivery:
            return None  # type: ignore[return-value]

    good = RecordingChannel("good")
    async with Broadcaster([ReturnsNone("bad"), good], retry=retry) as broadcaster:
        report = await broadcaster.send(update)
    assert report["bad"].outcome is Outcome.FAILED
    assert report["bad"].reason == (
        "TypeError: deliver() must return broadcast.channels.Delivery, not NoneType"
    )
    assert report["good"].outcome is Outcome.DELIVERED


async def test_broken_preview_fails_the_dry_run_alone(update: Update, retry: RetryPolicy) -> None:
    """A rendered value whose preview() raises fails that channel's dry run, not the others."""

    class BadPreview:
        def preview(self) -> str:
            raise UnicodeError("cannot show")

    class Broken(RecordingChannel):
        def render(self, update: Update, /) -> Text:
            return BadPreview()  # type: ignore[return-value]

    async with Broadcaster([Broken("broken"), RecordingChannel("ok")], retry=retry) as b:
        report = await b.send(update, dry_run=True)
    assert report["broken"].reason == "preview failed: UnicodeError: cannot show"
    assert report["ok"].outcome is Outcome.SKIPPED


async def test_channel_max_duration_sets_its_timeout(update: Update, retry: RetryPolicy) -> None:
    """A fan-out's own max_duration replaces fan_out_timeout; timeouts= beats both."""

    class Bounded(RecordingChannel):
        max_duration: float | None = 0.05

    class Unbounded(RecordingChannel):
        max_duration: float | None = None

    broadcaster = Broadcaster(
        [Bounded("own"), Unbounded("fan-out"), Bounded("told"), RecordingChannel("plain")],
        retry=retry,
        timeout=99,
        fan_out_timeout=600,
        timeouts={"told": 7},
    )
    own, fan_out, told, plain = broadcaster.channels
    assert broadcaster._limits_for(own) == (0.05, 0.05 + MAX_DURATION_GRACE)
    assert broadcaster._limits_for(fan_out) == (600, 600 + MAX_DURATION_GRACE)
    assert broadcaster._limits_for(told) == (7, 7 + MAX_DURATION_GRACE)
    assert broadcaster._limits_for(plain) == (99, 99)
