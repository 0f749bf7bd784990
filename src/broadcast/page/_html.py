"""The HTML pages, from Jinja2 templates shipped in the package; every value escaped.

Autoescaping is on for every template, so a title such as ``<script>`` shows as text.
No JavaScript: the pages read the same with it off.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import jinja2

from ._model import PageIncident, Site

__all__ = ["render_incident", "render_index"]


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _words(status: str) -> str:
    return status.replace("_", " ").capitalize()


@functools.cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("broadcast.page", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(when=_when, iso=_iso, words=_words)
    return environment


def render_index(site: Site) -> str:
    """``index.html``: the current status, open incidents' timelines, recent resolutions."""
    return _environment().get_template("index.html").render(site=site, root="")


def render_incident(site: Site, incident: PageIncident) -> str:
    """``incidents/<id>.html``: one incident's whole timeline, newest first."""
    template = _environment().get_template("incident.html")
    return template.render(site=site, incident=incident, root="../")
