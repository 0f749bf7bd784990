"""broadcast: send one crisis update to every outlet, with retries and an exact report.

import broadcast
from broadcast.channels import Webhook

update = broadcast.Update(
    title="PlayStation Network is down",
    body="We are investigating. Next update within the hour.",
    incident="psn-2011-04",
    author="Head of Network Operations",
)
async with broadcast.Broadcaster([Webhook(url, secret=secret)]) as b:
    report = await b.send(update)
report.raise_for_failures()
"""

from ._api import asend, make_update, send
from ._broadcaster import Broadcaster
from ._channel import Channel, Delivery, Rejection, Rendered, UsesHTTPClient
from ._config import broadcaster_from_env, channels_from_env
from ._env import Env
from ._errors import (
    AlreadyDelivered,
    AuthError,
    BroadcastError,
    ChannelError,
    ConfigError,
    DeliveryError,
    InDoubt,
    JournalError,
    PermanentError,
    TransientError,
)
from ._journal import (
    ChannelRecord,
    Claim,
    IncidentState,
    ItemRecord,
    Journal,
    Overdue,
    RecipientLog,
    UpdateRecord,
    UsesJournal,
    overdue,
)
from ._journal_sqlite import SQLiteJournal
from ._report import Outcome, Receipt, Report
from ._retry import RetryPolicy
from ._threads import MemoryThreads, ThreadState, ThreadStore
from ._update import Severity, Status, Update
from ._version import __version__

__all__ = [
    "AlreadyDelivered",
    "AuthError",
    "BroadcastError",
    "Broadcaster",
    "Channel",
    "ChannelError",
    "ChannelRecord",
    "Claim",
    "ConfigError",
    "Delivery",
    "DeliveryError",
    "Env",
    "InDoubt",
    "IncidentState",
    "ItemRecord",
    "Journal",
    "JournalError",
    "MemoryThreads",
    "Outcome",
    "Overdue",
    "PermanentError",
    "Receipt",
    "RecipientLog",
    "Rejection",
    "Rendered",
    "Report",
    "RetryPolicy",
    "SQLiteJournal",
    "Severity",
    "Status",
    "ThreadState",
    "ThreadStore",
    "TransientError",
    "Update",
    "UpdateRecord",
    "UsesHTTPClient",
    "UsesJournal",
    "__version__",
    "asend",
    "broadcaster_from_env",
    "channels_from_env",
    "make_update",
    "overdue",
    "send",
]
