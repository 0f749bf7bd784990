from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from broadcast import Severity, Status, Update, make_update

from .conftest import T0


def _error_fields(exc: ValidationError) -> set[str]:
    return {str(e["loc"][0]) for e in exc.errors() if e["loc"]}


def test_minimal_update_gets_defaults() -> None:
    """An update needs only title, body and incident; status, severity and time default."""
    u = Update(title="PSN down", body="Investigating.", incident="psn")
    assert u.status is Status.INVESTIGATING
    assert u.severity is Severity.MAJOR
    assert u.created_at.tzinfo is not None
    assert u.created_at.utcoffset() == timedelta(0)


def test_title_alone_is_an_update() -> None:
    """The body may be left out or blank: the title is the whole update."""
    for body in ({}, {"body": ""}, {"body": "\n\n  \t"}):
        u = Update(title="We are investigating.", incident="psn", **body)
        assert (u.body, u.paragraphs) == ("", ())


def test_both_empty_is_an_error_naming_the_title() -> None:
    """With neither title nor body, validation fails and names the title."""
    with pytest.raises(ValidationError) as info:
        Update(title=" ", body="", incident="psn")
    assert _error_fields(info.value) == {"title"}


def test_statuses_and_severities_by_their_strings() -> None:
    """The strings the docs use read as the enums."""
    u = Update(title="Down", incident="psn", status="monitoring", severity="critical")
    assert (u.status, u.severity) == (Status.MONITORING, Severity.CRITICAL)


@pytest.mark.parametrize(
    ("given", "after"),
    [
        (timedelta(hours=1), timedelta(hours=1)),
        (timedelta(minutes=30, seconds=59), timedelta(minutes=30)),
        ("1h", timedelta(hours=1)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("90m", timedelta(minutes=90)),
        ("2011-04-21T09:00+09:00", timedelta(hours=2)),
    ],
)
def test_next_update_from_a_delay(given: object, after: timedelta) -> None:
    """A timedelta or the command line's words count from created_at (kept to the minute)."""
    u = Update(title="Down", incident="psn", created_at=T0, next_update_at=given)  # type: ignore[arg-type]
    assert u.next_update_at == T0 + after


def test_next_update_delay_counts_from_created_at_given_as_text() -> None:
    """created_at in ISO 8601 text (as from JSON) is the start of the delay too."""
    u = Update.model_validate(
        {
            "title": "Down",
            "incident": "psn",
            "created_at": "2011-04-20T22:00Z",
            "next_update_at": "2h",
        }
    )
    assert u.next_update_at == T0 + timedelta(hours=2)


def test_next_update_delay_without_created_at_counts_from_now() -> None:
    """Without created_at, a delay counts from the moment the update is made."""
    u = Update(title="Down", incident="psn", next_update_at=timedelta(hours=2))
    assert u.next_update_at is not None
    assert u.next_update_at - u.created_at.replace(second=0, microsecond=0) == timedelta(hours=2)


@pytest.mark.parametrize("given", ["soon", datetime(2011, 4, 21, 9, 0), "-1h"])
def test_next_update_that_is_not_a_time_names_the_field(given: object) -> None:
    """Words that are not a time, and a datetime without a zone, are errors on the field."""
    with pytest.raises(ValidationError) as info:
        Update(title="Down", incident="psn", created_at=T0, next_update_at=given)  # type: ignore[arg-type]
    assert _error_fields(info.value) == {"next_update_at"}


def test_update_is_frozen(update: Update) -> None:
    """An update cannot be changed after validation."""
    with pytest.raises(ValidationError):
        update.title = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", ""),
        ("title", "   "),
        ("body", "\u200b\u200b"),
        ("status", "on fire"),
        ("severity", "apocalyptic"),
        ("url", "ftp://example.com/x"),
        ("url", "javascript:alert(1)"),
        ("url", "example.com/no-scheme"),
        ("url", "https://user:pw@example.com/"),
        ("title", "two\nlines"),
        ("title", "bell\x07"),
        ("body", "null\x00byte"),
        ("body", "escape\x1b[31m"),
        ("author", "line\rbreak"),
        ("incident", "has space"),
        ("incident", ""),
        ("created_at", datetime(2011, 4, 20, 22, 0)),
        ("next_update_at", datetime(2011, 4, 21, 0, 0)),
    ],
)
def test_bad_input_names_the_field(
    make_update: Callable[..., Update], field: str, value: object
) -> None:
    """Each kind of bad input raises ValidationError naming the offending field."""
    with pytest.raises(ValidationError) as info:
        make_update(**{field: value})
    assert field in _error_fields(info.value)


def test_unknown_field_is_rejected(make_update: Callable[..., Update]) -> None:
    """A misspelt field is an error, not silently ignored."""
    with pytest.raises(ValidationError) as info:
        make_update(severty="minor")
    assert "severty" in _error_fields(info.value)


