"""``Update.components`` and ``Update.language``: validated, in the key only when set."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from broadcast import ComponentStatus, Update
from broadcast.channels import Webhook

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[1] / "docs" / "webhook.schema.json").read_text("utf-8")
)
BASE = {"title": "PlayStation Network is down", "incident": "psn-2011-04"}


def test_components_by_their_strings_become_statuses() -> None:
    """A component's status given as text reads as the ``ComponentStatus`` it names."""
    update = Update(**BASE, components={"Sign-in": "major_outage", "Store": "operational"})
    assert update.components == {
        "Sign-in": ComponentStatus.MAJOR_OUTAGE,
        "Store": ComponentStatus.OPERATIONAL,
    }


@pytest.mark.parametrize(
    ("components", "says"),
    [
        ({"Sign-in": "down"}, "components.Sign-in"),
        ({"line\nbreak": "major_outage"}, "line breaks"),
        ({f"c{i}": "operational" for i in range(51)}, "at most 50"),
        ({"x" * 101: "operational"}, "too_long"),
    ],
)
def test_a_bad_component_is_an_error_naming_the_field(components: object, says: str) -> None:
    """A wrong status, a two-line name, too many or too long a name: the error says so."""
    with pytest.raises(ValidationError) as caught:
        Update(**BASE, components=components)  # type: ignore[arg-type]
    text = str(caught.value)
    assert "components" in text
    assert says in text


@pytest.mark.parametrize(
    ("given", "kept"),
    [("en", "en"), ("pt_BR", "pt-br"), ("JA", "ja"), ("zh-Hant-TW", "zh-hant-tw")],
)
def test_language_is_a_normalised_tag(given: str, kept: str) -> None:
    """A BCP 47 tag is kept lower-case with hyphens."""
    assert Update(**BASE, language=given).language == kept


@pytest.mark.parametrize("given", ["english", "e", "en us", "12"])
def test_a_bad_language_is_an_error_naming_the_field(given: str) -> None:
    """Anything that is not a language tag is refused, naming ``language``."""
    with pytest.raises(ValidationError, match="language"):
        Update(**BASE, language=given)


def test_the_key_ignores_the_new_fields_when_unset() -> None:
    """An update without components or language keeps the key it had before they existed."""
    update = Update(**BASE)
    assert "components" not in update.to_document()
    assert "language" not in update.to_document()
    # The key as computed before the fields were added: every field but created_at.
    old = update.model_dump(mode="json", exclude={"created_at", "components", "language"})
    digest = hashlib.sha256(
        json.dumps(old, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()[:32]
    assert update.key == digest


def test_components_and_language_change_the_key() -> None:
    """A different component status is a different update, and so is a different language."""
    plain = Update(**BASE)
    down = Update(**BASE, components={"Sign-in": "major_outage"})
    back = Update(**BASE, components={"Sign-in": "operational"})
    japanese = Update(**BASE, language="ja")
    assert len({plain.key, down.key, back.key, japanese.key}) == 4


def test_the_webhook_document_carries_them_and_matches_its_schema() -> None:
    """The webhook body has ``components`` and ``language`` when set, valid by the schema."""
    update = Update(**BASE, components={"Sign-in": "partial_outage"}, language="en")
    body = json.loads(Webhook("https://example.com/hook").render(update).body)
    assert body["data"]["components"] == {"Sign-in": "partial_outage"}
    assert body["data"]["language"] == "en"
    Draft202012Validator(SCHEMA).validate(body)
    body["data"]["components"] = {"Sign-in": "fine"}
    assert list(Draft202012Validator(SCHEMA).iter_errors(body))
