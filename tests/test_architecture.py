"""The package's shape, read from its source with ast: no import cycles, layers kept.

Every ``import`` counts, at module level or inside a function (a lazy import
is still a dependency).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "src" / "dailypapers"
Graph = dict[str, set[str]]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, ast.Module]:
    return {module_name(p): ast.parse(p.read_text(encoding="utf-8")) for p in PACKAGE.rglob("*.py")}


def imported(tree: ast.Module, known: set[str]) -> Iterator[tuple[str, str | None]]:
    """``(module, name)`` for every import of the package (name: what ``from`` takes)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "dailypapers":
                    yield alias.name, None
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "dailypapers":
                continue
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                if submodule in known:
                    yield submodule, None
                else:
                    yield node.module, alias.name


def graph(trees: dict[str, ast.Module]) -> Graph:
    known = set(trees)
    return {name: {m for m, _ in imported(tree, known)} & known for name, tree in trees.items()}


def reachable(edges: Graph, start: str) -> set[str]:
    """Every module ``start`` imports, directly or through others."""
    seen: set[str] = set()
    todo = list(edges[start])
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(edges[node])
    return seen


def cycles(edges: Graph) -> list[list[str]]:
    """Each group of modules that import each other (directly or not), sorted."""
    reach = {node: reachable(edges, node) for node in edges}
    groups = {
        tuple(sorted(other for other in reach[node] if node in reach[other]))
        for node in edges
        if node in reach[node]
    }
    return sorted(list(group) for group in groups)


def test_the_cycle_finder_finds_cycles() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert sorted(cycles(edges)) == [["a", "b", "c"], ["e"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_package_has_no_import_cycle() -> None:
    edges = graph(modules())
    assert len(edges) > 50 and edges["dailypapers.pipeline"]
    assert cycles(edges) == []


def test_no_private_name_is_imported_across_modules() -> None:
    trees = modules()
    known = set(trees)
    crossing = [
        f"{name} imports {target}.{what}"
        for name, tree in trees.items()
        for target, what in imported(tree, known)
        if what is not None and what.startswith("_") and not what.startswith("__")
    ]
    assert crossing == []


QUERY_BASE = ("dailypapers.models", "dailypapers.schema", "dailypapers.sql", "dailypapers.fts")

LAYERS = {
    # a package (or module) -> the only package modules it may import
    "dailypapers.render": (
        "dailypapers.models",
        "dailypapers.memo",  # per-render memos (imports only models)
        "dailypapers.links",
        "dailypapers.render",
    ),
    "dailypapers.store": (
        "dailypapers.models",
        "dailypapers.schema",
        "dailypapers.sql",
        "dailypapers.fts",
        "dailypapers.sqlite_health",  # a read-only check before any write (stdlib only)
        "dailypapers.listedquery",  # the one reader of a topic's newest papers
    ),
    "dailypapers.fetchstate": ("dailypapers.schema", "dailypapers.sql", "dailypapers.store"),
    "dailypapers.search": (
        "dailypapers.arxiv.query",
        "dailypapers.fts",
        "dailypapers.ftsquery",
        "dailypapers.models",
        "dailypapers.searchlite",
        "dailypapers.searchquery",
        "dailypapers.sqlite_health",
        "dailypapers.store",
    ),
    # the search command's SQLite reads without SQLAlchemy: nothing of the store's
    "dailypapers.searchlite": (
        "dailypapers.models",
        "dailypapers.ftsquery",
        "dailypapers.sqlite_health",  # its file URI (stdlib only)
    ),
    "dailypapers.ftsquery": ("dailypapers.arxiv.query",),
    # the query modules beside the schema: nothing above the store
    "dailypapers.searchquery": (*QUERY_BASE, "dailypapers.store"),
    "dailypapers.localquery": QUERY_BASE,
    "dailypapers.doctorchecks": QUERY_BASE,
    "dailypapers.outboxstate": QUERY_BASE,
    "dailypapers.newstate": QUERY_BASE,
    "dailypapers.listedquery": QUERY_BASE,
    "dailypapers.schema": ("dailypapers.models", "dailypapers.fts"),
}


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_layers_import_only_what_is_below_them(layer: str) -> None:
    edges = graph(modules())
    allowed = LAYERS[layer]
    members = [n for n in edges if n == layer or n.startswith(layer + ".")]
    assert members
    upward = sorted(
        f"{name} -> {target}"
        for name in members
        for target in edges[name]
        if not any(target == a or target.startswith(a + ".") for a in allowed)
        and target not in ("dailypapers", "dailypapers.arxiv")
    )
    assert upward == []


# The store, the schema, the SQL toolkit and the query modules beside them.
SQL_MODULES = {
    "dailypapers.store",
    "dailypapers.schema",
    "dailypapers.sql",
    "dailypapers.fts",
    "dailypapers.doctorchecks",
    "dailypapers.searchquery",
    "dailypapers.fetchstate",
    "dailypapers.harveststate",
    "dailypapers.summarystore",
    "dailypapers.rank.libstore",
    "dailypapers.rank.embedstore",
    "dailypapers.outboxstate",
    "dailypapers.localquery",
    "dailypapers.newstate",
    "dailypapers.listedquery",
}


def builds_sql(tree: ast.Module) -> bool:
    """Whether a module imports SQLAlchemy's SQL builders (a ``Connection`` type is fine)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(
            a.name.split(".")[0] == "sqlalchemy" for a in node.names
        ):
            return True
        module = node.module or "" if isinstance(node, ast.ImportFrom) else ""
        if module.split(".")[0] == "sqlalchemy" and module != "sqlalchemy.engine":
            return True
    return False


def test_sql_is_built_only_by_the_store_and_its_query_modules() -> None:
    builders = {name for name, tree in modules().items() if builds_sql(tree)}
    assert "dailypapers.store" in builders
    assert builders <= SQL_MODULES, sorted(builders - SQL_MODULES)


def test_the_cli_shows_what_config_and_the_run_define() -> None:
    """The CLI imports no parser of arXiv's formats (its choices come from names/config)."""
    from typing import get_args

    from dailypapers.arxiv.oai import FORMATS
    from dailypapers.config import OaiSettings
    from dailypapers.names import OAI_FORMATS

    assert OAI_FORMATS == FORMATS == get_args(OaiSettings.model_fields["format"].annotation)
    edges = graph(modules())
    assert not {m for m in edges["dailypapers.cli"] if m.startswith("dailypapers.arxiv")}


def test_only_the_store_opens_connections() -> None:
    """Elsewhere a connection comes from ``Store.reading`` / ``transaction`` / ``write``."""
    opening = sorted(
        module_name(path)
        for path in PACKAGE.rglob("*.py")
        if path.name != "store.py" and ".engine." in path.read_text(encoding="utf-8")
    )
    assert opening == []
