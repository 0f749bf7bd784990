"""Every channel by every fault through the Broadcaster (issue 9's fault matrix).

One module-wide run of ``tests/fault_matrix.py``; each cell is then checked against
what the fault should do, and the whole table against docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadcast import _redact as redact_state
from broadcast import register_secret

from .fault_matrix import (
    HTTP_CHANNELS,
    RECIPIENTS,
    TIMEOUT,
    Row,
    http_faults,
    markdown,
    run_matrix,
    smtp_faults,
)

DOCS = Path(__file__).resolve().parent.parent / "docs" / "reliability.md"
POSTS = (
    "X",
    "Facebook",
    "webhook",
    "Slack",
    "Discord",
    "Teams",
    "Mastodon",
    "Bluesky",
    "Statuspage",
)
"""Channels that send one request per update; SMS, Telegram and email fan out to RECIPIENTS."""

RETRIED_ONCE = {
    "HTTP 500": (1,),
    "HTTP 503": (1,),
    "throttled, Retry-After 2 s": (2,),
    "throttled, Retry-After date": (30,),
    "throttled, reset header": (60,),
}
"""Faults that cost one retry, and the wait before it: backoff (1 s) or the provider's."""


UNANSWERED = ("reset after body", "trickle past timeout", "hang past timeout", "reset before body")
"""Faults after which the request went out and no whole answer came."""


# The matrix runs once per process (a module fixture, ~25 s): keep its tests on one
# xdist worker (`make test` runs `--dist loadgroup`), not the whole run on each.
pytestmark = pytest.mark.xdist_group("fault-matrix")


@contextlib.contextmanager
def secrets_of_this_module_only() -> Iterator[None]:
    """Secrets other tests of this process registered are set aside while the matrix runs.

    Masking is per process: a webhook URL some earlier test registered as a secret can
    name a port the matrix's stand-in gets later, and its reasons would read ``***``.
    """
    saved = set(redact_state._known)
    _forget_secrets()
    try:
        yield
    finally:  # every secret again, the matrix's own too
        both = saved | redact_state._known
        _forget_secrets()
        register_secret(*both)


def _forget_secrets() -> None:
    redact_state._known.clear()
    redact_state._longest_first.clear()
    redact_state._fragments.clear()
    redact_state._encoded = None


@pytest.fixture(scope="module")
def matrix() -> tuple[dict[tuple[str, str], Row], list[float]]:
    with secrets_of_this_module_only():
        rows, arrivals = asyncio.run(run_matrix())
    return {(r.fault, r.channel): r for r in rows}, arrivals


def expected(channel: str, fault: str) -> tuple[str, int, int, tuple[int, ...]]:  # noqa: PLR0911, PLR0912
    """The outcome, requests seen, requests acted on, and waits the fault should give."""
    post = channel in POSTS
    ok = "delivered" if post else f"delivered {RECIPIENTS}/{RECIPIENTS}"
    partial = f"partial {RECIPIENTS - 1}/{RECIPIENTS}"
    sends, once = (1, 1) if post else (RECIPIENTS, RECIPIENTS)
    if channel == "Apprise":
        return apprise_expected(fault)
    if fault in RETRIED_ONCE:  # retried, then through, once
        return ok, sends + 1, once, RETRIED_ONCE[fault]
    if fault == "delay 50 ms":
        return ok, sends, once, ()
    unanswered = ("reset after body", "trickle past timeout", "hang past timeout")
    if channel == "Discord" and fault in (*unanswered, "reset before body"):
        # No lookup without the lost id: never re-posted, left unconfirmed.
        return "failed", 1, int(fault in unanswered[:2]), (1, 2)
    if channel in ("Slack", "Bluesky", "Statuspage") and fault in (
        *unanswered,
        "reset before body",
    ):
        # Looked up (conversations.history; getRecord; incidents/unresolved) before a
        # re-post: found, or posted once.
        return ok, 2 if fault in unanswered[:2] else 3, 1, (1,)
    if channel == "Teams" and fault == "reset after body":  # 202 has no body to break off
        return ok, 1, 1, ()
    if channel == "Teams" and fault in UNANSWERED:  # no id, no dedupe: never re-posted
        return "failed", 1, int(fault == "trickle past timeout"), ()
    if fault in ("reset after body", "trickle past timeout"):  # acted on, answer lost
        if channel in ("X", "Facebook"):  # re-posted; the provider refuses the repeat
            return "skipped", 2, 1, (1,)
        if channel in ("webhook", "Mastodon"):  # the same webhook-id / Idempotency-Key
            return ok, 2, 1, (1,)
        return partial, RECIPIENTS, RECIPIENTS, ()  # that subscriber is not texted again
    if fault in ("hang past timeout", "reset before body"):  # not acted on, no answer
        if post:
            return ok, 2, 1, (1,)
        return partial, RECIPIENTS, RECIPIENTS - 1, ()
    if fault in ("malformed body", "2xx without id"):  # acted on, no id: never re-sent
        if channel in ("webhook", "Teams"):  # needs no id (Teams' 202 has no body at all)
            return ok, 1, 1, ()
        return ("failed", 1, 1, ()) if post else (partial, RECIPIENTS, RECIPIENTS, ())
    assert fault == "redirect 307", fault
    return ("failed", 1, 0, ()) if post else (partial, RECIPIENTS, RECIPIENTS - 1, ())


