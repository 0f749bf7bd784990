"""Who the email channel mails, how fast per domain, and what each bounce class does."""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from broadcast import Broadcaster, Outcome, Receipt, RetryPolicy, Update
from broadcast.channels import Email
from broadcast.email import Suppression
from broadcast.testing import ChaosSMTP, FakeClock, SmtpFault
from broadcast.testing._providers.smtp import SMTPServer

SENDER = "PSN Status <status@example.com>"


def _email(port: int, recipients: Any, **options: Any) -> Email:
    return Email("127.0.0.1", port, sender=SENDER, recipients=recipients, tls="none", **options)


async def _send(channel: Email, update: Update) -> Receipt:
    async with Broadcaster([channel], journal=None) as broadcaster:
        return (await broadcaster.send(update))[channel.name]


@pytest.fixture
def chaos() -> Iterator[ChaosSMTP]:
    with ChaosSMTP() as smtp:
        yield smtp


@pytest.fixture
def fast(clock: FakeClock) -> RetryPolicy:
    return RetryPolicy(attempts=4, deadline=600, sleep=clock.sleep, clock=clock)


# --- suppression ---------------------------------------------------------------------


PEOPLE = [f"user{i}@example.com" for i in range(6)]


async def test_a_suppression_file_is_never_mailed(
    chaos: ChaosSMTP, update: Update, tmp_path: Path
) -> None:
    """Addresses in the file (any case, comments skipped) get nothing; the Receipt counts them."""
    listed = tmp_path / "unsubscribed.txt"
    listed.write_text("# unsubscribed\nUSER1@Example.com\nuser4@example.com\n\n", encoding="utf-8")
    receipt = await _send(_email(chaos.port, PEOPLE, suppress=listed), update)
    mailed = sorted(r for m in chaos.messages for r in m.rcpt_tos)
    assert mailed == sorted(set(PEOPLE) - {"user1@example.com", "user4@example.com"})
    assert receipt.outcome is Outcome.DELIVERED
    assert receipt.accepted == 4
    assert receipt.details["suppressed"] == 2


async def test_an_async_callable_suppresses_too(chaos: ChaosSMTP, update: Update) -> None:
    """A callable (here a coroutine, as a database lookup is) decides per normalised address."""
    asked: list[str] = []

    async def unsubscribed(address: str) -> bool:
        asked.append(address)
        return address.endswith(("0@example.com", "5@example.com"))

    receipt = await _send(_email(chaos.port, PEOPLE, suppress=unsubscribed), update)
    assert sorted(asked) == sorted(PEOPLE)
    assert len(chaos.messages) == 4
    assert receipt.details["suppressed"] == 2


def test_a_missing_suppression_file_is_a_clear_error(tmp_path: Path) -> None:
    """A suppression path that does not exist is refused before anything is sent."""
    with pytest.raises(ValueError, match=r"suppression list .* does not exist"):
        Suppression(tmp_path / "nope.txt")


# --- pacing per receiving domain -------------------------------------------------------


class _Arrivals:
    """An aiosmtpd handler noting the fake time at which each message arrived, per domain."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.times: dict[str, list[float]] = defaultdict(list)
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.times[rcpt.rpartition("@")[2]].append(self.clock.now)
        return "250 OK"


async def test_each_domain_is_paced_within_its_rate_at_the_sink(
    update: Update, clock: FakeClock
) -> None:
    """gmail.com at 2/s, outlook.com at 1/s, others unpaced: gaps at the sink match (fake time).

    One connection: the fake clock moves by every sleep in turn, so with several the
    sink would date a message by another connection's wait.
    """
    people = [f"p{i}@{d}" for i in range(6) for d in ("gmail.com", "outlook.com", "example.org")]
    arrivals = _Arrivals(clock)
    rates = {"gmail.com": 2.0, "outlook.com": 1.0}
    with SMTPServer(arrivals) as server:
        channel = _email(
            server.port, people, pool_size=1, domain_rates=rates, clock=clock, sleep=clock.sleep
        )
        receipt = await _send(channel, update)
    assert receipt.accepted == 18
    for domain, rate in rates.items():
        times = sorted(arrivals.times[domain])
        assert len(times) == 6
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert min(gaps) >= 1 / rate - 1e-9, (domain, gaps)
        assert times[-1] - times[0] >= 5 / rate - 1e-9
    assert len(arrivals.times["example.org"]) == 6
    assert clock.sleeps, "pacing waited on the injected clock"


def test_bad_domain_rates_are_clear_errors() -> None:
    """A rate that is no positive number is a ValueError naming the domain."""
    with pytest.raises(ValueError, match=r"domain_rates\['gmail.com'\] must be a positive"):
        Email("smtp.example.com", sender=SENDER, recipients=PEOPLE, domain_rates={"gmail.com": 0})


# --- bounces by enhanced status code -------------------------------------------------


@pytest.mark.parametrize(("status", "said"), [("5.1.1", "(no such user)"), ("5.7.1", "(policy)")])
async def test_permanent_bounces_say_which_and_the_others_go_on(
    chaos: ChaosSMTP, update: Update, status: str, said: str
) -> None:
    """5.1.1 and 5.7.x refuse that one recipient, once, with its class in the reason."""
    chaos.script(SmtpFault.bounce(status))
    people = ["first@example.com", "second@example.com", "third@example.com"]
    receipt = await _send(_email(chaos.port, people, pool_size=1), update)
    assert receipt.outcome is Outcome.PARTIAL
    [rejection] = receipt.rejected
    assert rejection.recipient == "first@example.com"
    assert rejection.code == 550
    assert rejection.permanent
    assert f"SMTP 550 {status}" in rejection.reason
    assert rejection.reason.endswith(said)
    assert sorted(r for m in chaos.messages for r in m.rcpt_tos) == people[1:]


@pytest.mark.parametrize("bounce", [("4.7.0", "RCPT"), ("4.2.1", "DATA")], ids=str)
async def test_temporary_bounces_are_retried_with_backoff(
    chaos: ChaosSMTP, update: Update, fast: RetryPolicy, clock: FakeClock, bounce: Any
) -> None:
    """421 4.7.0 (which hangs up) and 450 4.2.1 are retried after a wait, then delivered."""
    status, at = bounce
    chaos.script(SmtpFault.bounce(status, at=at), SmtpFault.bounce(status, at=at))
    channel = _email(chaos.port, ["only@example.com"], pool_size=1, retry=fast)
    receipt = await _send(channel, update)
    assert receipt.outcome is Outcome.DELIVERED
    assert [m.rcpt_tos for m in chaos.messages] == [("only@example.com",)]
    assert len(clock.sleeps) >= 1
    assert all(s > 0 for s in clock.sleeps)


@pytest.mark.parametrize("status", ["5.7.26", "5.7.515"])
async def test_an_authentication_refusal_stops_the_send_naming_the_dns_records(
    chaos: ChaosSMTP, update: Update, status: str
) -> None:
    """5.7.26 / 5.7.515: one refusal stops the send, no one else is tried; the fix is named."""
    chaos.script(SmtpFault.bounce(status))
    people = [f"player{i}@example.com" for i in range(200)]
    receipt = await _send(_email(chaos.port, people, pool_size=1), update)
    assert receipt.outcome is Outcome.FAILED
    assert receipt.attempts == 1  # a configuration error: not retried
    assert chaos.messages == []
    assert len(chaos.sessions) == 1
    assert status in receipt.reason
    for record in ("SPF (TXT at example.com)", "_domainkey.example.com", "_dmarc.example.com"):
        assert record in receipt.reason
    assert "broadcast check" in receipt.reason
