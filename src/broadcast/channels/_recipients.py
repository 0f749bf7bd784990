"""Recipient lists for fan-out channels: streamed, validated, de-duplicated.

A list may be a list, any iterable (a generator over a file of a million lines), an
async iterable (a database cursor), or a zero-argument callable returning either, so
the same channel can be sent more than once (a generator is used up by one send).
Nothing here loads the whole list: it is read as the channel consumes it.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

__all__ = [
    "Audience",
    "Audit",
    "BadLine",
    "FileSource",
    "Invalid",
    "RecipientSource",
    "audit",
    "describe_invalid",
    "from_file",
    "invalid_in",
    "parse_list",
    "size_hint",
    "stream",
]

RecipientSource: TypeAlias = (
    Iterable[str] | AsyncIterable[str] | Callable[[], Iterable[str] | AsyncIterable[str]]
)

Normalise = Callable[[str], str]
"""Returns the canonical form of a recipient, or raises ValueError saying why not."""


@dataclass(frozen=True, slots=True)
class Invalid:
    """A recipient that could not be used, and why."""

    recipient: str
    reason: str


def _open(source: RecipientSource) -> Iterable[str] | AsyncIterable[str]:
    if isinstance(source, str):
        raise TypeError("recipients must be a list or iterable of strings, not one string")
    if callable(source) and not isinstance(source, Iterable | AsyncIterable):
        return source()
    return source


async def stream(
    source: RecipientSource, normalise: Normalise
) -> AsyncIterator[tuple[str, Invalid | None]]:
    """Yield ``(recipient, None)`` for each new valid one, ``(raw, Invalid)`` for bad ones.

    Blank lines and ``#`` comments are skipped; duplicates (after normalising) are
    dropped silently. Only the hashes of seen recipients are kept in memory (a 64-bit
    hash: two different recipients in a list of a million collide with a chance of
    about 3 in 100 million, and then the second is skipped).
    """
    seen: set[int] = set()
    opened = _open(source)
    if isinstance(opened, AsyncIterable):
        async for raw in opened:
            item = _check(raw, normalise, seen)
            if item is not None:
                yield item
    else:
        for raw in opened:
            item = _check(raw, normalise, seen)
            if item is not None:
                yield item


def _check(raw: str, normalise: Normalise, seen: set[int]) -> tuple[str, Invalid | None] | None:
    text = raw.strip() if isinstance(raw, str) else ""
    if not text or text.startswith("#"):
        return None
    try:
        recipient = normalise(text)
    except ValueError as exc:
        return text, Invalid(text, str(exc))
    key = hash(recipient)
    if key in seen:
        return None
    seen.add(key)
    return recipient, None


def invalid_in(recipients: Iterable[str], normalise: Normalise) -> list[Invalid]:
    """Every invalid entry of an in-memory list, for checking it up front."""
    found = []
    for raw in recipients:
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        try:
            normalise(text)
        except ValueError as exc:
            found.append(Invalid(text, str(exc)))
    return found


def describe_invalid(invalid: list[Invalid], *, limit: int = 10) -> str:
    """``a@ (reason), b (reason) and 3 more``."""
    shown = ", ".join(f"{i.recipient!r} ({i.reason})" for i in invalid[:limit])
    more = f" and {len(invalid) - limit} more" if len(invalid) > limit else ""
    return f"{len(invalid)} invalid recipient(s): {shown}{more}"


class FileSource:
    """A reusable source reading ``path`` line by line on each send (``@file`` lists)."""

    __slots__ = ("path",)

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __call__(self) -> Iterator[str]:
        with self.path.open(encoding="utf-8") as handle:
            yield from handle

    def __repr__(self) -> str:
        return f"FileSource({str(self.path)!r})"


def from_file(path: str | Path) -> FileSource:
    """A reusable source reading ``path`` line by line on each send."""
    return FileSource(path)


def parse_list(value: str) -> list[str] | FileSource:
    """``a@x, b@y`` as a list, or ``@path/to/file`` (one per line) as a file source."""
    value = value.strip()
    if value.startswith("@"):
        file = Path(value[1:]).expanduser()
        if not file.is_file():
            raise ValueError(f"recipient file {file} does not exist")
        return from_file(file)
    return [item.strip() for item in value.split(",") if item.strip()]


@dataclass(frozen=True, slots=True)
class Audience:
    """A fan-out channel's recipient list and how it checks one entry (for a dry run)."""

    source: RecipientSource
    normalise: Normalise


