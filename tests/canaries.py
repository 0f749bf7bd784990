"""The secrets audit's canaries, and where and how a leak of one is searched for.

Each credential is a recognisable canary. A leak is any of them plain or URL-encoded,
any base64 of them that no neighbouring bytes change (at each of the three offsets in
a base64 group, in both alphabets), or a long enough piece of one of those: a secret
cut in half at a length limit still leaks.
"""

from __future__ import annotations

import base64
import functools
import json
import sqlite3
import traceback
from pathlib import Path
from urllib.parse import quote

import pytest

from broadcast import DeliveryError, Report

__all__ = [
    "CANARIES",
    "SID",
    "SMTP_USERS",
    "USERNAMES",
    "assert_clean",
    "forms",
    "journal_texts",
    "own_logs",
    "report_texts",
]

SID = "AC" + "5" * 32
CANARIES = {
    "hook_path": "CANARYhookpath7781",
    "hook_user": "CANARYhookuser",
    "hook_pass": "CANARYhookpass5521",
    "hook_secret": "whsec_Q0FOQVJZd2Vib29rc2VjcmV0a2V5MTIzNDU2",
    "smtp_user": "CANARYsmtpuser",
    "smtp_pass": "CANARYsmtppass9931",
    "x_ck": "CANARYconsumerkey001",
    "x_cs": "CANARYconsumersecret002",
    "x_at": "CANARYaccesstoken003",
    "x_ats": "CANARYaccesstokensecret004",
    "x_bearer": "CANARYbearer005xyz",
    "fb_token": "EAACANARYpagetoken0000000006",
    "fb_secret": "CANARYappsecret007",
    "twilio_token": "CANARYtwiliotoken008",
    "slack_token": "xoxb-CANARYslackbot009",
    "slack_hook": "CANARYslackhook010",
    "discord_token": "CANARYdiscordtoken011",
    "tg_token": "555000111:CANARYtelegramtoken009",
    "teams_sig": "CANARYteamssig010xyz",
    "pg_pass": "CANARYpgjournalpass013",
}
USERNAMES = {"hook_user", "smtp_user"}
"""Login names are not secrets (``check`` says which account it logged in as); their
pairs with the passwords, as Basic and AUTH PLAIN carry them, are."""
SMTP_USERS = {offset: CANARIES["smtp_user"] + "12"[: (offset - 1) % 3] for offset in range(3)}
"""AUTH PLAIN sends the base64 of NUL user NUL password: these names put the password at
each offset within a base64 group (2 + len(user), modulo 3)."""
PIECE = 10
"""A run of this many characters of a secret, or of its base64, counts as a leak."""


def _stable_base64(value: bytes) -> list[str]:
    """The base64 of ``value`` that no neighbouring bytes change, at each offset in a
    group, in both alphabets: found by encoding it between all-zero and all-one bytes
    and keeping what the two agree on (independently of broadcast's own way)."""
    found = []
    for offset in range(3):
        after = 3 + -(offset + len(value)) % 3
        low = base64.b64encode(b"\0" * offset + value + b"\0" * after).decode()
        high = base64.b64encode(b"\xff" * offset + value + b"\xff" * after).decode()
        same = [i for i, (a, b) in enumerate(zip(low, high, strict=True)) if a == b]
        stable = low[same[0] : same[-1] + 1]
        found += [stable, stable.replace("+", "-").replace("/", "_")]
    return found


def _pieces(text: str, allowed: list[str]) -> set[str]:
    """Every run of PIECE characters of ``text`` that is not also part of ``allowed``.

    Runs of a few repeated characters (``0000000006``) are left out: other ids have them.
    """
    runs = {text[i : i + PIECE] for i in range(max(1, len(text) - PIECE + 1))}
    return {r for r in runs if len(set(r)) >= 5 and not any(r in a for a in allowed)}


@functools.cache
def forms() -> tuple[str, ...]:
    """Every way a canary could leak: plain, URL-encoded, any base64 of it, and pieces."""
    allowed = [CANARIES[n] for n in USERNAMES] + list(SMTP_USERS.values()) + [SID]
    secrets = [v for n, v in CANARIES.items() if n not in USERNAMES]
    secrets.append(CANARIES["hook_secret"].removeprefix("whsec_"))
    allowed_base64 = [f for a in allowed for f in _stable_base64(a.encode())]
    found: set[str] = set()
    for value in secrets:
        found |= _pieces(value, allowed) | _pieces(quote(value, safe=""), allowed)
        for stable in _stable_base64(value.encode()):
            found |= _pieces(stable, allowed_base64)
    return tuple(sorted(found))


def assert_clean(where: str, text: str) -> None:
    for form in forms():
        assert form not in text, f"a credential leaked into {where}: {form!r}"


def journal_texts(path: Path) -> dict[str, str]:
    """Every row of every table of the journal, and its files' raw bytes."""
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    rows = [row for t in tables for row in conn.execute(f'SELECT * FROM "{t}"')]  # noqa: S608
    conn.close()
    files = [f for f in (path, Path(f"{path}-wal")) if f.exists()]
    return {
        "journal rows": json.dumps(rows, default=str),
        "journal file": "".join(f.read_bytes().decode("latin-1") for f in files),
    }


def report_texts(report: Report) -> dict[str, str]:
    texts = {
        "report text": report.to_text(),
        "report json": json.dumps(report.to_dict()),
        "report repr": repr(report),
    }
    try:
        report.raise_for_failures()
    except DeliveryError as exc:
        texts["traceback"] = "".join(traceback.format_exception(exc))
    return texts


def own_logs(caplog: pytest.LogCaptureFixture) -> str:
    """What broadcast and the libraries it drives logged; not the stand-ins' own logs."""
    return "\n".join(
        caplog.handler.format(r) for r in caplog.records if not r.name.startswith("mail.")
    )
