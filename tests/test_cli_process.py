"""The installed ``broadcast`` command as a real process: exit codes, stdin, a terminal."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from pathlib import Path

import pytest

from broadcast.testing import LoopbackServer

from .conftest import SECRET

COMMAND = str(Path(sys.executable).parent / "broadcast")
FLAGS = ["--title", "PlayStation Network is down", "--incident", "psn-2011-04"]
BODY = "Sign-in and online play are unavailable. We are investigating."


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BROADCAST_")}
    return {**clean, "BROADCAST_JOURNAL": str(tmp_path / "j.db"), **extra}


def broadcast(
    tmp_path: Path, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own command
        [COMMAND, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment(tmp_path, **env),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


def test_help_loads_no_library_dependency() -> None:
    """`broadcast --help` imports click only: no httpx, pydantic or rich."""
    code = (
        "import sys\n"
        "from broadcast.cli import main\n"
        "try:\n"
        "    main(['--help'], prog_name='broadcast')\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0\n"
        "heavy = {'httpx', 'pydantic', 'rich', 'aiohttp', 'sqlite3'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run(  # noqa: S603 - our own code
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Usage: broadcast [OPTIONS] COMMAND [ARGS]..." in result.stdout


def test_exit_codes_and_stdin_as_a_process(tmp_path: Path, server: LoopbackServer) -> None:
    """0 delivered (body on stdin, --json on stdout), 1 failed, 2 input error."""
    hook = {"BROADCAST_WEBHOOK_URL": server.url, "BROADCAST_WEBHOOK_SECRET": SECRET}
    ok = broadcast(tmp_path, "send", *FLAGS, "--json", stdin=BODY, **hook)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["receipts"][0]["outcome"] == "delivered"
    assert json.loads(server.requests[0].body)["data"]["body"] == BODY
    server.script(410)
    failed = broadcast(tmp_path, "send", *FLAGS, "--no-journal", BODY, **hook)
    assert failed.returncode == 1
    assert "webhook  failed" in failed.stdout
    bad = broadcast(tmp_path, "send", *FLAGS, "--status", "fixed", BODY, **hook)
    assert bad.returncode == 2
    assert "Invalid value for '--status'" in bad.stderr
    assert len(server.requests) == 2


def _converse(args: list[str], answer: str, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run the command on a pseudo-terminal; answer its question; return status and screen."""
    primary, secondary = os.openpty()
    process = subprocess.Popen(  # noqa: S603 - our own command
        [COMMAND, *args], stdin=secondary, stdout=secondary, stderr=secondary, env=env, cwd=cwd
    )
    os.close(secondary)
    screen = b""
    answered = False
    while True:
        ready, _, _ = select.select([primary], [], [], 30)
        if not ready:
            process.kill()
            pytest.fail(f"no output within 30 s; so far: {screen!r}")
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the command ended and closed the terminal
            break
        if not chunk:
            break
        screen += chunk
        if not answered and b"[y/N]" in screen:
            os.write(primary, answer.encode() + b"\n")
            answered = True
    os.close(primary)
    return process.wait(timeout=30), screen.decode(errors="replace")


def test_terminal_shows_the_preview_and_asks(tmp_path: Path, server: LoopbackServer) -> None:
    """In a terminal, send shows what will be said and asks; 'n' sends nothing, 'y' sends."""
    env = environment(tmp_path, BROADCAST_WEBHOOK_URL=server.url)
    status, screen = _converse(["send", *FLAGS, BODY], "n", env, tmp_path)
    assert "Send this to 1 channel(s): webhook? [y/N]" in screen
    assert "webhook (Webhook)" in screen  # the preview panel
    assert '"incident": "psn-2011-04"' in screen
    assert status == 1
    assert "nothing was sent" in screen
    assert server.requests == []
    status, screen = _converse(["send", *FLAGS, BODY], "y", env, tmp_path)
    assert status == 0, screen
    assert "delivered" in screen
    assert len(server.requests) == 1
