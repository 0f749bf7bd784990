"""A FastAPI backend: accept an incident update over HTTP, broadcast it in the background.

``POST /incidents/{incident}/updates`` answers 202 at once with the update's key;
the broadcast runs as a background task and ``GET /broadcasts/{key}`` shows its Report.
Channels come from the ``BROADCAST_*`` variables, ``.env`` or ``broadcast.toml``:

    pip install fastapi uvicorn
    BROADCAST_WEBHOOK_URL=https://cms.example.com/hooks/incidents \
    uvicorn examples.fastapi_backend:app

    curl -i localhost:8000/incidents/psn-2011-04/updates -H 'content-type: application/json' \
        -d '{"title": "PlayStation Network is down", "body": "We are investigating.",
             "author": "Head of Network Operations", "next_update_in_minutes": 60}'
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic
from fastapi import BackgroundTasks, FastAPI, HTTPException
from fastapi.exceptions import RequestValidationError

import broadcast

app = FastAPI(title="Incident updates")

# Reports by update key, in this process's memory only: lost on restart and not shared
# between workers. A real service would use a database, or the delivery journal
# (BROADCAST_JOURNAL), which records every send anyway.
reports: dict[str, dict[str, Any]] = {}


class UpdateIn(pydantic.BaseModel):
    """The request body; broadcast.Update then checks the text (control characters, URL)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    title: str
    body: str
    status: broadcast.Status = broadcast.Status.INVESTIGATING
    severity: broadcast.Severity = broadcast.Severity.MAJOR
    url: str | None = None
    author: str | None = None
    next_update_in_minutes: int | None = pydantic.Field(default=None, gt=0, le=7 * 24 * 60)


@app.post("/incidents/{incident}/updates", status_code=202)
async def post_update(incident: str, data: UpdateIn, tasks: BackgroundTasks) -> dict[str, str]:
    """Validate the update, start broadcasting it, and say where its Report will be."""
    fields = data.model_dump(exclude={"next_update_in_minutes"}, exclude_none=True)
    if minutes := data.next_update_in_minutes:
        fields["next_update_at"] = datetime.now(UTC) + timedelta(minutes=minutes)
    try:
        update = broadcast.Update(incident=incident, **fields)
    except pydantic.ValidationError as exc:  # a 422 naming the field, like FastAPI's own
        raise RequestValidationError(_located(exc)) from None
    # The same update again is sent again only after a failure (the journal then sends
    # just what is missing); while it is sending or once delivered, nothing more is sent.
    previous = reports.get(update.key)
    if previous is None or previous.get("ok") is False:
        reports[update.key] = {"state": "sending"}
        tasks.add_task(deliver, update)
    return {"key": update.key, "report": f"/broadcasts/{update.key}"}


async def deliver(update: broadcast.Update) -> None:
    """Send to every configured channel; a channel's failure is in the Report, not raised."""
    try:
        report = await broadcast.asend(update)
    except broadcast.BroadcastError as exc:  # configuration or journal: nothing was sent
        reports[update.key] = {"state": "error", "ok": False, "error": str(exc)}
    else:
        reports[update.key] = report.to_dict()


@app.get("/broadcasts/{key}")
async def get_broadcast(key: str) -> dict[str, Any]:
    """The Report once the broadcast is done; ``{"state": "sending"}`` until then."""
    if (report := reports.get(key)) is None:
        raise HTTPException(404, f"no broadcast {key!r} here")
    return report


def _located(exc: pydantic.ValidationError) -> list[dict[str, Any]]:
    """The Update's errors, located where the client wrote each value."""
    where = {"incident": ("path", "incident"), "next_update_at": ("body", "next_update_in_minutes")}
    located = []
    for error in exc.errors(include_url=False, include_context=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        located.append({**error, "loc": where.get(field, ("body", *error["loc"]))})
    return located
