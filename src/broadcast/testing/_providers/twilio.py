"""Twilio's Messages API ``POST /2010-04-01/Accounts/{sid}/Messages.json``: answers and a stand-in.

``shape()`` is what Twilio answers (``201`` with the Message resource: ``sid``,
``status: queued``, ...; errors as ``{code, message, more_info, status}``; 429 with
code 20429), served by ``ChaosServer("twilio")``. ``TwilioEndpoint`` is the demo's
stand-in: the same answers, behind a Basic auth check, with one subscriber who
replied STOP (21610). ``message_resource`` is the body the benchmarks' fast sink sends.
"""

from __future__ import annotations

import base64
import json
from typing import Any, NamedTuple

from ..._channel import Channel
from .._loopback import RecordedRequest, Reply
from ._base import (
    HTTPStandIn,
    Shape,
    Throttle,
    by_update,
    every_update_arrived,
    form,
    json_reply,
    retry_headers,
)

__all__ = [
    "ACCOUNT_SID",
    "MESSAGES_PATH",
    "TwilioEndpoint",
    "error",
    "message_resource",
    "message_sid",
    "shape",
]

ACCOUNT_SID = "AC" + "c4a05" * 6 + "00"
"""The Twilio account ``ChaosServer("twilio")`` serves (any auth is accepted)."""
MESSAGES_PATH = "/2010-04-01/Accounts/{sid}/Messages.json"
"""Where a Message is created, for an account ``sid``."""


def message_sid(serial: int) -> str:
    """The ``serial``-th Message's SID: ``SM`` and 32 hex digits."""
    return f"SM{serial:032x}"


def message_resource(sid: str, fields: dict[str, str] | None = None) -> dict[str, object]:
    """The Message resource Twilio answers a create with (``201``)."""
    fields = fields or {}
    return {
        "sid": sid,
        "status": "queued",
        "to": fields.get("To"),
        "from": fields.get("From"),
        "body": fields.get("Body"),
        "num_segments": "1",
        "error_code": None,
        "error_message": None,
    }


def error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    """A Twilio error body: ``{code, message, more_info, status}``."""
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return json_reply(status, body, headers)


def throttled(fault: Throttle) -> Reply:
    """Twilio's 429 (code 20429), with ``ratelimit-reset`` seconds if asked."""
    headers = retry_headers(fault)
    if fault.reset_in is not None:
        headers["ratelimit-reset"] = f"{fault.reset_in:g}"
    return error(429, 20429, "Too Many Requests", headers)


def shape() -> Shape:
    """How Twilio answers a create-Message request."""
    return Shape(
        key=lambda r: form(r).get("To", ""),
        success=lambda request, serial: json_reply(
            201, message_resource(message_sid(serial), form(request))
        ),
        duplicate=None,  # Twilio texts a number as often as it is asked
        error=lambda status: error(status, 20500, "Internal Server Error"),
        throttled=throttled,
        no_id=json.dumps({"status": "queued"}).encode(),
        success_status=201,
    )


class TwilioEndpoint(HTTPStandIn):
    """A local Twilio Messages API that checks Basic auth and answers like Twilio (201).

    One subscriber's number is answered with error 21610 (they replied STOP), so the
    demo shows per-recipient accounting.
    """

    name = "sms"
    account_sid = "AC" + "0" * 30 + "11"
    auth_token = "demo-auth-token"  # noqa: S105 - a stand-in's own test secret
    people = ("+14155550101", "+14155550102", "+442079460958", "+14155550199")
    stopped = "+14155550199"

    def __init__(self) -> None:
        self.texts: list[_Text] = []
        self.unauthorised = 0
        super().__init__()

    def _respond(self, request: RecordedRequest) -> Reply:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            self.unauthorised += 1
            return error(401, 20003, "Authenticate")
        fields = form(request)
        if fields["To"] == self.stopped:
            self.texts.append(_Text(self.update_number, fields["To"], None, fields["Body"]))
            return error(400, 21610, "Attempt to send to unsubscribed recipient")
        sid = message_sid(len(self.texts) + 1)
        self.texts.append(_Text(self.update_number, fields["To"], sid, fields["Body"]))
        return json_reply(201, message_resource(sid, fields))

    def channel(self) -> Channel[Any]:
        """A real TwilioSMS channel pointed here."""
        from ...channels._sms import TwilioSMS  # noqa: PLC0415

        sms: Channel[Any] = TwilioSMS(
            self.account_sid,
            self.auth_token,
            from_="+15017122661",
            recipients=list(self.people),
            base_url=self._server.url,
        )
        return sms

    def arrivals(self) -> list[str]:
        """Who is subscribed, then one line per update: texts sent and refused."""
        from ...text import segments  # noqa: PLC0415

        reached = ", ".join(p for p in self.people if p != self.stopped)
        auth = "verified" if not self.unauthorised else f"BAD on {self.unauthorised} call(s)"
        lines = [f"Basic auth {auth}; subscribers {reached}; {self.stopped} replied STOP"]
        for number, texts in by_update(self.texts):
            sent = [t for t in texts if t.sid]
            count = segments(sent[0].body) if sent else None
            size = f" ({count.segments} segments {count.encoding} each)" if count else ""
            refused = "".join(f"; {t.to} refused (21610)" for t in texts if not t.sid)
            lines.append(f"update {number}: {len(sent)} texts{size}{refused}")
        return lines

    def verified(self) -> bool:
        """Per update: every subscriber but the one who opted out got one same text."""
        updates = by_update(self.texts)
        wanted = sorted(set(self.people) - {self.stopped})
        return (
            not self.unauthorised
            and every_update_arrived(updates)
            and len({t.body for t in self.texts}) == len(updates)
            and all(
                sorted(t.to for t in texts if t.sid) == wanted
                and [t.to for t in texts if not t.sid] == [self.stopped]
                and len({t.body for t in texts}) == 1
                for _, texts in updates
            )
        )


class _Text(NamedTuple):
    """One text asked for, by update: its SID, or ``None`` when Twilio refused it."""

    update: int
    to: str
    sid: str | None
    body: str
