"""Pydantic's validation errors in the project's words, one per field.

``pydantic.ValidationError`` speaks for the library ("Value error, ...", "should have at
most 20000 items after validation"). ``explain`` says the same in plain words, each
naming the field (or the flag or setting that sets it): ``body: too long: 20,001
characters, at most 20,000``. The command line prints these; so may any program that
shows its users an ``Update``'s errors.

Only a wrong choice (``'fixed' is not one of ...``) and a wrong time repeat the value
given; numbers and text do not, since a setting's wrong value may be a pasted secret.
Callers still pass the message through ``redact`` (the command line does).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._update import WHEN_FORMS

if TYPE_CHECKING:
    from pydantic import ValidationError
    from pydantic_core import ErrorDetails

__all__ = ["explain", "explain_each"]

Phrase = Callable[["ErrorDetails", str], str]
"""What an error of one kind says, given its details and the field's name."""


def _ctx(item: ErrorDetails, key: str, default: Any = "?") -> Any:
    return (item.get("ctx") or {}).get(key, default)


def _count(given: Any) -> str:
    if isinstance(given, str):
        return f": {len(given):,} characters"
    if isinstance(given, list | tuple | set | dict):
        return f": {len(given):,} entries"
    return ""


def _too_long(item: ErrorDetails, field: str) -> str:
    limit = _ctx(item, "max_length")
    limit = f"{limit:,}" if isinstance(limit, int) else limit
    return f"too long{_count(item.get('input'))}, at most {limit}"


def _too_short(item: ErrorDetails, field: str) -> str:
    least = _ctx(item, "min_length", 1)
    if least == 1:
        return "must not be empty"
    return f"too short{_count(item.get('input'))}, at least {least:,}"


def _one_of(item: ErrorDetails, field: str) -> str:
    expected = str(_ctx(item, "expected", "")).replace("'", "")
    return f"{item.get('input')!r} is not one of {expected}"


def _time(item: ErrorDetails, field: str) -> str:
    given = item.get("input")
    if field == "next_update_at":
        return f"{given!r} is not a time: use {WHEN_FORMS}"
    return f"{given!r} is not a date-time with a time zone, e.g. 2026-11-21T15:00Z"


def _value_error(item: ErrorDetails, field: str) -> str:
    return str(_ctx(item, "error", item["msg"].removeprefix("Value error, ")))


def _not(kind: str) -> Phrase:
    # The value is not repeated: a setting's wrong value may be a credential pasted there.
    return lambda item, field: f"must be {kind}"


def _bound(word: str, key: str) -> Phrase:
    most = "most" if word == "large" else "least"
    return lambda item, field: f"too {word}: at {most} {_ctx(item, key)}"


_NAIVE = (
    "needs a time zone (a date-time without one is ambiguous): "
    "e.g. datetime.now(UTC) + timedelta(hours=1), or a delay like '1h'"
)
_PHRASES: dict[str, Phrase] = {
    "value_error": _value_error,
    "assertion_error": _value_error,
    "too_long": _too_long,
    "string_too_long": _too_long,
    "too_short": _too_short,
    "string_too_short": _too_short,
    "missing": lambda item, field: "missing: it is required",
    "extra_forbidden": lambda item, field: "not a field of an update",
    "enum": _one_of,
    "literal_error": _one_of,
    "timezone_aware": lambda item, field: _NAIVE,
    "datetime_parsing": _time,
    "datetime_from_date_parsing": _time,
    "datetime_type": _time,
    "datetime_object_invalid": _time,
    "string_type": lambda item, field: f"must be text, not {type(item.get('input')).__name__}",
    "int_parsing": _not("a whole number"),
    "int_type": _not("a whole number"),
    "int_from_float": _not("a whole number"),
    "float_parsing": _not("a number"),
    "float_type": _not("a number"),
    "bool_parsing": _not("true or false"),
    "less_than_equal": _bound("large", "le"),
    "less_than": _bound("large", "lt"),
    "greater_than_equal": _bound("small", "ge"),
    "greater_than": _bound("small", "gt"),
}
"""Each pydantic error type this knows, in the project's words; others keep pydantic's."""


def _phrase(item: ErrorDetails, field: str) -> str:
    """What is wrong, in plain words, without the field name."""
    phrase = _PHRASES.get(item["type"])
    return phrase(item, field) if phrase else item["msg"].removeprefix("Value error, ")


def explain_each(
    error: ValidationError, names: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """``(where, what)`` for each error: the field (or its name in ``names``) and why."""
    names = names or {}
    found = []
    for item in error.errors(include_url=False):
        field = ".".join(str(part) for part in item["loc"])
        top = str(item["loc"][0]) if item["loc"] else ""
        where = names.get(top, field) if top else "update"
        found.append((where, _phrase(item, top)))
    return found


def explain(error: ValidationError, names: Mapping[str, str] | None = None) -> str:
    """Every error of ``error`` as ``field: what is wrong``, joined by ``; ``.

    ``names`` maps a field to what the reader calls it (``{"title": "--title"}``).
    """
    return "; ".join(f"{where}: {what}" for where, what in explain_each(error, names))
