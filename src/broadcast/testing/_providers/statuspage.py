"""An Atlassian Statuspage API on 127.0.0.1 that answers as Statuspage documents it.

``StatuspageFake`` serves ``/v1/pages/{page_id}``: ``GET`` the page, ``POST
incidents`` (201 and the incident object), ``PATCH incidents/{id}`` (a new
``incident_update``), ``GET incidents``, ``incidents/unresolved`` and
``incidents/{id}``. It checks ``Authorization: OAuth <key>`` (401 ``{"error":
"Could not authenticate"}``), the statuses and ``impact_override`` values (422 naming
the field) and the component ids (404), and applies ``components: {id: status}`` to
the page's components, as Statuspage does. ``throttle(n, status=420)`` answers the
next ``n`` writes with 420 (or 429) and ``Retry-After``; ``lose_answers(n)`` acts on
the next ``n`` writes and drops the answer. Also the demo's stand-in, and the shape
``ChaosServer("statuspage")`` serves.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self
from urllib.parse import urlsplit

from .._loopback import LoopbackServer, RecordedRequest, Reply
from ._base import Shape, Throttle, json_reply, retry_headers

__all__ = ["API_KEY", "COMPONENTS", "PAGE_ID", "StatuspageFake", "shape"]

PAGE_ID = "kctbh9vrtdwd"
API_KEY = "fake-statuspage-api-key-0001"
COMPONENTS = {"Sign-in": "ftgks51sfs2d", "Store": "8kbf7d35c070", "Multiplayer": "m7xg2bt3wq01"}
"""The fake page's components: our name -> Statuspage id."""
STATUSES = ("investigating", "identified", "monitoring", "resolved")
COMPONENT_STATUSES = (
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
)
IMPACTS = ("none", "minor", "major", "critical")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Incident:
    """One incident as the fake keeps it; ``updates`` newest first, as the API lists them."""

    id: str
    name: str
    status: str
    impact: str
    updates: list[dict[str, Any]] = field(default_factory=list)
    component_ids: list[str] = field(default_factory=list)
    notified: list[bool] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    """The demo's update number of each incident update, oldest first."""

    def document(self, components: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """The incident object as the API returns it."""
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "impact": self.impact,
            "impact_override": self.impact,
            "page_id": PAGE_ID,
            "shortlink": f"https://stspg.io/{self.id[:6]}",
            "created_at": self.updates[-1]["created_at"] if self.updates else _now(),
            "updated_at": self.updates[0]["created_at"] if self.updates else _now(),
            "resolved_at": _now() if self.status == "resolved" else None,
            "incident_updates": self.updates,
            "components": [components[c] for c in self.component_ids if c in components],
        }


