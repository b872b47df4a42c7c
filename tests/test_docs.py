"""The documentation keeps its promises: the public API's examples run, and the README
stays a page a user reads (the rest lives in docs/)."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Modules whose public docstrings carry examples.
DOCUMENTED = [
    "restore.engine.restorer",
    "restore.engine.config",
    "restore.engine.script",
    "restore.engine.calibration",
    "restore.evaluation.simulate",
    "restore.document",
    "restore.models.lexicon",
    "restore.review.tui",
    "restore.batch.step",
    "restore.io.records",
    "restore.io.names",
    "restore.io.writers",
]


@pytest.mark.parametrize("name", DOCUMENTED)
def test_docstring_examples_run(name: str):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0


def test_the_readme_is_a_page_and_the_docs_hold_the_rest():
    readme = (ROOT / "README.md").read_text("utf-8")
    assert len(readme.splitlines()) <= 300
    pages = list((ROOT / "docs").rglob("*.md"))
    assert len(pages) >= 4
    nav = (ROOT / "mkdocs.yml").read_text("utf-8")
    for page in pages:
        assert page.relative_to(ROOT / "docs").as_posix() in nav, f"{page} is not in the mkdocs nav"
