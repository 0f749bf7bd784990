"""The status page: what it shows, from what was sent, escaped; summary.json's shape."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from broadcast import ConfigError
from broadcast.channels import StatusSite
from broadcast.cli import main as cli
from broadcast.demo import psn_timeline
from broadcast.page import _needs, build_site, read_site, render_site

from .pages import AFTER, HOSTILE, NEVER_SENT, hostile_update, sent_journal


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built from the PSN timeline, an open hostile incident and a failed update."""
    root = tmp_path_factory.mktemp("site")

    async def build() -> None:
        failed = hostile_update(title=NEVER_SENT, incident="never-2026")
        later = hostile_update(title=f"{NEVER_SENT} (follow-up)", status="identified")
        updates = [*psn_timeline(), hostile_update()]
        journal = await sent_journal(root / "j.db", updates, failed=[failed, later])
        try:
            await build_site(
                journal, root / "out", base_url="https://status.example.com/", now=AFTER
            )
        finally:
            await journal.aclose()

    asyncio.run(build())
    return root / "out"


def read(site: Path, name: str) -> str:
    return (site / name).read_text(encoding="utf-8")


def test_the_site_has_its_files_at_stable_paths(site_dir: Path) -> None:
    """index.html, one page per incident by its id, feed.atom and summary.json."""
    names = sorted(str(p.relative_to(site_dir)) for p in site_dir.rglob("*") if p.is_file())
    assert names == [
        "feed.atom",
        "incidents/psn-2011-04.html",
        "incidents/signin-2026.html",
        "index.html",
        "summary.json",
    ]


def test_only_delivered_updates_appear(site_dir: Path) -> None:
    """A failed update is on no page, in no feed entry and not in the summary."""
    for name in ("index.html", "incidents/signin-2026.html", "feed.atom", "summary.json"):
        assert NEVER_SENT not in read(site_dir, name), name
    assert not (site_dir / "incidents" / "never-2026.html").exists()


def test_the_index_shows_the_current_status_then_open_then_resolved(site_dir: Path) -> None:
    """The banner says the worst open incident's status; open incidents come before resolved."""
    index = read(site_dir, "index.html")
    assert "Minor Service Outage" in index  # the open hostile incident is minor
    banner, open_at, resolved_at = (
        index.index('class="banner minor"'),
        index.index('id="open"'),
        index.index('id="resolved"'),
    )
    assert banner < open_at < resolved_at
    assert index.index("Sign-in fails") < resolved_at < index.index("PlayStation Network is back")
    assert 'name="viewport"' in index
    assert "<script" not in index.replace("&lt;script", "")
    assert 'type="application/atom+xml"' in index


def test_user_text_is_escaped_everywhere_on_the_pages(site_dir: Path) -> None:
    """Markup, quotes and & in titles, bodies, authors and components are text, not HTML."""
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;quoted&#39;"
    for name in ("index.html", "incidents/signin-2026.html"):
        page = read(site_dir, name)
        assert HOSTILE not in page
        assert page.count(escaped) >= 3, name  # title, body and author
        assert "<b>bold</b>" not in page
        assert "Sign-in &lt;api&gt;" in page
        assert "Second &amp; last" in page


def test_an_incident_page_lists_its_updates_newest_first(site_dir: Path) -> None:
    """Each update with its time, author and status word, the newest at the top."""
    page = read(site_dir, "incidents/psn-2011-04.html")
    titles = [u.title for u in reversed(psn_timeline())]
    positions = [page.index(t.replace("'", "&#39;")) for t in titles[1:]]
    assert positions == sorted(positions)
    assert page.count("Head of Network Operations") == 3
    assert "2011-04-21 10:00 UTC" in page
    for word in ("Resolved", "Identified", "Investigating"):
        assert f">{word}</span>" in page


