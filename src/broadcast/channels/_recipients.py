"""Recipient lists for fan-out channels: streamed, validated, de-duplicated.

A list may be a list, any iterable (a generator over a file of a million lines), an
async iterable (a database cursor), or a zero-argument callable returning either, so
the same channel can be sent more than once (a generator is used up by one send).
Nothing here loads the whole list: it is read as the channel consumes it.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

__all__ = [
    "Invalid",
    "RecipientSource",
    "describe_invalid",
    "from_file",
    "invalid_in",
    "parse_list",
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


def from_file(path: str | Path) -> Callable[[], Iterable[str]]:
    """A reusable source reading ``path`` line by line on each send."""
    file = Path(path)

    def lines() -> Iterable[str]:
        with file.open(encoding="utf-8") as handle:
            yield from handle

    return lines


def parse_list(value: str) -> list[str] | Callable[[], Iterable[str]]:
    """``a@x, b@y`` as a list, or ``@path/to/file`` (one per line) as a file source."""
    value = value.strip()
    if value.startswith("@"):
        file = Path(value[1:]).expanduser()
        if not file.is_file():
            raise ValueError(f"recipient file {file} does not exist")
        return from_file(file)
    return [item.strip() for item in value.split(",") if item.strip()]
