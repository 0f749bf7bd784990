"""The channel-by-fault matrix: one update through the Broadcaster into a misbehaving stand-in.

Each cell runs one faulted channel next to a healthy bystander (a webhook on its own
loopback server) and returns what happened: the outcome, the requests (or SMTP
sessions) the stand-in saw, what it acted on, duplicates, the waits taken and the
reason. ``tests/test_fault_matrix.py`` asserts each row and that docs/reliability.md
carries the same table.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from broadcast import Broadcaster, RetryPolicy, Update
from broadcast.channels import Email, Webhook
from broadcast.testing import (
    ChaosServer,
    ChaosSMTP,
    FakeClock,
    Fault,
    LoopbackServer,
    RecordedRequest,
    Reply,
    SmtpFault,
)

TIMEOUT = 0.5
"""Seconds each attempt may take (a hang costs this much, once)."""
RECIPIENTS = 3

HTTP_CHANNELS = {
    "x": "X",
    "graph": "Facebook",
    "twilio": "SMS",
    "webhook": "webhook",
    "slack": "Slack",
    "discord": "Discord",
    "telegram": "Telegram",
    "teams": "Teams",
    "mastodon": "Mastodon",
    "bluesky": "Bluesky",
    "apprise": "Apprise",
    "statuspage": "Statuspage",
}


def http_faults() -> dict[str, Fault]:
    """Every HTTP fault, by the name the table shows."""
    return {
        "delay 50 ms": Fault.delay(0.05),
        "HTTP 500": Fault.error(500),
        "HTTP 503": Fault.error(503),
        "throttled, Retry-After 2 s": Fault.throttle(retry_after=2),
        "throttled, Retry-After date": Fault.throttle(
            retry_after=datetime.now(UTC) + timedelta(seconds=30)
        ),
        "throttled, reset header": Fault.throttle(reset_in=60),
        "reset before body": Fault.reset(after_body=False),
        "reset after body": Fault.reset(after_body=True),
        "hang past timeout": Fault.hang(),
        "trickle past timeout": Fault.trickle(TIMEOUT / 4),
        "malformed body": Fault.malformed(),
        "2xx without id": Fault.missing_id(),
        "redirect 307": Fault.redirect(307),
    }


def smtp_faults() -> dict[str, SmtpFault]:
    """Every SMTP fault, by the name the table shows."""
    return {
        "421 at banner": SmtpFault.reply(421, at="banner"),
        "421 at MAIL": SmtpFault.reply(421, at="MAIL"),
        "451 at RCPT": SmtpFault.reply(451, at="RCPT"),
        "451 at DATA": SmtpFault.reply(451, at="DATA"),
        "drop mid-DATA": SmtpFault.drop_mid_data(),
        "slow banner (50 ms)": SmtpFault.slow_banner(0.05),
        "banner past timeout": SmtpFault.slow_banner(TIMEOUT * 3),
    }


@dataclass(frozen=True)
class Row:
    """What one cell showed; ``waits`` are the seconds the retries waited."""

    channel: str
    fault: str
    outcome: str
    requests: int
    acted: int
    duplicates: int
    waits: tuple[int, ...]
    reason: str

    def cells(self) -> list[str]:
        """The row as the table shows it."""
        waits = ", ".join(f"{w} s" for w in self.waits) or "-"
        return [
            self.fault,
            self.channel,
            self.outcome,
            str(self.requests),
            str(self.acted),
            str(self.duplicates),
            waits,
            self.reason or "-",
        ]


HEADER = ["fault", "channel", "outcome", "requests", "acted on", "duplicates", "waited", "reason"]


def markdown(rows: list[Row]) -> str:
    """The matrix as a markdown table."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r.cells()) + " |" for r in rows]
    return "\n".join(lines)


class Bystander:
    """A healthy webhook sent alongside the faulted channel; notes when it arrived."""

    def __init__(self) -> None:
        self.arrived: list[float] = []
        self.server = LoopbackServer(self._respond)

    def _respond(self, request: RecordedRequest) -> Reply:
        self.arrived.append(time.monotonic())
        return Reply(204)


def _policy(clock: FakeClock) -> RetryPolicy:
    return RetryPolicy(attempts=3, deadline=600, jitter=0, sleep=clock.sleep, clock=clock)


def _reason(receipt: Any) -> str:
    """The Receipt's one-line reason, with the stand-in's address as words."""
    return re.sub(r"(?:http|json)://127\.0\.0\.1:\d+", "the stand-in", receipt.reason or "")


def _waits(clock: FakeClock) -> tuple[int, ...]:
    """The retries' waits: exact below 5 s, else to 5 s (an HTTP date has whole seconds)."""
    return tuple(round(s) if s < 5 else 5 * round(s / 5) for s in clock.sleeps if s >= 1)


