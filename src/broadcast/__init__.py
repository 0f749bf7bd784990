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

Names load on first use (PEP 562), so ``import broadcast`` and ``broadcast --help``
stay fast; type checkers see the imports below.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from ._api import (
        acheck,
        asend,
        check,
        make_update,
        preview,
        send,
    )
    from ._broadcaster import Broadcaster
    from ._channel import (
        Channel,
        Checkable,
        Delivery,
        Rejection,
        Rendered,
        UsesHTTPClient,
    )
    from ._check import CheckResult
    from ._config import (
        broadcaster_from_env,
        channels_from_env,
    )
    from ._config_load import (
        Config,
        ConfiguredChannel,
        load_config,
    )
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
        NotSent,
        PermanentError,
        TransientError,
        Unconfirmed,
    )
    from ._preview import Preview
    from ._progress import Progress
    from ._redact import register_secret
    from ._report import (
        Outcome,
        Receipt,
        Report,
    )
    from ._retry import RetryPolicy
    from ._update import (
        Severity,
        Status,
        Update,
        UpdateFields,
    )
    from .journal._protocol import (
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
    from .journal._sqlite import SQLiteJournal
    from .journal._threads import (
        MemoryThreads,
        ThreadState,
        ThreadStore,
    )

__all__ = [
    "AlreadyDelivered",
    "AuthError",
    "BroadcastError",
    "Broadcaster",
    "Channel",
    "ChannelError",
    "ChannelRecord",
    "CheckResult",
    "Checkable",
    "Claim",
    "Config",
    "ConfigError",
    "ConfiguredChannel",
    "Delivery",
    "DeliveryError",
    "Env",
    "InDoubt",
    "IncidentState",
    "ItemRecord",
    "Journal",
    "JournalError",
    "MemoryThreads",
    "NotSent",
    "Outcome",
    "Overdue",
    "PermanentError",
    "Preview",
    "Progress",
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
    "Unconfirmed",
    "Update",
    "UpdateFields",
    "UpdateRecord",
    "UsesHTTPClient",
    "UsesJournal",
    "__version__",
    "acheck",
    "asend",
    "broadcaster_from_env",
    "channels_from_env",
    "check",
    "load_config",
    "make_update",
    "overdue",
    "preview",
    "register_secret",
    "send",
]

_WHERE = {
    "acheck": "._api",
    "asend": "._api",
    "check": "._api",
    "make_update": "._api",
    "preview": "._api",
    "send": "._api",
    "Broadcaster": "._broadcaster",
    "Channel": "._channel",
    "Checkable": "._channel",
    "Delivery": "._channel",
    "Rejection": "._channel",
    "Rendered": "._channel",
    "UsesHTTPClient": "._channel",
    "CheckResult": "._check",
    "broadcaster_from_env": "._config",
    "channels_from_env": "._config",
    "Config": "._config_load",
    "ConfiguredChannel": "._config_load",
    "load_config": "._config_load",
    "Env": "._env",
    "AlreadyDelivered": "._errors",
    "AuthError": "._errors",
    "BroadcastError": "._errors",
    "ChannelError": "._errors",
    "ConfigError": "._errors",
    "DeliveryError": "._errors",
    "InDoubt": "._errors",
    "JournalError": "._errors",
    "NotSent": "._errors",
    "PermanentError": "._errors",
    "TransientError": "._errors",
    "Unconfirmed": "._errors",
    "ChannelRecord": ".journal._protocol",
    "Claim": ".journal._protocol",
    "IncidentState": ".journal._protocol",
    "ItemRecord": ".journal._protocol",
    "Journal": ".journal._protocol",
    "Overdue": ".journal._protocol",
    "RecipientLog": ".journal._protocol",
    "UpdateRecord": ".journal._protocol",
    "UsesJournal": ".journal._protocol",
    "overdue": ".journal._protocol",
    "SQLiteJournal": ".journal._sqlite",
    "Preview": "._preview",
    "Progress": "._progress",
    "Outcome": "._report",
    "Receipt": "._report",
    "Report": "._report",
    "RetryPolicy": "._retry",
    "MemoryThreads": ".journal._threads",
    "ThreadState": ".journal._threads",
    "ThreadStore": ".journal._threads",
    "Severity": "._update",
    "Status": "._update",
    "Update": "._update",
    "register_secret": "._redact",
    "UpdateFields": "._update",
}
"""Each lazily loaded name, and the private module that defines it."""
_SUBPACKAGES = frozenset({"channels", "cli", "demo", "http", "testing", "text"})


def __getattr__(name: str) -> Any:
    """Import a public name on first use, then keep it in the module."""
    if name in _SUBPACKAGES:
        return import_module(f".{name}", __name__)
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'broadcast' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names, loaded or not, and the loaded subpackages."""
    loaded = (n for n in globals() if n.startswith("__") or n in _SUBPACKAGES)
    return sorted({*__all__, *loaded})
