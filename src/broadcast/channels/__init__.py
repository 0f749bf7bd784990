"""Built-in channels, imported lazily, and the plugin registry.

``broadcast.channels.Webhook`` imports ``broadcast.channels._webhook`` on first access,
so ``import broadcast`` stays light. ``load(name)`` finds a channel class by name,
including third-party channels registered in the ``broadcast.channels`` entry-point group.

A channel's author finds here what a channel is made of: ``ChannelSpec`` and
``setting`` (how it declares itself), the types ``render`` and ``deliver`` return
(``Rendered``, ``Rejection``, ``Delivery``) and the capability Protocols the
Broadcaster reads once when the channel is added. ``broadcast.http`` is the HTTP
toolkit; ``broadcast.journal.UsesJournal`` the journal's capability.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._capabilities import FanOut, Idempotent, Threaded
from .._channel import Checkable, Delivery, Rejection, Rendered, UsesHTTPClient
from ._registry import BUILTIN, ENTRY_POINT_GROUP, available, load
from ._spec import ChannelSpec, setting

if TYPE_CHECKING:
    from ._apprise import AppriseChannel
    from ._bluesky import Bluesky
    from ._discord import DiscordWebhook
    from ._email import Email
    from ._facebook import FacebookPage
    from ._mastodon import Mastodon
    from ._slack import Slack
    from ._sms import TwilioSMS
    from ._status_page import StatusSite
    from ._statuspage import Statuspage
    from ._teams import Teams
    from ._telegram import Telegram
    from ._twitter import Twitter
    from ._webhook import Webhook

__all__ = [
    "ENTRY_POINT_GROUP",
    "AppriseChannel",
    "Bluesky",
    "ChannelSpec",
    "Checkable",
    "Delivery",
    "DiscordWebhook",
    "Email",
    "FacebookPage",
    "FanOut",
    "Idempotent",
    "Mastodon",
    "Rejection",
    "Rendered",
    "Slack",
    "StatusSite",
    "Statuspage",
    "Teams",
    "Telegram",
    "Threaded",
    "TwilioSMS",
    "Twitter",
    "UsesHTTPClient",
    "Webhook",
    "available",
    "load",
    "setting",
]

_LAZY = {cls: name for name, (_, cls, _) in BUILTIN.items()}


def __getattr__(attr: str) -> Any:
    if attr in _LAZY:
        return load(_LAZY[attr])
    raise AttributeError(f"module 'broadcast.channels' has no attribute {attr!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
