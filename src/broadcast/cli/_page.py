"""``broadcast page build``: the status page and its feed, from the journal."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._common import Settings, fail, guarded, pass_settings

if TYPE_CHECKING:
    from ..journal._setting import AnyJournal
    from ..page import BuiltSite

__all__ = ["page"]


@click.group()
def page() -> None:
    """Broadcast's own status page: built from what the journal says was sent."""


@page.command()
@click.option(
    "--out",
    "out",
    required=True,
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the site here (made if missing).",
)
@click.option(
    "--base-url",
    metavar="URL",
    help="Where the site is published (default: BROADCAST_STATUS_PAGE_BASE_URL).",
)
@click.option("--title", default="Status", show_default=True, help="Heading of every page.")
@pass_settings
@guarded
def build(settings: Settings, /, *, out: Path, base_url: str | None, title: str) -> None:
    """Write index.html, incidents/<id>.html, feed.atom and summary.json to DIR.

    Only updates delivered on at least one channel appear.
    """
    from ..journal._sqlite import journal_from_setting  # noqa: PLC0415 - keep --help fast
    from ..page import build_site  # noqa: PLC0415
    from ._journal import use_journal  # noqa: PLC0415

    env = settings.load(require_secrets=False, allow_empty=True).env
    base_url = base_url or env.url("BROADCAST_STATUS_PAGE_BASE_URL")
    if base_url is not None:
        from .._broadcaster import _checked_base_url  # noqa: PLC0415

        try:
            _checked_base_url(base_url)
        except ValueError as exc:
            raise fail(f"--base-url: {exc}") from None
    setting = env.get("BROADCAST_JOURNAL")
    if setting is not None and setting.strip().lower() == "off":
        raise fail("the journal is off (BROADCAST_JOURNAL=off): there is nothing to build from")
    journal = journal_from_setting(setting)
    assert journal is not None  # noqa: S101 - off is handled above
    path = getattr(journal, "path", None)  # a file; a PostgreSQL journal has none
    if isinstance(path, Path) and not path.exists():
        raise fail(f"no journal yet at {path}: nothing has been sent with it")

    async def run(j: AnyJournal) -> BuiltSite:
        return await build_site(j, out, base_url=base_url, title=title, now=datetime.now(UTC))

    built = use_journal(journal, run)
    shown = len(built.site.incidents)
    click.echo(f"Status page: {built.index} ({len(built.files)} files, {shown} incident(s))")
