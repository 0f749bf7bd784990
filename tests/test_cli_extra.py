"""click and rich are the `cli` extra: without them the command says what to install."""

from __future__ import annotations

import subprocess
import sys

BLOCK = """
import sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"click", "rich"}:
            raise ImportError(f"No module named {name!r}")
        return None
sys.meta_path.insert(0, Refuse())
for name in [n for n in sys.modules if n.split(".")[0] in {"click", "rich"}]:
    del sys.modules[name]
"""
MESSAGE = "broadcast's command needs click and rich: pip install 'broadcast-crisis[cli]'"


def _run(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter, with click and rich refused."""
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", BLOCK + code], capture_output=True, text=True, check=False
    )


def test_the_console_script_without_click_names_the_extra_and_exits_2() -> None:
    """The installed `broadcast` entry point prints the pip line and exits 2, no traceback."""
    done = _run(
        "from importlib.metadata import entry_points\n"
        "(script,) = entry_points(group='console_scripts', name='broadcast')\n"
        "script.load()()\n"
    )
    assert (done.returncode, done.stderr.strip(), done.stdout) == (2, MESSAGE, "")


def test_python_m_broadcast_without_rich_says_the_same() -> None:
    """`python -m broadcast` goes through the same check."""
    done = _run("import runpy\nrunpy.run_module('broadcast', run_name='__main__')\n")
    assert (done.returncode, done.stderr.strip()) == (2, MESSAGE)


def test_the_library_works_without_the_extra() -> None:
    """Sending needs neither click nor rich: the library imports without them."""
    done = _run(
        "import broadcast, sys\n"
        "broadcast.Broadcaster, broadcast.load_config, broadcast.send\n"
        "assert 'click' not in sys.modules and 'rich' not in sys.modules\n"
        "print('ok')\n"
    )
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr


def test_with_the_extra_the_command_runs() -> None:
    """With click and rich installed, the entry point is the real command."""
    done = subprocess.run(
        [sys.executable, "-m", "broadcast", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
