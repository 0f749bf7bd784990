"""How ``broadcast send`` ends: signals, exit codes, bounded time, refused input.

Run as real processes (signals need one) against real loopback stand-ins, counted at
the stand-in.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from broadcast.testing import ChaosServer, Fault

ROOT = Path(__file__).resolve().parent.parent
WAIT = 60.0
"""Seconds any one wait may take before the test fails (it never sleeps)."""
FLAGS = ["--title", "PlayStation Network is down", "--incident", "psn-2011-04", "--yes"]
BODY = "Sign-in, online play and the Store are unavailable. We are investigating."
NUMBERS = [f"+1415555{i:04d}" for i in range(200)]


@pytest.fixture
def twilio() -> Iterator[ChaosServer]:
    with ChaosServer("twilio") as server:
        yield server


def _env(twilio: ChaosServer, tmp_path: Path, **extra: str) -> dict[str, str]:
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("\n".join(NUMBERS))
    keep = {k: v for k, v in os.environ.items() if not k.startswith("BROADCAST_")}
    return {
        **keep,
        **twilio.env(),
        "BROADCAST_SMS_RECIPIENTS": f"@{numbers}",
        "BROADCAST_SMS_CONCURRENCY": "4",
        "BROADCAST_SMS_RATE": "100000",
        "BROADCAST_JOURNAL": str(tmp_path / "journal.db"),
        **extra,
    }


def _start(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and command
        [sys.executable, "-m", "broadcast", "send", *FLAGS, *args, BODY],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def _texted(twilio: ChaosServer) -> Counter[str]:
    return Counter(twilio.accepted)


def _when_texted(twilio: ChaosServer, count: int) -> threading.Event:
    """Set once the stand-in has taken ``count`` texts (polled on a thread, never slept)."""
    reached = threading.Event()

    def watch() -> None:
        done = threading.Event()
        while not done.wait(0.01):
            if len(twilio.accepted) >= count:
                reached.set()
                return

    threading.Thread(target=watch, daemon=True).start()
    return reached


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_send_in_order_and_a_re_run_sends_the_rest(
    twilio: ChaosServer, tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    """SIGTERM / Ctrl-C: Report printed, exit 128+N, lease released, re-run sends the rest."""
    twilio.script(*[Fault.delay(0.05)] * len(NUMBERS))
    env = _env(twilio, tmp_path)
    first = _start(env, "--json")
    assert _when_texted(twilio, 20).wait(WAIT)
    first.send_signal(sig)
    out, err = first.communicate(timeout=WAIT)
    assert first.returncode == code, err
    report = json.loads(out)
    (sms,) = report["receipts"]
    assert report["stopped"] == f"stopped by {sig.name}"
    assert report["reached_everyone"] is False
    assert sms["details"]["stopped_early"] is True
    sent_first = sum(_texted(twilio).values())
    assert sms["accepted"] == sent_first  # what was in flight was drained and counted
    assert sent_first < len(NUMBERS)
    with sqlite3.connect(tmp_path / "journal.db") as db:
        holders = db.execute("SELECT count(*) FROM sends WHERE lease_until IS NOT NULL").fetchone()
    assert holders == (0,)  # the lease is released: the next run need not wait for it

    again = _start(env, "--json")
    out, err = again.communicate(timeout=WAIT)
    assert again.returncode == 0, err
    (sms,) = json.loads(out)["receipts"]
    assert sms["details"]["already_delivered"] == sent_first
    assert _texted(twilio) == Counter(NUMBERS)  # the rest exactly, nobody twice


def test_a_trickling_provider_cannot_hold_the_command_past_its_timeout(
    twilio: ChaosServer, tmp_path: Path
) -> None:
    """Slow loris on every text, BROADCAST_TIMEOUT=3: the command ends and exits 1."""
    twilio.randomly(1.0, Fault.trickle(0.5))
    env = _env(twilio, tmp_path, BROADCAST_TIMEOUT="3", BROADCAST_JOURNAL="off")
    process = _start(env, "--json")
    out, err = process.communicate(timeout=WAIT)
    assert process.returncode == 1, err
    (sms,) = json.loads(out)["receipts"]
    assert sms["outcome"] in {"failed", "partial"}
    assert "stopped at its deadline (3s)" in sms["reason"]
    assert max(_texted(twilio).values()) == 1


def test_recipients_still_failing_after_retries_exit_1(twilio: ChaosServer, tmp_path: Path) -> None:
    """A transient refusal that outlasts the retries is a miss a re-run can fix: exit 1."""
    # The first number, on each of the SMS channel's 4 attempts (429, Retry-After: 0).
    twilio.script(*[Fault.throttle(retry_after=0)] * 4)
    env = _env(twilio, tmp_path, BROADCAST_SMS_CONCURRENCY="1", BROADCAST_JOURNAL="off")
    process = _start(env, "--json")
    out, err = process.communicate(timeout=WAIT)
    assert process.returncode == 1, err
    (sms,) = json.loads(out)["receipts"]
    assert sms["accepted"] == len(NUMBERS) - 1
    assert sms["rejected"][0]["permanent"] is False


def test_another_process_sending_the_update_is_busy_and_exits_3(
    twilio: ChaosServer, tmp_path: Path
) -> None:
    """Found in progress elsewhere: not ok, its own outcome, exit 3; the first finishes."""
    twilio.script(*[Fault.delay(0.05)] * len(NUMBERS))
    env = _env(twilio, tmp_path)
    first = _start(env, "--json")
    assert _when_texted(twilio, 4).wait(WAIT)
    second = _start(env, "--json")
    out, err = second.communicate(timeout=WAIT)
    assert second.returncode == 3, err
    report: dict[str, Any] = json.loads(out)
    assert report["ok"] is False
    assert report["receipts"][0]["outcome"] == "busy"
    assert "Run again later" in report["receipts"][0]["reason"]
    first.communicate(timeout=WAIT)
    assert first.returncode == 0
    assert _texted(twilio) == Counter(NUMBERS)


@pytest.mark.parametrize(
    "body",
    [BODY.encode() + b"\xed\xb2", "\u200b\u200b\u2060".encode(), "a \u202eb\u202c".encode()],
    ids=["cut-off character", "invisible", "bidi override"],
)
def test_text_that_is_not_what_it_seems_is_refused_before_anything_is_sent(
    twilio: ChaosServer, tmp_path: Path, body: bytes
) -> None:
    """Bytes that are no text, invisible-only text, a bidi override: exit 2, naming the body."""
    env = _env(twilio, tmp_path, BROADCAST_JOURNAL="off", LC_ALL="C.UTF-8")
    process = subprocess.run(  # noqa: S603 - our own interpreter and command
        [sys.executable.encode(), b"-m", b"broadcast", b"send", *map(str.encode, FLAGS), body],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=WAIT,
        check=False,
    )
    assert process.returncode == 2, process.stderr
    assert b"error: BODY:" in process.stderr
    assert twilio.received == []
