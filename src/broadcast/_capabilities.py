"""What a channel can do beyond posting, declared as Protocols and read once.

A channel declares a capability by having its member; the Broadcaster reads them all
once, when the channel is added (``Capabilities.of``), never by probing at send time:

| Protocol | member | means |
|---|---|---|
| ``Checkable`` | ``async check()`` | probes its credentials, posting nothing |
| ``FanOut`` | ``max_duration`` | sends to a list; stops itself by its deadline |
| ``Idempotent`` | ``idempotent = True`` | its receivers drop repeats: safe to resend |
| ``Threaded`` | ``threaded = True`` | follow-ups reply under the incident's first post |
| ``UsesJournal`` | ``use_journal()`` | keeps per-post or per-recipient state |
| ``UsesHTTPClient`` | ``use_http_client()`` | sends through the shared client |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ._channel import Checkable, UsesHTTPClient
from .journal._protocol import UsesJournal

__all__ = ["Capabilities", "FanOut", "Idempotent", "Threaded", "capabilities_of"]


@runtime_checkable
class FanOut(Protocol):
    """A channel that sends to a list of recipients, within its own deadline."""

    max_duration: float | None
    """Seconds it may take in all (None: the Broadcaster's ``fan_out_timeout``)."""


@runtime_checkable
class Idempotent(Protocol):
    """A channel whose receivers drop repeats, so a send in doubt may go again."""

    idempotent: bool


@runtime_checkable
class Threaded(Protocol):
    """A channel whose follow-ups reply under the incident's first post."""

    threaded: bool


@dataclass(frozen=True, slots=True)
class Capabilities:
    """One channel's capabilities, read once when it is added to a Broadcaster."""

    check: bool = False
    fan_out: bool = False
    max_duration: float | None = None
    idempotent: bool = False
    threaded: bool = False
    journal: bool = False
    http: bool = False

    @classmethod
    def of(cls, channel: Any) -> Capabilities:
        """Read ``channel``'s capabilities; a malformed declaration is a ``TypeError``."""
        name = getattr(channel, "name", type(channel).__name__)
        max_duration = None
        if fan_out := isinstance(channel, FanOut):
            max_duration = channel.max_duration
            if max_duration is not None and (
                isinstance(max_duration, bool) or not isinstance(max_duration, int | float)
            ):
                raise TypeError(f"{name}: max_duration must be a number of seconds or None")
        flags = {}
        for flag, protocol in (("idempotent", Idempotent), ("threaded", Threaded)):
            value = getattr(channel, flag) if isinstance(channel, protocol) else False
            if not isinstance(value, bool):
                raise TypeError(f"{name}: {flag} must be True or False, got {value!r}")
            flags[flag] = value
        return cls(
            check=isinstance(channel, Checkable),
            fan_out=fan_out,
            max_duration=None if max_duration is None else float(max_duration),
            journal=isinstance(channel, UsesJournal),
            http=isinstance(channel, UsesHTTPClient),
            **flags,
        )

    @property
    def resumes_itself(self) -> bool:
        """Whether a send left in doubt by a crash can go again without posting twice."""
        return self.journal or self.idempotent

    def names(self) -> frozenset[str]:
        """The capabilities it has, by name: ``check``, ``fan-out``, ``idempotent``, ..."""
        flags = {
            "check": self.check,
            "fan-out": self.fan_out,
            "idempotent": self.idempotent,
            "threading": self.threaded,
            "journal": self.journal,
        }
        return frozenset(name for name, on in flags.items() if on)


def capabilities_of(channel: type[Any] | Any) -> frozenset[str]:
    """The capability names of a channel, or of a channel class (its members are the same)."""
    return Capabilities.of(channel).names()
