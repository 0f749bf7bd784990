from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from broadcast import Severity, Status, Update

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


def test_update_is_frozen(update: Update) -> None:
    """An update cannot be changed after validation."""
    with pytest.raises(ValidationError):
        update.title = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", ""),
        ("title", "   "),
        ("body", ""),
        ("body", "\n\n  \t"),
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
    """to_document() carries all fields plus the key, JSON-ready."""
    doc = update.to_document()
    assert doc["key"] == update.key
    assert doc["status"] == "investigating"
    assert doc["created_at"] == "2011-04-20T22:00:00Z"
    assert doc["next_update_at"] == "2011-04-20T23:00:00Z"
    assert set(Update.model_fields) <= set(doc)


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
