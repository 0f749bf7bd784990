"""``broadcast send`` and ``broadcast preview``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

import click

from ._common import (
    EXIT_DECLINED,
    EXIT_SIGNALLED,
    Settings,
    fail,
    guarded,
    only_option,
    pass_settings,
    to_option,
)
from ._inputs import build_update, update_options
from ._journal import existing_journal, use_journal
from ._output import ProgressDisplay, exit_code, print_previews, print_report, verdict

if TYPE_CHECKING:
    from .._update import Update

__all__ = ["preview", "send"]


def _interactive() -> bool:
    """Someone at a terminal can answer: ask (on stderr; stdout may be piped or redirected)."""
    return sys.stdin.isatty()


@click.command()
@update_options
@only_option
@to_option
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show each channel's text and recipient count, check every recipient list; send nothing.",
)
@click.option(
    "--allow-invalid",
    is_flag=True,
    help="With --dry-run: exit 0 even if a recipient list has invalid lines.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the Report as JSON on stdout.")
@click.option("--yes", "-y", is_flag=True, help="Send without asking (never asked off a terminal).")
@click.option("--no-journal", is_flag=True, help="Do not record or consult the delivery journal.")
@click.option(
    "--distributed",
    metavar="BROKER",
    help="Queue the send for `broadcast worker` processes on this taskiq broker "
    "(zmq://HOST:PORT or package.module:broker) and return; see `broadcast status`.",
)
@click.option(
    "--shard-size",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="With --distributed: recipients per task.",
)
@pass_settings
@guarded
def send(
    settings: Settings,
    /,
    *,
    only: str | None,
    to: str | None,
    dry_run: bool,
    allow_invalid: bool,
    as_json: bool,
    yes: bool,
    no_journal: bool,
    distributed: str | None,
    shard_size: int,
    **fields: Any,
) -> None:
    """Send an update to every configured channel (or those picked by --only / --to).

    In a terminal it shows what each channel will say and asks first (with --json
    too: the question goes to stderr); in CI it never asks. Exit status: 0 everyone
    reached (or already reached, or refused for good), 1 someone was missed (run
    again), 2 a usage, configuration, input or journal error (nothing was sent), 3
    another process is sending this update (run again later), 4 you answered no
    (nothing was sent), 130 / 143 stopped by Ctrl-C / SIGTERM (the Report says what
    was not sent). On SIGTERM or a first Ctrl-C no new send starts, sends in flight
    get a few seconds, and the Report is printed; a second Ctrl-C aborts at once.
    """
    update = build_update(**fields)
    config = settings.load()
    channels = config.select(only=only, to=to)
    if dry_run:
        from ._dry_run import dry_run as rehearse  # noqa: PLC0415 - keep --help fast

        raise click.exceptions.Exit(
            rehearse(settings, channels, update, as_json=as_json, allow_invalid=allow_invalid)
        )
    if fields.get("next_update") and not no_journal:
        update = _as_before(update, config.env.get("BROADCAST_JOURNAL"), quiet=settings.quiet)
    if not yes and _interactive():
        _confirm(settings, channels, update)
    if distributed and no_journal:
        raise fail("--distributed needs the journal the workers share; drop --no-journal")
    broadcaster = config.broadcaster(only=only, to=to, journal=None if no_journal else "config")
    if distributed:
        from ._distributed import queue_send  # noqa: PLC0415 - keep --help fast

        queue_send(settings, broadcaster, update, distributed, shard_size, as_json=as_json)

    received: list[int] = []
    display = ProgressDisplay() if not settings.quiet else None

    async def run() -> Any:
        with _signals(broadcaster, received), display or contextlib.nullcontext():
            async with broadcaster:
                return await broadcaster.send(update, progress=display)

    report = asyncio.run(run())
    code = EXIT_SIGNALLED + received[0] if received else exit_code(report)
    if as_json:
        click.echo(settings.mask(json.dumps(report.to_dict(), indent=2, ensure_ascii=False)))
    elif not settings.quiet:
        print_report(report, settings.mask)
    elif code and (said := verdict(report)):
        click.echo(f"error: {said}", err=True)
    raise click.exceptions.Exit(code)


def _confirm(settings: Settings, channels: list[Any], update: Update) -> None:
    """Show each channel's text on stderr and ask; a no (or Ctrl-D) sends nothing."""
    from ..api._preview import render_previews  # noqa: PLC0415 - keep --help fast

    print_previews(render_previews(channels, update), settings.mask, err=True)
    names = ", ".join(c.name for c in channels)
    click.echo(f"Send this to {len(channels)} channel(s): {names}? [y/N] ", nl=False, err=True)
    try:
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        click.echo(err=True)
        raise fail(
            "not sent: stopped by Ctrl-C; nothing was sent", EXIT_SIGNALLED + signal.SIGINT
        ) from None
    if answer.strip().lower() not in ("y", "yes"):
        if not answer:
            click.echo(err=True)  # Ctrl-D ends the line the question left open
        raise fail(
            "not sent: answered no; nothing was sent (--yes sends without asking)",
            EXIT_DECLINED,
        )


