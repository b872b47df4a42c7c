"""The architecture is a rule, not a wish: the folder tree is the flow, and these tests
fail when an import crosses it.

- ``restore.cli`` may import anything; nothing imports it (and only it imports click).
- ``restore.training`` imports runtime code; runtime code never imports training.
- every module imports on its own, in a fresh interpreter.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "restore"


def modules() -> list[str]:
    """Every module of the package; ``restore.__main__`` is the entry point, which runs
    the command line when imported and belongs to it."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "__main__.py":
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found.append(".".join(parts))
    return found


def imports_of(module: str) -> set[str]:
    """Every module ``module`` imports, at any depth of its code (lazy imports count)."""
    path = ROOT / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = ROOT / module.replace(".", "/") / "__init__.py"
    tree = ast.parse(path.read_text("utf-8"))
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_pkg else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names)
    return found


def _under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize("module", [m for m in modules() if not _under(m, "restore.cli")])
def test_nothing_imports_the_cli_and_only_the_cli_imports_click(module: str):
    found = imports_of(module)
    assert not any(_under(i, "restore.cli") for i in found), module
    assert not any(_under(i, "click") for i in found), module


@pytest.mark.parametrize(
    "module", [m for m in modules() if not _under(m, "restore.training") and not _under(m, "restore.cli")]
)
def test_runtime_never_imports_training(module: str):
    assert not any(_under(i, "restore.training") for i in imports_of(module)), module


def test_every_module_imports_alone_in_a_fresh_interpreter():
    def load(module: str) -> tuple[str, str]:
        proc = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True)
        return module, proc.stderr.strip().splitlines()[-1] if proc.returncode else ""

    with ThreadPoolExecutor(4) as pool:
        failures = {m: err for m, err in pool.map(load, modules()) if err}
    assert failures == {}


def test_the_library_loads_without_click():
    code = "import sys, restore, restore.engine.restorer, restore.batch.runner; print('click' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
