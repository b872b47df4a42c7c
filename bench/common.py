"""What every benchmark shares: where results go and how they are written.

Each benchmark prints its tables and writes ``bench/results/NAME.json`` (every number,
with the command and the machine) and ``bench/results/NAME.md`` (the tables the docs
include). Nothing in the docs is copied from them by hand.
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SHARED = ROOT.parent / "shared"


def machine() -> str:
    return f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}"


def command(script: str) -> str:
    return " ".join(["python", f"bench/{script}", *sys.argv[1:]])


def write_results(out: Path, name: str, results: dict[str, Any], markdown: str | None = None, indent: int = 2) -> None:
    """Write ``NAME.json`` and, when given, ``NAME.md`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(results, ensure_ascii=False, indent=indent) + "\n", "utf-8")
    if markdown is not None:
        (out / f"{name}.md").write_text(markdown if markdown.endswith("\n") else markdown + "\n", "utf-8")