class StatuspageFake:
    """``with StatuspageFake() as page: channel = page.channel(); ... page.incidents``."""

    name = "statuspage"

    def __init__(self, *, page_id: str = PAGE_ID, api_key: str = API_KEY) -> None:
        self.page_id = page_id
        self.api_key = api_key
        self.components: dict[str, dict[str, Any]] = {
            cid: {"id": cid, "page_id": page_id, "name": name, "status": "operational"}
            for name, cid in COMPONENTS.items()
        }
        self.incidents: list[Incident] = []
        self.refused: list[tuple[int, str]] = []
        self.update_number = 1
        self._throttle: tuple[int, int, float] = (0, 420, 1.0)
        self._lose = 0
        self._errors: list[tuple[int, str]] = []
        self._serial = 0
        self._lock = threading.Lock()
        self._server = LoopbackServer(self._respond)

    @property
    def url(self) -> str:
        """The API root to give the channel (``base_url``)."""
        return self._server.url

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request, in arrival order."""
        return list(self._server.requests)

    def component_status(self, name: str) -> str:
        """The current status of the page's component ``name``."""
        return str(self.components[COMPONENTS[name]]["status"])

    def throttle(self, times: int, *, status: int = 420, retry_after: float = 1.0) -> None:
        """Answer the next ``times`` writes with ``status`` (420 or 429) and Retry-After."""
        self._throttle = (times, status, retry_after)

    def fail(self, *errors: tuple[int, str]) -> None:
        """Answer the next writes with these ``(status, error)`` JSON errors."""
        self._errors = list(errors)

    def delete(self, incident_id: str) -> None:
        """Delete an incident, as someone might in Statuspage's app."""
        self.incidents = [i for i in self.incidents if i.id != incident_id]

    def lose_answers(self, count: int = 1) -> None:
        """Act on the next ``count`` writes, then reset the connection mid-answer."""
        self._lose = count

    def channel(self, **options: Any) -> Any:
        """A real Statuspage channel pointed here, with the page's components mapped."""
        from ...channels._statuspage import Statuspage  # noqa: PLC0415 - channels load lazily

        options.setdefault("base_url", self.url)
        options.setdefault("components", dict(COMPONENTS))
        options.setdefault("rate", 1_000.0)  # the stand-in does not rate-limit
        return Statuspage(self.page_id, self.api_key, **options)

    def __enter__(self) -> Self:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    # -- the API -----------------------------------------------------------------------

    def _respond(self, request: RecordedRequest) -> Reply:
        with self._lock:
            if request.headers.get("authorization") != f"OAuth {self.api_key}":
                return self._refuse(401, "Could not authenticate")
            parts = urlsplit(request.path).path.strip("/").split("/")
            if parts[:3] != ["v1", "pages", self.page_id]:
                return self._refuse(404, "The requested resource could not be found.")
            rest = parts[3:]
            if request.method == "GET":
                return self._read(rest)
            if rest == ["incidents"] and request.method == "POST":
                return self._write(request, None)
            if len(rest) == 2 and rest[0] == "incidents" and request.method in ("PATCH", "PUT"):
                return self._write(request, rest[1])
            return self._refuse(405, "Method not allowed")

    def _read(self, rest: list[str]) -> Reply:
        if not rest:
            page = {"id": self.page_id, "name": "PlayStation Network", "subdomain": "psn-demo"}
            return json_reply(200, page, _JSON)
        if rest == ["incidents"]:
            return json_reply(200, [self._doc(i) for i in reversed(self.incidents)], _JSON)
        if rest == ["incidents", "unresolved"]:
            open_ = [i for i in reversed(self.incidents) if i.status != "resolved"]
            return json_reply(200, [self._doc(i) for i in open_], _JSON)
        if len(rest) == 2 and rest[0] == "incidents" and (found := self._incident(rest[1])):
            return json_reply(200, self._doc(found), _JSON)
        return self._refuse(404, "The requested resource could not be found.")

    def _write(self, request: RecordedRequest, incident_id: str | None) -> Reply:  # noqa: PLR0911
        times, status, wait = self._throttle
        if times:
            self._throttle = (times - 1, status, wait)
            return json_reply(
                status, {"error": "Rate limit exceeded"}, {"retry-after": f"{wait:g}"}
            )
        if self._errors:
            return self._refuse(*self._errors.pop(0))
        try:
            given = json.loads(request.body or b"{}")["incident"]
        except (ValueError, KeyError, TypeError):
            return self._refuse(400, "incident is missing")
        if problem := _invalid(given, first=incident_id is None):
            return self._refuse(422, problem)
        unknown = [c for c in _component_ids(given) if c not in self.components]
        if unknown:
            return self._refuse(404, f"Component {unknown[0]} could not be found")
        if incident_id is None:
            self._serial += 1
            incident = Incident(f"p31zjtct{self._serial:04d}", str(given["name"]), "", "none")
            self.incidents.append(incident)
            status_code = 201
        else:
            found = self._incident(incident_id)
            if found is None:
                return self._refuse(404, "The requested resource could not be found.")
            incident, status_code = found, 200
        self._apply(incident, given)
        reply = json_reply(status_code, self._doc(incident), _JSON)
        if self._lose:
            self._lose -= 1
            return Reply(reply.status, reply.body, reply.headers, reset="mid-answer")
        return reply

    def _apply(self, incident: Incident, given: dict[str, Any]) -> None:
        """One incident update: the status, the body, the components' new statuses."""
        incident.status = str(given.get("status") or incident.status or "investigating")
        if "impact_override" in given:
            incident.impact = str(given["impact_override"])
        affected = []
        for cid, new in (given.get("components") or {}).items():
            old = self.components[cid]["status"]
            self.components[cid]["status"] = new
            name = self.components[cid]["name"]
            affected.append({"code": cid, "name": name, "old_status": old, "new_status": new})
        for cid in _component_ids(given):
            if cid not in incident.component_ids:
                incident.component_ids.append(cid)
        self._serial += 1
        notify = bool(given.get("deliver_notifications", True))
        entry: dict[str, Any] = {
            "id": f"upd{self._serial:09d}",
            "incident_id": incident.id,
            "status": incident.status,
            "body": str(given.get("body", "")),
            "created_at": _now(),
            "display_at": _now(),
            "affected_components": affected or None,
            "deliver_notifications": notify,
        }
        incident.updates.insert(0, entry)
        incident.notified.append(notify)
        incident.numbers.append(self.update_number)

    def _incident(self, incident_id: str) -> Incident | None:
        return next((i for i in self.incidents if i.id == incident_id), None)

    def _doc(self, incident: Incident) -> dict[str, Any]:
        return incident.document(self.components)

    def _refuse(self, status: int, error: str) -> Reply:
        self.refused.append((status, error))
        return json_reply(status, {"error": error}, _JSON)

    # -- the demo's StandIn ------------------------------------------------------------

    def arrivals(self) -> list[str]:
        """Per incident: each update's status, and the components it set."""
        lines = []
        for incident in self.incidents:
            for number, entry in zip(incident.numbers, reversed(incident.updates), strict=True):
                set_ = ", ".join(
                    f"{c['name']} {c['new_status']}" for c in entry["affected_components"] or []
                )
                lines.append(
                    f"update {number}: incident {incident.id} {entry['status']}"
                    + (f" ({set_})" if set_ else "")
                )
        return lines

    def verified(self) -> bool:
        """One incident; each update of the timeline became one incident update on it."""
        if len(self.incidents) != 1 or self.refused:
            return False
        numbers = self.incidents[0].numbers
        return numbers == list(range(1, len(numbers) + 1))


