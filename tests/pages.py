"""A journal holding the PSN timeline as it was sent, for the status page's tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from broadcast import Broadcaster, PermanentError, Update, make_update
from broadcast.demo import psn_timeline
from broadcast.journal import SQLiteJournal
from broadcast.testing import RecordingChannel, fast_retries

HOSTILE = "<script>alert(\"x\")</script> & 'quoted' <b>bold</b>"
"""User text that would run or render as markup if it were not escaped."""
NEVER_SENT = "This update failed everywhere and must not appear"
AFTER = psn_timeline()[-1].created_at + timedelta(hours=1)
"""When the tests look at the site: an hour after the resolution."""


async def sent_journal(
    path: Path, updates: Sequence[Update] | None = None, *, failed: Sequence[Update] = ()
) -> SQLiteJournal:
    """A journal (open) where ``updates`` were delivered and ``failed`` failed everywhere."""
    journal = SQLiteJournal(path)
    ok = RecordingChannel(name="ok")
    async with Broadcaster([ok], journal=journal, retry=fast_retries(1)) as broadcaster:
        for update in updates if updates is not None else psn_timeline():
            await broadcaster.send(update)
    for update in failed:
        broken = RecordingChannel(name="broken", failures=[PermanentError("refused")])
        async with Broadcaster([broken], journal=journal, retry=fast_retries(1)) as b:
            report = await b.send(update)
        assert report.failed
    return journal


def hostile_update(**changes: object) -> Update:
    """An open incident whose title, body and author carry markup and quotes."""
    return make_update(
        Update(
            title=f"Sign-in fails {HOSTILE}",
            body=f"First paragraph {HOSTILE}\n\nSecond & last",
            incident="signin-2026",
            author=f"On-call {HOSTILE}",
            severity="minor",
            components={"Sign-in <api>": "partial_outage"},
            created_at=datetime(2011, 4, 21, 12, 0, tzinfo=UTC),
        ),
        **changes,  # type: ignore[arg-type]
    )
