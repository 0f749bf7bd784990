from __future__ import annotations

import json

import pytest

from broadcast import BroadcastError, DeliveryError, Outcome, Receipt, Report


def _report(*receipts: Receipt, dry_run: bool = False) -> Report:
    return Report(update_key="k" * 32, incident="psn", receipts=receipts, dry_run=dry_run)


DELIVERED = Receipt("webhook", Outcome.DELIVERED, attempts=2, elapsed=1.5, ids=("msg_1",))
FAILED = Receipt("twitter", Outcome.FAILED, attempts=1, elapsed=0.1, reason="HTTP 401")
SKIPPED = Receipt("sms", Outcome.SKIPPED, reason="not selected by only=")


def test_ok_and_groups() -> None:
    """ok is False when any channel failed; failed/delivered/skipped group the receipts."""
    report = _report(DELIVERED, FAILED, SKIPPED)
    assert not report.ok
    assert report.failed == (FAILED,)
    assert report.delivered == (DELIVERED,)
    assert report.skipped == (SKIPPED,)
    assert _report(DELIVERED, SKIPPED).ok


def test_lookup_by_channel_name() -> None:
    """report[name] gives that channel's receipt; an unknown name is a KeyError."""
    report = _report(DELIVERED, FAILED)
    assert report["twitter"] is FAILED
    with pytest.raises(KeyError):
        report["facebook"]


def test_raise_for_failures_lists_each_failed_channel() -> None:
    """raise_for_failures raises a BroadcastError naming every failed channel and why."""
    second = Receipt("email", Outcome.FAILED, reason="SMTP 554")
    report = _report(DELIVERED, FAILED, second)
    with pytest.raises(BroadcastError) as info:
        report.raise_for_failures()
    assert isinstance(info.value, DeliveryError)
    assert str(info.value) == "2 channels failed: twitter: HTTP 401; email: SMTP 554"
    assert info.value.report is report


def test_raise_for_failures_is_quiet_when_ok() -> None:
    """Nothing is raised when no channel failed."""
    _report(DELIVERED, SKIPPED).raise_for_failures()


def test_to_dict_is_json() -> None:
    """to_dict() round-trips through JSON with every receipt field."""
    data = json.loads(json.dumps(_report(DELIVERED, FAILED).to_dict()))
    assert data["ok"] is False
    assert data["incident"] == "psn"
    assert data["receipts"][0] == {
        "channel": "webhook",
        "outcome": "delivered",
        "attempts": 2,
        "elapsed": 1.5,
        "ids": ["msg_1"],
        "reason": None,
        "preview": None,
        "details": {},
        "accepted": None,
        "rejected": [],
        "rejected_count": 0,
    }
    assert data["receipts"][1]["reason"] == "HTTP 401"


def test_text_table() -> None:
    """to_text() prints one aligned row per channel with ids or the reason, and a verdict."""
    text = _report(DELIVERED, FAILED, SKIPPED).to_text()
    lines = text.splitlines()
    assert lines[0] == "Report for incident psn, update kkkkkkkkkkkk"
    assert lines[1].split() == ["channel", "outcome", "attempts", "time", "ids", "/", "reason"]
    assert lines[3].split() == ["webhook", "delivered", "2", "1.50s", "msg_1"]
    assert lines[4].split()[:2] == ["twitter", "failed"]
    assert lines[4].endswith("HTTP 401")
    assert lines[-1] == "-> 1 delivered, 1 failed, 1 skipped"
    assert lines[3].index("delivered") == lines[4].index("failed")


def test_dry_run_is_marked() -> None:
    """A dry-run report says nothing was sent."""
    assert "(dry run: nothing sent)" in _report(SKIPPED, dry_run=True).to_text()