async def _send(
    update: Update, channel: Any, clock: FakeClock, bystander: Bystander
) -> tuple[Any, float]:
    """Send; the faulted channel's Receipt and how long after the start the bystander arrived."""
    # Its own timeout is long, so a loaded machine never makes it retry: what is measured
    # is when it arrived, which must be before the faulted channel's timeout (TIMEOUT).
    hook = Webhook(f"{bystander.server.url}/bystander", name="bystander", timeout=10 * TIMEOUT)
    start = time.monotonic()
    async with Broadcaster([channel, hook], retry=_policy(clock), journal=None) as broadcaster:
        report = await broadcaster.send(update)
    (arrival,) = bystander.arrived
    by_name = {r.channel: r for r in report.receipts}
    assert by_name["bystander"].outcome.value == "delivered"
    return by_name[channel.name], arrival - start


async def http_cell(provider: str, fault_name: str, update: Update) -> tuple[Row, float]:
    """One HTTP channel under one fault; the row and the bystander's arrival time."""
    fault = http_faults()[fault_name]
    clock = FakeClock()
    bystander = Bystander()
    with ChaosServer(provider) as server, bystander.server:  # type: ignore[arg-type]
        server.script(fault)
        options: dict[str, Any] = {"timeout": TIMEOUT}
        if provider in ("twilio", "telegram"):
            options |= {"concurrency": 1, "retry": _policy(clock), "rate": 1_000_000}
        if provider == "apprise":
            options |= {"concurrency": 1, "retry": _policy(clock)}
        if provider == "telegram":
            options |= {"per_chat_rate": 1_000_000}
        if provider == "statuspage":  # its 1 request/s limit is tested in its own tests
            options |= {"rate": 1_000_000}
        receipt, arrival = await _send(update, server.channel(**options), clock, bystander)
        seen = (server.calls, len(server.accepted), server.duplicates)  # signing in aside
    return _row(HTTP_CHANNELS[provider], fault_name, receipt, clock, seen), arrival


async def smtp_cell(fault_name: str, update: Update) -> tuple[Row, float]:
    """The email channel under one SMTP fault."""
    clock = FakeClock()
    bystander = Bystander()
    with ChaosSMTP() as smtp, bystander.server:
        smtp.script(smtp_faults()[fault_name])
        email = Email(
            "127.0.0.1",
            smtp.port,
            sender="status@example.com",
            recipients=[f"user{i}@example.com" for i in range(RECIPIENTS)],
            tls="none",
            pool_size=1,
            timeout=TIMEOUT,
            retry=_policy(clock),
        )
        receipt, arrival = await _send(update, email, clock, bystander)
        seen = (len(smtp.sessions), len(smtp.messages), smtp.duplicates)
    return _row("email", fault_name, receipt, clock, seen), arrival


def _row(
    channel: str, fault: str, receipt: Any, clock: FakeClock, seen: tuple[int, int, int]
) -> Row:
    """A cell's row: ``seen`` is (requests or sessions, acted on, duplicates)."""
    requests, acted, duplicates = seen
    return Row(
        channel=channel,
        fault=fault,
        outcome=_outcome(receipt),
        requests=requests,
        acted=acted,
        duplicates=duplicates,
        waits=_waits(clock),
        reason=_reason(receipt),
    )


def _outcome(receipt: Any) -> str:
    outcome = str(receipt.outcome.value)
    if receipt.accepted is not None:
        outcome += f" {receipt.accepted}/{RECIPIENTS}"
    return outcome


TABLE: list[Row] = []
"""The rows of the last full run, printed at the end of the test session."""


async def run_matrix() -> tuple[list[Row], list[float]]:
    """Every cell, in table order; the rows and the bystander's arrival times."""
    start = datetime(2011, 4, 20, 22, 0, tzinfo=UTC)
    update = Update(
        title="PlayStation Network is down",
        body="Sign-in and the Store are unavailable. We are investigating.",
        incident="psn-2011-04",
        created_at=start,
        next_update_at=start + timedelta(hours=1),
        url="https://status.example.com/psn",
        author="Head of Network Operations",
    )
    rows: list[Row] = []
    arrivals: list[float] = []
    for fault in http_faults():
        for provider in HTTP_CHANNELS:
            row, arrival = await http_cell(provider, fault, update)
            rows.append(row)
            arrivals.append(arrival)
    for fault in smtp_faults():
        row, arrival = await smtp_cell(fault, update)
        rows.append(row)
        arrivals.append(arrival)
    TABLE[:] = rows
    return rows, arrivals
