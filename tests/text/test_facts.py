from __future__ import annotations

from collections.abc import Callable

from broadcast import Update
from broadcast.text import next_update_phrase, signature, status_tag, utc_minute


def test_status_tag(make_update: Callable[..., Update]) -> None:
    """The tag names the status, and adds Critical only for critical incidents."""
    assert status_tag(make_update()) == "[Investigating]"
    assert (
        status_tag(make_update(status="resolved", severity="critical")) == "[Resolved | Critical]"
    )
    assert status_tag(make_update(severity="minor")) == "[Investigating]"


def test_next_update_and_signature(make_update: Callable[..., Update]) -> None:
    """The promise is in UTC to the minute; nothing is said when nothing is promised."""
    update = make_update()
    assert utc_minute(update) == "2011-04-20T23:00Z"
    assert next_update_phrase(update) == "Next update by 2011-04-20T23:00Z (UTC)."
    assert signature(update) == "— Head of Network Operations"
    bare = make_update(next_update_at=None, author=None)
    assert next_update_phrase(bare) is None
    assert signature(bare) is None
