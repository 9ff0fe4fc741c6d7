"""The shape of the code: stages that import only earlier stages, pages that use only the package's face."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import recommender

pytestmark = pytest.mark.unit

PROJECT = Path(__file__).resolve().parents[1]
PACKAGE = PROJECT / "recommender"
# The stages in the order data flows; a stage imports the base modules and earlier stages only.
STAGES = ("data", "features", "garments", "index", "store", "search", "evaluation", "training", "explore", "pipeline",
          "api", "cli")
BASE = ("atomic", "config", "goals")


def _imports(path: Path) -> list[ast.ImportFrom | ast.Import]:
    return [node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, (ast.Import, ast.ImportFrom))]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package_edges() -> dict[str, set[str]]:
    """Module -> package modules it imports, at any depth of the file (function-level imports included)."""
    paths = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    edges = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in _imports(path):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
                named = {f"{module}.{alias.name}" for alias in node.names}
                targets |= ({module} if node.module and module in paths else set()) | named
        edges[name] = targets & set(paths)
    return edges


def _stage(module: str) -> int:
    """-1 for the base modules, the stage's number for a module inside a stage."""
    part = module.split(".")[1] if "." in module else ""
    return STAGES.index(part) if part in STAGES else -1


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


def test_the_package_is_stages_and_base_modules_only():
    top = {path.stem for path in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    folders = {path.name for path in PACKAGE.iterdir() if path.is_dir() and path.name != "__pycache__"}
    assert top == set(BASE)
    assert folders == set(STAGES)


def test_a_stage_imports_only_base_modules_and_earlier_stages():
    wrong = [(module, target) for module, targets in _package_edges().items() if module.count(".") > 0
             and module.split(".")[1] not in ("__main__",) for target in targets
             if _stage(target) > _stage(module) and not (module == "recommender" or target == "recommender")]
    assert wrong == []


def test_base_modules_import_no_stage():
    assert all(_stage(target) == -1 for module in BASE for target in _package_edges()[f"recommender.{module}"])


@pytest.mark.parametrize("page", sorted((PROJECT / "app").rglob("*.py")) + [PROJECT / "streamlit_app.py"],
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
    hits = [(path.name, line) for path in PACKAGE.rglob("*.py") for line in path.read_text().splitlines()
            if '"imagenet"' in line and "weights=" not in line and "``" not in line]
    assert hits == [("manifest.py", 'BACKBONE_SPACE = "imagenet"')]


def _code_lines(path: Path) -> list[str]:
    """A module's lines of code, its docstrings and comments left out."""
    tree = ast.parse(path.read_text())
    docstrings = {node.body[0].lineno for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and node.lineno in docstrings:
            skipped.update(range(node.lineno, node.end_lineno + 1))
    return [line for number, line in enumerate(path.read_text().splitlines(), start=1)
            if number not in skipped and not line.lstrip().startswith("#")]


@pytest.mark.parametrize(("what", "pattern", "owners"), [
    ("an artifact file name",
     r"""f["'](annoy|vectors|colours|metadata|head|split|map|evaluation)-\{|\.(work|finetune)-\{""",
     {"store/names.py"}),
    ("the catalogue's extractor", r"Extractor\.from_settings\(", {"store/predictor.py"}),
    ("the garment finder's loading", r"\bload_finder\(", {"store/predictor.py", "garments/finder.py"}),
    ("a neighbour search over an index", r"\bindex\(\)?\.query\(", {"search/engine.py", "index/tuning.py"}),
    ("the queries' predicted labels", r"within_kinds\(", {"search/engine.py", "search/ranking.py"}),
    ("the k range", r"MAX_K\b.*(<=|>=|<|>)|(<=|>=|<|>).*\bMAX_K\b|1 <= k <= 50", {"search/engine.py"}),
])
def test_each_rule_has_one_owner(what, pattern, owners):
    import re

    found = {path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py")
             if any(re.search(pattern, line) for line in _code_lines(path))}
    assert found <= owners, f"{what} is written outside {sorted(owners)}: {sorted(found - owners)}"


def _dotted_references(text: str) -> set[str]:
    import re

    return {match.rstrip(".") for match in re.findall(r"\brecommender(?:\.[A-Za-z_][A-Za-z0-9_]*)+", text)}


def _resolves(dotted: str) -> bool:
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(target, name):
                return False
            target = getattr(target, name)
        return True
    return False


def test_every_dotted_reference_in_docstrings_and_docs_resolves():
    """A docstring or a page citing ``recommender.x.y`` cites a module, class or function that exists."""
    texts = {path: "\n".join(filter(None, (ast.get_docstring(node, clean=False) for node in ast.walk(
        ast.parse(path.read_text())) if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef |
                                                   ast.AsyncFunctionDef)))) for path in PACKAGE.rglob("*.py")}
    texts |= {path: path.read_text() for path in [*(PROJECT / "docs").rglob("*.md"), PROJECT / "README.md"]}
    broken = sorted({(path.relative_to(PROJECT).as_posix(), ref) for path, text in texts.items()
                     for ref in _dotted_references(text) if not ref.startswith("recommender.py") and
                     not _resolves(ref)})
    assert broken == []


def test_no_function_is_longer_than_a_reader_can_follow():
    long = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = node.body[1] if ast.get_docstring(node) and len(node.body) > 1 else node.body[0]
                if node.end_lineno - first.lineno + 1 > 80:
                    long.append(f"{path.relative_to(PACKAGE)}:{node.name}")
    assert long == []


def test_nothing_outside_the_package_reaches_through_a_recommender():
    import re

    outside = [*(PROJECT / "app").rglob("*.py"), *(PROJECT / "benchmarks").glob("*.py"),
               *(PROJECT / "tests").rglob("*.py"), PROJECT / "streamlit_app.py"]
    pattern = re.compile(r"\b(recommender|served)\.(artifacts|extractor|_[a-z]\w*)\b")
    found = [f"{path.relative_to(PROJECT)}: {line.strip()}" for path in outside if path.name != "test_codebase.py"
             for line in path.read_text().splitlines() if pattern.search(line)]
    assert found == []
