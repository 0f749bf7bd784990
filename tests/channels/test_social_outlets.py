"""One update to X, Mastodon, Bluesky and an Apprise URL at once, through the journal."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from broadcast import Broadcaster, Outcome, RetryPolicy, SQLiteJournal, Update
from broadcast.testing import AppriseReceiver, BlueskyFake, MastodonFake, XEndpoint


async def test_four_outlets_each_get_a_receipt_and_a_rerun_skips_them_all(
    make_update: Callable[..., Update], tmp_path: Path, retry: RetryPolicy
) -> None:
    """Four Receipts (X, Mastodon, Bluesky, one Apprise URL), each once; a re-run skips all."""
    path = tmp_path / "journal.db"
    update = make_update()
    with (
        XEndpoint() as x,
        MastodonFake() as mastodon,
        BlueskyFake() as bluesky,
        AppriseReceiver(paths=("/status",)) as apprise,
    ):
        reports = []
        for _ in range(2):
            journal = SQLiteJournal(path)
            outlets = [x, mastodon, bluesky, apprise]
            channels = [outlet.channel() for outlet in outlets]
            async with Broadcaster(channels, retry=retry, journal=journal) as broadcaster:
                reports.append(await broadcaster.send(update))
            await journal.aclose()
        first, second = reports
        assert {r.channel: r.outcome for r in first.receipts} == {
            "twitter": Outcome.DELIVERED,
            "mastodon": Outcome.DELIVERED,
            "bluesky": Outcome.DELIVERED,
            "apprise": Outcome.DELIVERED,
        }
        assert [r.outcome for r in second.receipts] == [Outcome.SKIPPED] * 4
        sent = (len(x.posts), len(mastodon.statuses), len(bluesky.posts), len(apprise.posts))
        assert sent == (1, 1, 1, 1)
        assert all(outlet.verified() for outlet in outlets)
