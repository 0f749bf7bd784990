"""The installed ``broadcast`` command as a real process: exit codes, stdin, a terminal."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from pathlib import Path

import pytest

from broadcast import __version__
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


def _converse(
    args: list[str], answer: str, env: dict[str, str], cwd: Path, *, piped: list[str] | None = None
) -> tuple[int, str]:
    """Run the command on a pseudo-terminal; answer its question; return status and screen.

    With ``piped``, stdout is a pipe (as in ``broadcast send --json | jq``) and what
    came through it is appended to ``piped``.
    """
    primary, secondary = os.openpty()
    stdout = subprocess.PIPE if piped is not None else secondary
    process = subprocess.Popen(  # noqa: S603 - our own command
        [COMMAND, *args], stdin=secondary, stdout=stdout, stderr=secondary, env=env, cwd=cwd
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
    if piped is not None and process.stdout is not None:
        piped.append(process.stdout.read().decode())
        process.stdout.close()
    return process.wait(timeout=30), screen.decode(errors="replace")


def test_terminal_shows_the_preview_and_asks(tmp_path: Path, server: LoopbackServer) -> None:
    """In a terminal, send shows what will be said and asks; 'n' sends nothing, 'y' sends."""
    env = environment(tmp_path, BROADCAST_WEBHOOK_URL=server.url)
    status, screen = _converse(["send", *FLAGS, BODY], "n", env, tmp_path)
    assert "Send this to 1 channel(s): webhook? [y/N]" in screen
    assert "webhook (Webhook)" in screen  # the preview panel
    assert '"incident": "psn-2011-04"' in screen
    assert status == 4  # answered no: its own exit code, not "a channel failed"
    assert "nothing was sent" in screen
    assert server.requests == []
    status, screen = _converse(["send", *FLAGS, BODY], "y", env, tmp_path)
    assert status == 0, screen
    assert "delivered" in screen
    assert len(server.requests) == 1


def test_json_in_a_terminal_still_asks_on_stderr(tmp_path: Path, server: LoopbackServer) -> None:
    """--json changes the output only: the question comes on stderr, stdout stays JSON."""
    env = environment(tmp_path, BROADCAST_WEBHOOK_URL=server.url)
    out: list[str] = []
    status, screen = _converse(["send", *FLAGS, "--json", BODY], "n", env, tmp_path, piped=out)
    assert "Send this to 1 channel(s): webhook? [y/N]" in screen
    assert (status, out) == (4, [""])
    assert "not sent: answered no; nothing was sent" in screen
    assert server.requests == []
    assert not (tmp_path / "j.db").exists()  # nothing recorded in the journal either
    out.clear()
    status, screen = _converse(["send", *FLAGS, "--json", BODY], "y", env, tmp_path, piped=out)
    assert status == 0, screen
    assert json.loads(out[0])["receipts"][0]["outcome"] == "delivered"
    assert len(server.requests) == 1
    out.clear()
    yes = [*FLAGS, "--json", "--yes", f"{BODY} Still down."]
    status, screen = _converse(["send", *yes], "n", env, tmp_path, piped=out)
    assert status == 0, screen
    assert "[y/N]" not in screen
    assert json.loads(out[0])["ok"] is True
    assert len(server.requests) == 2


def test_python_m_broadcast_and_the_version_flag(tmp_path: Path) -> None:
    """`python -m broadcast -V` runs the same command and prints its version."""
    result = subprocess.run(
        [sys.executable, "-m", "broadcast", "-V"],
        capture_output=True,
        text=True,
        env=environment(tmp_path),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"broadcast, version {__version__}"


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash", "complete -o"), ("zsh", "compdef"), ("fish", "complete --no-files --command")],
)
def test_shell_completion_script(tmp_path: Path, shell: str, marker: str) -> None:
    """docs/cli.md names each shell's completion command, and it prints a working script."""
    docs = (Path(__file__).parent.parent / "docs" / "cli.md").read_text(encoding="utf-8")
    assert f"_BROADCAST_COMPLETE={shell}_source broadcast" in docs
    result = subprocess.run(  # noqa: S603 - our own command
        [COMMAND],
        capture_output=True,
        text=True,
        env=environment(tmp_path, _BROADCAST_COMPLETE=f"{shell}_source"),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert marker in result.stdout
    assert f"_BROADCAST_COMPLETE={shell}_complete" in result.stdout
    words = environment(
        tmp_path, _BROADCAST_COMPLETE="bash_complete", COMP_WORDS="broadcast se", COMP_CWORD="1"
    )
    completed = subprocess.run(  # noqa: S603 - our own command
        [COMMAND], capture_output=True, text=True, env=words, check=False
    )
    assert "plain,send" in completed.stdout.split()
