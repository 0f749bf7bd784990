"""The update: one message, the same facts on every channel.

And when the next update is promised, in the words people write it (``30m``,
``15:00``, an ISO 8601 date-time): one parser for the API and the command line.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self, TypedDict
from urllib.parse import urlsplit

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "TITLE_MAX",
    "WHEN_FORMS",
    "ComponentStatus",
    "ComponentStatusName",
    "Severity",
    "SeverityName",
    "Status",
    "StatusName",
    "Update",
    "UpdateFields",
    "parse_when",
    "resolve_when",
    "title_from_text",
]

TITLE_MAX = 200
"""The longest title, in characters."""


class Status(StrEnum):
    """Where the incident stands, in status-page terms."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class Severity(StrEnum):
    """How bad it is for customers."""

    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


class ComponentStatus(StrEnum):
    """How one component of the service is doing, in Atlassian Statuspage's words."""

    OPERATIONAL = "operational"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"
    UNDER_MAINTENANCE = "under_maintenance"


ComponentStatusName = Literal[
    "operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"
]
"""A ``ComponentStatus`` by its value: ``{"Sign-in": "major_outage"}``."""
COMPONENTS_MAX = 50
"""The most components one update may name."""

StatusName = Literal["investigating", "identified", "monitoring", "resolved"]
"""A ``Status`` by its value: ``status="resolved"`` reads as ``Status.RESOLVED``."""
SeverityName = Literal["minor", "major", "critical"]
"""A ``Severity`` by its value: ``severity="critical"`` reads as ``Severity.CRITICAL``."""


_INCIDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8})*")


class UpdateFields(TypedDict, total=False):
    """The fields of an ``Update``, as keywords of ``send``, ``preview``, ``make_update``.

    A misspelt one is a type error, and a ``TypeError`` when run.
    """

    title: str
    body: str
    incident: str
    status: Status | StatusName
    severity: Severity | SeverityName
    url: str | None
    author: str | None
    next_update_at: datetime | timedelta | str | None
    created_at: datetime
    components: Mapping[str, ComponentStatus | ComponentStatusName]
    language: str | None


def _bad_control(text: str, *, allow_newlines: bool) -> str | None:
    allowed = {"\n", "\t"} if allow_newlines else {"\t"}
    # Cc: control characters; Zl/Zp: U+2028/U+2029, line breaks in disguise.
    banned = {"Cc"} if allow_newlines else {"Cc", "Zl", "Zp"}
    for ch in text:
        if ch not in allowed and unicodedata.category(ch) in banned:
            return ch
    return None


