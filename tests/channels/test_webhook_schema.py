"""The webhook document matches docs/webhook.schema.json, and the schema has teeth."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from broadcast import Severity, Status, Update
from broadcast.channels import Webhook

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "webhook.schema.json"
WRITTEN = datetime(2011, 4, 21, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def rendered(update: Update) -> dict[str, Any]:
    """The document exactly as it goes on the wire, parsed back from the body bytes."""
    body = Webhook("https://cms.example.com/hooks/incidents").render(update).body
    document: dict[str, Any] = json.loads(body.decode("utf-8"))
    return document


def psn_document() -> dict[str, Any]:
    return rendered(
        Update(
            title="PlayStation Network is down",
            body="We are investigating.",
            incident="psn-2011-04",
            created_at=WRITTEN,
        )
    )


def errors(validator: Draft202012Validator, document: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e.json_path, e.validator) for e in validator.iter_errors(document)]


def test_minimal_update_is_valid(validator):
    """An update with only the required fields renders to a valid document."""
    document = rendered(
        Update(title="PlayStation Network is down", body="We are investigating.", incident="psn")
    )

    assert errors(validator, document) == []
    assert document["data"]["url"] is None
    assert document["data"]["author"] is None
    assert document["data"]["next_update_at"] is None


def test_full_update_is_valid(validator):
    """An update with url, author and next_update_at renders to a valid document."""
    update = Update(
        title="PlayStation Network: personal data may have been exposed",
        body="An unauthorized person obtained account information.\n\nReset your password.",
        incident="psn-2011-04",
        status=Status.IDENTIFIED,
        severity=Severity.CRITICAL,
        url="https://status.example.com/incidents/psn-2011-04",
        author="Head of Network Operations",
        next_update_at=WRITTEN + timedelta(hours=6),
        created_at=WRITTEN,
    )
    document = rendered(update)

    assert errors(validator, document) == []
    assert document["timestamp"] == document["data"]["created_at"] == "2011-04-21T09:00:00Z"
    assert document["data"]["next_update_at"] == "2011-04-21T15:00:00Z"
    assert document["data"]["key"] == update.key


def test_unicode_multi_paragraph_update_is_valid(validator):
    """Non-ASCII text, CRLF line ends and runs of blank lines still give a valid document."""
    update = Update(
        title="PlayStation Network の障害について — mise à jour 3",
        body=(
            "サービスを停止しています。\r\n\r\n\r\n"
            "Les services en ligne restent\tindisponibles.\r\n"
            "Nous publierons la suite ici.\n \n"
            "Ελληνικά, Русский, العربية 🎮"
        ),
        incident="psn-2011-04",
        status=Status.MONITORING,
        author="Responsable des opérations réseau",
        next_update_at=datetime(2011, 5, 14, 12, 30, 15, 250_000, tzinfo=UTC),
        created_at=datetime(2011, 5, 14, 9, 0, tzinfo=UTC),
    )
    document = rendered(update)

    assert errors(validator, document) == []
    assert len(document["data"]["paragraphs"]) == 3
    assert document["data"]["paragraphs"][2] == "Ελληνικά, Русский, العربية 🎮"
    assert document["data"]["next_update_at"] == "2011-05-14T12:30:00Z"


def test_schema_rejects_a_document_without_key(validator):
    """A document whose data has no key fails validation on exactly that."""
    document = psn_document()
    del document["data"]["key"]

    assert errors(validator, document) == [("$.data", "required")]


def test_schema_rejects_an_unknown_status(validator):
    """A status outside the four known values fails validation on exactly that."""
    document = psn_document()
    document["data"]["status"] = "on-fire"

    assert errors(validator, document) == [("$.data.status", "enum")]


def test_schema_rejects_an_unknown_field(validator):
    """A field the renderer does not produce is an error, so the schema tracks the code."""
    document = psn_document()
    document["data"]["region"] = "worldwide"

    assert errors(validator, document) == [("$.data", "additionalProperties")]


def test_schema_rejects_a_multi_line_title(validator):
    """A title with a line break fails validation."""
    document = psn_document()
    document["data"]["title"] = "PlayStation Network\nis down"

    assert errors(validator, document) == [("$.data.title", "not")]


def test_whitespace_only_paragraph_is_not_rendered(validator):
    """A line holding only a no-break space is a blank line, not an empty paragraph."""
    document = rendered(
        Update(title="PlayStation Network is down", body="One.\n\n\u00a0\n\nTwo.", incident="psn")
    )

    assert errors(validator, document) == []
    assert document["data"]["paragraphs"] == ["One.", "Two."]


def test_title_only_update_is_valid(validator):
    """A title alone renders an empty body and no paragraphs, and the schema allows it."""
    document = rendered(Update(title="We are investigating.", incident="psn"))

    assert errors(validator, document) == []
    assert document["data"]["body"] == ""
    assert document["data"]["paragraphs"] == []
