"""The shape of the code: an acyclic package, pages that use only its public face, tests apart from benchmarks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import recommender

PROJECT = Path(__file__).resolve().parents[1]
PACKAGE = PROJECT / "recommender"


def _imports(path: Path) -> list[ast.ImportFrom | ast.Import]:
    return [node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, (ast.Import, ast.ImportFrom))]


def _package_edges() -> dict[str, set[str]]:
    """Module -> package modules it imports, at any depth of the file (function-level imports included)."""
    modules = {path.stem for path in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    edges = {}
    for name in modules:
        targets = set()
        for node in _imports(PACKAGE / f"{name}.py"):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                targets |= {node.module} if node.module else {alias.name for alias in node.names}
        edges[name] = targets & modules
    return edges


def test_the_package_import_graph_has_no_cycle():
    edges, done, path = _package_edges(), set(), []

    def visit(module: str) -> None:
        if module in path:
            pytest.fail("import cycle: " + " -> ".join(path[path.index(module):] + [module]))
        if module in done:
            return
        path.append(module)
        for target in sorted(edges[module]):
            visit(target)
        path.pop()
        done.add(module)

    for module in sorted(edges):
        visit(module)


@pytest.mark.parametrize("page", sorted((PROJECT / "pages").glob("*.py")) + [PROJECT / "streamlit_app.py"],
                         ids=lambda p: p.name)
def test_pages_use_only_the_package_public_names(page):
    for node in _imports(page):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("recommender"):
            assert node.module == "recommender", f"{page.name} reaches into {node.module}"
            assert {alias.name for alias in node.names} <= set(recommender.__all__)
        if isinstance(node, ast.Import):
            assert not any(alias.name.startswith("recommender") for alias in node.names)
    assert '"imagenet"' not in page.read_text()


def test_every_public_name_exists():
    assert all(hasattr(recommender, name) for name in recommender.__all__)


@pytest.mark.parametrize("path", sorted((PROJECT / "tests").glob("*.py")), ids=lambda p: p.name)
def test_tests_use_no_private_names_and_no_benchmark_code(path):
    for node in _imports(path):
        if isinstance(node, ast.ImportFrom):
            assert not (node.module or "").startswith("benchmarks"), f"{path.name} imports {node.module}"
            assert not any(alias.name.startswith("_") for alias in node.names), f"{path.name}: {ast.dump(node)}"


def test_the_backbone_space_is_named_once():
    hits = [(path.name, line) for path in PACKAGE.glob("*.py") for line in path.read_text().splitlines()
            if '"imagenet"' in line and "weights=" not in line and "``" not in line]
    assert hits == [("artifacts.py", 'BACKBONE_SPACE = "imagenet"')]