_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Embeddings, overrides and isolates: they can make a public post read differently
than it was written ("Trojan Source"). The marks U+200E/U+200F are allowed."""
_HIDDEN = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Mn", "Me"})
"""Categories that show nothing by themselves: spaces, controls, formatting, marks."""
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
"""Letters and symbols that render as nothing (Hangul fillers, the blank Braille cell)."""


def _valid_unicode(text: str) -> str:
    """``text`` unless it holds a lone surrogate, a noncharacter or a bidi control."""
    for ch in text:
        point = ord(ch)
        if 0xD800 <= point <= 0xDFFF:
            raise ValueError(
                f"must be valid Unicode text: found a lone surrogate U+{point:04X} "
                "(half of a character, e.g. an emoji cut in two)"
            )
        if 0xFDD0 <= point <= 0xFDEF or point & 0xFFFE == 0xFFFE:
            raise ValueError(f"must not contain the noncharacter U+{point:04X}")
        if ch in _BIDI_CONTROLS:
            raise ValueError(
                f"must not contain the bidirectional control U+{point:04X} "
                f"({unicodedata.name(ch)}): it can make a public post read differently "
                "than it was written; remove it"
            )
    return text


def _clean(text: str, *, allow_newlines: bool) -> str:
    # U+FEFF is a byte-order mark pasted along with the text, or a deprecated
    # zero-width space: invisible either way, and X treats it as invalid.
    text = _valid_unicode(text).replace("\ufeff", "")
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n")).strip()
    if not text:
        raise ValueError("must not be empty or blank")
    bad = _bad_control(text, allow_newlines=allow_newlines)
    if bad is not None:
        what = "control characters" if allow_newlines else "line breaks or control characters"
        raise ValueError(f"must not contain {what} (found {bad!r})")
    if all(ch in _BLANK_LETTERS or unicodedata.category(ch) in _HIDDEN for ch in text):
        raise ValueError(
            "has no visible characters (only spaces, zero-width or formatting characters)"
        )
    return text


def _line(text: str) -> str:
    return _clean(text, allow_newlines=False)


def _paragraphs(text: str) -> str:
    text = _clean(text, allow_newlines=True)
    # Whitespace-only lines (NBSP included) are blank; runs of blank lines become one.
    lines: list[str] = []
    for raw in text.split("\n"):
        line = "" if raw.isspace() else raw.rstrip()
        if line or (lines and lines[-1]):
            lines.append(line)
    return "\n".join(lines)


def _body(text: str) -> str:
    # An update may be all title: an empty or blank body is no body.
    if not _valid_unicode(text).replace("\ufeff", "").strip():
        return ""
    return _paragraphs(text)


def title_from_text(text: str) -> tuple[str, str]:
    """``(title, body)`` from text whose first line is the headline.

    The first non-blank line becomes the title and leaves the body, so nothing is said
    twice; one line of text is a title with no body. A first line longer than a title
    may be (``TITLE_MAX``) stays in the body, whole, and the title is its first words
    followed by "…".
    """
    lines = text.strip().splitlines()
    if not lines:
        return "", ""
    first = lines[0].strip()
    if len(first) <= TITLE_MAX:
        return first, "\n".join(lines[1:]).strip()
    cut = first[: TITLE_MAX - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "…", text.strip()


def _incident(text: str) -> str:
    if not _INCIDENT.fullmatch(text):
        raise ValueError(
            "must be a short id of letters, digits, '.', '_' or '-' "
            "(1-64 characters, starting with a letter or digit), e.g. 'psn-2011-04'"
        )
    return text


def _language(text: str) -> str:
    value = text.strip().replace("_", "-").lower()
    if not _LANGUAGE.fullmatch(value):
        raise ValueError(
            f"must be a language tag (BCP 47) such as 'en', 'ja' or 'pt-br', got {text!r}"
        )
    return value


def _components(value: dict[str, ComponentStatus]) -> dict[str, ComponentStatus]:
    if len(value) > COMPONENTS_MAX:
        raise ValueError(f"names {len(value)} components; at most {COMPONENTS_MAX}")
    return value


def _http_url(text: str) -> str:
    text = _valid_unicode(text).strip()
    if _bad_control(text, allow_newlines=False) is not None or any(c.isspace() for c in text):
        raise ValueError("must not contain spaces or control characters")
    parts = urlsplit(text)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise ValueError("must be an absolute http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain credentials (user:password@); it is shown to the public")
    return text


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _utc_minute(value: datetime) -> datetime:
    # A promise is made to the minute; dropping seconds also keeps the key of
    # "next update in 1h", computed twice a few seconds apart, the same.
    return value.astimezone(UTC).replace(second=0, microsecond=0)


Line = Annotated[str, AfterValidator(_line)]
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]
UtcMinute = Annotated[AwareDatetime, AfterValidator(_utc_minute)]


def _now() -> datetime:
    return datetime.now(UTC)


class Update(BaseModel):
    """One crisis update, validated once and rendered by every channel.

    Examples:
        >>> Update(
        ...     title="PlayStation Network is down",
        ...     body="We are investigating.",
        ...     incident="psn-2011-04",
        ... ).status
        <Status.INVESTIGATING: 'investigating'>

    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)

    title: Annotated[Line, Field(max_length=TITLE_MAX)]
    """The headline, one line."""
    body: Annotated[str, AfterValidator(_body), Field(max_length=20_000)] = ""
    """Plain text; paragraphs are separated by blank lines. May be empty: a title alone
    is a whole update."""
    incident: Annotated[str, AfterValidator(_incident)]
    """A short id tying the updates of one incident together."""
    status: Status = Status.INVESTIGATING
    severity: Severity = Severity.MAJOR
    url: Annotated[str, AfterValidator(_http_url), Field(max_length=2048)] | None = None
    """Where the full story lives."""
    author: Annotated[Line, Field(max_length=120)] | None = None
    """The named person in authority who speaks, e.g. "Head of Network Operations"."""
    next_update_at: UtcMinute | None = None
    """When the next update is promised (UTC, to the minute). Also accepts a
    ``timedelta`` or text (``"1h"``, ``"30m"``, ``"15:00"``, ISO 8601), counted from
    ``created_at``; a ``datetime`` must carry its time zone."""
    created_at: UtcDatetime = Field(default_factory=_now)
    """When this update was written (UTC)."""
    components: Annotated[
        dict[Annotated[Line, Field(max_length=100)], ComponentStatus],
        AfterValidator(_components),
    ] = Field(default_factory=dict)
    """How each affected part of the service is doing, e.g. ``{"Sign-in":
    "major_outage"}``: shown by the channels that can (Statuspage sets its components'
    statuses). Empty by default."""
    language: Annotated[str, AfterValidator(_language)] | None = None
    """The update's language as a BCP 47 tag (``en``, ``ja``), for the outlets that label
    posts with one (Mastodon, Bluesky). ``None``: not said."""

    if TYPE_CHECKING:  # what type checkers see: the strings and delays accepted too

        def __init__(
            self,
            *,
            title: str,
            body: str = "",
            incident: str,
            status: Status | StatusName = Status.INVESTIGATING,
            severity: Severity | SeverityName = Severity.MAJOR,
            url: str | None = None,
            author: str | None = None,
            next_update_at: datetime | timedelta | str | None = None,
            created_at: datetime = ...,
            components: Mapping[str, ComponentStatus | ComponentStatusName] | None = ...,
            language: str | None = None,
        ) -> None: ...

    @model_validator(mode="before")
    @classmethod
    def _promise_from_delay(cls, data: Any) -> Any:
        """``next_update_at`` given as a delay or as text: the moment it names."""
        if not isinstance(data, dict) or not isinstance(
            data.get("next_update_at"), timedelta | str
        ):
            return data
        data = dict(data)
        created = data.get("created_at")
        if isinstance(created, str):  # from JSON: ISO 8601
            with contextlib.suppress(ValueError):
                created = datetime.fromisoformat(created)
        if not isinstance(created, datetime) or created.tzinfo is None:
            if created is not None:
                return data  # created_at itself is wrong: its own error says so
            created = data["created_at"] = _now()
        with contextlib.suppress(ValueError):  # left as given: the field's error names it
            data["next_update_at"] = resolve_when(data["next_update_at"], now=created)
        return data

    @model_validator(mode="after")
    def _promise_is_in_the_future(self) -> Update:
        if self.next_update_at is not None and self.next_update_at <= self.created_at:
            raise ValueError(
                "next_update_at must be later than created_at "
                f"({self.next_update_at.isoformat()} <= {self.created_at.isoformat()})"
            )
        return self

    @property
    def paragraphs(self) -> tuple[str, ...]:
        """The body split at blank lines."""
        if not self.body:
            return ()
        return tuple(p.strip() for p in self.body.split("\n\n"))

    @functools.cached_property
    def key(self) -> str:
        """A stable id derived from the content; the same update always has the same key.

        ``created_at`` is left out on purpose: re-running the same command a minute later
        is the same update, and must not be posted twice. Computed once per update (a
        send reads it several times) and kept: the update is frozen, and ``model_copy``
        drops it from the copy; derive changed updates with
        ``broadcast.make_update(update, **changes)``, which validates them again.
        """
        return _key_of(self.model_dump(mode="json", exclude={"created_at", *self._unset_extras()}))

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy (``update`` changes fields, unvalidated); its ``key`` is computed afresh."""
        copied = super().model_copy(update=update, deep=deep)
        copied.__dict__.pop("key", None)
        return copied

    def to_document(self) -> dict[str, Any]:
        """Every field plus ``key``, as JSON-ready values.

        ``components`` and ``language`` appear only when set, so the document (and the
        key) of an update that does not use them is what it was before they existed.
        """
        fields = self.model_dump(mode="json", exclude=self._unset_extras())
        if "key" not in self.__dict__:  # the same dump, less created_at, gives the key
            content = {name: value for name, value in fields.items() if name != "created_at"}
            self.__dict__["key"] = _key_of(content)
        return {"key": self.key, **fields}

    def _unset_extras(self) -> set[str]:
        unset = set()
        if not self.components:
            unset.add("components")
        if self.language is None:
            unset.add("language")
        return unset


def _key_of(content: dict[str, Any]) -> str:
    """``Update.key`` of the JSON-mode dump of an update's fields, ``created_at`` left out."""
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode())
    return digest.hexdigest()[:32]


