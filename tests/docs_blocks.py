"""The ```python blocks of README.md and docs/, as a reader meets them, and how each runs.

A block runs unless the line before its fence says otherwise. Markers are HTML
comments, invisible on the site but plain in the source, one per line right above
the fence:

* ``<!-- skip: why -->``: not meant to run (a fragment, an interactive script, a send
  with your own credentials). The reason is required.
* ``<!-- file: name.py -->``: the block is a file, written under that name in the
  page's folder (importable by later blocks). A ``test_*.py`` file is run by pytest, in
  a separate process, once the page's blocks have run.
* ``<!-- env: NAME=value ... -->``: variables set while the page's blocks run.

The blocks of one page run in order in one namespace, in a fresh empty folder, as a
reader pasting them one after another into one session would. Top-level ``await`` is
allowed (as in ``python -m asyncio``).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<ticks>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
_MARKER = re.compile(r"^\s*<!--\s*(?P<kind>[\w-]+)\s*(?::\s*(?P<value>.*?))?\s*-->\s*$")
_KINDS = {"skip", "file", "env"}


@dataclass(frozen=True)
class Block:
    """One python block: where it is, its code, and how it is to run."""

    path: Path
    line: int
    """The line of the opening fence (1-based), as an editor shows it."""
    code: str
    skip: str | None = None
    file: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        """``docs/page.md:12``: the page and line of the fence."""
        return f"{self.path.relative_to(ROOT)}:{self.line}"


class MarkerError(ValueError):
    """A marker above a block is unknown or incomplete."""


def pages() -> list[Path]:
    """README.md and every page under docs/, recursively."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _markers(lines: list[str], fence: int, where: str) -> dict[str, str]:
    """The markers on the lines right above line index ``fence``."""
    found: dict[str, str] = {}
    index = fence - 1
    while index >= 0 and (match := _MARKER.match(lines[index])):
        kind, value = match["kind"], (match["value"] or "").strip()
        if kind not in _KINDS:
            raise MarkerError(f"{where}: unknown marker {kind!r}; use one of {sorted(_KINDS)}")
        if not value:
            raise MarkerError(f"{where}: the {kind!r} marker needs a value: <!-- {kind}: ... -->")
        found[kind] = value
        index -= 1
    return found


def blocks(path: Path) -> list[Block]:
    """The python blocks of one page, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent, ticks = opening["indent"], opening["ticks"]
        end = index + 1
        while end < len(lines) and not re.match(rf"^\s*{re.escape(ticks)}\s*$", lines[end]):
            end += 1
        if opening["lang"] in {"python", "py", "python3"}:
            where = f"{path.relative_to(ROOT)}:{index + 1}"
            markers = _markers(lines, index, where)
            body = [line.removeprefix(indent) for line in lines[index + 1 : end]]
            env = dict(word.split("=", 1) for word in shlex.split(markers.get("env", "")))
            found.append(
                Block(
                    path,
                    index + 1,
                    "\n".join(body) + "\n",
                    skip=markers.get("skip"),
                    file=markers.get("file"),
                    env=env,
                )
            )
        index = end + 1
    return found
