"""Capabilities are declared Protocols read once; Receipts say in typed fields what happened."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from broadcast import Broadcaster, Outcome, Unconfirmed, Update
from broadcast._capabilities import Capabilities
from broadcast.channels import Delivery, Email, Rejection, TwilioSMS, Webhook
from broadcast.journal._sqlite import SQLiteJournal
from broadcast.testing import RecordingChannel, fast_retries

from .conftest import T0


class Bounded(RecordingChannel):
    """A fan-out that stops after the first of two recipients."""

    def __init__(self, max_duration: Any = None, **options: Any) -> None:
        super().__init__(**options)
        self.max_duration = max_duration

    async def deliver(self, rendered: Any, /) -> Delivery:
        await super().deliver(rendered)
        lost = Rejection("+14155550102", "not sent: the deadline came")
        return Delivery(accepted=1, rejected=(lost,), note="stopped early", incomplete=True)


class Claims(RecordingChannel):
    def __init__(self, idempotent: Any) -> None:
        super().__init__()
        self.idempotent = idempotent


def test_capabilities_come_from_the_declared_members() -> None:
    """Checkable, FanOut, Idempotent, Threaded and UsesJournal are read as declared."""
    webhook = Capabilities.of(Webhook("https://example.com/hook"))
    assert (webhook.check, webhook.idempotent, webhook.fan_out) == (True, True, False)
    email = Capabilities.of(Email("smtp.example.com", sender="a@example.com", recipients=[]))
    assert (email.fan_out, email.threaded, email.journal, email.idempotent) == (
        True, True, True, False,
    )  # fmt: skip
    sms = TwilioSMS("AC" + "0" * 32, "t" * 32, from_="+15005550006", recipients=[], max_duration=9)
    assert Capabilities.of(sms).max_duration == 9.0
    assert Capabilities.of(RecordingChannel()) == Capabilities()


@pytest.mark.parametrize(
    ("channel", "message"),
    [
        (Bounded(max_duration="soon"), "max_duration must be a number of seconds or None"),
        (Claims(idempotent="yes"), "idempotent must be True or False"),
    ],
)
def test_a_malformed_capability_is_refused_when_the_channel_is_added(
    channel: Any, message: str
) -> None:
    """A wrong max_duration or idempotent is a TypeError from Broadcaster(), not at send."""
    with pytest.raises(TypeError, match=message):
        Broadcaster([channel], journal=None)


async def test_max_duration_is_read_once_when_added(make_update: Callable[..., Update]) -> None:
    """The fan-out's deadline is the max_duration it declared when it was added."""
    channel = Bounded(max_duration=7)
    broadcaster = Broadcaster([channel], journal=None, fan_out_timeout=3600)
    channel.max_duration = "changed later"
    assert broadcaster._limits_for(channel)[0] == 7.0
    async with broadcaster:
        report = await broadcaster.send(make_update())
    assert report.receipts[0].outcome is Outcome.PARTIAL


async def test_a_fan_out_that_stopped_early_says_so_in_a_typed_field(
    make_update: Callable[..., Update],
) -> None:
    """Receipt.stopped_early: a re-run is needed; reached_everyone reads it, not details."""
    async with Broadcaster([Bounded()], journal=None) as broadcaster:
        report = await broadcaster.send(make_update())
    [receipt] = report.receipts
    assert receipt.stopped_early is True
    assert report.reached_everyone is False
    assert receipt.to_dict()["stopped_early"] is True
    assert "stopped_early" not in receipt.details


async def test_an_unanswered_send_is_outcome_unknown(make_update: Callable[..., Update]) -> None:
    """Receipt.outcome_unknown: it failed, but it may have got through."""
    channel = RecordingChannel(failures=[Unconfirmed("no answer")] * 5)
    async with Broadcaster([channel], journal=None, retry=fast_retries(attempts=1)) as broadcaster:
        [receipt] = (await broadcaster.send(make_update())).receipts
    assert receipt.outcome is Outcome.FAILED
    assert receipt.outcome_unknown is True
    assert receipt.to_dict()["outcome_unknown"] is True
    assert receipt.details == {}


async def test_a_superseded_update_says_so_in_a_typed_field(
    tmp_path: Path, make_update: Callable[..., Update]
) -> None:
    """Receipt.superseded: skipped because the incident's resolution went out."""
    journal = SQLiteJournal(tmp_path / "broadcast.db")
    resolved = make_update(status="resolved", created_at=T0 + timedelta(minutes=30))
    async with Broadcaster([RecordingChannel()], journal=journal) as broadcaster:
        first = (await broadcaster.send(resolved)).receipts[0]
        [late] = (await broadcaster.send(make_update())).receipts
    await journal.aclose()
    assert (first.superseded, late.superseded) == (False, True)
    assert late.outcome is Outcome.SKIPPED
    assert late.to_dict()["superseded"] is True
