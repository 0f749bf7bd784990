"""Peak RSS of one SMS fan-out to 1,000,000 streamed recipients, and Apprise's for comparison.

What is measured
    The Twilio-shaped sink of ``sms_fanout.py`` (``benchmarks/_twilio_sink.py``) runs in
    its own process on 127.0.0.1. Each check then runs in a fresh process (so nothing
    before it inflates the figure), which notes its RSS after its imports, sends, and
    reports its peak RSS (``VmHWM``; see ``_common.high_water_kb``) and the time the
    send took:

    * broadcast, large: ``sms_fanout.library`` with broadcast's default client, one
      ``send`` of one update to a generator of ``--recipients`` numbers (1,000,000 by
      default), C in flight: the recipients are read as they are sent, never held;
    * broadcast, small: the same to ``--small`` numbers (10,000 by default);
    * Apprise, small: one ``json://`` URL per number (``benchmarks/_apprise.py``), all
      added to one ``Apprise`` and notified once. Apprise holds a plugin object per URL,
      so its memory grows with the recipients; a million of them would take too long to
      be part of a routine run.

    After every check the sink must have accepted exactly as many requests as there
    were recipients, or the script stops. The output, on stdout, is one markdown
    section; progress goes to stderr.

How to run
    Needs apprise: ``make bench`` installs it into ``.venv-bench``.

    .venv-bench/bin/python benchmarks/peak_memory.py [--recipients 1000000]
        [--small 10000] [-c 50]

    The defaults take about five minutes. Nothing leaves 127.0.0.1; the sink process
    stops when the script ends.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from _common import PeakRss, Send, peak_rss, update  # sibling modules: this runs as a script
from _twilio_sink import Sink, auth_header, sms_channel
from sms_fanout import DEFAULT, _library_variant

_CHILD_WAIT = 3600.0
"""Seconds a check may take before it is stopped."""


def _check(sink: Sink, label: str, count: int, send: Send, *args: object) -> PeakRss:
    """Run ``send(*args)`` in a fresh process; the sink must accept ``count`` requests."""
    print(f"  {label}: {count:,} recipients ...", file=sys.stderr, flush=True)
    before = sink.stats().accepted
    result = peak_rss(send, *args, name="bench-peak-memory", wait=_CHILD_WAIT)
    accepted = sink.stats().accepted - before
    if accepted != count:
        raise RuntimeError(f"{label}: the sink accepted {accepted}, expected {count}")
    print(f"    peak {result.peak_kb / 1024:.1f} MB", file=sys.stderr, flush=True)
    return result


def measure(large: int, small: int, concurrency: int) -> dict[str, tuple[int, PeakRss]]:
    """The three checks, by column name: recipients and what each used."""
    from _apprise import sms_notify  # noqa: PLC0415 - so broadcast's children never import it

    with Sink(auth_header()) as sink:
        text = sms_channel(sink.base_url, concurrency, 0).render(update()).text
        url = sink.base_url
        checks: dict[str, tuple[int, PeakRss]] = {}
        for label, count, send, args in (
            (f"broadcast, {small:,}", small, _library_variant, (url, concurrency, DEFAULT)),
            (f"Apprise `json://`, {small:,}", small, sms_notify, (sink.port,)),
            (f"broadcast, {large:,}", large, _library_variant, (url, concurrency, DEFAULT)),
        ):
            extra = (text,) if send is sms_notify else ()
            checks[label] = (count, _check(sink, label, count, send, *args, count, *extra))
    return checks


def section(checks: dict[str, tuple[int, PeakRss]], concurrency: int) -> str:
    """The markdown section: a table and one line of interpretation."""
    names = list(checks)
    small_lib, small_apprise, large_lib = names

    def mb(kb: float) -> str:
        return f"{kb / 1024:,.1f}"

    def growth(name: str) -> float:
        result = checks[name][1]
        return float(result.peak_kb - result.floor_kb)

    rows: list[tuple[str, Callable[[str], str], str]] = [
        ("peak RSS, MB", lambda name: mb(checks[name][1].peak_kb), "peak"),
        ("RSS after imports (the baseline), MB", lambda name: mb(checks[name][1].floor_kb), ""),
        ("growth over the baseline, MB", lambda name: mb(growth(name)), "growth"),
        ("time to send, s", lambda name: f"{checks[name][1].elapsed:,.1f}", ""),
        (
            "messages per second",
            lambda name: f"{checks[name][0] / checks[name][1].elapsed:,.0f}",
            "",
        ),
    ]
    ratio = {
        "peak": checks[small_lib][1].peak_kb / checks[small_apprise][1].peak_kb,
        "growth": growth(small_lib) / max(growth(small_apprise), 1.0),
    }
    lines = [
        f"## Peak memory: one update to {checks[large_lib][0]:,} streamed SMS recipients",
        "",
        "Each column is one send in a fresh process to the Twilio-shaped sink "
        f"(C={concurrency}); peak RSS is the process's high-water mark (`VmHWM`), and "
        "the baseline is that mark after the process's imports, before it sends. "
        "broadcast reads its recipients from a generator as it sends; Apprise gets one "
        "`json://` URL per recipient (it has no way to stream them), so it is measured "
        "at the smaller size only.",
        "",
        "| figure | " + " | ".join(names) + f" | broadcast / Apprise at {checks[small_lib][0]:,} |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, value, key in rows:
        cells = " | ".join(value(name) for name in names)
        lines.append(f"| {label} | {cells} | {f'{ratio[key]:.2f}' if key else '—'} |")
    large, small = checks[large_lib][0], checks[small_lib][0]
    lines += [
        "",
        f"broadcast peaked at {mb(checks[large_lib][1].peak_kb)} MB for {large:,} "
        f"recipients, {mb(growth(large_lib))} MB above its baseline ({mb(growth(small_lib))} "
        f"MB for {small:,}); Apprise grew {mb(growth(small_apprise))} MB for {small:,} (that "
        "includes loading its plugins on first use, its thread pool and one plugin object "
        "per URL).",
    ]
    if large > small:
        slope = (growth(large_lib) - growth(small_lib)) * 1024 / (large - small)
        lines[-1] += (
            f" Between {small:,} and {large:,} recipients broadcast grew about {slope:,.0f} "
            "bytes per recipient: mostly the set of 64-bit hashes it keeps of the recipients "
            "seen so far, to drop duplicates (`broadcast/channels/_recipients.py`)."
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Peak RSS of an SMS fan-out to streamed recipients, and Apprise's."
    )
    parser.add_argument(
        "--recipients", type=int, default=1_000_000, help="recipients of the large check"
    )
    parser.add_argument(
        "--small", type=int, default=10_000, help="recipients of the two small checks"
    )
    parser.add_argument("-c", "--concurrency", type=int, default=50, help="requests in flight")
    args = parser.parse_args()
    if min(args.recipients, args.small, args.concurrency) < 1:
        parser.error("--recipients, --small and -c must be at least 1")
    logging.getLogger("broadcast").setLevel(logging.WARNING)
    checks = measure(args.recipients, args.small, args.concurrency)
    print(section(checks, args.concurrency), end="")


if __name__ == "__main__":
    main()
