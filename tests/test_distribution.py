"""The distribution users install: its name on the index, its extras, what it pulls in."""

from __future__ import annotations

import importlib.metadata
import json
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import broadcast

ROOT = Path(__file__).resolve().parent.parent
DIST = "broadcast-crisis"
"""The name on the package index. The bare ``broadcast`` there is an unrelated project."""
_SKIPPED_DIRS = {"node_modules", "site", "__pycache__"}
_INSTALL = re.compile(
    r"(?:python3?\s+-m\s+pip|uv\s+pip|pip3?|pipx|uv|poetry)\s+(?:install|add)\b(?P<args>.*)"
)
_TAKES_VALUE = {
    *("-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url"),
    *("--extra-index-url", "-f", "--find-links", "-t", "--target", "--prefix", "--python"),
    "--group",
}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed_names(line: str) -> list[str]:
    """The distribution names an install command on ``line`` asks for, canonicalised."""
    names = []
    for match in _INSTALL.finditer(line):
        args = re.split(r"\s#|;|&&|\|\||\||`|\$\(", match["args"])[0]
        try:
            words = shlex.split(args)
        except ValueError:  # an unbalanced quote in prose: take the words as they are
            words = args.split()
        skip_next = False
        for word in words:
            if skip_next or word.startswith("-"):
                skip_next = word in _TAKES_VALUE
                continue
            if word.startswith((".", "/", "~")) or "/" in word or word.endswith(".whl"):
                continue  # a path or a URL, not a name on the index
            if name := re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", word.strip("'\"")):
                names.append(_canonical(name[0]))
    return names


def _files() -> list[Path]:
    """Every doc, example and source file a user may copy an install command from."""
    found = [ROOT / "Makefile"]
    for pattern in ("*.md", "*.py", "*.yml", "*.yaml", "*.toml", "*.txt", "*.cfg"):
        for path in ROOT.rglob(pattern):
            parts = path.relative_to(ROOT).parts
            if any(part.startswith(".") or part in _SKIPPED_DIRS for part in parts[:-1]):
                continue
            if path.resolve() != Path(__file__).resolve():
                found.append(path)
    return sorted(found)


def _bare_installs() -> list[str]:
    hits = []
    for path in _files():
        text = path.read_text(encoding="utf-8", errors="replace").replace("\\\n", " ")
        for number, line in enumerate(text.splitlines(), 1):
            if "broadcast" in _installed_names(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return hits


@pytest.mark.parametrize(
    ("line", "names"),
    [
        ("pip install broadcast", ["broadcast"]),
        ("  run: pip install 'broadcast[demo]'  # the demo", ["broadcast"]),
        ('python -m pip install -U "broadcast==1.2.0" rich', ["broadcast", "rich"]),
        ("uv add broadcast>=0.1", ["broadcast"]),
        ("pipx install Broadcast", ["broadcast"]),
        ("uv pip install broadcast_crisis", ["broadcast-crisis"]),
        ("poetry add broadcast-crisis[demo]", ["broadcast-crisis"]),
        ("pip install -e '.[dev]' -r benchmarks/requirements.txt", []),
        ("(`pip install -e .`). The tests", []),
        ("pip install broadcast-crisis && broadcast check", ["broadcast-crisis"]),
        ("The broadcast command installs nothing", []),
    ],
)
def test_install_commands_are_read_as_a_user_would_run_them(line: str, names: list[str]) -> None:
    """The scanner finds the names an install command asks for, not paths or options."""
    assert _installed_names(line) == names


def test_no_doc_example_or_hint_installs_the_unrelated_bare_name() -> None:
    """No README, doc, example, workflow or error hint says to install the bare name."""
    assert _bare_installs() == []


def test_the_distribution_has_the_free_name_and_keeps_the_command() -> None:
    """pyproject names broadcast-crisis; it installs the import ``broadcast`` and its command."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == DIST
    assert project["scripts"] == {"broadcast": "broadcast.__main__:main"}
    installed = importlib.metadata.distribution(DIST)
    assert installed.version == broadcast.__version__
    assert {ep.name for ep in installed.entry_points if ep.group == "console_scripts"} == {
        "broadcast"
    }


def test_extras_refer_to_the_distribution_by_its_own_name() -> None:
    """An extra that pulls in another extra names broadcast-crisis, never the bare name."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = [*project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        requirements.extend(extra)
    names = {_canonical(re.match(r"[A-Za-z0-9._-]+", req)[0]) for req in requirements}  # type: ignore[index]
    assert "broadcast" not in names
    assert DIST in names  # dev pulls in the demo and docs extras


def test_phone_numbers_come_from_the_lite_build() -> None:
    """phonenumberslite, not phonenumbers (43 MB of geocoding and carrier data), is required."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {_canonical(re.match(r"[A-Za-z0-9._-]+", req)[0]) for req in project["dependencies"]}  # type: ignore[index]
    assert "phonenumberslite" in names
    assert "phonenumbers" not in names
    importlib.metadata.distribution("phonenumberslite")
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.distribution("phonenumbers")


def test_sending_sms_never_loads_the_geocoder_carrier_or_time_zone_data() -> None:
    """Normalising numbers imports none of the modules the lite build leaves out."""
    code = (
        "import json, sys\n"
        "from broadcast.channels import TwilioSMS\n"
        "sms = TwilioSMS('AC' + '0' * 32, 'token', from_='+14155550100',\n"
        "                recipients=['(415) 555-0101'], default_region='US')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('phonenumbers'))))\n"
    )
    result = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(json.loads(result.stdout))
    assert "phonenumbers.phonenumberutil" in loaded
    unused = {"geocoder", "carrier", "timezone", "geodata", "carrierdata", "tzdata"}
    assert {m for m in loaded if m.split(".")[1:2] and m.split(".")[1] in unused} == set()


def test_httpx_aiohttp_is_measured_by_the_benchmarks_and_not_installed_with_broadcast() -> None:
    """The transport decision is re-measurable: benchmark registered, package bench-only."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {_canonical(re.match(r"[A-Za-z0-9._-]+", req)[0]) for req in project["dependencies"]}  # type: ignore[index]
    assert "httpx-aiohttp" not in names
    bench_requirements = (ROOT / "benchmarks" / "requirements.txt").read_text(encoding="utf-8")
    assert re.search(r"^httpx-aiohttp==", bench_requirements, re.MULTILINE)
    assert '"transport_choice.py"' in (ROOT / "benchmarks" / "run_all.py").read_text("utf-8")
    assert (ROOT / "benchmarks" / "transport_choice.py").is_file()
