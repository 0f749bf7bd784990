"""A hostile network, measured: random faults at scale, a slow-loris provider, SIGTERM.

Three runs of the real ``broadcast send`` command (a child process each), counted at
the stand-in (``broadcast.testing.ChaosServer``), never from the Report alone:

1. ``--recipients`` numbers (50,000) against a Twilio stand-in that fails 30 % of
   requests at random with 500, 503 or a reset: does the run finish, is everyone
   delivered or individually reported, how many duplicates without a crash?
2. A Twilio stand-in that trickles every answer one byte every 2 s, with default
   settings and with ``BROADCAST_TIMEOUT=20``: how long until the command ends?
3. SIGTERM mid fan-out: seconds from the signal to the exit, the exit status, and
   whether a re-run sends exactly the rest.

    python benchmarks/hostile_network.py [--recipients 50000] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from broadcast.testing import ChaosServer, Fault

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ["--title", "PlayStation Network is down", "--incident", "psn-2011-04", "--yes"]
BODY = "Sign-in, online play and the Store are unavailable. We are investigating."


def _env(server: ChaosServer, numbers: Path, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("BROADCAST_")}
    return {
        **keep,
        **server.env(),
        "BROADCAST_SMS_RECIPIENTS": f"@{numbers}",
        **extra,
    }


def _send(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and command
        [sys.executable, "-m", "broadcast", "send", *FLAGS, "--json", BODY],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def _numbers(folder: Path, count: int) -> tuple[Path, list[str]]:
    numbers = [f"+14155{i:06d}" for i in range(count)]  # valid US numbers
    path = folder / "numbers.txt"
    path.write_text("\n".join(numbers))
    return path, numbers


def random_faults(folder: Path, count: int) -> dict[str, Any]:
    """30 % random 500/503/reset; rate and concurrency raised so it ends in minutes."""
    path, numbers = _numbers(folder, count)
    with ChaosServer("twilio") as twilio:
        twilio.randomly(
            0.3, Fault.error(500), Fault.error(503), Fault.reset(after_body=False), seed=1
        )
        env = _env(
            twilio,
            path,
            BROADCAST_JOURNAL=str(folder / "faults.db"),
            BROADCAST_SMS_RATE="100000",
            BROADCAST_SMS_CONCURRENCY="50",
        )
        start = time.monotonic()
        process = _send(env)
        out, _ = process.communicate()
        seconds = time.monotonic() - start
        texted = Counter(twilio.accepted)
        requests = len(twilio.received)
    (sms,) = json.loads(out)["receipts"]
    # The JSON lists the first 1,000 rejections (MAX_LISTED); the journal has them all.
    with sqlite3.connect(folder / "faults.db") as db:
        rows = db.execute("SELECT item, reason FROM items WHERE state = 'failed'").fetchall()
    listed = {recipient for recipient, _ in rows}
    unaccounted = set(numbers) - set(texted) - listed
    return {
        "recipients": count,
        "requests": requests,
        "seconds": round(seconds, 1),
        "exit": process.returncode,
        "delivered (stand-in)": len(texted),
        "accepted (Report)": sms["accepted"],
        "listed as not reached": sms["rejected_count"],
        "of which unanswered": sum("may have arrived" in reason for _, reason in rows),
        "neither delivered nor listed": len(unaccounted),
        "duplicates": sum(texted.values()) - len(texted),
        "stopped early": bool(sms["details"].get("stopped_early")),
    }


def trickle(folder: Path, count: int, **extra: str) -> dict[str, Any]:
    """Every answer one byte every 2 s: seconds until the command ends."""
    path, _ = _numbers(folder, count)
    with ChaosServer("twilio") as twilio:
        twilio.randomly(1.0, Fault.trickle(2.0))
        env = _env(twilio, path, BROADCAST_JOURNAL="off", **extra)
        start = time.monotonic()
        process = _send(env)
        out, _ = process.communicate(timeout=3600)
        seconds = time.monotonic() - start
    (sms,) = json.loads(out)["receipts"]
    return {
        "settings": " ".join(f"{k}={v}" for k, v in extra.items()) or "defaults",
        "recipients": count,
        "seconds to end": round(seconds, 1),
        "exit": process.returncode,
        "reason": sms["reason"][:90],
    }


def sigterm(folder: Path, count: int) -> dict[str, Any]:
    """SIGTERM after 500 texts: seconds to exit, status, and the re-run."""
    path, numbers = _numbers(folder, count)
    with ChaosServer("twilio") as twilio:
        twilio.randomly(1.0, Fault.delay(0.05))
        env = _env(twilio, path, BROADCAST_JOURNAL=str(folder / "term.db"))
        process = _send(env)
        reached = threading.Event()
        give_up = time.monotonic() + 120
        while not reached.wait(0.01) and time.monotonic() < give_up:
            if len(twilio.accepted) >= 500:
                reached.set()
        if not reached.is_set():
            process.kill()
            raise SystemExit("the stand-in never took 500 texts")
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate()
        to_exit = time.monotonic() - signalled
        (first,) = json.loads(out)["receipts"]
        sent_first = len(twilio.accepted)
        again = _send(env)
        again.communicate()
        texted = Counter(twilio.accepted)
    return {
        "seconds from SIGTERM to exit": round(to_exit, 2),
        "exit": process.returncode,
        "reported accepted": first["accepted"],
        "texted before exit (stand-in)": sent_first,
        "re-run exit": again.returncode,
        "everyone once after the re-run": texted == Counter(numbers),
    }


def _table(rows: list[dict[str, Any]]) -> str:
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=50_000)
    parser.add_argument("--trickle-recipients", type=int, default=100)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        faults = random_faults(folder, args.recipients)
        slow = [
            trickle(folder, 3),
            trickle(folder, args.trickle_recipients, BROADCAST_TIMEOUT="20"),
        ]
        term = sigterm(folder, 2_000)
    print("### 30 % random faults (500, 503, reset), one run of `broadcast send`\n")
    print(_table([faults]))
    print("\n### A provider trickling every answer (one byte every 2 s)\n")
    print(_table(slow))
    print("\n### SIGTERM after 500 of 2,000 texts (each answer 50 ms late)\n")
    print(_table([term]))


if __name__ == "__main__":
    main()
