"""Crash and resume: SIGKILL a send at several points, run it again, count the duplicates.

What is measured
    A child process (``benchmarks/_crash_child.py``) sends one update on one channel
    with the SQLite journal, to a stand-in provider in this process on 127.0.0.1: a
    ``broadcast.testing.LoopbackServer`` answering like Twilio, X or a webhook receiver,
    or an aiosmtpd server. The stand-in counts what arrives, by recipient, post text or
    ``webhook-id``. At a chosen arrival it sets an event; this process waits on it (with
    a timeout, never polling) and kills the child with SIGKILL. Then it runs the same
    command again to the end and compares what the stand-in received with what
    ``docs/journal.md`` promises:

    * SMS (2,000 numbers, concurrency 10) and email (400 addresses, pool_size 4):
      everyone reached, and duplicates at most one per worker. SMS is killed the
      moment the 200th (10%) or the 1,800th (90%) message arrives, email at the 200th
      (50%), the stand-in answering the others as usual, so the kill lands wherever the
      workers happen to be; and SMS once more with the stand-in holding every answer
      from the 1,000th message on until all 10 workers wait on one (the case
      ``tests/test_journal_processes.py`` checks), where the bound is met exactly;
    * an X thread of 3 parts, killed while part 2's POST is at the stand-in,
      unanswered: the re-run must not post it again but report it in doubt. The script
      then settles it (``journal.settle(key, "twitter", part=1, post_id=...)`` with
      the id the stand-in gave it) and a third run posts part 3 under part 2;
    * a webhook, killed while its POST is at the stand-in: the re-run sends it again
      with the same ``webhook-id`` (two requests, one id, so no duplicate effect).

    For each run it reports what had arrived at the kill, what was reached in the end,
    the duplicates, the documented bound, the re-run's Receipt outcome and its
    ``details["resent_after_stop"]`` and ``details["already_delivered"]``. The
    summary gives the worst duplicates per kill point against its bound, and a verdict.
    ``resent_after_stop`` counts only pending rows that reached the disk before the
    kill, and a pending row can reach it before its message leaves, so it is neither
    bound of the duplicates; it is shown, not judged.

How to run
    .venv/bin/python benchmarks/crash_resume.py [--runs 3] [--markdown]

    ``--markdown`` prints one markdown section (``## Crash and resume``) and nothing
    else on stdout. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _crash_child import make_update  # sibling modules: this runs as a script
from _crash_standins import WAIT, KillPoint, StandIn, Tripwire, XStandIn, serving

from broadcast import SQLiteJournal
from broadcast.channels import Twitter

CHILD = Path(__file__).with_name("_crash_child.py")
THREAD_BODY = " ".join(
    [
        "Sign-in fails for some players on PlayStation Network since 21:40 UTC.",
        "Online play, the PlayStation Store and friends lists are affected in every",
        "region; games already running offline are not. We have taken the network down",
        "to investigate an intrusion and to rebuild the affected systems.",
        "Your saved games are safe. Purchases made in the last hour may show as",
        "pending; nobody will be charged twice for them.",
        "We will post here and email every account holder as soon as we know more.",
        "We are sorry: we know many of you planned to play tonight.",
    ]
)


KILL_POINTS = (
    KillPoint("SMS early (10%)", "sms", 2000, 10, at=200, hold=0, bound=10),
    KillPoint("SMS late (90%)", "sms", 2000, 10, at=1800, hold=0, bound=10),
    KillPoint("SMS mid, 10 in flight", "sms", 2000, 10, at=1000, hold=10, bound=10),
    KillPoint("email mid-way (50%)", "email", 400, 4, at=200, hold=0, bound=4),
    KillPoint("X thread, part 2 in flight", "twitter", 3, 1, at=2, hold=1, bound=0),
    KillPoint("webhook in flight", "webhook", 1, 1, at=1, hold=1, bound=0),
)


# --- the child processes ------------------------------------------------------------


class ChildFailed(Exception):
    """A child did not do what the run needs; the message ends with its log's tail."""


def _start(spec: dict[str, Any], log: Path, *, stdout: int) -> subprocess.Popen[str]:
    with log.open("w", encoding="utf-8") as stderr:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, str(CHILD), json.dumps(spec)], stdout=stdout, stderr=stderr, text=True
        )


