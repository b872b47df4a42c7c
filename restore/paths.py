"""Where the bundled models and data live: one place, so no module guesses its own way
to the package's data directory."""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
