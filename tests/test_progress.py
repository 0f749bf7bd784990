from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from broadcast import Broadcaster, Progress, Update
from broadcast.channels import Delivery
from broadcast.channels._fanout import FanOut
from broadcast.testing import Text, fast_retries


@dataclass
class Worker:
    sent: list[str] = field(default_factory=list)

    async def send(self, recipient: str, /) -> str:
        if recipient.endswith("7"):
            from broadcast import PermanentError  # noqa: PLC0415

            raise PermanentError("refused", code="21610")
        self.sent.append(recipient)
        return f"SM{recipient}"

    async def close(self) -> None:
        pass


class FanOutChannel:
    """A fan-out channel made of the engine email and SMS use."""

    name = "texts"

    def __init__(self, recipients: list[str]) -> None:
        self.recipients = recipients
        self.worker = Worker()

    def render(self, update: Update, /) -> Text:
        return Text(update.title)

    async def deliver(self, rendered: Text, /) -> Delivery:
        engine = FanOut(self.name, self.recipients, str, fast_retries(), ledger=None)
        return await engine.run([self.worker])

    async def aclose(self) -> None:
        pass


async def test_fan_out_reports_progress_through_send(update: Update) -> None:
    """send(progress=...) hears from a fan-out every 50 recipients and once at the end."""
    seen: list[Progress] = []
    channel = FanOutChannel([f"+1415555{n:04d}" for n in range(120)])
    async with Broadcaster([channel], journal=None) as broadcaster:
        report = await broadcaster.send(update, progress=seen.append)
    assert report.receipts[0].accepted == 108
    counts = [p.done + p.failed for p in seen]
    assert counts[0] <= 2  # the display starts at once...
    assert all(b - a >= 50 for a, b in itertools.pairwise(counts[:-1]))  # ...then rarely
    assert len(seen) == 4
    assert [p.finished for p in seen] == [False, False, False, True]
    assert seen[-1] == Progress("texts", 108, 12, 120, finished=True)
    # Outside that send, nobody is told anything.
    async with Broadcaster([channel], journal=None) as broadcaster:
        await broadcaster.send(update)
    assert len(seen) == 4


async def test_a_failing_progress_callback_never_stops_the_send(update: Update) -> None:
    """A display that raises is dropped; every recipient is still sent."""
    calls: list[Progress] = []

    def broken(progress: Progress) -> None:
        calls.append(progress)
        raise RuntimeError("terminal went away")

    channel = FanOutChannel([f"+1415555{n:04d}" for n in range(120)])
    async with Broadcaster([channel], journal=None) as broadcaster:
        report = await broadcaster.send(update, progress=broken)
    assert len(calls) == 1
    assert report.receipts[0].accepted == 108
    assert len(channel.worker.sent) == 108
