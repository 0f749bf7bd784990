from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from broadcast import PermanentError, RetryPolicy, TransientError
from broadcast._retry import is_transient, retry_after_from_headers
from broadcast.testing import FakeClock

NOW = 1_303_336_800.0  # 2011-04-20T22:00:00Z


def _http_date(epoch: float) -> str:
    return format_datetime(datetime.fromtimestamp(epoch, UTC), usegmt=True)


class Flaky:
    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


@pytest.mark.parametrize(
    "exc",
    [
        TransientError("503"),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("reset"),
        ConnectionResetError(),
        TimeoutError(),
    ],
)
def test_transient_errors(exc: BaseException) -> None:
    """Timeouts, resets and TransientError are classified transient."""
    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc", [PermanentError("401"), ValueError("bug"), KeyError("x"), RuntimeError()]
)
def test_permanent_errors(exc: BaseException) -> None:
    """PermanentError and programming errors are never retried."""
    assert not is_transient(exc)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "0"}, 0.0),
        ({"Retry-After": "-3"}, 0.0),
        (
            {"Retry-After": _http_date(NOW + 30)},
            30.0,
        ),
        ({"Retry-After": _http_date(NOW - 30)}, 0.0),
        ({"x-rate-limit-reset": str(int(NOW) + 120)}, 120.0),
        ({"X-RateLimit-Reset": str(int(NOW) + 5)}, 5.0),
        ({"x-rate-limit-reset": "42"}, 42.0),
        ({"RateLimit-Reset": "9"}, 9.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "nan"}, None),
        ({}, None),
    ],
)
def test_retry_after_parsing(headers: dict[str, str], expected: float | None) -> None:
    """Retry-After (seconds or HTTP date) and rate-limit reset headers become a wait."""
    assert retry_after_from_headers(headers, now=NOW) == expected


def test_retry_after_wins_over_reset_header() -> None:
    """When both are present, Retry-After is used."""
    headers = {"retry-after": "3", "x-rate-limit-reset": str(int(NOW) + 900)}
    assert retry_after_from_headers(headers, now=NOW) == 3.0


async def test_retries_transient_then_succeeds(clock: FakeClock) -> None:
    """Transient failures are retried with backoff until the call succeeds."""
    policy = RetryPolicy(attempts=5, sleep=clock.sleep, clock=clock)
    fn = Flaky(TransientError("a"), TransientError("b"))
    assert await policy.call(fn) == "ok"
    assert fn.calls == 3
    assert len(clock.sleeps) == 2
    assert all(0 < s <= policy.max_wait + policy.jitter for s in clock.sleeps)


async def test_backoff_grows(clock: FakeClock) -> None:
    """Backoff waits grow exponentially (with jitter) and are capped by max_wait."""
    policy = RetryPolicy(
        attempts=8, deadline=10_000, max_wait=10, jitter=0.5, sleep=clock.sleep, clock=clock
    )
    fn = Flaky(*[TransientError("x") for _ in range(7)])
    await policy.call(fn)
    assert clock.sleeps[0] < 2
    assert clock.sleeps[2] >= 4
    assert max(clock.sleeps) <= 10


async def test_permanent_error_is_not_retried(clock: FakeClock) -> None:
    """A permanent failure is raised after one attempt."""
    policy = RetryPolicy(attempts=5, sleep=clock.sleep, clock=clock)
    fn = Flaky(PermanentError("nope"))
    with pytest.raises(PermanentError, match="nope"):
        await policy.call(fn)
    assert fn.calls == 1
    assert clock.sleeps == []


async def test_attempt_cap(clock: FakeClock) -> None:
    """After `attempts` transient failures the last error is raised."""
    policy = RetryPolicy(attempts=3, sleep=clock.sleep, clock=clock)
    fn = Flaky(*[TransientError(str(i)) for i in range(10)])
    with pytest.raises(TransientError, match="2"):
        await policy.call(fn)
    assert fn.calls == 3


async def test_retry_after_is_honoured(clock: FakeClock) -> None:
    """A provider's retry_after replaces the backoff wait, even above max_wait."""
    policy = RetryPolicy(attempts=3, max_wait=5, sleep=clock.sleep, clock=clock)
    fn = Flaky(TransientError("429", retry_after=42))
    await policy.call(fn)
    assert clock.sleeps == [42.0]


async def test_deadline_stops_before_an_overlong_wait(clock: FakeClock) -> None:
    """A wait that would cross the total deadline is not taken; the error is raised."""
    policy = RetryPolicy(attempts=10, deadline=60, sleep=clock.sleep, clock=clock)
    fn = Flaky(TransientError("first", retry_after=10), TransientError("second", retry_after=90))
    with pytest.raises(TransientError, match="second"):
        await policy.call(fn)
    assert fn.calls == 2
    assert clock.sleeps == [10.0]


async def test_deadline_counts_time_spent_in_calls(clock: FakeClock) -> None:
    """Time spent inside attempts counts toward the deadline."""
    policy = RetryPolicy(attempts=10, deadline=30, sleep=clock.sleep, clock=clock)
    calls = 0

    async def slow_failure() -> str:
        nonlocal calls
        calls += 1
        clock.now += 20
        raise TransientError("slow")

    with pytest.raises(TransientError):
        await policy.call(slow_failure)
    # 20s + a ~1s wait fits in 30s; after the second 20s attempt, nothing more fits.
    assert calls == 2
    assert len(clock.sleeps) == 1


@pytest.mark.parametrize(("attempts", "deadline"), [(0, 10.0), (3, 0.0)])
def test_policy_rejects_nonsense(attempts: int, deadline: float) -> None:
    """Zero attempts or a non-positive deadline is a clear error."""
    with pytest.raises(ValueError, match=r"attempts|deadline"):
        RetryPolicy(attempts=attempts, deadline=deadline)
