"""Microsoft Teams through a Workflows webhook: one Adaptive Card per update.

``POST`` the Workflow's URL (it carries a SAS ``sig``: a secret) with the card
envelope. Teams answers **202 Accepted with an empty body**: the flow runs later, and
no message id comes back, so a 202 is *delivered, unconfirmed*, and it is never sent
again (tools that took 202 for a failure posted three times).

What Teams cannot do through a webhook:

- **thread**: replies need Microsoft Graph with a delegated permission; each update
  is a new card whose title names the incident;
- **be probed**: any request to the URL runs the flow and posts, so ``check`` only
  says so;
- **be asked whether a lost request arrived**: there is no id and no idempotency
  key, so a request that went out unanswered is not retried (``NotRepeated``); the
  journal leaves it in doubt for ``broadcast settle``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import httpx
from pydantic import BaseModel, SecretStr

from .._channel import Delivery
from .._errors import ConfigError, Unconfirmed
from .._redact import register_secret, safe_origin
from .._update import Update
from ..text._teams import TeamsCard, render_teams
from ._http import ClientSlot, post
from ._spec import ChannelSpec, setting

if TYPE_CHECKING:
    from ..config._env import Env

__all__ = ["NO_PROBE", "NotRepeated", "Teams"]

NO_PROBE = (
    "cannot be probed without posting: any request to a Workflows URL runs the flow "
    "and posts a card; the URL's form was checked, not the flow"
)
NOTE = "202 Accepted: Teams gives no message id and no confirmation"


class NotRepeated(Unconfirmed):
    """Sent and unanswered, on a receiver that cannot tell a repeat: not retried."""

    transient = False


class Teams:
    """Posts each update to a Teams channel or chat as an Adaptive Card (Workflows)."""

    probe_note = NO_PROBE
    """What ``broadcast check`` says instead of probing (a probe would post)."""

    def __init__(
        self,
        url: str | SecretStr,
        *,
        name: str = "teams",
        timeout: float = 15.0,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        secret = url if isinstance(url, SecretStr) else SecretStr(url)
        parts = urlsplit(secret.get_secret_value())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url must be the Workflow's https:// URL (from 'Copy URL')")
        register_secret(secret.get_secret_value(), *parse_qs(parts.query).get("sig", []))
        self.name = name
        self._url = secret
        self._origin = safe_origin(secret.get_secret_value())
        self._timeout = timeout
        self._http = ClientSlot(client)
        self._clock = clock

    def __repr__(self) -> str:
        return f"Teams(name={self.name!r}, url='{self._origin}/…')"

    def render(self, update: Update, /) -> TeamsCard:
        """The card for ``update``; pure."""
        return render_teams(update)

    def use_http_client(self, client: httpx.AsyncClient, /) -> None:
        """Send through the Broadcaster's shared client (unless one was given)."""
        self._http.share(client)

    async def deliver(self, rendered: TeamsCard, /) -> Delivery:
        """POST the card once; a 202 is delivered but unconfirmed."""
        try:
            response = await post(
                self._http.get(),
                self._url.get_secret_value(),
                content=rendered.body,
                headers={"content-type": "application/json"},
                timeout=self._timeout,
                wall_clock=self._clock,
            )
        except Unconfirmed as exc:
            raise NotRepeated(
                f"{exc}; Teams gives no id to look it up by, so it is not posted again"
            ) from exc
        confirmed = response.status_code != 202
        details = {
            "status_code": response.status_code,
            "confirmed": confirmed,
            "bytes": rendered.size,
        }
        return Delivery(details=details, note=None if confirmed else NOTE)

    async def aclose(self) -> None:
        """Close the client if this channel made it."""
        await self._http.aclose()


# --- its declaration: settings, capabilities, preview example, stand-in -------------


class TeamsSettings(BaseModel):
    """Posts each update as an Adaptive Card to a Teams Workflows webhook `url`."""

    url: SecretStr = setting(doc="Enables Teams: the Workflow's webhook URL (a secret).")
    timeout: float = setting(15.0, doc="Seconds for one Teams attempt.")


def _from_env(env: Env) -> Teams | None:
    url = env.url("BROADCAST_TEAMS_URL")
    if url is None:
        if present := [n for n in env.names() if n.startswith("BROADCAST_TEAMS_")]:
            raise ConfigError(
                f"{present[0]} is set but BROADCAST_TEAMS_URL is not; set the Workflow's URL"
            )
        return None
    register_secret(url)
    timeout = env.seconds("BROADCAST_TEAMS_TIMEOUT", 15.0)
    channel: Teams = env.build("BROADCAST_TEAMS_URL", lambda: Teams(url, timeout=timeout))
    return channel


SPEC = ChannelSpec(
    name="teams",
    channel=Teams,
    settings=TeamsSettings,
    build=_from_env,
    label="Teams",
    example=lambda: Teams(
        "https://prod-00.westeurope.logic.azure.com/workflows/0/triggers/manual/paths/invoke"
        "?api-version=2016-06-01&sig=example-only"
    ),
    standin="broadcast.testing:TeamsFake",
)
