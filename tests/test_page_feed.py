"""feed.atom: valid Atom 1.0 (RFC 4287's required elements), read by feedparser, stable ids."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import pytest

from broadcast.demo import psn_timeline
from broadcast.journal import SQLiteJournal
from broadcast.page import read_site, render_site

from .pages import AFTER, NEVER_SENT, hostile_update, sent_journal

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
async def sent(tmp_path: Path) -> Path:
    """A journal file: the PSN timeline delivered, one update that failed everywhere."""
    path = tmp_path / "j.db"
    await (await sent_journal(path, failed=[hostile_update(title=NEVER_SENT)])).aclose()
    return path


async def feed_of(path: Path, *, base_url: str | None = "https://status.example.com/") -> bytes:
    journal = SQLiteJournal(path)
    try:
        site = await read_site(journal, base_url=base_url, now=AFTER, title="PSN status")
    finally:
        await journal.aclose()
    return render_site(site)["feed.atom"]


async def test_feedparser_reads_one_entry_per_sent_update(sent: Path) -> None:
    """Atom 1.0, one entry per delivered update, newest first, each linking to its incident."""
    parsed = feedparser.parse(await feed_of(sent))
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    titles = [e.title for e in parsed.entries]
    assert titles == [f"[{u.status.capitalize()}] {u.title}" for u in reversed(psn_timeline())]
    assert all(NEVER_SENT not in t for t in titles)
    for entry, update in zip(parsed.entries, reversed(psn_timeline()), strict=True):
        assert entry.link == (
            f"https://status.example.com/incidents/psn-2011-04.html#update-{update.key}"
        )
        assert entry.author == "Head of Network Operations"
        assert entry.updated_parsed[:5] == update.created_at.timetuple()[:5]


async def test_every_element_rfc_4287_requires_is_there(sent: Path) -> None:
    """feed: id, title, updated, author, self link; each entry: id, title, updated, link."""
    root = ET.fromstring(await feed_of(sent))  # noqa: S314 - our own output
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert len(root.findall(f"{ATOM}{name}")) == 1, name
    assert root.find(f"{ATOM}author/{ATOM}name") is not None  # so no entry lacks an author
    rels = {link.get("rel", "alternate") for link in root.findall(f"{ATOM}link")}
    assert rels == {"alternate", "self"}
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 3
    for entry in entries:
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"{ATOM}{name}")) == 1, name
        assert entry.findtext(f"{ATOM}id", "").startswith("tag:status.example.com,2011-04-21:")
        alternate = [e for e in entry.findall(f"{ATOM}link") if e.get("rel", "alternate")]
        assert alternate
        assert alternate[0].get("href", "").startswith("https://")
    assert root.findtext(f"{ATOM}updated") == entries[0].findtext(f"{ATOM}updated")


async def test_ids_are_stable_across_rebuilds(sent: Path) -> None:
    """Rebuilding from the same journal gives the same ids, and the same bytes."""
    first = await feed_of(sent)
    again = await feed_of(sent)
    assert first == again
    ids = [e.id for e in feedparser.parse(first).entries]
    assert len(set(ids)) == 3


async def test_without_a_base_url_ids_are_name_based_uuids(sent: Path) -> None:
    """No base_url: each id is a urn:uuid of the update's key, the same on every build."""
    first = feedparser.parse(await feed_of(sent, base_url=None))
    again = feedparser.parse(await feed_of(sent, base_url=None))
    ids = [e.id for e in first.entries]
    assert all(i.startswith("urn:uuid:") for i in ids)
    assert ids == [e.id for e in again.entries]
    assert first.feed.id.startswith("urn:uuid:")
