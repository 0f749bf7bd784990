from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from broadcast import Update
from broadcast.text import (
    next_update_phrase,
    next_update_time,
    readable_time,
    signature,
    status_tag,
    utc_minute,
)


def test_status_tag(make_update: Callable[..., Update]) -> None:
    """The tag names the status, and adds Critical only for critical incidents."""
    assert status_tag(make_update()) == "[Investigating]"
    assert (
        status_tag(make_update(status="resolved", severity="critical")) == "[Resolved | Critical]"
    )
    assert status_tag(make_update(severity="minor")) == "[Investigating]"


def test_next_update_and_signature(make_update: Callable[..., Update]) -> None:
    """The promise reads as a clock time in UTC; nothing is said when nothing is promised."""
    update = make_update()
    assert utc_minute(update) == "2011-04-20T23:00Z"
    assert next_update_phrase(update) == "Next update by 23:00 UTC."
    assert signature(update) == "— Head of Network Operations"
    bare = make_update(next_update_at=None, author=None)
    assert next_update_phrase(bare) is None
    assert signature(bare) is None


@pytest.mark.parametrize(
    ("created", "promised", "said"),
    [
        (datetime(2026, 12, 3, 5, 0), datetime(2026, 12, 3, 6, 47), "06:47 UTC"),
        (datetime(2026, 12, 3, 23, 30), datetime(2026, 12, 4, 0, 15), "00:15 UTC on 4 Dec"),
        (datetime(2026, 12, 31, 23, 0), datetime(2027, 1, 1, 1, 0), "01:00 UTC on 1 Jan 2027"),
        (datetime(2026, 2, 27, 12, 0), datetime(2026, 3, 1, 9, 5), "09:05 UTC on 1 Mar"),
    ],
)
def test_promise_on_the_day_of_the_update_or_dated(
    created: datetime, promised: datetime, said: str
) -> None:
    """The time alone on the update's own day; the date on another, the year in another."""
    update = Update(
        title="Down",
        incident="psn",
        created_at=created.replace(tzinfo=UTC),
        next_update_at=promised.replace(tzinfo=UTC),
    )
    assert next_update_time(update) == said
    assert next_update_phrase(update) == f"Next update by {said}."


def test_the_day_is_the_utc_day_whatever_the_zone_given() -> None:
    """Zones given in the input do not move the day: both times are read in UTC."""
    tokyo = timezone(timedelta(hours=9))
    update = Update(
        title="Down",
        incident="psn",
        created_at=datetime(2026, 12, 4, 8, 0, tzinfo=tokyo),  # 23:00 UTC on 3 Dec
        next_update_at=datetime(2026, 12, 4, 8, 30, tzinfo=tokyo),
    )
    assert next_update_time(update) == "23:30 UTC"


def test_readable_time_without_a_reference_gives_the_full_date() -> None:
    """With no day to compare with, the date and year are always given."""
    assert readable_time(datetime(2011, 4, 21, 10, 0, tzinfo=UTC)) == "10:00 UTC on 21 Apr 2011"
