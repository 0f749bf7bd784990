"""``broadcast check``: validate the configuration and probe every credential."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict

import click

from ._common import EXIT_FAILED, EXIT_OK, Settings, guarded, only_option, pass_settings, to_option

__all__ = ["check"]


@click.command()
@only_option
@to_option
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--timeout", default=20.0, show_default=True, help="Seconds per probe.")
@pass_settings
@guarded
def check(
    settings: Settings, /, *, only: str | None, to: str | None, as_json: bool, timeout: float
) -> None:
    """Validate the configuration and probe each channel's credentials, posting nothing.

    One line per channel, then the journal's path. Exit 1 if a probe fails, 2 if the
    configuration is wrong.
    """
    from ..api._calls import acheck  # noqa: PLC0415 - keep --help fast

    config = settings.load()
    channels = config.select(only=only, to=to)
    results = asyncio.run(acheck(channels=channels, timeout=timeout))
    if as_json:
        click.echo(settings.mask(json.dumps([asdict(r) for r in results], indent=2)))
    else:
        width = max(len(r.channel) for r in results)
        for r in results:
            verdict = "ok  " if r.ok else "FAIL"
            line = f"{verdict} {r.channel:<{width}}  {r.detail} ({r.elapsed:.2f}s)"
            click.echo(settings.mask(line))
        click.echo(_journal_line(config.env.get("BROADCAST_JOURNAL")))
    raise click.exceptions.Exit(EXIT_OK if all(r.ok for r in results) else EXIT_FAILED)


def _journal_line(setting: str | None) -> str:
    """Where sends from here are recorded: one journal per user unless configured."""
    from ..journal._setting import exists, journal_from_setting, location  # noqa: PLC0415

    journal = journal_from_setting(setting)
    if journal is None:
        return "journal: off (BROADCAST_JOURNAL=off): nothing is recorded between sends"
    made = "" if exists(journal) else " (not created yet: nothing was sent)"
    return f"journal: {location(journal)}{made}"