class _signals:
    """SIGTERM or a first Ctrl-C stop the send in order; a second Ctrl-C aborts at once."""

    def __init__(self, broadcaster: Any, received: list[int]) -> None:
        self._broadcaster = broadcaster
        self._received = received
        self._installed: list[int] = []

    def __enter__(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self._on_signal, sig)
            except (NotImplementedError, RuntimeError):  # not the main thread, or Windows
                continue
            self._installed.append(sig)

    def __exit__(self, *exc: object) -> None:
        loop = asyncio.get_running_loop()
        for sig in self._installed:
            loop.remove_signal_handler(sig)

    def _on_signal(self, sig: int) -> None:
        name = signal.Signals(sig).name
        if self._received and sig == signal.SIGINT:
            print(
                "Aborted by a second Ctrl-C: sends in flight may show as in doubt in the "
                "journal; `broadcast send` again resumes.",
                file=sys.stderr,
                flush=True,
            )
            os._exit(EXIT_SIGNALLED + sig)
        if not self._received:
            self._received.append(sig)
            print(
                f"{name}: stopping: no new sends; those in flight get a few seconds "
                "(Ctrl-C again to abort at once)",
                file=sys.stderr,
                flush=True,
            )
            self._broadcaster.stop(f"stopped by {name}")


def _as_before(update: Update, path: str | None, *, quiet: bool = False) -> Update:
    """The same command run again: keep the first run's next-update time, hence its key.

    ``--next-update 1h`` means a different moment a minute later, which would make a
    re-run (after a crash, or a second try in a panic) a new update, posted twice. If
    the incident's latest update in the journal differs only by that time, reuse it.
    """
    from ..api._calls import make_update  # noqa: PLC0415 - keep --help fast

    journal = existing_journal(path)
    if journal is None:
        return update
    timeline = use_journal(journal, lambda j: j.history(update.incident))
    last = timeline[-1] if timeline else None
    if last is None or last.next_update_at is None or last.key == update.key:
        return update
    again = make_update(update, next_update_at=last.next_update_at)
    if again.key != last.key:
        return update
    if quiet:
        return again
    click.echo(
        f"Same update as the one recorded at {last.recorded_at:%H:%M} UTC; keeping its "
        f"next-update time ({last.next_update_at:%H:%M} UTC) so nothing is posted twice.",
        err=True,
    )
    return again


@click.command()
@update_options
@only_option
@to_option
@click.option("--json", "as_json", is_flag=True, help="Print the renderings as JSON.")
@pass_settings
@guarded
def preview(
    settings: Settings, /, *, only: str | None, to: str | None, as_json: bool, **fields: Any
) -> None:
    """Show what each channel would say, without sending and without credentials.

    Tweet parts with weighted lengths, SMS encoding and segments, the email, the
    Facebook post, the webhook JSON. With no channel configured, it shows every
    registered channel type with example settings (--only picks types by name).
    """
    from ..api._preview import channels_to_preview, render_previews  # noqa: PLC0415

    update = build_update(**fields)
    config = settings.load(require_secrets=False, allow_empty=True)
    previews = render_previews(channels_to_preview(config, to, only=only), update)
    if as_json:
        rows = [
            {"channel": p.channel, "kind": p.kind, "text": p.text, "error": p.error}
            for p in previews
        ]
        click.echo(settings.mask(json.dumps(rows, indent=2, ensure_ascii=False)))
        return
    if not config.channels:
        click.echo("No channel is configured: showing each built-in channel with examples.\n")
    print_previews(previews, settings.mask)
