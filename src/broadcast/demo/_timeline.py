"""The story the demo tells: the April 2011 PlayStation Network outage, in three updates.

The wording is fictional but realistic; the speaker is a role, never a named person.
All three share ``incident="psn-2011-04"``, which is what threads them on every channel.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .._update import Severity, Status, Update

__all__ = ["OUTAGE_START", "demo_update", "psn_timeline"]

OUTAGE_START = datetime(2011, 4, 21, 9, 0, tzinfo=UTC)
"""When the first update went out, in the replay."""

INCIDENT = "psn-2011-04"
_URL = "https://status.example.com/incidents/psn-2011-04"
_AUTHOR = "Head of Network Operations"


def psn_timeline(base: datetime = OUTAGE_START) -> list[Update]:
    """Acknowledge (``base``), explain (+1h), resolve (+5h): one incident, in order."""
    acknowledge = Update(
        title="PlayStation Network is down; we are investigating",
        body=(
            "PlayStation Network and Qriocity services are unavailable worldwide. "
            "We are investigating the cause and will restore service as soon as we can.\n\n"
            "Sign-in, online play and the PlayStation Store are affected. "
            "Games you own still work offline."
        ),
        status=Status.INVESTIGATING,
        severity=Severity.CRITICAL,
        incident=INCIDENT,
        url=_URL,
        author=_AUTHOR,
        next_update_at=base + timedelta(hours=1),
        created_at=base,
    )
    details = Update(
        title="An intrusion caused the outage; personal information may be exposed",
        body=(
            "An unauthorised person broke into PlayStation Network systems from outside. "
            "Names, addresses, email addresses, dates of birth and sign-in details may "
            "have been taken. We have no evidence that card data was taken, but we cannot "
            "yet rule it out.\n\n"
            "We turned off PlayStation Network and Qriocity to stop further access. With "
            "outside security specialists we are rebuilding our systems with stronger "
            "protection before bringing them back.\n\n"
            "Be wary of emails, calls or messages asking for your details: "
            "we will never ask for your password."
        ),
        status=Status.IDENTIFIED,
        severity=Severity.CRITICAL,
        incident=INCIDENT,
        url=_URL,
        author=_AUTHOR,
        next_update_at=base + timedelta(hours=5),
        created_at=base + timedelta(hours=1),
    )
    resolved = Update(
        title="PlayStation Network is back; please change your password",
        body=(
            "PlayStation Network and Qriocity services are restored, with new security "
            "measures in place. Sign-in, online play and the PlayStation Store work again.\n\n"
            "What to do: you will be asked to change your password when you next sign in. "
            "If you used the same password anywhere else, change it there too, and watch "
            "your statements for anything you do not recognise.\n\n"
            "We are sorry for the disruption and the worry it has caused."
        ),
        status=Status.RESOLVED,
        severity=Severity.CRITICAL,
        incident=INCIDENT,
        url=_URL,
        author=_AUTHOR,
        created_at=base + timedelta(hours=5),
    )
    return [acknowledge, details, resolved]


def demo_update(now: datetime | None = None) -> Update:
    """The first update of the timeline, told at ``now`` (default: the current time)."""
    return psn_timeline(now or datetime.now(UTC))[0]
