"""``summary.json``: the page in the shape of Statuspage's ``/api/v2/summary.json``.

Monitors and dashboards that read Statuspage pages read this one too: ``page``,
``status`` (``indicator`` none/minor/major/critical and its ``description``),
``components`` and the unresolved ``incidents``, each with its ``incident_updates``
newest first.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from ._model import PageIncident, PageUpdate, Site

__all__ = ["render_summary", "summary"]


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _component_id(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:12]


def _update(update: PageUpdate) -> dict[str, Any]:
    at = _iso(update.created_at)
    return {
        "id": update.key,
        "status": update.status,
        "body": update.body or update.title,
        "incident_id": update.incident,
        "created_at": at,
        "updated_at": at,
        "display_at": at,
        "affected_components": [
            {"code": _component_id(name), "name": name, "new_status": status}
            for name, status in sorted(update.components.items())
        ],
    }


def _incident(site: Site, incident: PageIncident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "name": incident.title,
        "status": incident.status,
        "impact": incident.severity,
        "created_at": _iso(incident.started_at),
        "updated_at": _iso(incident.updated_at),
        "started_at": _iso(incident.started_at),
        "monitoring_at": _iso(incident.first_at("monitoring")),
        "resolved_at": _iso(incident.updated_at) if incident.resolved else None,
        "shortlink": site.link(incident.path),
        "page_id": site.page_id,
        "incident_updates": [_update(u) for u in incident.updates],
    }


def summary(site: Site) -> dict[str, Any]:
    """The summary as JSON-ready data."""
    components = [
        {
            "id": _component_id(name),
            "name": name,
            "status": status,
            "updated_at": _iso(since),
            "position": position,
            "description": None,
            "group": False,
            "only_show_if_degraded": False,
        }
        for position, (name, (status, since)) in enumerate(site.components().items(), 1)
    ]
    return {
        "page": {
            "id": site.page_id,
            "name": site.title,
            "url": site.base_url or "",
            "time_zone": "Etc/UTC",
            "updated_at": _iso(site.generated_at),
        },
        "status": {"indicator": site.indicator, "description": site.description},
        "components": components,
        "incidents": [_incident(site, i) for i in site.open_incidents],
        "scheduled_maintenances": [],
    }


def render_summary(site: Site) -> bytes:
    """``summary.json`` as UTF-8 bytes."""
    return (json.dumps(summary(site), indent=2, ensure_ascii=False) + "\n").encode()
