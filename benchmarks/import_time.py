"""How long ``import broadcast`` takes against ``import apprise``, in fresh interpreters.

What is measured
    Each repetition starts five fresh interpreters (``sys.executable -I -c ...``), in
    an order that rotates each repetition so that machine noise hits all alike:

    * ``pass``: the bare interpreter, the baseline;
    * ``import broadcast`` and ``import apprise``;
    * each import followed by building a webhook sender (``READY``), since broadcast
      imports its channels and their libraries only when they are used;

    and times each from start to exit (wall clock, in this process). An import's own
    time is that less the bare interpreter's time in the same repetition. Then the two
    imports run again under ``-X importtime`` and the package's cumulative line is read
    (the interpreter's own account of the import). One untimed run of each first writes
    the bytecode caches. Finally one more interpreter per case counts the modules it
    loads.

    The output, on stdout, is one markdown section: medians over the repetitions, and
    the ratio broadcast / Apprise. Progress goes to stderr.

How to run
    Needs apprise: ``make bench`` installs it into ``.venv-bench``.

    .venv-bench/bin/python benchmarks/import_time.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

BARE = "bare interpreter"
PACKAGES = ("broadcast", "apprise")
READY = {
    "broadcast": (
        "import broadcast; from broadcast.channels import Webhook; "
        "w = Webhook('http://127.0.0.1:9/hook', secret=Webhook.generate_secret()); "
        "broadcast.Broadcaster([w], journal=None)"
    ),
    "apprise": "import apprise; assert apprise.Apprise().add('json://127.0.0.1:9/hook')",
}
"""Per package: import it and build a webhook sender (nothing is sent)."""
_TIMEOUT = 60.0
_COUNT_MODULES = "import sys; before = set(sys.modules); {0}; print(len(set(sys.modules) - before))"


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    """Run a fresh, isolated interpreter; raise if it fails."""
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-I", *args],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        check=True,
    )


def _code(name: str) -> str:
    """What the interpreter called ``name`` runs: nothing, an import, or a sender built."""
    if name == BARE:
        return "pass"
    package, _, ready = name.partition(" ")
    return READY[package] if ready else f"import {package}"


def wall_ms(name: str) -> float:
    """Milliseconds from start to exit of an interpreter that runs ``_code(name)``."""
    start = time.perf_counter()
    _python("-c", _code(name))
    return (time.perf_counter() - start) * 1e3


def importtime_ms(package: str) -> float:
    """The cumulative time ``-X importtime`` reports for ``package``, in milliseconds."""
    report = _python("-X", "importtime", "-c", f"import {package}").stderr
    for line in report.splitlines():
        # "import time: self [us] | cumulative | imported package"
        parts = [part.strip() for part in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == package:
            return int(parts[1]) / 1e3
    raise RuntimeError(f"-X importtime printed no line for {package}")


def modules_loaded(name: str) -> int:
    """How many modules ``_code(name)`` adds to ``sys.modules``."""
    return int(_python("-c", _COUNT_MODULES.format(_code(name))).stdout)


def _rotated(names: list[str], r: int) -> list[str]:
    return names[r % len(names) :] + names[: r % len(names)]


def measure(repeat: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall times (every name) and ``-X importtime`` times (packages), per repetition."""
    names = [BARE, *PACKAGES, *(f"{package} ready" for package in PACKAGES)]
    for name in names:  # untimed: writes the bytecode caches, warms the file cache
        wall_ms(name)
    walls: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeat):
        for name in _rotated(names, r):
            walls[name].append(wall_ms(name))
    print(f"  wall times taken ({repeat} repetitions)", file=sys.stderr, flush=True)
    cumulative: dict[str, list[float]] = {package: [] for package in PACKAGES}
    for r in range(repeat):
        for package in _rotated(list(PACKAGES), r):
            cumulative[package].append(importtime_ms(package))
    print("  -X importtime taken", file=sys.stderr, flush=True)
    return walls, cumulative


def section(walls: dict[str, list[float]], cumulative: dict[str, list[float]]) -> str:
    """The markdown section: a table and one line of interpretation."""
    repeat = len(walls[BARE])
    bare = statistics.median(walls[BARE])

    def less_bare(name: str) -> float:
        """The median over repetitions of ``name``'s wall time less the bare one's."""
        pairs = zip(walls[name], walls[BARE], strict=True)
        return statistics.median(wall - bare for wall, bare in pairs)

    def row(label: str, baseline: str, value: Callable[[str], float]) -> str:
        b, a = value("broadcast"), value("apprise")
        return f"| {label} | {baseline} | {b:,.0f} | {a:,.0f} | {b / a:.2f} |"

    own = {package: less_bare(package) for package in PACKAGES}
    ready = {package: less_bare(f"{package} ready") for package in PACKAGES}
    lines = [
        "## Import time: `import broadcast` vs `import apprise`",
        "",
        f"Fresh interpreters (`python -I -c ...`), {repeat} repetitions in rotating order "
        'after one untimed run of each (bytecode cached). "The import" and "import '
        "and build\" are an interpreter's wall time less the bare interpreter's "
        "(`-c pass`) in the same repetition; `-X importtime` is Python's own account of "
        "the import. broadcast imports its channels and their libraries lazily, so the "
        "last two rows also build a webhook sender (broadcast: `Webhook` in a "
        "`Broadcaster`; Apprise: `Apprise().add('json://...')`; nothing is sent).",
        "",
        f"| median of {repeat} | bare interpreter | broadcast | Apprise | broadcast / Apprise |",
        "| --- | ---: | ---: | ---: | ---: |",
        row(
            "start to exit, ms",
            f"{bare:,.0f}",
            lambda package: statistics.median(walls[package]),
        ),
        row("the import, ms", "—", own.__getitem__),
        row(
            "the import, `-X importtime` cumulative, ms",
            "—",
            lambda package: statistics.median(cumulative[package]),
        ),
        row("modules the import loads", "—", modules_loaded),
        row("import and build a webhook sender, ms", "—", ready.__getitem__),
        row(
            "modules loaded by then",
            "—",
            lambda package: modules_loaded(f"{package} ready"),
        ),
        "",
        f"`import broadcast` took {own['broadcast']:,.0f} ms beyond a bare interpreter and "
        f"`import apprise` {own['apprise']:,.0f} ms ({own['broadcast'] / own['apprise']:.2f}x); "
        f"with a webhook sender built, {ready['broadcast']:,.0f} ms against "
        f"{ready['apprise']:,.0f} ms ({ready['broadcast'] / ready['apprise']:.2f}x).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description="import broadcast vs import apprise, in fresh interpreters."
    )
    parser.add_argument("--repeat", type=int, default=20, help="repetitions of each")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    walls, cumulative = measure(args.repeat)
    print(section(walls, cumulative), end="")


if __name__ == "__main__":
    main()
