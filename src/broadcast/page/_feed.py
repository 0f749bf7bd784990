"""``feed.atom``: one Atom 1.0 entry per sent update, built with feedgen.

Ids are stable across rebuilds, so readers never show an update twice: an entry's id
is a ``tag:`` URI (RFC 4151) from the site's host, the day the update was written and
its key, or, without a ``base_url``, a name-based ``urn:uuid`` of its key. ``updated``
is the newest entry's time, not the build's, so an unchanged journal gives the same
feed byte for byte.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from feedgen.feed import FeedGenerator

from .._version import __version__
from ._model import PageUpdate, Site, incident_path

__all__ = ["entry_id", "render_feed"]

_NAMESPACE = uuid.UUID("9b2f2c1e-4d0a-5c1b-8f3e-6a7d2b1c0e55")
"""broadcast's own namespace for name-based ids."""


def entry_id(site: Site, update: PageUpdate) -> str:
    """The entry's permanent id."""
    host = urlsplit(site.base_url).hostname if site.base_url else None
    if host:
        return f"tag:{host},{update.created_at:%Y-%m-%d}:{update.incident}/{update.key}"
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, 'update:' + update.key)}"


def _feed_id(site: Site) -> str:
    if site.base_url:
        return site.link("feed.atom")
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, 'page:' + site.title)}"


def render_feed(site: Site) -> bytes:
    """The Atom document: feed id, title, updated, author and links; an entry per update."""
    updates = site.feed_updates()
    feed = FeedGenerator()
    feed.id(_feed_id(site))
    feed.title(site.title)
    feed.author({"name": site.title})
    feed.updated(updates[0].created_at if updates else site.generated_at)
    feed.generator("broadcast", version=__version__)
    feed.link(href=site.link("index.html"), rel="alternate", type="text/html")
    if site.base_url:
        feed.link(href=site.link("feed.atom"), rel="self", type="application/atom+xml")
    for update in updates:
        entry = feed.add_entry(order="append")
        entry.id(entry_id(site, update))
        entry.title(f"[{update.status.capitalize()}] {update.title}")
        entry.updated(update.created_at)
        entry.published(update.created_at)
        link = site.link(incident_path(update.incident)) + f"#update-{update.key}"
        entry.link(href=link, rel="alternate", type="text/html")
        if update.author:
            entry.author({"name": update.author})
        entry.category(term=update.status)
        entry.content(update.body or update.title, type="text")
    data: bytes = feed.atom_str(pretty=True)
    return data
