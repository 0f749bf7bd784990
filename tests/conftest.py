from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from broadcast import RetryPolicy, Update
from broadcast.cli._common import TRANSPORTS
from broadcast.testing import FakeClock, LoopbackServer

from .journal_store import store  # noqa: F401 - the contract suite's backends
from .js_oracle import JsOracle, missing
from .pg import postgres_dsn, postgres_server  # noqa: F401 - fixtures for every test

T0 = datetime(2011, 4, 20, 22, 0, tzinfo=UTC)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture(autouse=True)
def _journal_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test's journal is its own file, never the user's real per-user journal.

    ``XDG_STATE_HOME`` (and ``HOME``, which macOS's state directory follows) moves the
    per-user default into the test's directory too, for tests that unset
    ``BROADCAST_JOURNAL`` to exercise it.
    """
    monkeypatch.setenv("BROADCAST_JOURNAL", str(tmp_path / "broadcast.db"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture(autouse=True)
def _restore_loggers() -> Iterator[None]:
    """The command configures loggers for its process; give each test the old ones back."""
    names = ("broadcast", *TRANSPORTS)
    saved = {
        n: (lg.handlers[:], lg.level, lg.propagate) for n in names if (lg := logging.getLogger(n))
    }
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:], logger.propagate = handlers, propagate
        logger.setLevel(level)


@pytest.fixture(scope="session")
def js() -> Iterator[JsOracle]:
    """The JavaScript reference implementations (twitter-text, Twilio's calculator), or a skip."""
    reason = missing()
    if reason:
        pytest.skip(reason)
    oracle = JsOracle()
    yield oracle
    oracle.close()


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        yield srv


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def retry(clock: FakeClock) -> RetryPolicy:
    return RetryPolicy(attempts=4, deadline=600, sleep=clock.sleep, clock=clock)


@pytest.fixture
def make_update() -> Callable[..., Update]:
    def make(**fields: Any) -> Update:
        values: dict[str, Any] = {
            "title": "PlayStation Network is down",
            "body": "We are investigating.\n\nSign-in and the Store are affected.",
            "incident": "psn-2011-04",
            "created_at": T0,
            "author": "Head of Network Operations",
            "next_update_at": T0 + timedelta(hours=1),
            "url": "https://status.example.com/psn",
        }
        values.update(fields)
        return Update(**values)

    return make


@pytest.fixture
def update(make_update: Callable[..., Update]) -> Update:
    return make_update()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the fault matrix (issue 9) when it ran in this session."""
    from .fault_matrix import TABLE, markdown  # noqa: PLC0415 - only when it ran

    if TABLE:
        terminalreporter.section("fault matrix: every channel by every fault")
        terminalreporter.write_line(markdown(TABLE))
