"""Atlassian Statuspage: the incident's first update opens an incident, follow-ups update it.

The first update of an incident is ``POST /v1/pages/{page_id}/incidents`` with
``Authorization: OAuth <api_key>`` and ``{"incident": {name, status, body,
impact_override, component_ids, components, deliver_notifications}}``; Statuspage
answers with the incident object, whose ``id`` is kept in the journal's incident
state. Each follow-up, from this process or another one days later, is ``PATCH
/v1/pages/{page_id}/incidents/{id}`` with the new status, body and component
statuses: Statuspage appends it to the incident as an ``incident_update``.

Statuspage allows about one request a second per API key and answers 420 or 429
beyond it: requests are spaced by a rate limiter, and a 420/429 is retried after its
``Retry-After``. Its errors are JSON (``{"error": "..."}`` or ``{"message": "..."}``):
401 is permanent and stops the channel for the rest of the process; 404 says whether
the page or the incident is missing; 422 names the refused field.

Creating an incident is not idempotent. When the answer to a POST (or a PATCH) is
lost, the retry first looks for it: ``GET .../incidents/unresolved`` for an incident
of the same name with an update of the same body (or ``GET .../incidents/{id}`` for a
follow-up), and records what it finds rather than posting it twice.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
from pydantic import BaseModel, SecretStr

from .._channel import Delivery
from .._errors import (
    AlreadyDelivered,
    AuthError,
    ChannelError,
    PermanentError,
    TransientError,
    Unconfirmed,
)
from .._redact import excerpt, register_secret
from .._retry import retry_after_from_headers
from .._update import Severity, Update
from ..journal._protocol import Journal
from ..journal._threads import ThreadSlot, ThreadStore, post_part
from ..text._statuspage import IMPACTS, StatuspageMessage, render_statuspage
from ._http import ClientSlot, check_response, get, json_field, request
from ._sms import RateLimiter
from ._spec import ChannelSpec, setting

__all__ = ["IMPACTS", "Statuspage", "StatuspageMessage", "parse_pairs", "statuspage_errors"]

DEFAULT_BASE_URL = "https://api.statuspage.io"
RATE = 1.0
"""Requests per second per API key (Statuspage's documented limit)."""
FIELDS = ("name", "status", "body", "impact_override", "component_ids", "components")
_ID = re.compile(r"[A-Za-z0-9]{1,64}")


def parse_pairs(value: Mapping[str, str] | str | None, what: str) -> dict[str, str]:
    """``{"Sign-in": "abc"}`` from a mapping or from ``"Sign-in=abc, Store=def"``."""
    if value is None:
        return {}
    if isinstance(value, str):
        pairs: dict[str, str] = {}
        for item in (p.strip() for p in value.split(",")):
            if not item:
                continue
            name, equals, target = item.rpartition("=")
            if not equals or not name.strip() or not target.strip():
                raise ValueError(f"{what}: {item!r} is not NAME=VALUE")
            pairs[name.strip()] = target.strip()
        return pairs
    return {str(k).strip(): str(v).strip() for k, v in value.items()}


def statuspage_errors(
    response: httpx.Response, *, now: Callable[[], float] = time.time
) -> ChannelError | None:
    """Statuspage's JSON errors, classified; None leaves the rest to ``check_response``.

    ``now`` is the wall clock an HTTP-date ``Retry-After`` is counted from.
    """
    status = response.status_code
    said = _said(response)
    text = f"Statuspage {status}" + (f": {said}" if said else "")
    if status in (420, 429):
        wait = retry_after_from_headers(response.headers, now=now())
        return TransientError(
            f"{text} (rate limited: about 1 request a second per key)",
            code=status,
            retry_after=wait,
        )
    if status == 401:
        return AuthError(f"{text} (the API key was rejected; make one under API info)", code=status)
    if status == 403:
        return AuthError(f"{text} (the API key may not change this page)", code=status)
    if status == 404:
        return PermanentError(text, code=status)  # the caller says which: page or incident
    if status == 422:
        field = next((f for f in FIELDS if said.lower().startswith(f.replace("_", " "))), None)
        named = f"incident.{field}" if field else "the incident"
        return PermanentError(f"{text} (Statuspage refused {named})", code=status)
    return None


def _said(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    said = body.get("error", body.get("message", ""))
    if isinstance(said, dict):
        said = said.get("message", "")
    if isinstance(said, list):
        said = "; ".join(str(s) for s in said)
    return excerpt(str(said)) if said else ""


class Statuspage:
    """Opens an Atlassian Statuspage incident per incident, and updates it on follow-ups."""

    threaded = True
    """Follow-ups update the same Statuspage incident."""

    def __init__(
        self,
        page_id: str,
        api_key: str | SecretStr,
        *,
        components: Mapping[str, str] | str | None = None,
        deliver_notifications: bool = True,
        impact: Mapping[str, str] | str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        name: str = "statuspage",
        rate: float = RATE,
        threads: ThreadStore | None = None,
        timeout: float = 15.0,
        client: httpx.AsyncClient | None = None,
        limiter: RateLimiter | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        if not key or not key.strip():
            raise ValueError("api_key is required (Statuspage: your avatar > API info)")
        if not _ID.fullmatch(page_id or ""):
            raise ValueError(f"page_id must be the page's id (letters and digits), got {page_id!r}")
        mapping = parse_pairs(components, "components")
        for our, target in mapping.items():
            if not _ID.fullmatch(target):
                raise ValueError(f"components: {our!r} maps to {target!r}, not a component id")
        impacts = parse_pairs(impact, "impact")
        for severity, value in impacts.items():
            if severity not in {s.value for s in Severity} or value not in IMPACTS:
                raise ValueError(
                    f"impact: {severity}={value} must map a severity (minor, major, critical) "
                    f"to one of {', '.join(IMPACTS)}"
                )
        register_secret(key)
        self.name = name
        self._key = SecretStr(key)
        self._page = page_id
        self._components = mapping
        self._impacts = impacts
        self._notify = deliver_notifications
        self._api = f"{base_url.rstrip('/')}/v1/pages/{page_id}"
        self._threads = ThreadSlot(threads)
        self._http = ClientSlot(client)
        self._timeout = timeout
        self._clock = clock
        self._limiter = limiter or RateLimiter(rate, sleep=sleep)
        self._stopped: AuthError | None = None
        self._errors = functools.partial(statuspage_errors, now=clock)
        self._unanswered: set[str] = set()

    def __repr__(self) -> str:
        return f"Statuspage(name={self.name!r}, page_id={self._page!r}, api_key=***)"

    def render(self, update: Update, /) -> StatuspageMessage:
        """The incident update for ``update``; pure."""
        return render_statuspage(update, components=self._components, impacts=self._impacts)

    def use_http_client(self, client: httpx.AsyncClient, /) -> None:
        """Send through the Broadcaster's shared client (unless one was given)."""
        self._http.share(client)

    def use_journal(self, journal: Journal, /) -> None:
        """Keep each incident's Statuspage id in ``journal`` (unless ``threads`` was given)."""
        self._threads.share(journal)

    async def deliver(self, rendered: StatuspageMessage, /) -> Delivery:
        """Open the incident, or update it, unless this update is already on the page."""
        threads, key = self._threads.get(), rendered.update_key
        if posted := await threads.posted_parts(self.name, key):
            raise AlreadyDelivered(f"already on Statuspage as {posted[0]}", ids=tuple(posted))
        thread = await threads.thread(self.name, rendered.incident)
        incident = thread.first.partition("/")[0] if thread.first else None

        async def send() -> str:
            if key in self._unanswered:
                found = await self._find(rendered, incident)
                if found is not None:
                    return found
            try:
                return await self._write(rendered, incident)
            except Unconfirmed:
                self._unanswered.add(key)
                raise

        post_id = await post_part(threads, self.name, rendered.incident, key, 0, send=send)
        self._unanswered.discard(key)
        incident_id, _, update_id = post_id.partition("/")
        details = {"incident_id": incident_id, "created": incident is None}
        return Delivery(ids=(incident_id, *([update_id] if update_id else [])), details=details)

    async def _write(self, rendered: StatuspageMessage, incident: str | None) -> str:
        """POST the incident (``incident`` None) or PATCH it: ``id`` or ``id/update id``."""
        fields = rendered.fields(first=incident is None, notify=self._notify)
        content = json.dumps({"incident": fields}, ensure_ascii=False).encode()
        if incident is None:
            response = await self._call("POST", f"{self._api}/incidents", content=content)
            return json_field(response, "id")
        response = await self._call(
            "PATCH", f"{self._api}/incidents/{incident}", content=content, incident=incident
        )
        json_field(response, "id")
        return f"{incident}/{_latest_update(response.json()) or 'patched'}"

    async def _find(self, rendered: StatuspageMessage, incident: str | None) -> str | None:
        """After a lost answer: where that write landed, if Statuspage has it."""
        # A new incident is open unless this very update resolved it.
        unresolved = "" if rendered.status == "resolved" else "/unresolved"
        url = f"{self._api}/incidents" + (f"/{incident}" if incident else unresolved)
        try:
            response = await self._call("GET", url, incident=incident)
            found: Any = response.json()
        except (ChannelError, ValueError) as exc:
            raise Unconfirmed(
                "an earlier write got no answer, and Statuspage could not be asked whether "
                f"it arrived ({exc}); not sent again"
            ) from exc
        for item in found if isinstance(found, list) else [found]:
            if not isinstance(item, dict) or (
                incident is None and item.get("name") != rendered.name
            ):
                continue
            entries = [e for e in item.get("incident_updates") or [] if isinstance(e, dict)]
            for entry in entries:
                said = (entry.get("body"), entry.get("status", rendered.status))
                if said == (rendered.body, rendered.status):
                    if incident is None:
                        return str(item.get("id"))
                    return f"{incident}/{entry.get('id') or 'patched'}"
        return None

    async def _call(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        incident: str | None = None,
    ) -> httpx.Response:
        if self._stopped is not None:
            raise AuthError(f"{self._stopped} (not tried again in this process)", code=401)
        await self._limiter.acquire()
        headers = {"authorization": f"OAuth {self._key.get_secret_value()}"}
        if content is not None:
            headers["content-type"] = "application/json"
        try:
            if method == "GET":
                return await get(
                    self._http.get(),
                    url,
                    headers=headers,
                    timeout=self._timeout,
                    wall_clock=self._clock,
                    provider_errors=self._errors,
                )
            response = await request(
                self._http.get(),
                method,
                url,
                content=content,
                headers=headers,
                timeout=self._timeout,
            )
            check_response(response, wall_clock=self._clock, provider_errors=self._errors)
        except AuthError as exc:
            if exc.code == 401:
                self._stopped = exc
            raise
        except PermanentError as exc:
            if exc.code == 404:
                if "component" in str(exc).lower():
                    what = "a component id of `components` is not on this page"
                elif incident:
                    what = f"incident {incident} not found: was it deleted on Statuspage?"
                else:
                    what = f"page {self._page} not found: check the page id"
                raise PermanentError(f"{exc} ({what})", code=404) from None
            raise
        return response

    async def check(self) -> str:
        """``GET /v1/pages/{page_id}``: the key reads the page. Posts nothing."""
        response = await self._call("GET", self._api)
        try:
            page = response.json()
        except ValueError:
            page = {}
        name = page.get("name") if isinstance(page, dict) else None
        return f"page {name!r} ({self._page}); {len(self._components)} components mapped"

    async def aclose(self) -> None:
        """Close the client if this channel made it."""
        await self._http.aclose()


def _latest_update(incident: Any) -> str | None:
    updates = incident.get("incident_updates") if isinstance(incident, dict) else None
    if isinstance(updates, list) and updates and isinstance(updates[0], dict):
        value = updates[0].get("id")
        return str(value) if value else None
    return None


# --- its declaration: settings, capabilities, preview example, stand-in -------------


class StatuspageSettings(BaseModel):
    """Opens an Atlassian Statuspage incident per incident; follow-ups update it."""

    api_key: SecretStr = setting(doc="Enables Statuspage: an API key (avatar > API info).")
    page_id: str = setting(doc="The page's id (in the page's URL in the management app).")
    components: str | None = setting(
        None, doc="Our component names to Statuspage component ids: `Sign-in=abc123, Store=def4`."
    )
    deliver_notifications: bool = setting(
        True, doc="Whether Statuspage notifies the page's own subscribers of each update."
    )
    impact: str | None = setting(
        None, doc="Severity to `impact_override`: `minor=minor, major=major, critical=critical`."
    )
    rate: float = setting(RATE, doc="Requests per second (Statuspage: 1 per API key).")
    base_url: str = setting(DEFAULT_BASE_URL, doc="API root, for a proxy or a stand-in.")


SPEC = ChannelSpec(
    name="statuspage",
    channel=Statuspage,
    settings=StatuspageSettings,
    label="Statuspage",
    enabled_by="BROADCAST_STATUSPAGE_API_KEY",
    example=lambda: Statuspage(
        "kctbh9vrtdwd", "example-only-key", components={"Sign-in": "ftgks51sfs2d"}
    ),
    standin="broadcast.testing:StatuspageFake",
)
