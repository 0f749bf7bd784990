"""Shardable recipient sources: a list, a file, a database query over a key range.

A shard must be readable on its own, on any worker, as often as needed: a list by
index range, a file by byte range (a line belongs to the shard its first byte is in),
a query by key range (``KeyRange``). A generator or iterator is read once, in one
process, so it cannot be split: ``not_shardable`` says so, naming the channel's field.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .._errors import ConfigError
from ..channels._recipients import FileSource, RecipientSource
from ._shards import Shard

__all__ = ["DEFAULT_SHARD_SIZE", "KeyRange", "plan_source", "shard_source"]

DEFAULT_SHARD_SIZE = 10_000
"""Recipients (lines, list entries, keys) per shard."""

Query = Callable[[int, int], Iterable[str] | AsyncIterable[str]]


@dataclass(frozen=True, slots=True)
class KeyRange:
    """Recipients from a database query over integer keys ``[start, stop)``.

    ``query(lo, hi)`` returns the recipients whose key is in ``[lo, hi)`` (e.g.
    ``SELECT phone FROM subscribers WHERE id >= %s AND id < %s``). Called with no
    arguments it is an ordinary recipient source for a one-process send.
    """

    query: Query
    start: int
    stop: int

    def __post_init__(self) -> None:
        if self.stop < self.start:
            raise ValueError(f"KeyRange: stop ({self.stop}) is before start ({self.start})")

    def __call__(self) -> Iterable[str] | AsyncIterable[str]:
        """Every recipient of the range."""
        return self.query(self.start, self.stop)


def plan_source(
    update_key: str, channel: str, source: RecipientSource, *, size: int = DEFAULT_SHARD_SIZE
) -> list[Shard]:
    """Split ``channel``'s recipients into shards of ``size``; ``ConfigError`` if it cannot."""
    if size < 1:
        raise ValueError(f"shard size must be at least 1, got {size}")
    if isinstance(source, KeyRange):
        bounds = _ranges(source.start, source.stop, size)
        kind = "keys"
    elif isinstance(source, FileSource):
        bounds = _file_ranges(source.path, size)
        kind = "bytes"
    elif isinstance(source, Sequence) and not isinstance(source, str):
        bounds = _ranges(0, len(source), size)
        kind = "items"
    else:
        raise ConfigError(not_shardable(channel, source))
    return [
        Shard(update_key, channel, i, kind, lo, hi)  # type: ignore[arg-type]
        for i, (lo, hi) in enumerate(bounds or [(0, 0)])
    ]


def not_shardable(channel: str, source: object) -> str:
    """Why ``source`` cannot be split, naming the field."""
    return (
        f"{channel}.recipients: a {type(source).__name__} is read once, in one process, so "
        "it cannot be split into shards for a distributed send; give a list, a file "
        "(@path, one recipient per line) or broadcast.distributed.KeyRange (a query over "
        "a key range)"
    )


def shard_source(source: RecipientSource, shard: Shard) -> RecipientSource:
    """The recipients of ``shard`` of ``source``, as a reusable source."""
    if shard.kind == "keys" and isinstance(source, KeyRange):
        return KeyRange(source.query, shard.start, shard.stop)
    if shard.kind == "bytes" and isinstance(source, FileSource):
        return _ByteRange(source.path, shard.start, shard.stop)
    if shard.kind == "items" and isinstance(source, Sequence):
        return list(source[shard.start : shard.stop])
    raise ConfigError(
        f"{shard.channel}.recipients changed since the send was planned: shard {shard.key} "
        f"is {shard.kind}, this worker's list is a {type(source).__name__}; give every "
        "worker the same channel configuration"
    )


def _ranges(start: int, stop: int, size: int) -> list[tuple[int, int]]:
    return [(lo, min(lo + size, stop)) for lo in range(start, stop, size)]


def _file_ranges(path: Path, size: int) -> list[tuple[int, int]]:
    """Byte ranges of ``size`` recipient lines each (blank and ``#`` lines not counted)."""
    try:
        with path.open("rb") as handle:
            bounds, start, offset, count = [], 0, 0, 0
            for line in handle:
                offset += len(line)
                text = line.strip()
                if text and not text.startswith(b"#"):
                    count += 1
                    if count == size:
                        bounds.append((start, offset))
                        start, count = offset, 0
            if count:
                bounds.append((start, offset))
            return bounds
    except OSError as exc:
        raise ConfigError(f"recipient file {path} cannot be read: {exc.strerror}") from None


class _ByteRange:
    """The lines of ``path`` from byte ``start`` to ``stop`` (a file shard)."""

    __slots__ = ("path", "start", "stop")

    def __init__(self, path: Path, start: int, stop: int) -> None:
        self.path, self.start, self.stop = path, start, stop

    def __call__(self) -> Iterator[str]:
        with self.path.open("rb") as handle:
            handle.seek(self.start)
            data = handle.read(self.stop - self.start)
        yield from data.decode("utf-8").splitlines()

    def __repr__(self) -> str:
        return f"FileSource({str(self.path)!r}, bytes {self.start}-{self.stop})"
