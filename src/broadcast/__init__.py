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

import warnings
from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from ._broadcaster import Broadcaster
    from ._channel import Channel
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
    from ._redact import register_secret
    from ._report import (
        Outcome,
        Receipt,
        Report,
    )
    from ._retry import RetryPolicy
    from ._scope import Progress
    from ._update import (
        Severity,
        Status,
        Update,
        UpdateFields,
    )
    from .api._calls import (
        acheck,
        asend,
        check,
        make_update,
        preview,
        send,
    )
    from .api._check import CheckResult
    from .api._preview import Preview
    from .config._load import (
        Config,
        load_config,
    )
    from .journal._postgres import PostgresJournal
    from .journal._protocol import Journal
    from .journal._sqlite import SQLiteJournal

__all__ = [
    "AlreadyDelivered",
    "AuthError",
    "BroadcastError",
    "Broadcaster",
    "Channel",
    "ChannelError",
    "CheckResult",
    "Config",
    "ConfigError",
    "DeliveryError",
    "InDoubt",
    "Journal",
    "JournalError",
    "NotSent",
    "Outcome",
    "PermanentError",
    "PostgresJournal",
    "Preview",
    "Progress",
    "Receipt",
    "Report",
    "RetryPolicy",
    "SQLiteJournal",
    "Severity",
    "Status",
    "TransientError",
    "Unconfirmed",
    "Update",
    "UpdateFields",
    "__version__",
    "acheck",
    "asend",
    "check",
    "load_config",
    "make_update",
    "preview",
    "register_secret",
    "send",
]

_WHERE = {
    "acheck": ".api._calls",
    "asend": ".api._calls",
    "check": ".api._calls",
    "make_update": ".api._calls",
    "preview": ".api._calls",
    "send": ".api._calls",
    "CheckResult": ".api._check",
    "Preview": ".api._preview",
    "Broadcaster": "._broadcaster",
    "Channel": "._channel",
    "Config": ".config._load",
    "load_config": ".config._load",
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
    "Journal": ".journal._protocol",
    "SQLiteJournal": ".journal._sqlite",
    "PostgresJournal": ".journal._postgres",
    "Progress": "._scope",
    "register_secret": "._redact",
    "Outcome": "._report",
    "Receipt": "._report",
    "Report": "._report",
    "RetryPolicy": "._retry",
    "Severity": "._update",
    "Status": "._update",
    "Update": "._update",
    "UpdateFields": "._update",
}
"""Each lazily loaded name, and the private module that defines it."""

_MOVED = {
    "ChannelRecord": "journal",
    "Claim": "journal",
    "IncidentState": "journal",
    "ItemRecord": "journal",
    "Overdue": "journal",
    "RecipientLog": "journal",
    "UpdateRecord": "journal",
    "UsesJournal": "journal",
    "overdue": "journal",
    "MemoryThreads": "journal",
    "ThreadState": "journal",
    "ThreadStore": "journal",
    "ConfiguredChannel": "config",
    "Env": "config",
    "broadcaster_from_env": "config",
    "channels_from_env": "config",
    "Checkable": "channels",
    "UsesHTTPClient": "channels",
    "Delivery": "channels",
    "Rejection": "channels",
    "Rendered": "channels",
}
"""Names that left the top level in 0.x, and the subpackage that has them now."""
_SUBPACKAGES = frozenset(
    {"api", "channels", "cli", "config", "demo", "http", "journal", "testing", "text"}
)


def __getattr__(name: str) -> Any:
    """Import a public name on first use, then keep it in the module."""
    if name in _SUBPACKAGES:
        return import_module(f".{name}", __name__)
    if name in _MOVED:
        where = f"broadcast.{_MOVED[name]}"
        warnings.warn(
            f"broadcast.{name} moved to {where}.{name}; import it from there",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(import_module(where), name)
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