def _tail(log: Path, lines: int = 6) -> str:
    return "\n".join(log.read_text(encoding="utf-8").splitlines()[-lines:])


def kill_at_tripwire(spec: dict[str, Any], trip: Tripwire, log: Path) -> None:
    """Start a send and SIGKILL it when ``trip`` fires; ChildFailed if it ends first."""
    child = _start(spec, log, stdout=subprocess.DEVNULL)

    def watch() -> None:
        child.wait()
        trip.fired.set()  # an early end wakes the wait below as well

    threading.Thread(target=watch, daemon=True).start()
    try:
        if not trip.fired.wait(WAIT):
            raise ChildFailed(f"the kill point was not reached in {WAIT:g} s\n{_tail(log)}")
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(WAIT)
    if child.returncode != -signal.SIGKILL:
        raise ChildFailed(f"it ended (exit {child.returncode}) before the kill\n{_tail(log)}")


def run_to_end(spec: dict[str, Any], log: Path) -> dict[str, Any]:
    """Send again, to the end; the channel's Receipt (as JSON) with the update's key."""
    child = _start(spec, log, stdout=subprocess.PIPE)
    try:
        out, _ = child.communicate(timeout=WAIT)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise ChildFailed(f"the re-run did not finish in {WAIT:g} s\n{_tail(log)}") from None
    if child.returncode != 0:
        raise ChildFailed(f"the re-run failed (exit {child.returncode})\n{_tail(log)}")
    report = json.loads(out)
    receipt: dict[str, Any] = report["receipts"][0]
    return receipt | {"update_key": report["update_key"]}


async def settle_part(journal: str, update_key: str, part: int, post_id: str) -> None:
    """Tell the journal part ``part`` of the thread is up as ``post_id``."""
    store = SQLiteJournal(journal)
    try:
        await store.settle(update_key, "twitter", part=part, post_id=post_id)
    finally:
        await store.aclose()


# --- one run of a kill point --------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """One kill and re-run, as the stand-in and the re-run's Receipt saw it."""

    point: KillPoint
    run: int
    at_kill: int
    """Distinct recipients, posts or ids that had arrived when the child was killed."""
    reached: int
    """Distinct expected ones that arrived in the end."""
    duplicates: int
    outcome: str
    resent: int | None = None
    already: int | None = None
    note: str = ""
    ok: bool = False


def inputs(point: KillPoint, tmp: Path) -> tuple[dict[str, Any], set[str]]:
    """What the child sends (recipients file or body), and what should arrive."""
    if point.channel == "twitter":
        x = Twitter(bearer_token="unused")  # noqa: S106 - only renders, never sends
        posts = x.render(make_update(THREAD_BODY)).posts
        assert len(posts) == point.total, f"the body makes {len(posts)} posts"
        return {"body": THREAD_BODY}, set(posts)
    if point.channel == "webhook":
        return {}, {f"msg_{make_update().key}"}  # Standard Webhooks id: the update's key
    if point.channel == "sms":
        keys = [f"+1415555{i:04d}" for i in range(point.total)]
    else:
        keys = [f"player{i:04d}@example.net" for i in range(point.total)]
    path = tmp / "recipients.txt"
    path.write_text("\n".join(keys), encoding="utf-8")
    return {"recipients": str(path)}, set(keys)


@dataclass
class Scene:
    """One run's setting: the kill point, the stand-in, the child's spec, a scratch dir."""

    point: KillPoint
    run: int
    stand_in: StandIn
    expected: set[str]
    """The recipients, post texts or webhook-id that must arrive in the end."""
    spec: dict[str, Any]
    tmp: Path
    at_kill: int = 0

    def result(self, duplicates: int, outcome: str, *, ok: bool, **more: Any) -> Result:
        """A Result of this run; ``reached`` counts the expected keys that arrived."""
        reached = len(self.stand_in.arrived.keys() & self.expected)
        return Result(
            self.point, self.run, self.at_kill, reached, duplicates, outcome, ok=ok, **more
        )


