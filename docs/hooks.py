"""mkdocs hooks: the benchmark pages include ``bench/results/*.md`` as the benchmarks
wrote them, so no table in the docs is ever copied by hand."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results"
MARKER = re.compile(r"<!--\s*bench:([a-z-]+)\s*-->")


def _include(match: re.Match[str]) -> str:
    path = RESULTS / f"{match.group(1)}.md"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: run the benchmark that writes it (see docs/benchmarks.md)")
    text = path.read_text("utf-8")
    # The results' own top heading would compete with the page's: demote every heading.
    return re.sub(r"^(#+) ", lambda m: "#" * (len(m.group(1)) + 2) + " ", text, flags=re.M)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    return MARKER.sub(_include, markdown)


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    for image in sorted(RESULTS.glob("*.png")):
        files.append(File(image.name, str(RESULTS), config["site_dir"], config["use_directory_urls"]))
    return files
