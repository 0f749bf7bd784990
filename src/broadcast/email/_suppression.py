"""A suppression list: addresses that are never mailed (unsubscribed, bounced, complained).

It is a file (one address per line, ``#`` comments; read afresh on every send), a
collection of addresses, or a callable ``address -> bool`` (or an awaitable bool: a
database lookup) that says whether an address is suppressed. The channel checks each
normalised recipient before it is queued; a suppressed one is never sent to, and is
counted in the Receipt's ``details["suppressed"]``.
"""

from __future__ import annotations

import inspect
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
)
from pathlib import Path
from typing import TypeAlias

__all__ = ["Suppression", "SuppressionSource"]

SuppressionSource: TypeAlias = (
    str | Path | Collection[str] | Callable[[str], bool | Awaitable[bool]]
)


class Suppression:
    """``Suppression(Path("unsubscribed.txt"))``, ``Suppression({"a@x.com"})`` or a callable."""

    __slots__ = ("_check", "_path", "_static")

    def __init__(self, source: SuppressionSource) -> None:
        self._path: Path | None = None
        self._static: frozenset[str] | None = None
        self._check: Callable[[str], bool | Awaitable[bool]] | None = None
        if isinstance(source, str | Path):
            self._path = Path(source).expanduser()
            if not self._path.is_file():
                raise ValueError(f"suppression list {self._path} does not exist")
        elif callable(source):
            self._check = source
        elif isinstance(source, Collection):
            self._static = frozenset(a.strip().lower() for a in source)
        else:
            raise TypeError("suppression is a file path, a collection or a callable")

    def __repr__(self) -> str:
        if self._path is not None:
            return f"Suppression({str(self._path)!r})"
        if self._static is not None:
            return f"Suppression(<{len(self._static)} addresses>)"
        return f"Suppression({getattr(self._check, '__name__', 'callable')})"

    def _load(self, normalise: Callable[[str], str]) -> frozenset[str] | None:
        """The addresses, normalised as recipients are (None: ask the callable)."""
        if self._path is None and self._static is None:
            return None
        found = set()
        if self._path is not None:
            with self._path.open(encoding="utf-8") as lines:
                entries = [line.strip() for line in lines]
        else:
            entries = list(self._static or ())
        for text in entries:
            if text and not text.startswith("#"):
                try:
                    found.add(normalise(text).lower())
                except ValueError:
                    found.add(text.lower())
        return frozenset(found)

    async def filter(
        self,
        recipients: object,
        normalise: Callable[[str], str],
        counts: dict[str, object],
    ) -> AsyncIterator[str]:
        """Yield the recipients not suppressed; count the others in ``counts["suppressed"]``.

        An entry that does not normalise is passed on as it is, to be reported invalid.
        """
        static = self._load(normalise)
        suppressed = counts["suppressed"] = 0
        if callable(recipients) and not isinstance(recipients, Iterable | AsyncIterable):
            recipients = recipients()  # a source that can be sent more than once
        if isinstance(recipients, AsyncIterable):
            source: AsyncIterable[str] = recipients
        elif isinstance(recipients, Iterable):
            source = _aiter(recipients)
        else:
            raise TypeError("recipients must be an iterable or async iterable of addresses")
        async for raw in source:
            try:
                address = normalise(raw.strip()) if isinstance(raw, str) else raw
            except ValueError:
                yield raw
                continue
            if static is not None:
                hit = address.lower() in static
            else:
                assert self._check is not None  # noqa: S101 - one of the three is set
                answer = self._check(address)
                hit = bool(await answer if inspect.isawaitable(answer) else answer)
            if hit:
                suppressed += 1
                counts["suppressed"] = suppressed
            else:
                yield address


async def _aiter(items: Iterable[str]) -> AsyncIterator[str]:
    for item in items:
        yield item