# ==============================================================================
# When the next update is promised, in the words people write it.
#
# A delay (``30m``, ``2h``, ``1d12h``), a clock time (``15:00``, the next one, local
# time) or an ISO 8601 date-time.
#
# One parser for the API (``next_update_at="1h"`` or a ``timedelta``) and the command
# line (``--next-update 1h``), so both read the same words the same way.
# (Was _when.py.)
# ==============================================================================

WHEN_FORMS = "a delay like 30m, 2h or 1d, a time like 15:00, or a date-time like 2026-11-21T15:00Z"
"""What ``parse_when`` understands, for error messages."""
_RELATIVE = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?:in)?)?")


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """``30m``, ``2h``, ``1d12h`` after ``now``; ``15:00`` (the next one, local time); ISO 8601.

    A date-time written without a zone is local time. Raises ``ValueError`` naming the
    forms it understands.
    """
    now = now or datetime.now(UTC)
    value = text.strip().lower().replace(" ", "")
    if value and (match := _RELATIVE.fullmatch(value)) and any(match.groups()):
        days, hours, minutes = (int(g or 0) for g in match.groups())
        return now + timedelta(days=days, hours=hours, minutes=minutes)
    try:
        if re.fullmatch(r"\d{1,2}:\d{2}", value):
            local = now.astimezone()
            hour, minute = (int(p) for p in value.split(":"))
            moment = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
            return moment if moment > local else moment + timedelta(days=1)
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        pass
    else:
        return moment if moment.tzinfo else moment.astimezone()
    raise ValueError(f"{text!r} is not a time: use {WHEN_FORMS}")


def resolve_when(value: object, *, now: datetime) -> object:
    """A ``timedelta`` or text as the moment it names (after ``now``); anything else as is."""
    if isinstance(value, timedelta):
        return now + value
    if isinstance(value, str):
        return parse_when(value, now=now)
    return value