def _component_ids(given: dict[str, Any]) -> list[str]:
    ids = [str(c) for c in given.get("component_ids") or []]
    return ids + [str(c) for c in (given.get("components") or {}) if str(c) not in ids]


def _invalid(given: dict[str, Any], *, first: bool) -> str | None:
    if first and not str(given.get("name") or "").strip():
        return "Name can't be blank"
    if "status" in given and given["status"] not in STATUSES:
        return "Status is not included in the list"
    if "impact_override" in given and given["impact_override"] not in IMPACTS:
        return "Impact override is not included in the list"
    components = given.get("components") or {}
    if not isinstance(components, dict):
        return "Components must be a map of component id to status"
    if any(s not in COMPONENT_STATUSES for s in components.values()):
        return "Components status is not included in the list"
    return None


_JSON = {"content-type": "application/json"}


def shape() -> Shape:
    """How Statuspage answers, for ``ChaosServer("statuspage")``: incidents, 420, lookups."""

    def key(request: RecordedRequest) -> str:
        given = json.loads(request.body or b"{}").get("incident") or {}
        return json.dumps([given.get("name"), given.get("body")])

    def success(request: RecordedRequest, serial: int) -> Reply:
        name, body = json.loads(key(request))
        update = {"id": f"upd{serial:09d}", "status": "investigating", "body": body}
        incident = {"id": f"chaos{serial:04d}", "name": name, "incident_updates": [update]}
        return json_reply(201, incident, _JSON)

    def throttled(fault: Throttle) -> Reply:
        headers = retry_headers(fault)
        if fault.reset_in is not None:  # Statuspage's one signal is Retry-After
            headers["retry-after"] = f"{fault.reset_in:g}"
        return json_reply(420, {"error": "Rate limit exceeded"}, headers)

    def read(request: RecordedRequest, accepted: list[str]) -> Reply:
        incidents = []
        for serial, seen in enumerate(accepted, 1):
            name, body = json.loads(seen)
            update = {"id": f"upd{serial:09d}", "body": body}
            incidents.append(
                {"id": f"chaos{serial:04d}", "name": name, "incident_updates": [update]}
            )
        return json_reply(200, incidents[::-1], _JSON)

    return Shape(
        key=key,
        success=success,
        duplicate=None,  # Statuspage opens the same incident as often as it is asked
        error=lambda status: json_reply(status, {"error": "Internal server error"}, _JSON),
        throttled=throttled,
        no_id=json.dumps({"name": "no id"}).encode(),
        success_status=201,
        read=read,
    )
