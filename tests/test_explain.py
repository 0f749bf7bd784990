from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import pytest
from click.testing import CliRunner
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from broadcast import Update
from broadcast.cli import main
from broadcast.cli._inputs import FLAGS
from broadcast.config._explain import explain

from .conftest import T0

BASE: dict[str, Any] = {"title": "PSN is down", "incident": "psn", "created_at": T0}


def _explained(names: dict[str, str] | None = None, **fields: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        Update.model_validate({**BASE, **fields})
    return explain(caught.value, names)


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"body": "x" * 20_001}, "body: too long: 20,001 characters, at most 20,000"),
        ({"title": "t" * 201}, "title: too long: 201 characters, at most 200"),
        ({"title": " "}, "title: must not be empty or blank"),
        ({"incident": None}, "incident: must be text, not NoneType"),
        (
            {"status": "fixed"},
            "status: 'fixed' is not one of investigating, identified, monitoring or resolved",
        ),
        (
            {"next_update_at": datetime(2011, 4, 21, 9, 0)},
            "next_update_at: needs a time zone (a date-time without one is ambiguous)",
        ),
        ({"next_update_at": "soonish"}, "next_update_at: 'soonish' is not a time: use a delay"),
        ({"titel": "x"}, "titel: not a field of an update"),
        ({"url": "ftp://x"}, "url: must be an absolute http:// or https:// URL"),
    ],
)
def test_errors_in_plain_words_naming_the_field(fields: dict[str, Any], said: str) -> None:
    """Each error names its field and says what is wrong in the project's words."""
    message = _explained(**fields)
    assert message.startswith(said)
    for leak in ("Value error", "items", "after validation", "Input should", "pydantic"):
        assert leak not in message


def test_every_error_is_said_once_joined() -> None:
    """Several bad fields give one clause each, in order."""
    message = _explained(title="", status="fine", body="\x00")
    assert message.split("; ")[0] == "title: must not be empty or blank"
    assert [clause.split(":")[0] for clause in message.split("; ")] == [
        "title",
        "body",
        "status",
    ]


def test_fields_named_as_the_reader_knows_them() -> None:
    """The command line names each field by its flag."""
    message = _explained(FLAGS, body="x" * 20_001, next_update_at="later")
    assert message.startswith("BODY: too long: 20,001 characters")
    assert "; --next-update: 'later' is not a time" in message


def test_whole_update_errors_say_update() -> None:
    """An error about the update as a whole (a promise before it was written) says so."""
    message = _explained(next_update_at=datetime(2011, 4, 20, 21, 0, tzinfo=UTC))
    assert message.startswith("update: next_update_at must be later than created_at")


def test_command_line_says_it_in_words(tmp_path: Path) -> None:
    """`broadcast preview` with a too-long body exits 2 with the plain-words message."""
    result = CliRunner().invoke(
        main,
        ["--env-file", str(tmp_path / "none"), "preview", "--title", "Down", "x" * 20_001],
        catch_exceptions=False,
    )
    assert result.exit_code == 2
    assert "error: BODY: too long: 20,001 characters, at most 20,000" in result.output
    assert "Value error" not in result.output
    assert "items" not in result.output


class _Settings(BaseModel):
    """A settings model of the kind channels declare."""

    model_config = ConfigDict(extra="forbid")
    port: Annotated[int, Field(ge=1, le=65_535)] = 587
    recipients: Annotated[list[str], Field(max_length=20_000)] = []


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"port": 99_999}, "port: too large: at most 65535"),
        ({"port": 0}, "port: too small: at least 1"),
        ({"port": "s3cr3t-pasted-here"}, "port: must be a whole number"),
        ({"recipients": ["a@example.com"] * 20_001}, "recipients: too long: 20,001 entries"),
    ],
)
def test_settings_errors_in_words_without_the_value(given: dict[str, Any], said: str) -> None:
    """Numbers and lists are explained too; a wrong number is not repeated back."""
    with pytest.raises(ValidationError) as caught:
        _Settings.model_validate(given)
    message = explain(caught.value)
    assert message.startswith(said)
    assert "s3cr3t" not in message
    assert "Input should" not in message
