"""Run every benchmark in benchmarks/ and write one report, ``benchmarks/RESULTS.md``.

What it does
    Runs each script below in its own process, one after another, with this
    interpreter, echoing what it prints; a script this file does not know (a new one)
    runs with its defaults all the same. Scripts that print a markdown section
    (``vs_apprise.py``, ``import_time.py``, ``peak_memory.py``, ``crash_resume.py
    --markdown``) go into the report as they are; the others' plain output goes in as
    a text block under "Detailed runs". The report starts with how the figures were
    taken, the machine (CPU, cores, RAM, OS, Python, package versions) and the date.

    A script that fails is reported as failed, with its output, and the run goes on;
    the exit status is then 1. ``crash_resume.py`` is skipped with a note when absent.

How to run
    make bench            (first installs apprise into .venv-bench, not into .venv)
    .venv-bench/bin/python benchmarks/run_all.py [--quick] [--output PATH]

    The full run takes about 11 minutes here. ``--quick`` runs every script with small
    sizes (about two minutes), to check that they all work; its figures mean little,
    so it writes to the system's temporary folder unless ``--output`` says otherwise.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
_LIMIT = 1800.0
"""Seconds a script may run before it is stopped and reported as failed."""
PACKAGES = (
    ("broadcast-crisis", "broadcast's distribution name"),
    ("httpx", ""),
    ("aiohttp", "broadcast's transport"),
    ("httpx-aiohttp", "the transport compared in transport_choice.py; benchmarks only"),
    ("aiosmtplib", ""),
    ("apprise", "the comparison; benchmarks only"),
    ("requests", "Apprise's HTTP client"),
    ("aiosmtpd", "the real SMTP sink"),
    ("psycopg", "PostgresJournal's driver"),
    ("pgserver", "the PostgreSQL 16 server the journal benchmark starts"),
)


@dataclass(frozen=True)
class Bench:
    """One script: what it measures, its arguments, and how its output is used."""

    script: str
    about: str
    args: tuple[str, ...] = ()
    quick: tuple[str, ...] = ()
    markdown: bool = False
    """Its stdout is a markdown section (else plain text, shown as a block)."""


BENCHES = (
    Bench(
        "vs_apprise.py",
        "webhook, SMS and email: broadcast vs a raw client vs Apprise",
        quick=("-n", "200", "--rounds", "1"),
        markdown=True,
    ),
    Bench(
        "import_time.py",
        "import time, broadcast vs Apprise",
        quick=("--repeat", "3"),
        markdown=True,
    ),
    Bench(
        "peak_memory.py",
        "peak RSS of a 1,000,000-recipient SMS fan-out, and Apprise's",
        quick=("--recipients", "20000", "--small", "2000"),
        markdown=True,
    ),
    Bench(
        "crash_resume.py",
        "SIGKILL a send, run it again, count the duplicates",
        args=("--markdown",),
        quick=("--markdown", "--runs", "1"),
        markdown=True,
    ),
    Bench(
        "webhook_overhead.py",
        "Webhook per-send overhead against raw httpx on the same client, and without sockets",
        quick=("-n", "200", "--rounds", "1"),
    ),
    Bench(
        "email_throughput.py",
        "Email against plain aiosmtplib, with aiosmtpd as the sink; peak RSS of 100,000",
        quick=("-n", "500", "--rounds", "1", "--memory-recipients", "2000"),
    ),
    Bench(
        "sms_fanout.py",
        "TwilioSMS against raw aiohttp, over broadcast's default client",
        # Peak memory at 1,000,000 recipients is peak_memory.py's, so not measured twice;
        # the httpcore variants (why broadcast sends over aiohttp) take minutes, so they
        # are left to a run by hand.
        args=("--variants", "broadcast-default", "--memory-recipients", "0"),
        quick=(
            *("-n", "500", "--rounds", "1"),
            *("--variants", "broadcast-default", "--memory-recipients", "0"),
        ),
    ),
    Bench(
        "transport_choice.py",
        "broadcast's httpx-on-aiohttp transport vs the httpx-aiohttp package: fan-out, failures",
        quick=("-n", "300", "--rounds", "1"),
    ),
    Bench(
        "journal_overhead.py",
        "SMS fan-out with the SQLite delivery journal against without it; re-run, resume",
        quick=("-n", "500", "--rounds", "1"),
    ),
    Bench(
        "hostile_network.py",
        "50,000 SMS with 30 % random faults, a slow-loris provider, SIGTERM mid fan-out",
        quick=("--recipients", "500", "--trickle-recipients", "10"),
        markdown=True,
    ),
    Bench(
        "journal_pg_write_rate.py",
        "the journal's write rate alone, PostgreSQL (a real server) and SQLite, 1-4 writers",
        args=("-n", "20000", "-c", "20", "500", "--processes", "1", "2", "4"),
        quick=("-n", "2000", "-c", "50", "--processes", "1", "2"),
    ),
    Bench(
        "scale_out.py",
        "one SMS send on 1 vs 2 worker processes (taskiq, SQLite journal); 77M cost model",
        quick=("-n", "4000", "--rounds", "1"),
    ),
    Bench(
        "journal_open.py",
        "the journal's checks at open (schema, layout, quick_check) for 100,000 and 1,000,000",
        quick=("--rows", "20000", "--repeat", "3"),
        markdown=True,
    ),
)


@dataclass(frozen=True)
class Outcome:
    """What one script did: its command, exit status, seconds and standard output."""

    bench: Bench
    command: str
    status: int | None
    """None: skipped (the script does not exist)."""
    seconds: float
    stdout: str


# --- running ------------------------------------------------------------------------


def _all_benches() -> list[Bench]:
    """The known scripts, then any other ``benchmarks/*.py`` that is not a helper."""
    known = {bench.script for bench in BENCHES}
    others = sorted(
        path.name
        for path in HERE.glob("*.py")
        if not path.name.startswith("_") and path.name not in known | {Path(__file__).name}
    )
    return [*BENCHES, *(Bench(name, "(not described in run_all.py)") for name in others)]


def run(bench: Bench, *, quick: bool) -> Outcome:
    """Run one script, echoing its stdout as it comes; its stderr goes to ours."""
    args = bench.quick if quick else bench.args
    command = " ".join(["python", f"benchmarks/{bench.script}", *args])
    path = HERE / bench.script
    if not path.exists():
        print(f"\n=== {bench.script}: not found, skipped", flush=True)
        return Outcome(bench, command, None, 0.0, "")
    print(f"\n=== {command}", flush=True)
    start = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - our interpreter, our scripts
        [sys.executable, str(path), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    watchdog = threading.Timer(_LIMIT, process.kill)
    watchdog.start()
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            print(line, end="", flush=True)
        status = process.wait()
    finally:
        watchdog.cancel()
    seconds = time.perf_counter() - start
    print(f"=== {bench.script}: exit {status} after {seconds:,.0f} s", flush=True)
    return Outcome(bench, command, status, seconds, "".join(lines))


# --- the machine --------------------------------------------------------------------


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _field(text: str, name: str, sep: str = ":") -> str:
    """The value of the first ``name<sep>value`` line of ``text``, or ``""``."""
    for line in text.splitlines():
        key, found, value = line.partition(sep)
        if found and key.strip() == name:
            return value.strip().strip('"')
    return ""


def _git(*args: str) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - fixed arguments
            ["git", *args],  # noqa: S607 - git from PATH, as a developer runs it
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def machine() -> list[tuple[str, str]]:
    """What the report says of the machine and the software, as (name, value) rows."""
    cpuinfo = _read("/proc/cpuinfo")
    model = _field(cpuinfo, "model name") or platform.processor() or "unknown"
    cores = {
        (_field(block, "physical id"), _field(block, "core id"))
        for block in cpuinfo.split("\n\n")
        if block.strip()
    }
    physical = f", {len(cores)} physical" if cores and ("", "") not in cores else ""
    memory = _field(_read("/proc/meminfo"), "MemTotal")
    ram = f"{int(memory.split()[0]) / 1024**2:.1f} GiB" if memory else "unknown"
    system = _field(_read("/etc/os-release"), "PRETTY_NAME", "=") or platform.system()
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = " with uncommitted changes" if _git("status", "--porcelain") else ""
    rows = [
        ("CPU", f"{model}, {os.cpu_count()} logical CPUs{physical}"),
        ("RAM", ram),
        ("OS", f"{system}, {platform.system()} {platform.release()} {platform.machine()}"),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("broadcast's source", f"commit {commit}{dirty}" if commit else "not a git checkout"),
    ]
    for name, note in PACKAGES:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "not installed"
        rows.append((name, f"{version} ({note})" if note else version))
    return rows


# --- the report ---------------------------------------------------------------------

_HOW = """\
Every benchmark sends over 127.0.0.1 to a local sink in a process of its own (an HTTP
sink that answers like a webhook receiver or like Twilio, or an SMTP sink), so nothing
leaves the machine and the sink does not share the client's interpreter. After each
run the sink's count must match what was sent, or the script stops.

Every comparison is made within one run of its script: the workloads alternate, in an
order that rotates each round, after one untimed run of each, so that machine noise
hits them alike. Tables give the median over the rounds, and each ratio is the median
of the per-round ratios. CPU per message is the client process's CPU time (Apprise's
worker threads included) or the sink's, divided by the messages sent. The machine has
2 cores and is shared with other work; where other processes used a noticeable share
of a core during a run, the section says so, and those rates are the least reliable.

The Apprise compared is the version pinned in `benchmarks/requirements.txt`, installed
in the benchmarks' own environment (`.venv-bench`); it is never a core dependency of
broadcast (only the optional `apprise` extra, the bridge, installs it). Each section says
which Apprise setup stands in for broadcast's workload; `benchmarks/_apprise.py` says
why each is the fair equivalent.
"""


def _heading(outcome: Outcome) -> str:
    return f"`{outcome.bench.script}`"


def _block(text: str) -> str:
    return "```text\n" + text.rstrip("\n") + "\n```\n"


def _section(outcome: Outcome) -> str:
    """The report's part for a markdown script: its section, or why it is missing."""
    if outcome.status is None:
        return (
            f"## {_heading(outcome)}\n\n"
            f"Skipped: `benchmarks/{outcome.bench.script}` does not exist in this checkout.\n"
        )
    if outcome.status != 0:
        return (
            f"## {_heading(outcome)}: failed\n\n`{outcome.command}` exited with status "
            f"{outcome.status} after {outcome.seconds:,.0f} s. What it printed:\n\n"
            + _block(outcome.stdout or "(nothing)")
        )
    return outcome.stdout.strip("\n") + "\n"


def _detail(outcome: Outcome) -> str:
    """The report's part for a plain-text script: what it measures, and its output."""
    head = f"### {_heading(outcome)}\n\n{outcome.bench.about}. `{outcome.command}`"
    if outcome.status is None:
        return f"{head}: skipped, the script does not exist.\n"
    verdict = "" if outcome.status == 0 else f" **Failed with status {outcome.status}.**"
    return f"{head}, {outcome.seconds:,.0f} s.{verdict}\n\n" + _block(outcome.stdout)


def report(outcomes: list[Outcome], *, quick: bool, started: datetime.datetime) -> str:
    """The whole of RESULTS.md."""
    total = sum(outcome.seconds for outcome in outcomes)
    minutes, seconds = divmod(round(total), 60)
    parts = [
        "# Benchmark results\n",
        f"Written by `make bench` (`benchmarks/run_all.py`) on "
        f"{started:%Y-%m-%d %H:%M} UTC; the benchmarks took {minutes} min {seconds} s.\n",
    ]
    if quick:
        parts.append(
            "**A quick run (`--quick`): small sizes, one round. The figures only show "
            "that the scripts work; do not quote them.**\n"
        )
    parts += [
        "## How the figures were taken\n",
        _HOW,
        "## The machine\n",
        "| | |\n| --- | --- |\n" + "".join(f"| {name} | {value} |\n" for name, value in machine()),
        "## Where the time goes\n",
        "The client's CPU per message, profiled (cProfile) on the SMS fan-out and the "
        "webhook send, before and after the hot-path work of issue 24, with what each "
        "change bought in µs per message: [PROFILE.md](PROFILE.md). "
        "`sms_fanout.py --profile broadcast-default` and `webhook_overhead.py --profile` "
        "take it again.\n",
        "## Before the hot-path work\n",
        "The same-run ratios of the previous `make bench` (the RESULTS.md of commit "
        "5e9a412, before issue 24), for comparison with the sections below:\n\n"
        "| workload | broadcast / raw client | client CPU per message, broadcast vs raw |\n"
        "| --- | ---: | --- |\n"
        "| SMS fan-out, C=50, N=2,000 (vs raw aiohttp) | 0.49x | 275 µs vs 136 µs |\n"
        "| Webhook send, C=20, N=2,000 (vs raw aiohttp) | 0.20x | 371 µs vs 76 µs |\n"
        "| Email, P=8, N=2,000 (vs raw aiosmtplib) | 0.90x | 1.11x the raw CPU |\n"
        "| SMS fan-out with the journal vs without (quick run) | 0.885 | |\n",
    ]
    parts += [_section(outcome) for outcome in outcomes if outcome.bench.markdown]
    details = [outcome for outcome in outcomes if not outcome.bench.markdown]
    if details:
        parts.append(
            "## Detailed runs\n\nThe other scripts compare broadcast with a raw client in "
            "more detail (per round, per transport, CPU split, pure per-message steps). "
            "Their own output follows; each script's docstring says what it measures.\n"
        )
        parts += [_detail(outcome) for outcome in details]
    parts.append(
        "## Run times\n\n| script | command | seconds | exit status |\n"
        "| --- | --- | ---: | ---: |\n"
        + "".join(
            f"| {_heading(o)} | `{o.command}` | {o.seconds:,.0f} | "
            f"{'skipped' if o.status is None else o.status} |\n"
            for o in outcomes
        )
    )
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run every benchmark; write RESULTS.md.")
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, one round: a smoke run (~2 min)"
    )
    parser.add_argument("--output", type=Path, help="where to write the report")
    args = parser.parse_args()
    output = args.output or (
        Path(tempfile.gettempdir()) / "broadcast-bench-quick.md" if args.quick else RESULTS
    )
    try:
        import apprise  # noqa: F401, PLC0415 - only checks that the comparison can run
    except ImportError:
        sys.exit("apprise is not installed here: run `make bench`, which installs it")
    started = datetime.datetime.now(datetime.UTC)
    outcomes = [run(bench, quick=args.quick) for bench in _all_benches()]
    output.write_text(report(outcomes, quick=args.quick, started=started), encoding="utf-8")
    total = sum(outcome.seconds for outcome in outcomes)
    print(f"\nwrote {output} ({total:,.0f} s of benchmarks)")
    if any(outcome.status not in {0, None} for outcome in outcomes):
        sys.exit(1)


if __name__ == "__main__":
    main()
