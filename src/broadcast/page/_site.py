"""Build the site: read the journal, render every file, write them to a directory.

``render_site`` is pure (a ``Site`` in, ``{path: bytes}`` out); ``write_site`` does the
I/O, each file replaced whole (written aside, then renamed), so a web server never
serves half a page.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ._model import RECENT, Site, read_site
from ._needs import require

if TYPE_CHECKING:
    from ..journal._protocol import Journal

__all__ = ["BuiltSite", "build_site", "render_site", "write_site"]

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".atom": "application/atom+xml",
    ".json": "application/json",
}
"""What each kind of file is, for a server or a PUT."""


@dataclass(frozen=True, slots=True)
class BuiltSite:
    """What ``build_site`` wrote: the site, and the files under ``out_dir``."""

    site: Site
    out_dir: Path
    files: tuple[str, ...]

    @property
    def index(self) -> Path:
        """The front page."""
        return self.out_dir / "index.html"


def render_site(site: Site) -> dict[str, bytes]:
    """Every file of the site by its path: index, one page per incident, feed, summary.

    Raises ``ConfigError`` with the install hint without the ``page`` extra.
    """
    require()
    from ._feed import render_feed  # noqa: PLC0415 - the page extra, only when used
    from ._html import render_incident, render_index  # noqa: PLC0415
    from ._summary import render_summary  # noqa: PLC0415

    files = {"index.html": render_index(site).encode()}
    for incident in site.incidents:
        files[incident.path] = render_incident(site, incident).encode()
    files["feed.atom"] = render_feed(site)
    files["summary.json"] = render_summary(site)
    return files


def write_site(files: Mapping[str, bytes], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write ``files`` under ``out_dir`` (made if missing), each replaced atomically."""
    root = Path(out_dir)
    written = []
    for name, data in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, scratch = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.chmod(scratch, 0o644)
            Path(scratch).replace(target)
        except BaseException:
            Path(scratch).unlink(missing_ok=True)
            raise
        written.append(target)
    return written


async def build_site(
    journal: Journal,
    out_dir: str | os.PathLike[str],
    *,
    base_url: str | None = None,
    title: str = "Status",
    now: datetime | None = None,
    window: timedelta = RECENT,
    include: Collection[str] = (),
) -> BuiltSite:
    """Read ``journal`` and write the status page's files to ``out_dir``.

    ``index.html``, ``incidents/<id>.html``, ``feed.atom`` and ``summary.json``; only
    updates delivered on at least one channel appear (and those named by ``include``).
    ``base_url`` is where the site is published (absolute links in the feed and
    summary); ``now`` decides which resolved incidents are recent (``window``).
    """
    require()
    site = await read_site(
        journal, title=title, base_url=base_url, now=now, window=window, include=include
    )
    files = render_site(site)
    write_site(files, out_dir)
    return BuiltSite(site, Path(out_dir), tuple(files))
