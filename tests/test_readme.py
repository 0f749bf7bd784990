"""The README's first screen takes a new user from a clone to a preview and a dry run."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from broadcast.testing import LoopbackServer

from .conftest import SECRET

ROOT = Path(__file__).resolve().parent.parent
COMMAND = str(Path(sys.executable).parent / "broadcast")


def _first_screen() -> list[str]:
    """The commands of the README's first shell block, continuation lines joined."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", text, re.DOTALL)
    assert block is not None, "README.md has no ```sh block"
    assert text.index(block[0]) < text.index("\n## "), "the first block is below the fold"
    joined = block[1].replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip()]


def _words(line: str) -> list[str]:
    return shlex.split(line, comments=True)


def test_first_screen_goes_from_clone_to_preview_and_a_dry_run_of_your_env() -> None:
    """Clone, make demo, preview, an .env of your own, then send --dry-run, in that order."""
    commands = [words for line in _first_screen() if (words := _words(line))]
    order = [
        next(i for i, words in enumerate(commands) if words[:2] == head)
        for head in (
            ["git", "clone"],
            ["make", "demo"],
            ["broadcast", "preview"],
            ["broadcast", "send"],
        )
    ]
    assert order == sorted(order)
    writes_env = [words for words in commands if words[-2:] == [">", ".env"]]
    assert writes_env, "the first screen does not write a .env"
    send = commands[order[-1]]
    assert "--dry-run" in send


def test_first_screen_commands_run_against_your_env_and_send_nothing(tmp_path: Path) -> None:
    """Its preview, check and dry run exit 0 with an .env of the variables it names."""
    lines = _first_screen()
    env_line = next(line for line in lines if line.endswith("> .env"))
    names = re.findall(r"(BROADCAST_[A-Z_]+)=", env_line)
    assert names == ["BROADCAST_WEBHOOK_URL", "BROADCAST_WEBHOOK_SECRET"]
    runs = [_words(line) for line in lines if line.startswith("broadcast ")]
    assert [words[1] for words in runs] == ["preview", "check", "send"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BROADCAST_")}
    clean |= {"HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state")}
    with LoopbackServer() as server:
        values = {"BROADCAST_WEBHOOK_URL": server.url, "BROADCAST_WEBHOOK_SECRET": SECRET}
        (tmp_path / ".env").write_text(
            "".join(f"{name}={values[name]}\n" for name in names), encoding="utf-8"
        )
        for words in runs:
            result = subprocess.run(  # noqa: S603 - our own command, the README's arguments
                [COMMAND, *words[1:]],
                capture_output=True,
                text=True,
                env=clean,
                cwd=tmp_path,
                stdin=subprocess.DEVNULL,
                timeout=60,
                check=False,
            )
            assert result.returncode == 0, (words, result.stdout, result.stderr)
            assert SECRET not in result.stdout + result.stderr
        posted = [request for request in server.requests if request.method == "POST"]
    assert posted == []  # check probes, the dry run renders: nothing is sent