def fan_out_result(scene: Scene, receipt: dict[str, Any]) -> Result:
    """Everyone reached, duplicates within one per worker."""
    arrived, total = scene.stand_in.arrived, scene.point.total
    duplicates = arrived.total() - len(arrived)
    details = receipt["details"]
    resent = details.get("resent_after_stop")
    done = receipt["outcome"] == "delivered" and receipt["accepted"] == total
    note = ""
    if resent is not None and resent > duplicates:
        note = f"{resent - duplicates} pending row(s) had not arrived: re-sent, not duplicated"
    return scene.result(
        duplicates,
        receipt["outcome"],
        resent=resent,
        already=details.get("already_delivered"),
        note=note,
        ok=done and arrived.keys() == scene.expected and duplicates <= scene.point.bound,
    )


def thread_result(scene: Scene, stand_in: XStandIn, receipt: dict[str, Any]) -> Result:
    """Part 2 reported in doubt, not re-posted; once settled, part 3 follows it."""
    after_rerun = stand_in.arrived.total()
    reason = receipt["reason"] or ""
    in_doubt = receipt["outcome"] == "failed" and "part 2 was being posted by a run" in reason
    part_2 = stand_in.posts[1][0]
    asyncio.run(settle_part(scene.spec["journal"], receipt["update_key"], 1, part_2))
    third = run_to_end(scene.spec, scene.tmp / "third.log")
    ids = [post_id for post_id, _ in stand_in.posts]
    replies = [body.get("reply", {}).get("in_reply_to_tweet_id") for _, body in stand_in.posts]
    chained = replies == [None, *ids[:-1]]
    arrived = stand_in.arrived
    return scene.result(
        arrived.total() - len(arrived),
        f"{receipt['outcome']} (in doubt), then {third['outcome']}",
        note=(
            f"{after_rerun} posts after the re-run; part 2 settled by hand, "
            f"then part 3 {'replied to it' if chained else 'BROKE THE THREAD'}"
        ),
        ok=in_doubt
        and after_rerun == 2
        and third["outcome"] == "delivered"
        and arrived.keys() == scene.expected
        and arrived.total() == scene.point.total
        and chained,
    )


def webhook_result(scene: Scene, receipt: dict[str, Any]) -> Result:
    """Re-sent once, with the same ``webhook-id``: duplicates of effect = ids - 1."""
    arrived = scene.stand_in.arrived
    requests, ids = arrived.total(), len(arrived)
    return scene.result(
        ids - 1,
        receipt["outcome"],
        note=f"{requests} requests, {ids} webhook-id",
        ok=receipt["outcome"] == "delivered" and arrived.keys() == scene.expected and requests <= 2,
    )


def judge(scene: Scene, receipt: dict[str, Any]) -> Result:
    """The Result of the re-run, by channel."""
    if isinstance(scene.stand_in, XStandIn):
        return thread_result(scene, scene.stand_in, receipt)
    if scene.point.channel == "webhook":
        return webhook_result(scene, receipt)
    return fan_out_result(scene, receipt)


def run_once(point: KillPoint, run: int) -> Result:
    """Kill a send of ``point``'s channel at its kill point, re-run it, judge the result."""
    with (
        tempfile.TemporaryDirectory(prefix="crash-resume-") as tmp_name,
        serving(point) as (stand_in, where),
    ):
        tmp = Path(tmp_name)
        given, expected = inputs(point, tmp)
        spec = {
            "channel": point.channel,
            "journal": str(tmp / "journal.db"),
            "workers": point.workers,
            **where,
            **given,
        }
        scene = Scene(point, run, stand_in, expected, spec, tmp)
        try:
            kill_at_tripwire(spec, stand_in.trip, tmp / "first.log")
            scene.at_kill = len(stand_in.arrived)
            stand_in.trip.release.set()
            return judge(scene, run_to_end(spec, tmp / "second.log"))
        except ChildFailed as exc:
            arrived = stand_in.arrived
            note = " / ".join(str(exc).splitlines())
            return scene.result(arrived.total() - len(arrived), "error", note=note, ok=False)


# --- the report ---------------------------------------------------------------------

