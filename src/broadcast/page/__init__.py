"""broadcast's own status page and Atom feed, built from the journal.

``await build_site(journal, "site/", base_url="https://status.example.com/")`` writes
``index.html`` (the current status, open incidents' timelines, resolutions of the last
90 days), ``incidents/<id>.html`` (one stable page per incident), ``feed.atom`` (one
entry per update) and ``summary.json`` (Statuspage's shape). Only what was delivered
on at least one channel appears. ``broadcast page build --out DIR`` is the command;
the ``status-page`` channel rebuilds and publishes it after each send.

Needs the ``page`` extra (Jinja2 and feedgen): ``pip install 'broadcast-crisis[page]'``.
Importing this package does not import them.
"""

from ._model import (
    DESCRIPTIONS,
    RECENT,
    PageIncident,
    PageUpdate,
    Site,
    incident_path,
    page_url,
    read_site,
)
from ._needs import INSTALL
from ._site import CONTENT_TYPES, BuiltSite, build_site, render_site, write_site

__all__ = [
    "CONTENT_TYPES",
    "DESCRIPTIONS",
    "INSTALL",
    "RECENT",
    "BuiltSite",
    "PageIncident",
    "PageUpdate",
    "Site",
    "build_site",
    "incident_path",
    "page_url",
    "read_site",
    "render_site",
    "write_site",
]
