from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from broadcast.channels._recipients import (
    Invalid,
    describe_invalid,
    from_file,
    invalid_in,
    parse_list,
    stream,
)


def _lower(text: str) -> str:
    if "@" not in text:
        raise ValueError("no @")
    return text.lower()


async def _collect(source: object) -> list[tuple[str, Invalid | None]]:
    return [item async for item in stream(source, _lower)]  # type: ignore[arg-type]


async def test_stream_normalises_dedupes_and_flags() -> None:
    """Entries are normalised, duplicates dropped, comments and blanks skipped, bad flagged."""
    items = await _collect(["A@x", "a@X", "", "# note", "bad", "b@y"])
    assert items == [("a@x", None), ("bad", Invalid("bad", "no @")), ("b@y", None)]


async def test_stream_accepts_async_iterables_and_factories() -> None:
    """Async iterables and zero-argument callables are read the same way."""

    async def cursor() -> AsyncIterator[str]:
        yield "a@x"

    assert await _collect(cursor()) == [("a@x", None)]
    assert await _collect(lambda: ["c@z"]) == [("c@z", None)]


async def test_a_single_string_is_refused() -> None:
    """One string is not a list of recipients (it would be read letter by letter)."""
    with pytest.raises(TypeError, match="not one string"):
        await _collect("a@x")


def test_invalid_in_and_description() -> None:
    """invalid_in lists every bad entry; the description caps how many it shows."""
    bad = invalid_in([f"bad{i}" for i in range(12)] + ["ok@x"], _lower)
    assert len(bad) == 12
    text = describe_invalid(bad)
    assert text.startswith("12 invalid recipient(s): 'bad0' (no @)")
    assert text.endswith("and 2 more")


def test_parse_list_and_files(tmp_path: Path) -> None:
    """'a, b' is a list; '@file' is a reusable source read line by line."""
    assert parse_list(" a@x, b@y ,") == ["a@x", "b@y"]
    people = tmp_path / "people.txt"
    people.write_text("a@x\nb@y\n")
    source = parse_list(f"@{people}")
    assert callable(source)
    assert [line.strip() for line in source()] == ["a@x", "b@y"]
    assert [line.strip() for line in from_file(people)()] == ["a@x", "b@y"]
    with pytest.raises(ValueError, match="does not exist"):
        parse_list("@/no/such/file")
