"""The status page in a real browser: Debian's headless Chromium, driven by Playwright.

The site is built from a journal holding the PSN timeline and served from a loopback
HTTP server. ``make test`` installs ``chromium`` with apt-get when /usr/bin/chromium is
missing; without it these tests fail (they never skip), saying how to install it.
Playwright only drives that browser: it never downloads its own.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from broadcast import Update
from broadcast.demo import psn_timeline
from broadcast.page import CONTENT_TYPES, build_site
from broadcast.testing import LoopbackServer, RecordedRequest, Reply

from .pages import AFTER, HOSTILE, hostile_update, sent_journal

pytestmark = pytest.mark.xdist_group("browser")  # one worker, so one Chromium per run

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""What Chromium needs here: no sandbox as root, and no calls home on a closed network."""
SCREENSHOT = Path(__file__).parents[1] / "docs" / "assets" / "status-page.png"


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """/psn/: the PSN timeline, resolved; /hostile/: an open incident told in markup."""
    root = tmp_path_factory.mktemp("served")

    async def build(name: str, updates: list[Update], title: str) -> None:
        journal = await sent_journal(root / f"{name}.db", updates)
        try:
            await build_site(journal, root / name, title=title, now=AFTER)
        finally:
            await journal.aclose()

    asyncio.run(build("psn", psn_timeline(), "PlayStation Network status"))
    asyncio.run(build("hostile", [hostile_update()], f"Status {HOSTILE}"))
    return root


@pytest.fixture(scope="module")
def served(sites: Path) -> Iterator[str]:
    """The sites over HTTP on 127.0.0.1, as a static host serves them."""

    def answer(request: RecordedRequest) -> Reply:
        target = (sites / request.path.split("?")[0].lstrip("/")).resolve()
        if not target.is_relative_to(sites) or not target.is_file():
            return Reply(404, body=b"not found", headers={"content-type": "text/plain"})
        kind = CONTENT_TYPES.get(target.suffix, "application/octet-stream")
        return Reply(200, body=target.read_bytes(), headers={"content-type": kind})

    with LoopbackServer(answer) as server:
        yield server.url


@pytest.fixture(scope="module")
def browser(served: str) -> Iterator[Browser]:
    """One headless Chromium for this module: Debian's, never a downloaded build.

    Started after the sites are built and stopped with the module: Playwright's sync
    API runs an event loop on this thread while it is up, where asyncio.run cannot.
    """
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's browser with `apt-get install chromium` "
            "(`make test` does this itself); the status page's browser tests need it"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh tab at a phone-friendly width; any script dialog fails the test."""
    context = browser.new_context(viewport={"width": 800, "height": 1100}, java_script_enabled=True)
    tab = context.new_page()
    dialogs: list[str] = []
    tab.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    yield tab
    context.close()
    assert dialogs == [], "a script ran on the page"


def test_the_front_page_shows_the_status_and_links_to_the_incident(page: Page, served: str) -> None:
    """Resolved: "All Systems Operational"; its link opens the incident, newest update first."""
    page.goto(f"{served}/psn/index.html")
    assert page.locator("h1").is_visible()
    assert page.locator("h1").inner_text() == "All Systems Operational"
    assert page.locator("#open ~ p").first.inner_text() == "No open incidents."
    resolved = page.get_by_role("link", name="PlayStation Network is back")
    resolved.click()
    page.wait_for_url("**/psn/incidents/psn-2011-04.html")
    titles = page.locator("ol.timeline article h3").all_text_contents()
    expected = [f"{u.status.capitalize()}{u.title}" for u in reversed(psn_timeline())]
    assert titles == expected
    meta = page.locator("ol.timeline .meta").all_inner_texts()
    assert meta[0] == "2011-04-21 14:00 UTC · Head of Network Operations"
    assert page.locator(".state.resolved").first.inner_text() == "RESOLVED"  # a word, not a hue
    page.get_by_role("link", name="Current status").click()
    page.wait_for_url("**/psn/index.html")
    assert page.locator("h1").inner_text() == "All Systems Operational"


def test_the_screenshot_is_a_png_of_sane_size(page: Page, served: str) -> None:
    """docs/assets/status-page.png, written by the browser: a PNG 800 pixels wide."""
    page.goto(f"{served}/psn/incidents/psn-2011-04.html")
    page.screenshot(path=str(SCREENSHOT), full_page=False)
    data = SCREENSHOT.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (800, 1100)
    assert 20_000 < len(data) < 2_000_000


def test_user_text_is_shown_as_text_never_run_or_rendered(page: Page, served: str) -> None:
    """<script>, <b>, quotes and & in the title, body, author and site title stay literal."""
    page.goto(f"{served}/hostile/index.html")
    assert page.locator("h1").inner_text() == "Minor Service Outage"
    assert page.locator("script").count() == 0
    assert page.locator("main b").count() == 0
    article = page.locator("ol.timeline article").first
    assert HOSTILE in article.locator("h3").inner_text()
    assert f"First paragraph {HOSTILE}" in article.inner_text()
    assert f"On-call {HOSTILE}" in article.locator(".meta").inner_text()
    assert page.title() == f"Status {HOSTILE}"
    assert page.locator("td").first.inner_text() == "Sign-in <api>"


def test_a_phone_reads_it_without_scrolling_sideways(browser: Browser, served: str) -> None:
    """At 360 CSS pixels wide, nothing on the incident page is wider than the screen."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    try:
        phone = context.new_page()
        phone.goto(f"{served}/psn/incidents/psn-2011-04.html")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 360
        assert phone.locator("article").first.bounding_box()["width"] <= 360  # type: ignore[index]
    finally:
        context.close()
