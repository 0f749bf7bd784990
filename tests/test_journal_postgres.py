"""PostgresJournal's own promises: its schema, its claims under concurrency, its secrets."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import psycopg
import pytest

from broadcast import JournalError, PostgresJournal
from broadcast.journal._pg_dsn import masked

from .pg import PostgresServer


def _run(code: str) -> None:
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)  # noqa: S603


def test_import_broadcast_never_imports_psycopg() -> None:
    """The extra is imported when a PostgresJournal opens, not with broadcast or its name."""
    _run(
        "import sys, broadcast\n"
        "journal = broadcast.PostgresJournal('postgresql://u:p@127.0.0.1/db')\n"
        "assert 'psycopg' not in sys.modules and 'psycopg_pool' not in sys.modules\n"
    )


def test_without_the_extra_opening_says_what_to_install() -> None:
    """No psycopg: JournalError with the pip command, before anything is sent."""
    _run(
        "import asyncio, sys\n"
        "sys.modules['psycopg'] = None\n"
        "from broadcast import JournalError, PostgresJournal\n"
        "try:\n"
        "    asyncio.run(PostgresJournal('postgresql://u:p@127.0.0.1/db').open())\n"
        "except JournalError as exc:\n"
        "    assert \"pip install 'broadcast-crisis[postgres]'\" in str(exc), exc\n"
        "else:\n"
        "    raise SystemExit('no error')\n"
    )


async def test_an_empty_database_gets_the_schema_once_even_opened_at_once(
    postgres_dsn: str,
) -> None:
    """Three journals opening a new database together create it once, at version 1."""
    journals = [PostgresJournal(postgres_dsn) for _ in range(3)]
    await asyncio.gather(*(j.open() for j in journals))
    for journal in journals:
        await journal.open()  # idempotent
        await journal.aclose()
    with psycopg.connect(postgres_dsn) as conn:
        versions = conn.execute("SELECT version FROM broadcast.schema_version").fetchall()
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'broadcast' ORDER BY 1"
        ).fetchall()
    assert versions == [(1,)]
    assert [t[0] for t in tables] == ["items", "schema_version", "sends", "threads", "updates"]


async def test_a_database_from_a_newer_broadcast_is_refused_naming_both_versions(
    postgres_dsn: str, make_update: Any
) -> None:
    """Schema 7 in the database, 1 known here: JournalError names both, password masked."""
    first = PostgresJournal(postgres_dsn)
    await first.open()
    await first.aclose()
    with psycopg.connect(postgres_dsn) as conn:
        conn.execute("UPDATE broadcast.schema_version SET version = 7")
    journal = PostgresJournal(postgres_dsn)
    with pytest.raises(JournalError, match=r"newer broadcast \(schema 7; this one knows 1\)") as e:
        await journal.record_update(make_update())
    assert masked(postgres_dsn) in str(e.value)
    assert "nothing was sent" in str(e.value)


async def test_a_wrong_password_is_a_clear_error_that_never_shows_it(
    postgres_server: PostgresServer,
) -> None:
    """The error names the database with the password masked, and says nothing was sent."""
    dsn = postgres_server.dsn().replace(postgres_server.password, "Wr0ng-pa55word-canary")
    journal = PostgresJournal(dsn, connect_timeout=5)
    with pytest.raises(JournalError, match="password authentication failed") as caught:
        await journal.open()
    text = f"{caught.value} {journal!r} {journal.where}"
    assert "Wr0ng-pa55word-canary" not in text
    assert "postgresql://postgres:***@127.0.0.1" in text
    assert "nothing was sent" in str(caught.value)


async def test_many_claimers_at_once_one_wins(postgres_dsn: str, make_update: Any) -> None:
    """Eight journals (eight owners) claim one send at the same moment: one claimed, seven busy."""
    update = make_update()
    journals = [PostgresJournal(postgres_dsn) for _ in range(8)]
    await journals[0].record_update(update)
    claims = await asyncio.gather(*(j.claim(update, "webhook") for j in journals))
    for journal in journals:
        await journal.aclose()
    assert sorted(c.status for c in claims) == ["busy"] * 7 + ["claimed"]
    winner = next(c for c in claims if c.status == "claimed")
    assert {c.holder for c in claims if c.status == "busy"} == {winner.owner}


async def test_a_batch_keeps_each_recipients_last_word(postgres_dsn: str, make_update: Any) -> None:
    """Pending then delivered in one batch ends delivered; a later pending never undoes it."""
    update = make_update()
    journal = PostgresJournal(postgres_dsn)
    await journal.record_update(update)
    claim = await journal.claim(update, "sms")
    log = journal.recipients(update.key, "sms")
    numbers = [f"+1415555{i:04d}" for i in range(300)]
    for number in numbers:
        log.sending(number)
    await asyncio.gather(*(log.delivered(n, f"SM{n[-4:]}") for n in numbers))
    log.sending(numbers[0])  # a confused re-send must not lose the delivered row
    log.failed(numbers[1], "400 token=abcdefgh", 21211, permanent=True)
    await log.flush()
    rows = await log.settled(numbers)
    await journal.aclose()
    assert claim.status == "claimed"
    assert len(rows) == 300
    assert {r.state for r in rows.values()} == {"delivered"}
    assert rows[numbers[7]].provider_id == "SM0007"


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        (
            "postgresql://app:s3cr%40t-pass@db.example:5432/ops",
            "postgresql://app:***@db.example:5432/ops",
        ),
        (
            "postgres://db.example/ops?user=app&password=s3cr@t-pass",
            "postgres://db.example/ops?user=app&password=***",
        ),
        ("postgresql://app@db.example/ops", "postgresql://app@db.example/ops"),
    ],
    ids=["in-url", "in-query", "none"],
)
def test_a_dsn_is_shown_with_its_password_masked(dsn: str, shown: str) -> None:
    """The password, in the URL (percent-encoded) or its query, is *** in every form shown."""
    journal = PostgresJournal(dsn)
    assert journal.where == shown
    assert repr(journal) == f"PostgresJournal({shown!r})"
    assert "s3cr" not in repr(journal)
