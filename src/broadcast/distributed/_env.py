"""A worker from the configuration: the sender's channels, journal and shard store.

The same broadcast.toml, ``.env`` and variables as ``broadcast send`` reads; the shard
store is the journal's own database (``store_for``).
"""

from __future__ import annotations

import os
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from .._errors import ConfigError
from ..journal._postgres import PostgresJournal
from ..journal._sqlite import SQLiteJournal
from ._shards import ShardStore
from ._sqlite import SQLiteShards
from ._worker import ShardWorker

if TYPE_CHECKING:
    from ..journal._protocol import Journal

__all__ = ["store_for", "worker_from_env"]


def store_for(journal: Journal | None) -> ShardStore:
    """The shard store beside ``journal``: its SQLite file (or its database)."""
    if isinstance(journal, SQLiteJournal):
        return SQLiteShards(journal.path)
    if isinstance(journal, PostgresJournal):
        from ._postgres import PostgresShards  # noqa: PLC0415 - the postgres extra

        return PostgresShards(journal._dsn)
    raise ConfigError(
        "BROADCAST_JOURNAL: a distributed send keeps its shards beside the journal; "
        f"{journal!r} has no shard store (use a journal file or a PostgreSQL journal)"
    )


async def worker_from_env(
    config_path: str | None = None, *, env_file: str = ".env"
) -> tuple[ShardWorker, AsyncExitStack]:
    """A ``ShardWorker`` for this process, and what closes it (channels, journal, store)."""
    from .._redact import register_secret  # noqa: PLC0415
    from ..config._load import load_config  # noqa: PLC0415 - only when a worker starts

    config = load_config(config_path or os.environ.get("BROADCAST_CONFIG"), env_file=env_file)
    register_secret(*config.secrets)
    broadcaster = config.broadcaster(journal="config")
    store = store_for(broadcaster.journal)
    stack = AsyncExitStack()
    await stack.enter_async_context(broadcaster)
    stack.push_async_callback(store.aclose)
    if broadcaster.journal is not None:
        await broadcaster.journal.open()  # first: an SQLite store must open after it
    await store.open()
    return ShardWorker(broadcaster, store), stack