def apprise_expected(fault: str) -> tuple[str, int, int, tuple[int, ...]]:
    """Apprise says only "failed": every failure is retried once after backoff (1 s)."""
    ok = f"delivered {RECIPIENTS}/{RECIPIENTS}"
    if fault in ("delay 50 ms", "malformed body", "2xx without id"):  # reads no body
        return ok, RECIPIENTS, RECIPIENTS, ()
    if fault == "redirect 307":  # requests follows it, and the POST lands there
        return ok, RECIPIENTS + 1, RECIPIENTS, ()
    if fault == "trickle past timeout":  # cut at the try's limit: unanswered, not re-sent
        return f"partial {RECIPIENTS - 1}/{RECIPIENTS}", RECIPIENTS, RECIPIENTS, ()
    # 5xx, throttled (Apprise passes on no Retry-After), reset, hang: tried again.
    # After "reset after body" the retry is a duplicate: Apprise has no idempotency key.
    acted = RECIPIENTS + (fault == "reset after body")
    return ok, RECIPIENTS + 1, acted, (1,)


HTTP_CELLS = [(fault, channel) for fault in http_faults() for channel in HTTP_CHANNELS.values()]


@pytest.mark.parametrize(("fault", "channel"), HTTP_CELLS)
def test_http_fault(
    matrix: tuple[dict[tuple[str, str], Row], list[float]], fault: str, channel: str
) -> None:
    row = matrix[0][(fault, channel)]
    assert (row.outcome, row.requests, row.acted, row.waits) == expected(channel, fault)
    assert row.duplicates == int((channel, fault) == ("Apprise", "reset after body"))
    assert "\n" not in row.reason
    if not row.outcome.startswith("delivered"):
        assert row.reason  # every miss says why, in one line


SMTP_CELLS = {
    # fault: sessions (connections) the server saw; every fault costs one 1 s backoff
    "421 at banner": 2,  # refused at the greeting: reconnect
    "421 at MAIL": 2,  # closing: reconnect
    "451 at RCPT": 1,  # try again later, on the same connection
    "451 at DATA": 1,
    "drop mid-DATA": 2,  # not accepted: sent again on a new connection
    "slow banner (50 ms)": 1,  # within the timeout: no retry
    "banner past timeout": 2,
}


@pytest.mark.parametrize("fault", list(SMTP_CELLS))
def test_smtp_fault(matrix: tuple[dict[tuple[str, str], Row], list[float]], fault: str) -> None:
    row = matrix[0][(fault, "email")]
    waits = () if fault == "slow banner (50 ms)" else (1,)
    assert (row.outcome, row.requests, row.acted, row.waits) == (
        f"delivered {RECIPIENTS}/{RECIPIENTS}",
        SMTP_CELLS[fault],
        RECIPIENTS,
        waits,
    )
    assert row.duplicates == 0


def test_every_fault_is_in_the_matrix() -> None:
    assert set(SMTP_CELLS) == set(smtp_faults())
    kinds = {f.kind.split(",")[0].split(" ")[0] for f in http_faults().values()}
    assert kinds == {
        "delay",
        "http",
        "throttled",
        "reset",
        "hang",
        "trickle",
        "malformed",
        "2xx",
        "redirect",
    }


def test_no_channel_waits_for_a_faulted_one(
    matrix: tuple[dict[tuple[str, str], Row], list[float]],
) -> None:
    """The healthy bystander arrived within its own timeout in every cell, hangs included."""
    _, arrivals = matrix
    assert len(arrivals) == len(HTTP_CELLS) + len(SMTP_CELLS)
    cells = [*HTTP_CELLS, *((fault, "email") for fault in SMTP_CELLS)]
    late = [(cell, round(at, 2)) for cell, at in zip(cells, arrivals, strict=True) if at >= TIMEOUT]
    assert not late, f"the bystander waited for the faulted channel in {late}"


def test_docs_carry_the_same_table(
    matrix: tuple[dict[tuple[str, str], Row], list[float]],
) -> None:
    rows = list(matrix[0].values())
    table = markdown(rows)
    docs = DOCS.read_text(encoding="utf-8")
    found = re.search(r"<!-- fault-matrix -->\n(.*?)\n<!-- /fault-matrix -->", docs, re.S)
    assert found is not None, "docs/reliability.md lacks the fault-matrix markers"
    assert found.group(1) == table, f"update docs/reliability.md with:\n{table}"
