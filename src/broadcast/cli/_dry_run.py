"""``broadcast send --dry-run``: what each channel would say, and to how many.

It renders like ``preview`` and reads each fan-out's recipient list as a send would,
then lists every invalid line (``file:line: reason``) on stderr. Exit 2 when a list
has one (unless ``--allow-invalid``), 1 when a channel cannot render, else 0. No
channel is opened, nothing is sent, and the journal is not touched.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import click

from ._common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Settings
from ._output import print_previews

if TYPE_CHECKING:
    from .._update import Update
    from ..api._dry_run import Rehearsal

__all__ = ["dry_run"]


def dry_run(
    settings: Settings,
    channels: list[Any],
    update: Update,
    *,
    as_json: bool,
    allow_invalid: bool,
) -> int:
    """Show the dry run; return its exit code."""
    from ..api._dry_run import rehearse  # noqa: PLC0415 - keep --help fast

    rows = asyncio.run(rehearse(channels, update))
    invalid = sum(r.invalid for r in rows)
    unreadable = [r for r in rows if r.audit is not None and r.audit.error is not None]
    broken = [r for r in rows if r.preview.error is not None]
    code = EXIT_OK
    if broken:
        code = EXIT_FAILED
    if unreadable or (invalid and not allow_invalid):
        code = EXIT_USAGE
    if as_json:
        document = {
            "update_key": update.key,
            "incident": update.incident,
            "dry_run": True,
            "ok": code == EXIT_OK,
            "channels": [r.to_dict() for r in rows],
        }
        click.echo(settings.mask(json.dumps(document, indent=2, ensure_ascii=False)))
    elif not settings.quiet:
        print_previews([r.preview for r in rows], settings.mask)
        _counts(rows, settings)
    _problems(rows, settings, invalid=invalid, allow_invalid=allow_invalid)
    if not (as_json or settings.quiet):
        click.echo("Dry run: nothing was sent.")
    return code


def _counts(rows: list[Rehearsal], settings: Settings) -> None:
    """One line per fan-out channel: how many would get it, from which list."""
    lists = [r for r in rows if r.audit is not None]
    if not lists:
        return
    width = max(len(r.preview.channel) for r in lists)
    click.echo("Recipients:")
    for r in lists:
        a = r.audit
        assert a is not None  # noqa: S101 - filtered above
        if a.error is not None:
            said = f"{a.source} {a.error}"
        elif a.recipients is None:
            said = f"streamed from {a.source}: counted as it is sent"
        else:
            extra = [f"{a.invalid:,} invalid"] if a.invalid else []
            extra += [f"{a.duplicates:,} duplicate(s) dropped"] if a.duplicates else []
            tail = f" ({', '.join(extra)})" if extra else ""
            said = f"{a.recipients:,} from {a.source}{tail}"
        click.echo(settings.mask(f"  {r.preview.channel:<{width}}  {said}"))
    click.echo()


def _problems(
    rows: list[Rehearsal], settings: Settings, *, invalid: int, allow_invalid: bool
) -> None:
    """Every invalid line as ``file:line: 'entry': reason`` on stderr, then what to do."""
    for r in rows:
        a = r.audit
        if a is None:
            continue
        if a.error is not None:
            click.echo(settings.mask(f"error: {r.preview.channel}: {a.source} {a.error}"), err=True)
        for bad in a.bad_lines:
            click.echo(settings.mask(f"{bad}"), err=True)
        if a.invalid > len(a.bad_lines):
            more = a.invalid - len(a.bad_lines)
            click.echo(f"... and {more:,} more invalid in {a.source}", err=True)
    if invalid:
        verdict = (
            "they will be skipped (--allow-invalid)"
            if allow_invalid
            else "fix them, or pass --allow-invalid to send to the others"
        )
        level = "warning" if allow_invalid else "error"
        click.echo(f"{level}: {invalid:,} invalid recipient line(s): {verdict}", err=True)