HEADER = (
    "kill point",
    "run",
    "at kill",
    "reached",
    "dups",
    "bound",
    "re-run outcome",
    "resent_after_stop",
    "already_delivered",
    "notes",
)
SUMMARY_HEADER = ("kill point", "runs", "worst dups", "bound", "all reached", "verdict")


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def run_row(result: Result) -> tuple[str, ...]:
    """One run as table cells."""
    point = result.point
    return (
        point.label,
        str(result.run),
        f"{result.at_kill:,}",
        f"{result.reached:,}/{point.total:,}",
        str(result.duplicates),
        str(point.bound),
        result.outcome,
        _count(result.resent),
        _count(result.already),
        result.note,
    )


def summary_rows(results: list[Result]) -> list[tuple[str, ...]]:
    """Per kill point: the worst duplicates against the bound, and whether all held."""
    rows: list[tuple[str, ...]] = []
    for point in KILL_POINTS:
        mine = [r for r in results if r.point == point]
        if not mine:
            continue
        reached = all(r.reached == point.total for r in mine)
        rows.append(
            (
                point.label,
                str(len(mine)),
                str(max(r.duplicates for r in mine)),
                str(point.bound),
                "yes" if reached else "NO",
                "PASS" if all(r.ok for r in mine) else "FAIL",
            )
        )
    return rows


def progress(result: Result) -> str:
    """A line on stderr as each run ends."""
    point = result.point
    return (
        f"{point.label}, run {result.run}: {result.duplicates} duplicate(s), bound "
        f"{point.bound}; {result.outcome}; {'ok' if result.ok else 'NOT OK'}"
    ) + (f" ({result.note})" if result.note else "")


def verdict(results: list[Result]) -> str:
    """The overall line."""
    failed = sorted({r.point.label for r in results if not r.ok})
    if failed:
        return f"FAIL: {', '.join(failed)} (see the notes)"
    return (
        "PASS: every kill point stayed within its bound; every re-run finished the fan-outs "
        "and the webhook, and reported the X part in flight in doubt instead of re-posting it"
    )


def text_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """Columns aligned with spaces; numbers right-aligned."""
    table = [header, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    numeric = [
        all(r[i].replace(",", "").replace("/", "").isdigit() for r in rows)
        for i in range(len(header))
    ]
    lines = []
    for row in table:
        cells = [
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(row, widths, numeric, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def setup_line(runs: int, seconds: float) -> str:
    """How the figures were made."""
    return (
        f"{runs} run(s) per kill point; SIGKILL, then the same command again; stand-ins "
        f"on 127.0.0.1 in the parent process; {os.cpu_count()} CPU(s), Python "
        f"{sys.version.split()[0]}; wall time {seconds:.0f} s."
    )


def markdown(results: list[Result], runs: int, seconds: float) -> str:
    """The ``## Crash and resume`` section."""
    return "\n\n".join(
        [
            "## Crash and resume",
            "`benchmarks/crash_resume.py`: a child process sends one update on one channel "
            "with the SQLite journal and is killed with SIGKILL at a chosen arrival at the "
            "stand-in provider; a re-run finishes the job. Duplicates are what the stand-in "
            "received twice (for the webhook: distinct `webhook-id`s beyond one); the bound "
            "is the one `docs/journal.md` documents. " + setup_line(runs, seconds),
            markdown_table(SUMMARY_HEADER, summary_rows(results)),
            f"**{verdict(results)}.**",
            "Every run:",
            markdown_table(HEADER, [run_row(r) for r in results]),
        ]
    )


def plain(results: list[Result], runs: int, seconds: float) -> str:
    """The readable report."""
    return "\n\n".join(
        [
            "Crash and resume: SIGKILL at a kill point, then a re-run to the end",
            setup_line(runs, seconds),
            text_table(HEADER, [run_row(r) for r in results]),
            text_table(SUMMARY_HEADER, summary_rows(results)),
            verdict(results),
        ]
    )


def main() -> None:
    """Run every kill point ``--runs`` times and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per kill point (3)")
    parser.add_argument("--markdown", action="store_true", help="print a markdown section")
    args = parser.parse_args()
    start = time.perf_counter()
    results = []
    for point in KILL_POINTS:
        for run in range(1, args.runs + 1):
            result = run_once(point, run)
            print(progress(result), file=sys.stderr)
            results.append(result)
    seconds = time.perf_counter() - start
    report = markdown if args.markdown else plain
    print(report(results, args.runs, seconds))


if __name__ == "__main__":
    main()
