"""One fake per provider API, shared by the chaos stand-ins, the demo, the tests and benchmarks.

Each module is one provider: what it answers (``shape()``: success, duplicate, error
and rate-limit bodies and headers, as the provider documents them) and the demo's
verifying stand-in for it (``XEndpoint``, ``GraphEndpoint``, ``TwilioEndpoint``,
``WebhookReceiver``; ``MailReceiver`` for SMTP).

A new provider fake is a module here and one line in ``SHAPES`` (for ``ChaosServer``);
its stand-in is named by its channel's ``ChannelSpec.standin``.
"""

from __future__ import annotations

from collections.abc import Callable

from . import (
    _chat,
    apprise,
    bluesky,
    discord,
    graph,
    mastodon,
    slack,
    statuspage,
    twilio,
    webhook,
    x,
)
from ._base import HTTPStandIn, Shape, StandIn, by_update, every_update_arrived

__all__ = ["SHAPES", "HTTPStandIn", "Shape", "StandIn", "by_update", "every_update_arrived"]

SHAPES: dict[str, Callable[[], Shape]] = {
    "x": x.shape,
    "graph": graph.shape,
    "twilio": twilio.shape,
    "webhook": webhook.shape,
    "slack": slack.shape,
    "discord": discord.shape,
    "telegram": _chat.telegram_shape,
    "teams": _chat.teams_shape,
    "mastodon": mastodon.shape,
    "bluesky": bluesky.shape,
    "apprise": apprise.shape,
    "statuspage": statuspage.shape,
}
"""Each HTTP provider's name (as ``ChaosServer`` takes it) and how it answers."""
