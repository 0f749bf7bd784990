"""A provider stand-in that misbehaves on cue, for fault-injection tests.

``ChaosServer("x")`` is a real HTTP server on 127.0.0.1 that answers like X's
``POST /2/tweets``; ``"graph"``, ``"twilio"`` and ``"webhook"`` answer like a Page
feed, Twilio's Messages API and a Standard Webhooks receiver. ``script(...)`` gives
the next requests a ``Fault`` each, in order; after the script, every request is
answered as the provider would. Each request the provider *acted on* is kept in
``accepted`` under its key (the post's text, the recipient, the ``webhook-id``), so a
test can count duplicates. Like the real providers, X and Graph refuse a repeated
text as a duplicate and a receiver takes a repeated ``webhook-id`` once
(``dedupe=False`` turns that off, to see every repeat).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Self

from ._chaos_channels import channel_for
from ._loopback import LoopbackServer, RecordedRequest, Reply, Served
from ._providers import SHAPES
from ._providers.twilio import ACCOUNT_SID
from ._providers.webhook import HOOK_PATH

__all__ = ["ChaosServer", "Fault", "Provider"]

Provider = Literal[
    "x",
    "graph",
    "twilio",
    "webhook",
    "slack",
    "discord",
    "telegram",
    "teams",
    "mastodon",
    "bluesky",
    "apprise",
    "statuspage",
]


@dataclass(frozen=True, slots=True)
class Fault:
    """What goes wrong with one request. Build one with the class methods.

    ``acted`` says whether the provider carried the request out (posted, texted)
    before things went wrong: the case where a blind retry would post twice.
    """

    kind: str
    acted: bool = False
    status: int = 0
    seconds: float = 0.0
    retry_after: float | datetime | None = None
    reset_in: float | None = None

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Carry the request out and answer normally, ``seconds`` late."""
        return cls("delay", acted=True, seconds=seconds)

    @classmethod
    def error(cls, status: int = 503) -> Fault:
        """Answer ``status`` (500, 503, ...) with the provider's error body."""
        return cls(f"http {status}", status=status)

    @classmethod
    def throttle(
        cls, *, retry_after: float | datetime | None = None, reset_in: float | None = None
    ) -> Fault:
        """The provider's rate-limit answer (429; Graph: 400 with code 4).

        ``retry_after`` sends ``Retry-After`` as seconds or, for a datetime, an HTTP
        date. ``reset_in`` sends the provider's reset header instead: X's epoch
        ``x-rate-limit-reset``, Graph's ``estimated_time_to_regain_access`` (minutes),
        or ``ratelimit-reset`` seconds elsewhere.
        """
        if isinstance(retry_after, datetime):
            kind = "throttled, Retry-After date"
        elif retry_after is not None:
            kind = "throttled, Retry-After seconds"
        else:
            kind = "throttled, reset header" if reset_in is not None else "throttled"
        return cls(kind, status=429, retry_after=retry_after, reset_in=reset_in)

    @classmethod
    def reset(cls, *, after_body: bool) -> Fault:
        """Reset the connection.

        ``after_body=False``: before the request is taken, so nothing happens and no
        answer comes. ``after_body=True``: the request is carried out, then the
        connection resets halfway through the answer.
        """
        if after_body:
            return cls("reset after body", acted=True)
        return cls("reset before body")

    @classmethod
    def trickle(cls, seconds_per_byte: float = 1.0) -> Fault:
        """Carry the request out, then send the answer one byte every ``seconds_per_byte``.

        A slow-loris provider: each byte comes before a read timeout would fire, so
        only a deadline on the whole exchange ends the wait.
        """
        return cls("trickle", acted=True, seconds=seconds_per_byte)

    @classmethod
    def hang(cls) -> Fault:
        """Take the request and never answer (until the server stops)."""
        return cls("hang")

    @classmethod
    def malformed(cls) -> Fault:
        """Carry the request out, then answer 2xx with a body that is not JSON."""
        return cls("malformed body", acted=True)

    @classmethod
    def missing_id(cls) -> Fault:
        """Carry the request out, then answer 2xx with JSON lacking the id."""
        return cls("2xx without id", acted=True)

    @classmethod
    def redirect(cls, status: int = 307) -> Fault:
        """Answer a redirect to another path on the same server."""
        return cls(f"redirect {status}", status=status)


@dataclass
class _Log:
    faults: list[Fault | None] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    duplicates_refused: int = 0
    asides: int = 0


