"""The stand-in providers for ``crash_resume.py``: they count arrivals and trip the kill.

Each counts what arrives by key (recipient, post text or ``webhook-id``). At the kill
point's arrival its ``Tripwire`` fires, and with ``hold`` it keeps the later answers
back until released, so the parent can SIGKILL the child with requests in flight.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs

from broadcast.testing import LoopbackServer, RecordedRequest, Reply
from broadcast.testing._providers import x
from broadcast.testing._providers._base import json_reply
from broadcast.testing._providers.smtp import SMTPServer
from broadcast.testing._providers.twilio import message_resource, message_sid

WAIT = 60.0
"""Seconds any one wait may take before the run is reported as stuck."""
ChannelKind = Literal["sms", "email", "twitter", "webhook"]


@dataclass(frozen=True)
class KillPoint:
    """Where to kill: at the ``at``-th arrival, after ``hold`` answers are held back."""

    label: str
    channel: ChannelKind
    total: int
    """Recipients, parts or requests the send must reach."""
    workers: int
    at: int
    hold: int
    """0: kill at once, the stand-in still answering; n: hold answers until n wait."""
    bound: int
    """The most duplicates ``docs/journal.md`` allows here."""


class Tripwire:
    """Fires at the ``at``-th arrival; with ``hold``, later arrivals wait unanswered.

    Holding, it fires once ``hold`` arrivals are waiting; they wait until ``release``.
    """

    def __init__(self, at: int, hold: int) -> None:
        self.fired = threading.Event()
        self.release = threading.Event()
        self._at = at
        self._hold = hold
        self._held = 0
        self._lock = threading.Lock()

    def passing(self, arrival: int) -> None:
        """Called with each arrival's number; blocks while its answer is held."""
        if arrival < self._at:
            return
        if not self._hold:
            self.fired.set()
            return
        if self.release.is_set():
            return
        with self._lock:
            self._held += 1
            if self._held >= self._hold:
                self.fired.set()
        self.release.wait(WAIT)


class StandIn:
    """What a provider received, by key (recipient, post text or webhook-id)."""

    def __init__(self, trip: Tripwire) -> None:
        self.arrived: Counter[str] = Counter()
        self.trip = trip
        self._lock = threading.Lock()

    def receive(self, key: str) -> int:
        """Count ``key``; return its arrival number once the tripwire lets it pass."""
        with self._lock:
            self.arrived[key] += 1
            arrival = self.arrived.total()
        self.trip.passing(arrival)
        return arrival


class HttpStandIn(StandIn):
    """A stand-in served by a ``LoopbackServer``."""

    def respond(self, request: RecordedRequest) -> Reply:
        """The provider's answer to ``request``."""
        raise NotImplementedError


class TwilioStandIn(HttpStandIn):
    """``POST .../Messages.json``: counted by ``To`` on arrival, as Twilio accepts it."""

    def respond(self, request: RecordedRequest) -> Reply:
        """A queued message with a fresh sid."""
        number = parse_qs(request.body.decode())["To"][0]
        arrival = self.receive(number)
        return json_reply(201, message_resource(message_sid(arrival), {"To": number}))


class XStandIn(HttpStandIn):
    """``POST /2/tweets``: each post gets its id on arrival (X would have posted it)."""

    def __init__(self, trip: Tripwire) -> None:
        super().__init__(trip)
        self.posts: list[tuple[str, dict[str, Any]]] = []

    def respond(self, request: RecordedRequest) -> Reply:
        """The post, created."""
        body = json.loads(request.body)
        serial = len(self.posts) + 1
        self.posts.append((x.post_id(serial), body))  # one at a time: a thread posts in order
        self.receive(body["text"])
        return x.created(serial, body["text"])


class HookStandIn(HttpStandIn):
    """A webhook receiver: counted by ``webhook-id``."""

    def respond(self, request: RecordedRequest) -> Reply:
        """200."""
        self.receive(request.headers["webhook-id"])
        return Reply(200)


class SmtpStandIn(StandIn):
    """An aiosmtpd handler: each recipient counted when DATA ends, before the 250."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Count the message's recipients; never hold (that would stall every session)."""
        for recipient in envelope.rcpt_tos:
            self.receive(recipient)
        return "250 OK"


@contextmanager
def serving(point: KillPoint) -> Iterator[tuple[StandIn, dict[str, Any]]]:
    """The stand-in for ``point``, serving; and where the child finds it."""
    trip = Tripwire(point.at, point.hold)
    try:
        if point.channel == "email":
            assert not point.hold, "aiosmtpd answers on one loop: a held reply stalls all"
            handler = SmtpStandIn(trip)
            with SMTPServer(handler) as smtp:
                yield handler, {"port": smtp.port}
        else:
            kinds: dict[str, type[HttpStandIn]] = {
                "sms": TwilioStandIn,
                "twitter": XStandIn,
                "webhook": HookStandIn,
            }
            stand_in = kinds[point.channel](trip)
            with LoopbackServer(stand_in.respond) as server:
                yield stand_in, {"url": server.url}
    finally:
        trip.release.set()
