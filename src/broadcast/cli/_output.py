"""Printing: rich on a terminal (imported only then), plain text for CI logs and pipes."""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

import click

if TYPE_CHECKING:
    from .._report import Receipt, Report
    from .._scope import Progress
    from ..api._preview import Preview

__all__ = ["ProgressDisplay", "exit_code", "print_previews", "print_report", "verdict"]

PLAIN_EVERY = 5.0
"""Seconds between plain progress lines when stderr is not a terminal."""


def _is_terminal(stream: TextIO) -> bool:
    return stream.isatty()


def exit_code(report: Report) -> int:
    """0 when everyone was reached (``Report.reached_everyone``); 3 busy; 1 otherwise.

    A fan-out whose only misses are recipients refused for good (invalid numbers, a
    STOP reply, a 550) still exits 0: the table lists them. A recipient left after a
    transient failure, an unanswered send or an early stop exits 1, so a hook knows to
    run again (the journal then tries only those). When the only thing missing is a
    channel another process is sending (``busy``), the exit is 3: run again later.
    """
    if report.reached_everyone:
        return 0
    others = tuple(r for r in report.receipts if r not in report.busy)
    if report.busy and dataclasses.replace(report, receipts=others).reached_everyone:
        return 3
    return 1


def print_report(report: Report, mask: Callable[[str], str]) -> None:
    """The receipts as a table (rich on a terminal), then a one-line verdict."""
    if _is_terminal(sys.stdout):
        from rich.console import Console  # noqa: PLC0415 - only on a terminal
        from rich.table import Table  # noqa: PLC0415

        table = Table("channel", "outcome", "attempts", "time", "ids / reason")
        colours = {
            "delivered": "green",
            "partial": "yellow",
            "failed": "red",
            "skipped": "cyan",
            "busy": "magenta",
        }
        for r in report.receipts:
            colour = colours.get(r.outcome.value, "")
            outcome = f"[{colour}]{r.outcome.value}[/]"
            table.add_row(
                r.channel, outcome, str(r.attempts), f"{r.elapsed:.2f}s", mask(r.summary())
            )
        Console(highlight=False).print(table)
    else:
        click.echo(mask(report.to_text()))
    if said := verdict(report):
        click.echo(said)


def verdict(report: Report) -> str | None:
    """The line after the table when not everyone was reached (None when they were)."""
    if report.dry_run:
        return "Dry run: nothing was sent."
    if (code := exit_code(report)) == 3:
        names = ", ".join(r.channel for r in report.busy)
        return f"Another process is sending this update on {names}. Run again later."
    if code:
        missed = (*report.failed, *report.partial, *report.busy)
        names = ", ".join(r.channel for r in missed)
        return f"Not everyone was reached: {names}. {_next(missed)}"
    return None


def _next(missed: Sequence[Receipt]) -> str:
    """What to do: re-run, unless a failure is one a re-run repeats (refused, or a crash)."""
    stuck = ", ".join(r.channel for r in missed if r.permanent)
    again = ", ".join(r.channel for r in missed if not r.permanent)
    if not stuck:
        return "Re-run the same command to retry."
    advice = (
        f"A re-run will not fix {stuck}: fix what its reason says first (`broadcast check` "
        "tests each channel; --debug shows a crash's traceback)."
    )
    return f"Re-run the same command to retry {again}. {advice}" if again else advice


def print_previews(
    previews: Sequence[Preview], mask: Callable[[str], str], *, err: bool = False
) -> None:
    """Each channel's rendering: panels side by side on a terminal, blocks otherwise.

    ``err`` prints on stderr (the question before a send, so stdout stays the Report).
    """
    stream = sys.stderr if err else sys.stdout
    if not _is_terminal(stream):
        for p in previews:
            click.echo(f"=== {p.channel} ({p.kind}) ===", err=err)
            click.echo(mask(p.text if p.error is None else f"cannot render: {p.error}"), err=err)
            click.echo(err=err)
        return
    from rich.columns import Columns  # noqa: PLC0415 - only on a terminal
    from rich.console import Console  # noqa: PLC0415
    from rich.panel import Panel  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    console = Console(file=stream, highlight=False)
    width = max(40, min(72, console.width // 2 - 2))
    panels = [
        Panel(
            Text(mask(p.text if p.error is None else f"cannot render: {p.error}")),
            title=f"{p.channel} ({p.kind})",
            width=width,
            border_style="red" if p.error else "blue",
        )
        for p in previews
    ]
    console.print(Columns(panels))


class ProgressDisplay:
    """Fan-out progress on stderr: live bars on a terminal, a line every few seconds else."""

    def __init__(
        self, *, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._stream = stream or sys.stderr
        self._clock = clock
        self._said: dict[str, float] = {}
        self._live: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> ProgressDisplay:
        if _is_terminal(self._stream):
            from rich.console import Console  # noqa: PLC0415 - only on a terminal
            from rich.progress import BarColumn, TextColumn  # noqa: PLC0415
            from rich.progress import Progress as Bars  # noqa: PLC0415

            self._live = Bars(
                TextColumn("{task.description}"),
                BarColumn(),
                console=Console(file=self._stream),
                transient=True,
            )
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()

    def __call__(self, progress: Progress) -> None:
        """Show one channel's progress (called by the fan-out, on the event loop)."""
        if self._live is not None:
            if progress.channel not in self._tasks:
                self._tasks[progress.channel] = self._live.add_task(
                    counts(progress), total=progress.total
                )
            done = progress.done + progress.failed
            self._live.update(
                self._tasks[progress.channel], completed=done, description=counts(progress)
            )
            return
        now = self._clock()
        last = self._said.get(progress.channel)
        if not progress.finished and last is not None and now - last < PLAIN_EVERY:
            return
        if last is None and progress.finished:
            return  # a short fan-out: the Report says it all
        self._said[progress.channel] = now
        of = f" of {progress.total:,}" if progress.total is not None else ""
        state = "done" if progress.finished else "sending"
        print(
            f"{progress.channel}: {state}, {progress.done:,}{of} reached, "
            f"{progress.failed:,} not reached",
            file=self._stream,
            flush=True,
        )


def counts(progress: Progress) -> str:
    """``sms: 1,200/5,000`` (``sms: 1,200`` for a stream), and how many were not reached."""
    done = progress.done + progress.failed
    of = f"/{progress.total:,}" if progress.total is not None else ""
    missed = f" ({progress.failed:,} not reached)" if progress.failed else ""
    return f"{progress.channel}: {done:,}{of}{missed}"