class ChaosServer(Served):
    """``with ChaosServer("x") as x: x.script(Fault.hang()); ... x.channel(timeout=0.5)``.

    ``url`` is the base URL to give the channel (``base_url=``; for the webhook, the
    receiver's URL is ``hook_url``). ``received`` lists every request; ``accepted`` the
    key of each one acted on; ``duplicates`` how many keys were acted on more than
    once; ``duplicates_refused`` how many repeats the provider refused or absorbed.
    """

    def __init__(self, provider: Provider, *, dedupe: bool = True) -> None:
        if provider not in SHAPES:
            raise ValueError(f"provider must be one of {', '.join(SHAPES)}, got {provider!r}")
        self.provider = provider
        self._shape = SHAPES[provider]()
        self._dedupe = dedupe
        self._script: list[Fault | None] = []
        self._random: tuple[float, tuple[Fault, ...], random.Random] | None = None
        self._log = _Log()
        self._lock = threading.Lock()
        self._server = LoopbackServer(self._respond)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: the channel's ``base_url``."""
        return self._server.url

    @property
    def hook_url(self) -> str:
        """The webhook receiver's URL."""
        return f"{self._server.url}{HOOK_PATH}"

    @property
    def received(self) -> list[RecordedRequest]:
        """Every request, in arrival order."""
        return list(self._server.requests)

    @property
    def calls(self) -> int:
        """Requests that were sends (or lookups), not asides such as signing in."""
        return len(self._server.requests) - self._log.asides

    @property
    def accepted(self) -> list[str]:
        """The key of every request the provider acted on, in order."""
        return list(self._log.accepted)

    @property
    def faults(self) -> list[Fault | None]:
        """The fault each request met (``None``: answered normally), in order."""
        return list(self._log.faults)

    @property
    def duplicates(self) -> int:
        """Requests acted on beyond the first for the same key."""
        return sum(n - 1 for n in Counter(self._log.accepted).values())

    @property
    def duplicates_refused(self) -> int:
        """Repeats the provider refused as duplicates (or, a receiver, took once)."""
        return self._log.duplicates_refused

    def script(self, *faults: Fault | None) -> None:
        """Give the next requests these faults in order (``None``: no fault)."""
        self._script = list(faults)

    def env(self) -> dict[str, str]:
        """The ``BROADCAST_*`` variables that point the command's SMS channel here."""
        if self.provider != "twilio":
            raise ValueError("env() configures the SMS channel: use ChaosServer('twilio')")
        return {
            "BROADCAST_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "BROADCAST_TWILIO_AUTH_TOKEN": "chaos-auth-token",
            "BROADCAST_TWILIO_FROM": "+15017122661",
            "BROADCAST_TWILIO_BASE_URL": self.url,
        }

    def randomly(self, rate: float, *faults: Fault, seed: int = 0) -> None:
        """After the script, give each request one of ``faults`` with probability ``rate``.

        Seeded, so a failing run can be replayed: ``randomly(0.3, Fault.error(500),
        Fault.error(503), Fault.reset(after_body=False))`` is the 30 % load test.
        """
        if not 0 <= rate <= 1 or not faults:
            raise ValueError("randomly() takes a rate from 0 to 1 and at least one fault")
        self._random = (rate, faults, random.Random(seed))  # noqa: S311 - not for secrets

    def channel(self, **options: Any) -> Any:
        """The real channel for this provider, pointed here with test credentials."""
        return channel_for(self, **options)

    def _respond(self, request: RecordedRequest) -> Reply:
        with self._lock:
            return self._answer(request)

    def _answer(self, request: RecordedRequest) -> Reply:
        if self._shape.aside is not None and (aside := self._shape.aside(request)) is not None:
            self._log.asides += 1
            return aside
        if request.method == "GET" and self._shape.read is not None:
            return self._shape.read(request, self._log.accepted)
        fault = self._script.pop(0) if self._script else self._draw()
        self._log.faults.append(fault)
        if fault is None or fault.acted:
            reply = self._act(request)
            if reply.status >= 300 or fault is None:
                return reply
            return self._spoil(reply, fault)
        return self._refuse(fault)

    def _draw(self) -> Fault | None:
        if self._random is None:
            return None
        rate, faults, dice = self._random
        return dice.choice(faults) if dice.random() < rate else None

    def _act(self, request: RecordedRequest) -> Reply:
        key = self._shape.key(request)
        if self._dedupe and key in self._log.accepted and self._shape.duplicate is not None:
            self._log.duplicates_refused += 1
            if callable(self._shape.duplicate):
                return self._shape.duplicate(request, self._log.accepted.index(key) + 1)
            return self._shape.duplicate
        self._log.accepted.append(key)
        return self._shape.success(request, len(self._log.accepted))

    def _spoil(self, reply: Reply, fault: Fault) -> Reply:
        status = self._shape.success_status
        if fault.kind == "delay":
            return Reply(reply.status, reply.body, reply.headers, delay=fault.seconds)
        if fault.kind == "reset after body":
            return Reply(reply.status, reply.body, reply.headers, reset="mid-answer")
        if fault.kind == "trickle":
            return Reply(reply.status, reply.body, reply.headers, trickle=fault.seconds)
        if fault.kind == "malformed body":
            return Reply(status, self._shape.malformed, {"content-type": "text/html"})
        return Reply(status, self._shape.no_id, {"content-type": "application/json"})

    def _refuse(self, fault: Fault) -> Reply:
        if fault.kind == "hang":
            return Reply(hang=True)
        if fault.kind == "reset before body":
            return Reply(reset="now")
        if fault.kind.startswith("redirect"):
            return Reply(fault.status, headers={"location": f"{self.url}/moved"})
        if fault.kind.startswith("throttled"):
            return self._shape.throttled(fault)
        return self._shape.error(fault.status)

    def start(self) -> Self:
        """Serve in a background thread."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Release anything hanging and shut down."""
        self._server.stop()