def test_next_update_must_be_after_created(make_update: Callable[..., Update]) -> None:
    """A promised next update in the past is rejected, naming next_update_at."""
    with pytest.raises(ValidationError, match="next_update_at must be later"):
        make_update(next_update_at=T0 - timedelta(minutes=1))


def test_times_are_normalised_to_utc(make_update: Callable[..., Update]) -> None:
    """Aware datetimes in any zone are stored in UTC."""
    tokyo = timezone(timedelta(hours=9))
    u = make_update(created_at=datetime(2011, 4, 21, 7, 0, tzinfo=tokyo), next_update_at=None)
    assert u.created_at == T0
    assert u.created_at.utcoffset() == timedelta(0)


def test_tabs_and_newlines_are_allowed_in_body(make_update: Callable[..., Update]) -> None:
    """Body keeps tabs and newlines; CRLF becomes LF and extra blank lines collapse."""
    u = make_update(body="Step\t1\r\nStep 2\r\n\r\n\r\n\r\nNext paragraph")
    assert u.body == "Step\t1\nStep 2\n\nNext paragraph"
    assert u.paragraphs == ("Step\t1\nStep 2", "Next paragraph")


def test_text_is_nfc_normalised(make_update: Callable[..., Update]) -> None:
    """Decomposed accents are composed, so equal text gives equal keys."""
    decomposed = make_update(title="Cafe\u0301 outage")
    composed = make_update(title="Caf\u00e9 outage")
    assert decomposed.title == composed.title
    assert decomposed.key == composed.key


def test_key_is_stable_and_ignores_created_at(make_update: Callable[..., Update]) -> None:
    """The same content gives the same key, whenever it was created."""
    a = make_update()
    b = make_update(created_at=T0 + timedelta(minutes=5))
    assert a.key == b.key
    assert len(a.key) == 32
    assert int(a.key, 16) >= 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "PSN is back"),
        ("body", "Resolved."),
        ("status", "resolved"),
        ("severity", "minor"),
        ("incident", "psn-2"),
        ("url", "https://status.example.com/other"),
        ("author", "CEO"),
        ("next_update_at", None),
    ],
)
def test_key_changes_with_every_fact(
    make_update: Callable[..., Update], field: str, value: object
) -> None:
    """Changing any fact of the update changes its key."""
    assert make_update(**{field: value}).key != make_update().key


def test_key_is_pinned_across_versions(update: Update) -> None:
    """The key of a known update is fixed: journals written by older versions must match."""
    assert update.key == "445a1e49815dfd030e7c99851ec8f24b"
    assert update.key == Update.model_validate(update.model_dump()).key
    again = Update.model_validate_json(update.model_dump_json())
    assert again.key == update.key


def test_document_has_every_field_and_key(update: Update) -> None:
    """to_document() carries all fields plus the key, JSON-ready (the optional ones when set)."""
    doc = update.to_document()
    assert doc["key"] == update.key
    assert doc["status"] == "investigating"
    assert doc["created_at"] == "2011-04-20T22:00:00Z"
    assert doc["next_update_at"] == "2011-04-20T23:00:00Z"
    assert set(Update.model_fields) - {"components", "language"} <= set(doc)
    full = make_update(update, components={"Sign-in": "major_outage"}, language="en")
    assert set(Update.model_fields) <= set(full.to_document())


def test_whitespace_only_lines_are_blank(make_update: Callable[..., Update]) -> None:
    """Lines of only (Unicode) whitespace separate paragraphs and never form one."""
    u = make_update(body="First.\n\u00a0\u2003\n\n \nSecond.  \nstill second")
    assert u.paragraphs == ("First.", "Second.\nstill second")


def test_next_update_is_kept_to_the_minute(make_update: Callable[..., Update]) -> None:
    """Seconds are dropped from the promise, so recomputing "in 1h" keeps the same key."""
    a = make_update(next_update_at=T0 + timedelta(hours=1, seconds=3))
    b = make_update(next_update_at=T0 + timedelta(hours=1, seconds=41, microseconds=9))
    assert a.next_update_at == T0 + timedelta(hours=1)
    assert a.key == b.key


@pytest.mark.parametrize("separator", ["\u2028", "\u2029"])
def test_unicode_line_separators_are_not_one_line(
    make_update: Callable[..., Update], separator: str
) -> None:
    """U+2028/U+2029 cannot sneak a line break into title or author."""
    for field in ("title", "author"):
        with pytest.raises(ValidationError) as info:
            make_update(**{field: f"one{separator}two"})
        assert field in _error_fields(info.value)


def test_model_copy_does_not_keep_a_stale_key(update: Update) -> None:
    """The key follows the content even on a copy made without validation."""
    assert update.model_copy(update={"title": "Other"}).key != update.key
