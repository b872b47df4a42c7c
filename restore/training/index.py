"""Building the corpus index: a suffix array (libdivsufsort) over the training split,
held-out documents left out.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from restore.errors import ModelError
from restore.io.corpus import HELDOUT_MODULUS, check_training_sources
from restore.models.index import BOUNDARY, CARD_NAME, SA_NAME, TEXT_NAME, _units
from restore.training.lm import training_lines


def build_index(sources: Sequence[Path], out_dir: Path) -> dict[str, object]:
    """Build the suffix array over the training split of ``sources``.

    Uses the same paragraphs as the language models (held-out and ``*-dev*`` documents
    excluded), so evidence the decision model is fitted on stays honest.
    """
    try:
        from pydivsufsort import divsufsort
    except ImportError:
        raise ModelError("building a corpus index needs pydivsufsort: pip install 'restore[index]'") from None
    files = check_training_sources(sources)
    started = time.time()
    paragraphs = [line.replace(" ", "") for line in training_lines(files, reverse=False)]
    if not paragraphs:
        raise ModelError("no training text found for the corpus index")
    reference = BOUNDARY.join(paragraphs) + BOUNDARY
    del paragraphs
    units = np.frombuffer(_units(reference), dtype=">u2")
    del reference
    if len(units) >= 2**31:
        raise ModelError("reference text too large for a 32-bit suffix array")
    sa = np.asarray(divsufsort(units.astype(np.uint16)), dtype="<i4")
    out_dir.mkdir(parents=True, exist_ok=True)
    # Write under temporary names and rename, so a half-built index is never picked up.
    parts = {TEXT_NAME: units.tobytes(), SA_NAME: sa.tobytes()}
    for name, data in parts.items():
        tmp = out_dir / f".{name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, out_dir / name)
    card = {
        "version": time.strftime("index-%Y%m%d", time.gmtime()),
        "code_units": int(len(units)),
        "training_files": [p.name for p in files],
        "heldout": f"documents with blake2b(id) % {HELDOUT_MODULUS} == 0 are withheld, as for the language models",
        "bytes": {name: len(data) for name, data in parts.items()},
        "build_seconds": round(time.time() - started, 1),
    }
    (out_dir / CARD_NAME).write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return card
