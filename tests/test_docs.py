"""The docs keep up with the code: every module is on the architecture page; the README stays a front page."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PROJECT = Path(__file__).resolve().parents[1]
MODULES = sorted(path for folder in ("recommender", "app") for path in (PROJECT / folder).rglob("*.py")
                 if path.name not in ("__init__.py", "__main__.py") or path.parent.name == "cli")


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.relative_to(PROJECT).as_posix())
def test_every_module_is_named_on_the_architecture_page(module):
    page = (PROJECT / "docs" / "architecture.md").read_text()
    relative = module.relative_to(PROJECT).as_posix()
    assert relative in page or f"`{module.name}`" in page or f", `{module.name}`" in page, relative


def test_the_readme_is_a_front_page_and_its_links_resolve():
    readme = (PROJECT / "README.md").read_text()
    assert len(readme.splitlines()) <= 160
    for target in ("docs/architecture.md", "docs/evaluation.md", "docs/performance.md", "docs/operations.md"):
        assert f"({target})" in readme and (PROJECT / target).is_file()


def test_code_comments_cite_docs_that_exist():
    import re

    cited = {match for path in (PROJECT / "recommender").rglob("*.py")
             for match in re.findall(r"docs/[\w/.-]+\.md", path.read_text())}
    assert cited and all((PROJECT / target).is_file() for target in cited), sorted(cited)
