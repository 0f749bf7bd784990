"""One update to X, Mastodon and Bluesky at once, through the journal."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from broadcast import Broadcaster, Outcome, RetryPolicy, SQLiteJournal, Update
from broadcast.testing import BlueskyFake, MastodonFake, XEndpoint


async def test_four_outlets_each_get_a_receipt_and_a_rerun_skips_them_all(
    make_update: Callable[..., Update], tmp_path: Path, retry: RetryPolicy
) -> None:
    """Three Receipts (X, Mastodon, Bluesky), each delivered once; the re-run skips all."""
    path = tmp_path / "journal.db"
    update = make_update()
    with XEndpoint() as x, MastodonFake() as mastodon, BlueskyFake() as bluesky:
        reports = []
        for _ in range(2):
            journal = SQLiteJournal(path)
            channels = [x.channel(), mastodon.channel(), bluesky.channel()]
            # The Apprise bridge's channel (one Apprise URL) joins this list at merge.
            async with Broadcaster(channels, retry=retry, journal=journal) as broadcaster:
                reports.append(await broadcaster.send(update))
            await journal.aclose()
        first, second = reports
        assert {r.channel: r.outcome for r in first.receipts} == {
            "twitter": Outcome.DELIVERED,
            "mastodon": Outcome.DELIVERED,
            "bluesky": Outcome.DELIVERED,
        }
        assert [r.outcome for r in second.receipts] == [Outcome.SKIPPED] * 3
        assert (len(x.posts), len(mastodon.statuses), len(bluesky.posts)) == (1, 1, 1)
        assert x.verified()
        assert mastodon.verified()
        assert bluesky.verified()
