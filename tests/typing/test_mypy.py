"""What `mypy --strict` says about code using broadcast: the right calls pass, typos fail.

The negative cases are snippets checked here, not `# type: ignore` lines, so each test
asserts the exact error a user would see.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api

HERE = Path(__file__).parent
ROOT = HERE.parent.parent

WRONG = {
    "typo_in_send": (
        'import broadcast\nbroadcast.send("We are investigating.", titel="Down")\n',
        'Unexpected keyword argument "titel" for "send"',
    ),
    "typo_in_preview": (
        'import broadcast\nbroadcast.preview("Down", severty="major")\n',
        'Unexpected keyword argument "severty" for "preview"',
    ),
    "unknown_status": (
        'import broadcast\nbroadcast.Update(title="Down", incident="x", status="fixed")\n',
        'Argument "status" to "Update" has incompatible type "Literal[\'fixed\']"',
    ),
    "unknown_severity_in_send": (
        'import broadcast\nbroadcast.send("Down", severity="huge")\n',
        'Argument "severity" to "send" has incompatible type "Literal[\'huge\']"',
    ),
    "promise_as_a_number": (
        'import broadcast\nbroadcast.Update(title="Down", incident="x", next_update_at=60)\n',
        'Argument "next_update_at" to "Update" has incompatible type "int"',
    ),
}


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One mypy run over the user-style file and every wrong snippet (it takes seconds)."""
    folder = tmp_path_factory.mktemp("snippets")
    for name, (code, _) in WRONG.items():
        (folder / f"{name}.py").write_text(code)
    out, err, _ = api.run([
        "--strict",
        "--no-error-summary",
        "--cache-dir",
        str(ROOT / ".mypy_cache"),
        str(HERE / "user_code.py"),
        *sorted(str(p) for p in folder.glob("*.py")),
    ])  # fmt: skip
    assert not err, err
    return out


def test_user_code_passes_strict(mypy_output: str) -> None:
    """The README's examples, string statuses, delays and `list[Channel]` type-check."""
    assert [line for line in mypy_output.splitlines() if "user_code.py" in line] == []


@pytest.mark.parametrize("name", sorted(WRONG))
def test_mistake_is_a_type_error(mypy_output: str, name: str) -> None:
    """Each mistake is reported by mypy on its own line, with the expected message."""
    errors = [line for line in mypy_output.splitlines() if f"{name}.py:2: error:" in line]
    assert any(WRONG[name][1] in line for line in errors), mypy_output
