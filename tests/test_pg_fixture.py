"""The real PostgreSQL the tests start: it answers, checks passwords, a fresh database per test."""

from __future__ import annotations

import psycopg
import pytest

from .pg import PostgresServer


def test_each_test_gets_an_empty_database_of_its_own(postgres_dsn: str) -> None:
    """The DSN names a new database with no tables, on a real server that answers SQL."""
    with psycopg.connect(postgres_dsn) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
        conn.execute("CREATE TABLE mark (id int)")
        version = conn.execute("SHOW server_version_num").fetchone()
    assert tables == (0,)
    assert version is not None
    assert int(version[0]) >= 160000


def test_a_second_test_does_not_see_the_first_ones_tables(postgres_dsn: str) -> None:
    """Databases are per test: the table the other test made is not here."""
    with psycopg.connect(postgres_dsn) as conn:
        found = conn.execute("SELECT to_regclass('public.mark')").fetchone()
    assert found == (None,)


def test_a_wrong_password_is_refused(postgres_server: PostgresServer) -> None:
    """The server checks passwords over TCP (scram-sha-256), as a real deployment does."""
    wrong = postgres_server.dsn().replace(postgres_server.password, "not-the-password")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=10)
