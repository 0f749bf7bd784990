"""``broadcast history``, ``broadcast overdue`` and ``broadcast settle``: the journal."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ._common import EXIT_FAILED, EXIT_OK, Settings, fail, guarded, pass_settings

if TYPE_CHECKING:
    from ..journal._protocol import ChannelRecord
    from ..journal._setting import AnyJournal

__all__ = ["aligned", "existing_journal", "history", "overdue", "settle", "use_journal"]

T = TypeVar("T")
_json = click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")


def existing_journal(path: str | None) -> AnyJournal | None:
    """The journal at ``path`` (``BROADCAST_JOURNAL``); None if it is off or not made yet."""
    from ..journal._pg_dsn import is_postgres  # noqa: PLC0415 - keep --help fast

    if path == "off":
        return None
    if is_postgres(path):
        from ..journal._setting import journal_from_setting  # noqa: PLC0415

        return journal_from_setting(path)
    from ..journal._sqlite import default_journal  # noqa: PLC0415 - keep --help fast

    journal = default_journal(path)
    return journal if journal.path.exists() else None


def _where(setting: str | None) -> str:
    """The path the journal setting names (the per-user journal when unset)."""
    from ..journal._setting import journal_from_setting, location  # noqa: PLC0415

    journal = journal_from_setting(setting)
    return location(journal) if journal is not None else "off"


def _location(journal: AnyJournal) -> str:
    from ..journal._setting import location  # noqa: PLC0415 - keep --help fast

    return location(journal)


def _journal(settings: Settings) -> AnyJournal | None:
    """The configured journal; None when it does not exist yet (nothing was sent)."""
    path = settings.load(require_secrets=False, allow_empty=True).env.get("BROADCAST_JOURNAL")
    if path == "off":
        raise fail("the journal is off (BROADCAST_JOURNAL=off): there is nothing to read")
    return existing_journal(path)


def use_journal(journal: AnyJournal, work: Callable[[AnyJournal], Awaitable[T]]) -> T:
    async def run() -> T:
        await journal.open()
        try:
            return await work(journal)
        finally:
            await journal.aclose()

    return asyncio.run(run())


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "-"


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, default=str, ensure_ascii=False)


@click.command()
@click.argument("incident", required=False)
@_json
@pass_settings
@guarded
def history(settings: Settings, /, incident: str | None, *, as_json: bool) -> None:
    """Show an incident's timeline from the journal: each update, what reached where.

    Without INCIDENT, list every incident and its latest status.
    """
    journal = _journal(settings)
    if journal is None:
        where = settings.load(require_secrets=False, allow_empty=True).env.get("BROADCAST_JOURNAL")
        click.echo(f"No journal yet at {_where(where)}: nothing has been sent with it.")
        return
    if incident is None:
        incidents = use_journal(journal, lambda j: j.incidents())
        if as_json:
            click.echo(_dump([asdict(i) for i in incidents]))
            return
        rows = [
            (
                i.incident,
                i.status,
                f"{i.updates} update(s)",
                f"last {_when(i.last_update_at)}",
                f"next promised {_when(i.next_update_at)}",
                i.title,
            )
            for i in incidents
        ]
        for line in aligned(rows):
            click.echo(settings.mask(line))
        return
    updates = use_journal(journal, lambda j: j.history(incident))
    if not updates:
        where = _location(journal)
        raise fail(f"no incident {incident!r} in {where}; `broadcast history` lists them")
    if as_json:
        click.echo(settings.mask(_dump([asdict(u) for u in updates])))
        return
    sends = [(c.channel, c.state, _said(c)) for u in updates for c in u.channels]
    lines = iter(aligned(sends))
    for u in updates:
        click.echo(f"{_when(u.created_at)}  [{u.status}] {u.title}  (key {u.key})")
        if u.next_update_at:
            click.echo(f"    next update promised by {_when(u.next_update_at)}")
        for _ in u.channels:
            click.echo(settings.mask(f"    {next(lines)}"))


def _said(c: ChannelRecord) -> str:
    said = ", ".join(c.ids[:3]) if c.state == "delivered" else (c.reason or "")
    if c.accepted is not None:
        said = f"{c.accepted} reached, {c.rejected or 0} not; {said}".rstrip("; ")
    return said


def aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as lines, every column but the last padded to its widest cell."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join(
            [*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]]
        ).rstrip()
        for row in rows
    ]


@click.command()
@_json
@pass_settings
@guarded
def overdue(settings: Settings, /, *, as_json: bool) -> None:
    """List open incidents whose promised next update is late; exit 1 if there is one.

    For cron and CI: a failing job nags before customers notice the silence.
    """
    from ..journal._protocol import overdue as find_overdue  # noqa: PLC0415 - keep --help fast

    journal = _journal(settings)
    late = [] if journal is None else use_journal(journal, find_overdue)
    if as_json:
        rows = [{**asdict(o), "overdue_by": o.overdue_by.total_seconds()} for o in late]
        click.echo(_dump(rows))
    elif settings.quiet:
        pass  # the exit code says it
    elif late:
        for item in late:
            click.echo(f"OVERDUE {item}")
    else:
        click.echo("No incident is overdue.")
    raise click.exceptions.Exit(EXIT_FAILED if late else EXIT_OK)


@click.command()
@click.argument("update_key")
@click.argument("channel")
@click.option("--part", type=click.IntRange(min=0), help="The thread part (0 is the first).")
@click.option("--post-id", help="It did get there: the id the provider shows for it.")
@click.option("--resend", is_flag=True, help="It did not get there: let the next run send it.")
@pass_settings
@guarded
def settle(
    settings: Settings,
    /,
    update_key: str,
    channel: str,
    *,
    part: int | None,
    post_id: str | None,
    resend: bool,
) -> None:
    """Settle a send left in doubt by a run that stopped mid-post.

    Check the account first. If the post is there, give its id with --post-id; if
    not, use --resend. The Report's reason shows the exact UPDATE_KEY and CHANNEL.
    Exit 2, changing nothing, if that send or part is not in doubt (a misspelled
    channel, a send already delivered): the message lists what can be settled.
    """
    if (post_id is None) == (not resend):
        raise click.UsageError("give exactly one of --post-id ID (it got there) or --resend")
    journal = _journal(settings)
    if journal is None:
        raise fail("no journal yet: there is nothing to settle")
    use_journal(journal, lambda j: j.settle(update_key, channel, part=part, post_id=post_id))
    what = f"part {part} of " if part is not None else ""
    verdict = f"recorded as posted ({post_id})" if post_id else "will be sent by the next run"
    if not settings.quiet:
        click.echo(f"Settled {what}{channel} for update {update_key}: {verdict}.")
