"""The status-page pseudo-channel; and Update.url defaulting to the incident's page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from broadcast import Broadcaster, Outcome, Update
from broadcast.channels import DiscordWebhook, StatusSite, Webhook
from broadcast.config import load_config
from broadcast.demo import psn_timeline
from broadcast.journal import SQLiteJournal
from broadcast.testing import LoopbackServer, RecordingChannel, Reply, fast_retries

from ..pages import AFTER

PAGE = "https://status.example.com/incidents/psn-2011-04.html"
TOKEN = "page-token-7f3a9c1d"


def untold(update: Update) -> Update:
    """``update`` without its url."""
    return Update.model_validate({**update.model_dump(), "url": None})


async def test_each_send_rebuilds_the_site_with_that_update(tmp_path: Path) -> None:
    """After each send the directory holds the site with every update sent so far."""
    journal = SQLiteJournal(tmp_path / "j.db")
    page = StatusSite(directory=tmp_path / "site", now=lambda: AFTER)
    first, second, _ = psn_timeline()
    async with Broadcaster([page], journal=journal, retry=fast_retries(1)) as broadcaster:
        report = await broadcaster.send(first)
        (receipt,) = report.receipts
        assert receipt.outcome is Outcome.DELIVERED
        assert receipt.details["files"] == 4
        index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
        assert first.title.replace("'", "&#39;") in index
        assert second.title not in index
        await broadcaster.send(second)
    await journal.aclose()
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert index.index("An intrusion caused") < index.index("PlayStation Network is down")


async def test_an_update_that_failed_elsewhere_is_on_the_page_it_was_put_on(
    tmp_path: Path,
) -> None:
    """The page itself is a delivery: with the other channel failing it still shows it."""
    journal = SQLiteJournal(tmp_path / "j.db")
    page = StatusSite(directory=tmp_path / "site", now=lambda: AFTER)
    broken = RecordingChannel("x", failures=[ConnectionError("down")] * 5)
    async with Broadcaster([page, broken], journal=journal, retry=fast_retries(1)) as b:
        report = await b.send(psn_timeline()[0])
    records = await journal.history("psn-2011-04")
    await journal.aclose()
    assert [r.outcome for r in report.receipts] == [Outcome.DELIVERED, Outcome.FAILED]
    assert {c.channel: c.state for c in records[0].channels}["status-page"] == "delivered"


async def test_without_a_journal_the_receipt_fails_and_says_why(tmp_path: Path) -> None:
    """No journal, no site: a failed Receipt, and nothing written."""
    page = StatusSite(directory=tmp_path / "site")
    async with Broadcaster([page], retry=fast_retries(1)) as broadcaster:
        (receipt,) = (await broadcaster.send(psn_timeline()[0])).receipts
    assert receipt.outcome is Outcome.FAILED
    assert "journal" in (receipt.reason or "")
    assert not (tmp_path / "site").exists()


async def test_put_sends_every_file_with_its_type_and_the_token(tmp_path: Path) -> None:
    """Each file is PUT under put_url with its content type and the bearer token."""
    journal = SQLiteJournal(tmp_path / "j.db")
    with LoopbackServer() as server:
        page = StatusSite(put_url=f"{server.url}/site/", put_token=TOKEN, now=lambda: AFTER)
        async with Broadcaster([page], journal=journal, retry=fast_retries(1)) as broadcaster:
            (receipt,) = (await broadcaster.send(psn_timeline()[0])).receipts
    await journal.aclose()
    assert receipt.outcome is Outcome.DELIVERED
    sent = {r.path: r for r in server.requests}
    assert set(sent) == {
        "/site/index.html",
        "/site/incidents/psn-2011-04.html",
        "/site/feed.atom",
        "/site/summary.json",
    }
    assert all(r.method == "PUT" for r in sent.values())
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in sent.values())
    assert sent["/site/feed.atom"].headers["content-type"] == "application/atom+xml"
    assert json.loads(sent["/site/summary.json"].body)["status"]["indicator"] == "critical"
    assert TOKEN not in repr(page)


async def test_a_refused_put_is_a_failed_receipt_without_the_token(tmp_path: Path) -> None:
    """401 from the PUT target: failed, not delivered, and the token is not in the reason."""
    journal = SQLiteJournal(tmp_path / "j.db")
    with LoopbackServer() as server:
        server.script(Reply(401, body=b'{"error": "bad token"}'))
        page = StatusSite(put_url=server.url, put_token=TOKEN)
        async with Broadcaster([page], journal=journal, retry=fast_retries(1)) as broadcaster:
            (receipt,) = (await broadcaster.send(psn_timeline()[0])).receipts
    await journal.aclose()
    assert receipt.outcome is Outcome.FAILED
    assert TOKEN not in str(receipt.to_dict())


def test_status_page_needs_somewhere_to_publish() -> None:
    """Neither a directory nor a put_url: a ValueError saying so, before any send."""
    with pytest.raises(ValueError, match="directory to write to, or a put_url"):
        StatusSite()


async def test_url_defaults_to_the_incident_page_on_two_channels() -> None:
    """With status_page_base_url, an update without a url links to its page everywhere."""
    channels = [
        Webhook("https://cms.example.com/hook"),
        DiscordWebhook("https://discord.com/api/webhooks/1/t"),
    ]
    async with Broadcaster(
        channels, status_page_base_url="https://status.example.com/"
    ) as broadcaster:
        report = await broadcaster.send(untold(psn_timeline()[0]), dry_run=True)
    webhook, discord = (r.preview or "" for r in report.receipts)
    assert f'"url": "{PAGE}"' in webhook
    assert PAGE in discord
    async with Broadcaster(channels) as plain:  # without it, no link is made up
        report = await plain.send(untold(psn_timeline()[0]), dry_run=True)
    assert all(PAGE not in (r.preview or "") for r in report.receipts)


async def test_an_updates_own_url_wins_over_the_page() -> None:
    """An update that names its url keeps it."""
    update = Update(title="Down", incident="psn-2011-04", url="https://example.com/why")
    async with Broadcaster(
        [Webhook("https://cms.example.com/hook")], status_page_base_url="https://status.example.com"
    ) as broadcaster:
        (receipt,) = (await broadcaster.send(update, dry_run=True)).receipts
    assert '"url": "https://example.com/why"' in (receipt.preview or "")


def test_the_base_url_comes_from_the_status_page_table(tmp_path: Path) -> None:
    """[status_page] base_url in broadcast.toml reaches the Broadcaster; a bad one is named."""
    config = tmp_path / "broadcast.toml"
    config.write_text(
        '[status_page]\nbase_url = "https://status.example.com/"\n'
        '[channels.site]\ntype = "status-page"\ndirectory = "site"\n',
        encoding="utf-8",
    )
    loaded = load_config(config, env_file=None, environ={})
    assert loaded.broadcaster(journal=None)._page_base == "https://status.example.com/"
    assert [c.name for c in loaded.channels] == ["site"]
    config.write_text('[status_page]\nbase_url = "ftp://x"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="BROADCAST_STATUS_PAGE_BASE_URL"):
        load_config(config, env_file=None, environ={}, allow_empty=True)