@dataclass(frozen=True, slots=True)
class BadLine:
    """An invalid entry of a recipient source: ``where`` is ``file:line`` or ``entry N``."""

    where: str
    recipient: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.recipient!r}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Audit:
    """What a dry run found in one recipient source, read as a send would read it."""

    source: str
    """The file's path, or what the list is (``a list of 3``)."""
    recipients: int | None
    """Distinct valid recipients; None when the source is a one-shot stream (not read)."""
    invalid: int = 0
    bad_lines: tuple[BadLine, ...] = ()
    """The first ``KEEP_BAD`` invalid entries, in order."""
    duplicates: int = 0
    error: str | None = None
    """Why the source could not be read (a file gone, or not UTF-8)."""


KEEP_BAD = 100
"""Invalid entries an Audit keeps (it counts them all)."""


def _describe(source: RecipientSource) -> str:
    if isinstance(source, FileSource):
        return str(source.path)
    if isinstance(source, Collection):
        return f"a list of {len(source):,}"
    return type(source).__name__


def _reusable(source: RecipientSource) -> bool:
    """Whether reading ``source`` now leaves it whole for the send (not a used-up stream)."""
    return isinstance(source, Collection) or (
        callable(source) and not isinstance(source, Iterable | AsyncIterable)
    )


async def audit(audience: Audience, *, keep: int = KEEP_BAD) -> Audit:
    """Read the whole list as a send would (``_check``): count it, and name its bad lines.

    A one-shot iterator or async iterator is not read (it would be used up): its count
    is None.
    """
    source = audience.source
    where = _describe(source)
    if not _reusable(source):
        return Audit(where, None)
    path = str(source.path) if isinstance(source, FileSource) else None
    seen: set[int] = set()
    counts = {"valid": 0, "invalid": 0, "duplicates": 0}
    bad: list[BadLine] = []

    def take(number: int, raw: str) -> None:
        text = raw.strip() if isinstance(raw, str) else ""
        if not text or text.startswith("#"):
            return
        item = _check(raw, audience.normalise, seen)
        if item is None:
            counts["duplicates"] += 1
        elif (invalid := item[1]) is not None:
            counts["invalid"] += 1
            if len(bad) < keep:
                at = f"{path}:{number}" if path else f"entry {number}"
                bad.append(BadLine(at, invalid.recipient, invalid.reason))
        else:
            counts["valid"] += 1

    try:
        opened = _open(source)
        if isinstance(opened, AsyncIterable):
            number = 0
            async for raw in opened:
                number += 1
                take(number, raw)
        else:
            for number, raw in enumerate(opened, start=1):
                take(number, raw)
    except (OSError, UnicodeDecodeError) as exc:
        return Audit(where, None, error=f"cannot be read: {exc}")
    return Audit(where, counts["valid"], counts["invalid"], tuple(bad), counts["duplicates"])


def size_hint(source: RecipientSource) -> int | None:
    """How many entries ``source`` holds, for a progress total; None for a stream.

    A list's length; a file's non-blank, non-comment lines (a quick pass, no parsing).
    """
    if isinstance(source, Collection):
        return len(source)
    if isinstance(source, FileSource):
        try:
            with source.path.open(encoding="utf-8") as handle:
                return sum(1 for line in handle if (s := line.strip()) and not s.startswith("#"))
        except (OSError, UnicodeDecodeError):
            return None  # the send itself reports why the list cannot be read
    return None
