"""``broadcast send --dry-run``: each channel's text, recipient counts, invalid list lines."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from broadcast.channels._recipients import Audience, FileSource, audit, size_hint
from broadcast.channels._sms import normalise_number
from broadcast.cli import main
from broadcast.testing import ChaosServer, LoopbackServer

from .conftest import SECRET

FLAGS = ["--title", "PlayStation Network is down", "--incident", "psn-2011-04"]
BODY = "Sign-in and online play are unavailable. We are investigating."
NUMBERS = [
    "# subscribers, one per line",
    "+14155550101",
    "",
    "555-CALL-NOW",
    "(415) 555-0102",
    "+1 415 555 0101",
    "+14155550103",
    "not a number",
]
"""Three distinct numbers; line 4 and line 8 are invalid; line 6 repeats line 2."""


@pytest.fixture
def twilio() -> Iterator[ChaosServer]:
    with ChaosServer("twilio") as server:
        yield server


def run(*args: str, env: dict[str, str]) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def _env(
    tmp_path: Path, twilio: ChaosServer, hook: LoopbackServer, lines: list[str]
) -> dict[str, str]:
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {
        **twilio.env(),
        "BROADCAST_SMS_RECIPIENTS": f"@{numbers}",
        "BROADCAST_WEBHOOK_URL": hook.url,
        "BROADCAST_WEBHOOK_SECRET": SECRET,
        "BROADCAST_JOURNAL": str(tmp_path / "j.db"),
    }


def test_dry_run_shows_text_counts_and_every_invalid_line(
    tmp_path: Path, twilio: ChaosServer, server: LoopbackServer
) -> None:
    """A dry run renders each channel, counts the @file list, names bad lines; exit 2."""
    env = _env(tmp_path, twilio, server, NUMBERS)
    numbers = tmp_path / "numbers.txt"
    result = run("send", *FLAGS, "--dry-run", BODY, env=env)
    assert result.exit_code == 2, result.output
    assert "=== sms (TwilioSMS) ===" in result.stdout
    assert "=== webhook (Webhook) ===" in result.stdout
    assert "segment (GSM-7" in result.stdout  # the SMS rendering, as preview shows it
    assert f"  sms  3 from {numbers} (2 invalid, 1 duplicate(s) dropped)" in result.stdout
    assert f"{numbers}:4: '555-CALL-NOW': " in result.stderr
    assert f"{numbers}:8: 'not a number': " in result.stderr
    assert "error: 2 invalid recipient line(s): fix them, or pass --allow-invalid" in (
        result.stderr
    )
    assert "Dry run: nothing was sent." in result.stdout
    assert twilio.received == []
    assert server.requests == []
    assert not (tmp_path / "j.db").exists()


def test_allow_invalid_and_json(
    tmp_path: Path, twilio: ChaosServer, server: LoopbackServer
) -> None:
    """--allow-invalid exits 0 and still lists them; --json carries counts and lines."""
    env = _env(tmp_path, twilio, server, NUMBERS)
    allowed = run("send", *FLAGS, "--dry-run", "--allow-invalid", BODY, env=env)
    assert allowed.exit_code == 0, allowed.output
    assert "warning: 2 invalid recipient line(s): they will be skipped" in allowed.stderr
    as_json = run("send", *FLAGS, "--dry-run", "--json", BODY, env=env)
    assert as_json.exit_code == 2
    document = json.loads(as_json.stdout)
    assert (document["dry_run"], document["ok"]) == (True, False)
    sms = next(c for c in document["channels"] if c["channel"] == "sms")
    assert sms["recipients"]["count"] == 3
    assert [b["where"].rsplit(":", 1)[1] for b in sms["recipients"]["invalid_lines"]] == ["4", "8"]
    assert "Sign-in and online play are unavailable" in sms["text"]
    hook = next(c for c in document["channels"] if c["channel"] == "webhook")
    assert "recipients" not in hook
    assert twilio.received == []
    assert server.requests == []


def test_a_clean_list_exits_0(tmp_path: Path, twilio: ChaosServer, server: LoopbackServer) -> None:
    """With every line valid the dry run exits 0 and sends nothing."""
    env = _env(tmp_path, twilio, server, ["+14155550101", "+14155550102"])
    result = run("send", *FLAGS, "--dry-run", BODY, env=env)
    assert result.exit_code == 0, result.output
    assert "2 from" in result.stdout
    assert result.stderr == ""
    assert twilio.received == []


def test_an_unreadable_list_exits_2(
    tmp_path: Path, twilio: ChaosServer, server: LoopbackServer
) -> None:
    """A list that is not UTF-8 is named, and the dry run exits 2."""
    env = _env(tmp_path, twilio, server, ["+14155550101"])
    (tmp_path / "numbers.txt").write_bytes(b"+14155550101\n\xff\xfe\n")
    result = run("send", *FLAGS, "--dry-run", BODY, env=env)
    assert result.exit_code == 2
    assert "numbers.txt cannot be read" in result.stderr


async def test_audit_reads_lists_and_callables_but_not_one_shot_streams() -> None:
    """A list or a callable is read and counted; a generator would be used up, so it is not."""
    normalise = lambda text: normalise_number(text, "US")  # noqa: E731
    listed = await audit(Audience(["+14155550101", "nope", "+14155550101"], normalise))
    assert (listed.recipients, listed.invalid, listed.duplicates) == (1, 1, 1)
    assert str(listed.bad_lines[0]).startswith("entry 2: 'nope': ")

    async def numbers() -> AsyncIterator[str]:
        for n in ("+14155550101", "+14155550102"):
            yield n

    assert (await audit(Audience(numbers, normalise))).recipients == 2
    once = await audit(Audience(iter(["+14155550101"]), normalise))
    assert once.recipients is None


def test_size_hint_counts_a_file_without_parsing(tmp_path: Path) -> None:
    """A file's total for progress is its non-blank, non-comment lines."""
    path = tmp_path / "list.txt"
    path.write_text("# header\na@example.com\n\nb@example.com\nbad\n", encoding="utf-8")
    assert size_hint(FileSource(path)) == 3
    assert size_hint(["a", "b"]) == 2
    assert size_hint(iter(["a"])) is None
    assert size_hint(FileSource(tmp_path / "gone.txt")) is None
