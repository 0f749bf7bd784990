"""Every ```python block in README.md and docs/ runs as written (tests/docs_blocks.py)."""

from __future__ import annotations

import ast
import asyncio
import inspect
import os
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

from tests import no_network
from tests.docs_blocks import ROOT, Block, MarkerError, blocks, pages

_PYTEST_INI = """\
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""
_CONFTEST = """\
import pytest

from tests import no_network


@pytest.fixture(autouse=True)
def _no_network():
    attempts = []
    restore = no_network.install(attempts)
    yield
    restore()
    assert not attempts, f"tried to reach {sorted(set(attempts))}: only 127.0.0.1 is allowed"
"""


def _all_blocks() -> list[Block]:
    return [block for page in pages() for block in blocks(page)]


def _pages_with_code() -> list[Path]:
    return [page for page in pages() if blocks(page)]


def _run(block: Block, namespace: dict[str, object]) -> None:
    """Exec one block; its line numbers in a traceback are the page's own."""
    padded = "\n" * block.line + block.code
    code = compile(padded, str(block.path), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, namespace)  # noqa: S307 - the documentation's own code
    if inspect.iscoroutine(result):
        asyncio.run(result)


def _run_tests(folder: Path, written: dict[str, Block]) -> None:
    """Run the page's ``test_*.py`` files with pytest in a separate process."""
    tests = sorted(name for name in written if Path(name).name.startswith("test_"))
    if not tests:
        return
    (folder / "pytest.ini").write_text(_PYTEST_INI, encoding="utf-8")
    (folder / "conftest.py").write_text(_CONFTEST, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)])}
    result = subprocess.run(  # noqa: S603 - this interpreter, the documentation's tests
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        origin = ", ".join(f"{name} is the block at {written[name].where}" for name in tests)
        pytest.fail(f"the page's tests failed ({origin}):\n{result.stdout}\n{result.stderr}")


@pytest.mark.parametrize("page", _pages_with_code(), ids=lambda page: str(page.relative_to(ROOT)))
def test_the_pages_python_blocks_run(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's blocks run in order without error and reach nothing beyond 127.0.0.1."""
    for name in [name for name in os.environ if name.startswith("BROADCAST_")]:
        monkeypatch.delenv(name)
    for name in ("HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(name, str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    namespace: dict[str, object] = {"__name__": "__main__"}
    written: dict[str, Block] = {}
    attempts: list[str] = []
    restore = no_network.install(attempts)
    try:
        for block in blocks(page):
            for name, value in block.env.items():
                monkeypatch.setenv(name, value)
            if block.skip:
                continue
            if block.file:
                (tmp_path / block.file).write_text(block.code, encoding="utf-8")
                written[block.file] = block
                continue
            try:
                _run(block, namespace)
            except BaseException:  # noqa: BLE001 - reported with the block's place
                pytest.fail(f"the block at {block.where} failed:\n{traceback.format_exc()}")
            assert not attempts, f"the block at {block.where} tried to reach {sorted(attempts)}"
    finally:
        restore()
        for name in set(sys.modules) - before:
            module = sys.modules[name]
            if str(getattr(module, "__file__", "") or "").startswith(str(tmp_path)):
                del sys.modules[name]
    _run_tests(tmp_path, written)


def test_every_block_that_does_not_run_says_why() -> None:
    """A skip marker carries a reason, and markers are spelled as documented."""
    for page in pages():
        blocks(page)  # raises MarkerError for an unknown or empty marker
    assert all(block.skip.strip() for block in _all_blocks() if block.skip)


def test_most_blocks_run() -> None:
    """Skipping is the exception: more blocks run (or are run as files) than are skipped."""
    every = _all_blocks()
    skipped = [block.where for block in every if block.skip]
    assert len(every) >= 20
    assert len(skipped) * 2 < len(every), f"{len(skipped)} of {len(every)} skipped: {skipped}"


@pytest.mark.parametrize(
    ("marker", "error"),
    [
        ("<!-- skip -->", "needs a value"),
        ("<!-- skip:   -->", "needs a value"),
        ("<!-- skipp: typo -->", "unknown marker"),
    ],
)
def test_a_skip_without_a_reason_or_a_misspelled_marker_is_an_error(
    marker: str, error: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The collector refuses a marker it cannot act on, naming the page and line."""
    monkeypatch.setattr("tests.docs_blocks.ROOT", tmp_path)
    page = tmp_path / "page.md"
    page.write_text(f"Text.\n\n{marker}\n```python\nprint(1)\n```\n", encoding="utf-8")
    with pytest.raises(MarkerError, match=error) as caught:
        blocks(page)
    assert "page.md:4" in str(caught.value)


def test_blocks_are_found_with_their_markers_and_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fences in lists are dedented; markers above a fence apply to that block only."""
    monkeypatch.setattr("tests.docs_blocks.ROOT", tmp_path)
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- skip: needs your token -->\n```python\nsend()\n```\n\n"
        "- item\n\n    <!-- file: test_x.py -->\n    <!-- env: A=1 B='two words' -->\n"
        "    ```python\n    def test_x():\n        pass\n    ```\n\n```sh\nls\n```\n"
        "```python\nx = 1\n```\n",
        encoding="utf-8",
    )
    found = blocks(page)
    assert [(b.line, b.skip, b.file, b.env) for b in found] == [
        (2, "needs your token", None, {}),
        (10, None, "test_x.py", {"A": "1", "B": "two words"}),
        (18, None, None, {}),
    ]
    assert found[1].code == "def test_x():\n    pass\n"


def test_a_failing_block_is_reported_with_its_page_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A traceback from a block names the page and the line in it."""
    page = tmp_path / "page.md"
    page.write_text("```python\nx = 1\nraise ValueError(x)\n```\n", encoding="utf-8")
    monkeypatch.setattr("tests.docs_blocks.ROOT", tmp_path)
    (block,) = blocks(page)
    with pytest.raises(ValueError, match="1") as caught:
        _run(block, {})
    frame = caught.traceback[-1]
    assert (Path(str(frame.path)).name, frame.lineno + 1) == ("page.md", 3)
