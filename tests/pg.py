"""A real PostgreSQL 16 server for the tests, started from the ``pgserver`` wheel.

``postgres_server`` (session scope) runs ``initdb`` and ``postgres`` from the binaries
the ``pgserver`` package ships (``pgserver/pginstall/bin``) in a fresh directory,
listening on 127.0.0.1 at a free port, with a superuser password checked by
scram-sha-256, so a DSN here is one a user would write. ``postgres_dsn`` gives each
test its own empty database on it (``CREATE DATABASE``, a few milliseconds).

pgserver's own ``get_server`` is not used: as root it adds a system user and makes
every directory above the data and the venv readable by all, up to ``/``. Here, as
root (CI runs as root, and PostgreSQL refuses to), the server runs as ``nobody``
from a copy of the binaries in the data directory's parent, so nothing outside it
changes. Durability is off (``fsync``, ``synchronous_commit``): the tests kill
processes, never the machine.

A server that cannot start is an error in every test that needs it, never a skip:
a skip would hide a missing server in ``make test``.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

__all__ = ["PostgresServer", "postgres_dsn", "postgres_server"]

_START_SECONDS = 60


@dataclass(frozen=True)
class PostgresServer:
    """A running server: where it listens, and the superuser's password."""

    host: str
    port: int
    user: str
    password: str
    data: Path

    def dsn(self, database: str = "postgres") -> str:
        """A ``postgresql://`` URL for ``database`` on this server."""
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{database}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _wheel_binaries() -> Path:
    """``pgserver/pginstall/bin``, found without importing pgserver (its import warns)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pgserver is not installed: pip install -e '.[dev]' (make test does)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _binaries(root: Path, as_user: dict[str, Any]) -> Path:
    """The ``bin`` directory to run: the wheel's, or a copy ``nobody`` can read."""
    if not as_user:
        return _wheel_binaries()
    # The binaries find their libraries at $ORIGIN/../../../pgserver.libs: keep that layout.
    wheel, copy = _wheel_binaries().parent, root / "pg" / "pgserver" / "pginstall"
    shutil.copytree(wheel, copy, symlinks=True)
    shutil.copytree(wheel.parent.parent / "pgserver.libs", root / "pg" / "pgserver.libs")
    return copy / "bin"


def _run(command: list[str], as_user: dict[str, Any], **options: Any) -> None:
    done = subprocess.run(  # noqa: S603 - the wheel's own PostgreSQL programs
        command, capture_output=True, text=True, timeout=_START_SECONDS, check=False,
        **as_user, **options,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(
            f"PostgreSQL for the tests did not start: {' '.join(command[:1])} exited "
            f"{done.returncode}\n{done.stdout}\n{done.stderr}"
        )


def start_server(root: Path, *, durable: bool = False) -> PostgresServer:
    """initdb and start a server under ``root``; RuntimeError with its log if it fails.

    ``durable`` keeps PostgreSQL's own defaults (fsync, synchronous commit), for
    benchmarks; the tests run without them.
    """
    as_user: dict[str, Any] = {}
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        as_user = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
        os.chown(root, nobody.pw_uid, nobody.pw_gid)
    binaries = _binaries(root, as_user)
    data, password = root / "data", secrets.token_urlsafe(16)
    (root / "pw").write_text(password)
    if as_user:
        os.chown(root / "pw", as_user["user"], as_user["group"])
    _run(
        [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--pwfile", str(root / "pw"),
         "--auth-host=scram-sha-256", "--auth-local=trust", "--encoding=UTF8",
         "--no-sync", "--no-instructions"],
        as_user,
    )  # fmt: skip
    port = _free_port()
    settings = f"-h 127.0.0.1 -p {port} -k {root} -c max_connections=200"
    if not durable:
        settings += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    _run(
        [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-o", settings,
         "-w", "-t", str(_START_SECONDS), "start"],
        as_user,
    )  # fmt: skip
    return PostgresServer("127.0.0.1", port, "postgres", password, data)


def stop_server(server: PostgresServer) -> None:
    """Stop it at once (the data is thrown away)."""
    binaries = server.data.parent / "pg" / "pgserver" / "pginstall" / "bin"
    if not binaries.exists():
        binaries = _wheel_binaries()
    as_user: dict[str, Any] = {}
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        as_user = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
    subprocess.run(  # noqa: S603 - the wheel's own pg_ctl
        [str(binaries / "pg_ctl"), "-D", str(server.data), "-m", "immediate", "-w", "stop"],
        capture_output=True, timeout=_START_SECONDS, check=False, **as_user,
    )  # fmt: skip


_RAM = Path("/dev/shm")  # noqa: S108 - a folder of our own is made inside it
_RAM_NEEDED = 2 * 1024**3


def _scratch() -> Path:
    """A new folder for the server, in memory when there is room.

    Every test's database is a copy of the template (some MB each); on a busy disk,
    writing them and deleting them at the end takes longer than the tests do.
    """
    in_ram = _RAM.is_dir() and os.access(_RAM, os.W_OK)
    in_ram = in_ram and not os.statvfs(_RAM).f_flag & os.ST_NOEXEC  # the binaries run there
    if in_ram and shutil.disk_usage(_RAM).free > _RAM_NEEDED:
        return Path(tempfile.mkdtemp(prefix="broadcast-pg-", dir=_RAM))
    return Path(tempfile.mkdtemp(prefix="broadcast-pg-"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the whole session (fails, never skips, if it cannot)."""
    root = _scratch()
    try:
        server = start_server(root)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    try:
        yield server
    finally:
        stop_server(server)
        shutil.rmtree(root, ignore_errors=True)


_numbers = itertools.count(1)


@pytest.fixture
def postgres_dsn(postgres_server: PostgresServer) -> str:
    """The DSN of a fresh, empty database of its own for this test."""
    import psycopg  # noqa: PLC0415 - the postgres extra, only for these tests

    name = f"test_{os.getpid()}_{next(_numbers)}"
    with psycopg.connect(postgres_server.dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # a name made here, never input
    return postgres_server.dsn(name)
