"""The layout shows the architecture: packages by idea, no import cycle, one direction."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest

import broadcast

SRC = Path(broadcast.__file__).parent

TOP_LEVEL_MAX = 14
PENDING_MOVE: frozenset[str] = frozenset()
"""Top-level files on their way into a package (none)."""
ALLOWED_CYCLES: dict[frozenset[str], str] = {}
"""Each import cycle that is tolerated, and why (ideally none)."""
ENGINE = (
    "broadcast._broadcaster",
    "broadcast._capabilities",
    "broadcast._channel",
    "broadcast._errors",
    "broadcast._redact",
    "broadcast._report",
    "broadcast._retry",
    "broadcast._scope",
    "broadcast._selection",
    "broadcast._update",
    "broadcast.http",
    "broadcast.journal",
)
"""The engine and the toolkit: below configuration, the channels and the command."""
ABOVE_ENGINE = ("broadcast.channels", "broadcast.config", "broadcast.cli", "broadcast.demo")


def _module(path: Path) -> tuple[str, bool]:
    """The dotted name of a source file, and whether it is a package's ``__init__``."""
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


MODULES = {_module(p)[0]: p for p in sorted(SRC.rglob("*.py"))}


def _import_nodes(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Every import, at module level or inside functions, outside ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []

    def walk(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for other in child.orelse:
                    visit(other)
                continue
            visit(child)

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        walk(node)

    walk(tree)
    return found


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The modules of ``broadcast`` one import statement loads, absolute."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if node.level:
        here = module.split(".") if is_package else module.split(".")[:-1]
        here = here[: len(here) - (node.level - 1)]
        base = ".".join([*here, *([node.module] if node.module else [])])
    else:
        base = node.module or ""
    return {base, *(f"{base}.{alias.name}" for alias in node.names)}


def _loaded_with(target: str, importer: str) -> set[str]:
    """``target`` and the packages above it that importing it runs, seen from ``importer``.

    Importing ``broadcast.journal._sqlite`` runs ``broadcast/journal/__init__.py`` first,
    unless the importer is inside that package already (it is being loaded).
    """
    parts = target.split(".")
    loaded = {".".join(parts[:i]) for i in range(2, len(parts) + 1)}
    inside = {".".join(importer.split(".")[:i]) for i in range(1, importer.count(".") + 2)}
    return {m for m in loaded | {target} if m in MODULES and m not in inside}


def _graph() -> dict[str, set[str]]:
    """Who imports whom inside ``broadcast``, lazily or not, by reading the source."""
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        is_package = path.name == "__init__.py"
        deps: set[str] = set()
        for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            for target in _targets(module, is_package, node):
                if target.startswith("broadcast."):
                    deps |= _loaded_with(target, module)
        graph[module] = deps - {module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_no_import_cycle() -> None:
    """No module of broadcast imports itself back, at module level or in a function."""
    cycles = [sorted(c) for c in _cycles(_graph()) if c not in ALLOWED_CYCLES]
    assert cycles == []


def test_the_cycle_finder_finds_cycles() -> None:
    """The finder reports a cycle, including one made by a package's __init__."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [frozenset({"a", "b", "c"})]
    assert "broadcast.journal" in _loaded_with("broadcast.journal._sqlite", "broadcast._channel")
    assert "broadcast.journal" not in _loaded_with(
        "broadcast.journal._sqlite", "broadcast.journal._protocol"
    )
    lazy = ast.parse("def f():\n    from ._x import y\nif TYPE_CHECKING:\n    from ._z import w\n")
    assert [n.module for n in _import_nodes(lazy)] == ["_x"]


def test_top_level_holds_at_most_fourteen_modules() -> None:
    """src/broadcast holds the engine's modules; the rest live in packages by idea."""
    top = sorted(p.name for p in SRC.glob("*.py") if p.name not in PENDING_MOVE)
    assert len(top) <= TOP_LEVEL_MAX, top


@pytest.mark.parametrize("module", [m for m in MODULES if m.startswith(ENGINE)])
def test_engine_never_imports_channels_config_or_httpx_internals(module: str) -> None:
    """Dependencies point one way: the engine imports no channel, config or CLI module."""
    path = MODULES[module]
    imported: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        imported |= _targets(module, path.name == "__init__.py", node)
    bad = sorted(m for m in imported if m.startswith(ABOVE_ENGINE) or m.startswith("httpx._"))
    if module == "broadcast.http":  # the default transport, imported when a client is made
        bad = [m for m in bad if not m.startswith("broadcast.channels._aiohttp")]
    assert bad == []


def test_a_name_that_left_the_top_level_still_works_and_says_where() -> None:
    """broadcast.Claim still resolves, with a DeprecationWarning naming broadcast.journal."""
    with pytest.warns(DeprecationWarning, match=r"broadcast\.journal\.Claim"):
        claim = broadcast.Claim  # type: ignore[attr-defined]
    assert claim is broadcast.journal.Claim
    for name, package in broadcast._MOVED.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            assert getattr(broadcast, name) is getattr(getattr(broadcast, package), name)
        assert name not in broadcast.__all__
