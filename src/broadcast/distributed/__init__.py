"""Scale-out: one send spread over many worker processes on a task engine.

The sender plans the send as shards (ranges of each fan-out's recipients, one per
single-post channel) in a ``ShardStore`` beside the journal and enqueues one task per
shard (``ShardQueue``; taskiq's in ``broadcast.distributed.tasks``). Workers
(``ShardWorker``; ``broadcast worker``) claim shards under expiring leases, send them
and record each recipient in the journal as a one-process send does. ``status()`` sums
every shard into one Report. ``SharedRateLimiter`` keeps all workers together under a
provider account's rate. See docs/scaling.md for the guarantees and their bounds.

Nothing here imports taskiq: ``broadcast.distributed.tasks`` does, on use.
"""

from ._dispatch import Distributed, plan
from ._postgres import PostgresShards
from ._rate import SharedRateLimiter
from ._shards import Shard, ShardClaim, ShardQueue, ShardRecord, ShardStore
from ._sources import DEFAULT_SHARD_SIZE, KeyRange, plan_source, shard_source
from ._sqlite import SHARD_LEASE, SQLiteShards
from ._status import SendStatus, status
from ._worker import ShardWorker

__all__ = [
    "DEFAULT_SHARD_SIZE",
    "SHARD_LEASE",
    "Distributed",
    "KeyRange",
    "PostgresShards",
    "SQLiteShards",
    "SendStatus",
    "Shard",
    "ShardClaim",
    "ShardQueue",
    "ShardRecord",
    "ShardStore",
    "ShardWorker",
    "SharedRateLimiter",
    "plan",
    "plan_source",
    "shard_source",
    "status",
]
