"""The generated tables of docs/configuration.md: ``python -m broadcast.config._docs``.

Each table sits between ``<!-- generated: NAME -->`` and ``<!-- /generated -->``; this
rewrites them from the channels' declarations, and a test fails when the page differs.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from ._registry import settings_table, types_table

__all__ = ["TABLES", "main", "render"]

TABLES: dict[str, Callable[[], str]] = {
    "channel-types": types_table,
    "channel-variables": settings_table,
}
_BLOCK = re.compile(r"(<!-- generated: ([a-z-]+) -->\n)(.*?)(<!-- /generated -->)", re.DOTALL)


def render(page: str) -> str:
    """``page`` with every generated table written afresh."""

    def table(match: re.Match[str]) -> str:
        return match.group(1) + "\n" + TABLES[match.group(2)]() + "\n" + match.group(4)

    return _BLOCK.sub(table, page)


def main(argv: list[str] | None = None) -> int:
    """Rewrite the tables of the page given (default docs/configuration.md)."""
    path = Path((argv if argv is not None else sys.argv[1:] or ["docs/configuration.md"])[0])
    path.write_text(render(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
