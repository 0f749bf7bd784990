"""Real channels pointed at a ChaosServer, with the stand-in's test credentials."""

from __future__ import annotations

from typing import Any, Protocol

from ._providers.apprise import PATHS, json_url
from ._providers.graph import PAGE_ID
from ._providers.twilio import ACCOUNT_SID

__all__ = ["SUBSCRIBERS", "channel_for"]

SUBSCRIBERS = ("+14155550101", "+14155550102", "+14155550103")
"""Who a stand-in SMS channel texts unless given ``recipients=``."""


class Pointed(Protocol):
    """A server a channel can be pointed at (a ``ChaosServer``)."""

    @property
    def provider(self) -> str:
        """Which provider it answers like."""
        ...

    @property
    def url(self) -> str:
        """The base URL."""
        ...

    @property
    def hook_url(self) -> str:
        """The webhook receiver's URL."""
        ...


def channel_for(server: Pointed, **options: Any) -> Any:  # noqa: PLR0911 - one per provider
    """The provider's channel at ``server``; ``options`` go to its constructor."""
    from ..channels import FacebookPage, TwilioSMS, Twitter, Webhook  # noqa: PLC0415

    if server.provider == "x":
        options.setdefault("bearer_token", "chaos-user-token")
        return Twitter(base_url=server.url, **options)
    if server.provider == "graph":
        return FacebookPage(PAGE_ID, "chaos-page-token", base_url=server.url, **options)
    if server.provider == "twilio":
        options.setdefault("recipients", list(SUBSCRIBERS))
        options.setdefault("from_", "+15017122661")
        return TwilioSMS(ACCOUNT_SID, "chaos-auth-token", base_url=server.url, **options)
    if server.provider == "slack":
        from ..channels._slack import Slack  # noqa: PLC0415

        return Slack("xoxb-chaos-bot-token", "C0CHAOS001", base_url=server.url, **options)
    if server.provider == "discord":
        from ..channels._discord import DiscordWebhook  # noqa: PLC0415

        return DiscordWebhook(f"{server.url}/api/webhooks/1/chaos-hook-token", **options)
    if server.provider == "telegram":
        from ..channels._telegram import Telegram  # noqa: PLC0415

        options.setdefault("chat_ids", ["-1001", "-1002", "-1003"])
        return Telegram("123456789:chaos-bot-token-abcdef", base_url=server.url, **options)
    if server.provider == "teams":
        from ..channels._teams import Teams  # noqa: PLC0415

        return Teams(f"{server.url}/workflows/chaos/invoke?sig=chaos-sig-0123", **options)
    if server.provider == "mastodon":
        from ..channels._mastodon import Mastodon  # noqa: PLC0415

        return Mastodon(server.url, "chaos-mastodon-token", **options)
    if server.provider == "bluesky":
        from ..channels._bluesky import Bluesky  # noqa: PLC0415

        options.setdefault("session_file", "off")
        return Bluesky("chaos.example.com", "chaos-app-password", service=server.url, **options)
    if server.provider == "apprise":
        from ..channels._apprise import AppriseChannel  # noqa: PLC0415 - an optional extra

        options.setdefault("urls", [json_url(server.url, path) for path in PATHS])
        return AppriseChannel(**options)
    if server.provider == "statuspage":
        from ..channels._statuspage import Statuspage  # noqa: PLC0415

        options.setdefault("components", {"Sign-in": "chaoscomp001"})
        return Statuspage("chaospage001", "chaos-statuspage-key", base_url=server.url, **options)
    return Webhook(server.hook_url, **options)
