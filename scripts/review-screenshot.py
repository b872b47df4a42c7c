"""Render the review loop's screen for README: imports the bundled sample page into a
scratch workspace and saves the screen of its first suggestion as docs/review-screen.svg.

    python scripts/review-screenshot.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from restore.review.session import ReviewSession  # noqa: E402
from restore.review.sources import iter_sources  # noqa: E402
from restore.review.tui import render  # noqa: E402
from restore.review.workspace import Workspace  # noqa: E402

SAMPLE = ROOT / "restore" / "data" / "samples" / "chengdu-2020-excerpt.scraped.txt"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with Workspace(str(Path(tmp) / "restore.db"), "archivist") as ws:
            ws.import_items(iter_sources([str(SAMPLE)]))
            session = ReviewSession(ws.store, "archivist")
            # Work through the page as a reviewer would, up to a gap with a choice to make.
            while session.gap is not None and len(session.gap.candidates) < 2:
                if session.gap.candidates:
                    session.accept(1)
                else:
                    session.mark_unknown()
            console = Console(record=True, width=118, force_terminal=True)
            console.print(render(session.view(), session.message))
            out = ROOT / "docs" / "review-screen.svg"
            console.save_svg(str(out), title="restore review")
            print(f"wrote {out}")


if __name__ == "__main__":
    main()
