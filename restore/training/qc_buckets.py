"""Perplexity buckets for QC: the paragraph perplexities that split held-out training
text into head, middle and tail.
"""

from __future__ import annotations

from typing import Any


def perplexity_buckets(lm: Any, sources: list[Any]) -> tuple[float, float]:
    """The 33rd and 67th percentile of paragraph perplexity over held-out train text."""
    import numpy as np

    from restore.io.corpus import is_heldout, iter_documents

    values: list[float] = []
    for source in sources:
        for doc_id, text in iter_documents(source):
            if not is_heldout(doc_id):
                continue
            values.extend(lm.perplexity(line) for line in text.split("\n") if len(line.strip()) >= 10)
    if not values:
        raise ValueError("no held-out paragraphs in these sources")
    lo, hi = np.percentile(np.array(values), [100 / 3, 200 / 3])
    return round(float(lo), 1), round(float(hi), 1)