def summary(site_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(read(site_dir, "summary.json"))
    return data


def test_summary_json_has_statuspages_shape(site_dir: Path) -> None:
    """page, status {indicator, description}, components, unresolved incidents with updates."""
    data = summary(site_dir)
    assert set(data) == {"page", "status", "components", "incidents", "scheduled_maintenances"}
    assert data["status"] == {"indicator": "minor", "description": "Minor Service Outage"}
    assert data["page"]["url"] == "https://status.example.com/"
    assert {"id", "name", "time_zone", "updated_at"} <= set(data["page"])
    (incident,) = data["incidents"]  # the resolved PSN incident is not listed
    assert incident["id"] == "signin-2026"
    assert incident["impact"] == "minor"
    assert incident["status"] == "investigating"
    assert incident["shortlink"] == "https://status.example.com/incidents/signin-2026.html"
    (update,) = incident["incident_updates"]
    assert update["body"].startswith("First paragraph <script>")  # JSON carries it as data
    assert update["affected_components"][0]["new_status"] == "partial_outage"
    (component,) = data["components"]
    assert (component["name"], component["status"]) == ("Sign-in <api>", "partial_outage")


async def test_resolving_an_incident_turns_its_components_operational(tmp_path: Path) -> None:
    """The indicator is none once nothing is open; the components it named are operational."""
    journal = await sent_journal(
        tmp_path / "j.db",
        [hostile_update(), hostile_update(status="resolved", components={}, created_at=AFTER)],
    )
    try:
        site = await read_site(journal, now=AFTER)
    finally:
        await journal.aclose()
    assert site.indicator == "none"
    assert site.description == "All Systems Operational"
    assert {n: s for n, (s, _) in site.components().items()} == {"Sign-in <api>": "operational"}


async def test_resolved_incidents_older_than_90_days_leave_the_front_page(
    tmp_path: Path,
) -> None:
    """Past the window the incident keeps its own page but leaves the index and the feed."""
    journal = await sent_journal(tmp_path / "j.db")
    try:
        late = await read_site(journal, now=AFTER.replace(year=2012))
    finally:
        await journal.aclose()
    files = render_site(late)
    assert "incidents/psn-2011-04.html" in files
    assert b"PlayStation Network is back" not in files["index.html"]
    assert b"<entry>" not in files["feed.atom"]


def test_page_build_writes_the_site_from_the_configured_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`broadcast page build --out DIR` reads BROADCAST_JOURNAL and says where the page is."""
    path = tmp_path / "cli.db"
    today = psn_timeline(datetime.now(UTC) - timedelta(hours=6))  # the command's now is now

    async def fill() -> None:
        await (await sent_journal(path, today)).aclose()

    asyncio.run(fill())
    monkeypatch.setenv("BROADCAST_JOURNAL", str(path))
    monkeypatch.setenv("BROADCAST_STATUS_PAGE_BASE_URL", "https://status.example.com/")
    result = CliRunner().invoke(cli, ["page", "build", "--out", str(tmp_path / "site")])
    assert result.exit_code == 0, result.output
    assert f"Status page: {tmp_path / 'site' / 'index.html'}" in result.output
    feed = (tmp_path / "site" / "feed.atom").read_text(encoding="utf-8")
    assert "https://status.example.com/incidents/psn-2011-04.html#update-" in feed


def test_page_build_without_a_journal_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing sent yet: exit 2 naming the journal, and nothing written."""
    monkeypatch.setenv("BROADCAST_JOURNAL", str(tmp_path / "none.db"))
    result = CliRunner().invoke(cli, ["page", "build", "--out", str(tmp_path / "site")])
    assert result.exit_code == 2
    assert "no journal yet" in result.output
    assert not (tmp_path / "site").exists()


def test_without_the_page_extra_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A missing Jinja2 or feedgen is a ConfigError naming it and the extra, before any file."""
    monkeypatch.setattr(_needs, "_NEEDED", ("jinja2", "feedgen_not_installed"))
    with pytest.raises(ConfigError, match=r"feedgen_not_installed.*broadcast-crisis\[page\]"):
        StatusSite(directory="site")


def test_importing_broadcast_imports_neither_jinja2_nor_feedgen() -> None:
    """The page's libraries load only when a page is built."""
    code = (
        "import sys, broadcast, broadcast.page\n"
        "print(sorted({'jinja2', 'feedgen'} & set(sys.modules)))"
    )
    done = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
