"""One journal store per test, SQLite or PostgreSQL: the contract suite runs on both.

``store`` is parametrized over the two backends; ``store.make()`` opens another
journal on the same store (another process's view of it, with its own owner id), and
``store.target`` is what a child process is given as ``BROADCAST_JOURNAL``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from broadcast import Journal, SQLiteJournal
from broadcast.journal import PostgresJournal

__all__ = ["Store", "store"]


@dataclass
class Store:
    """Where a test's journal lives, and a maker of journals on it."""

    backend: str
    target: str
    _make: Callable[..., Journal]
    made: list[Journal] = field(default_factory=list)

    def make(self, **options: Any) -> Any:
        """A new journal on this store (``lease=``, ``clock=`` as the journals take)."""
        journal = self._make(**options)
        self.made.append(journal)
        return journal


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """The test's journal store, once on SQLite and once on a real PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "journal.db"
        made = Store("sqlite", str(path), lambda **o: SQLiteJournal(path, **o))
    else:
        dsn: str = request.getfixturevalue("postgres_dsn")
        made = Store("postgres", dsn, lambda **o: PostgresJournal(dsn, **o))
    yield made
    for journal in made.made:
        await journal.aclose()
