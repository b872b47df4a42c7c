"""Fit the decision model on synthetic damage of held-out *train* documents.

The language models never saw these documents (see ``lm.is_heldout``), so the gains
the decision model learns from look like the gains on new text. Dev data is never read.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .corpus import iter_documents
from .decision import DEFAULT_PATH, DecisionModel, fit
from .engine import Restorer
from .evaluate import evaluate
from .lexicon import FilterList, default_filter_list, load_filter_list
from .lm import check_training_sources, is_heldout


def heldout_documents(sources: Sequence[Path], limit: int, seed: int = 13) -> list[str]:
    docs = [
        text for path in check_training_sources(sources) for doc_id, text in iter_documents(path) if is_heldout(doc_id)
    ]
    random.Random(seed).shuffle(docs)
    return docs[:limit]


def fit_decision(
    sources: Sequence[Path],
    lists: Sequence[Path],
    out: Path = DEFAULT_PATH,
    docs_per_list: int = 500,
    model_dir: Path | None = None,
) -> DecisionModel:
    """Damage held-out documents with each list in turn and fit on the top candidates."""
    started = time.time()
    docs = heldout_documents(sources, docs_per_list * (len(lists) + 1))
    base = default_filter_list()
    plans: list[tuple[FilterList, FilterList]] = [(base, base)]
    for path in lists:
        flist = load_filter_list(path)
        # As a user would run it: their list on top of the default one.
        plans.append((flist, base.merged(flist)))
    xs: list[list[float]] = []
    ys: list[float] = []
    for k, (damaging, known) in enumerate(plans):
        restorer = Restorer(model_dir=model_dir, filter_list=known)
        chunk = docs[k * docs_per_list : (k + 1) * docs_per_list]
        report = evaluate(restorer, chunk, damaging.entries, thresholds=())
        for row in report.rows:
            xs.append(row.features)
            ys.append(1.0 if row.correct else 0.0)
    model = fit(np.array(xs), np.array(ys))
    model.meta.update(
        {
            "lists": ["default"] + [p.name for p in lists],
            "documents": len(docs),
            "positives": int(sum(ys)),
            "seconds": round(time.time() - started, 1),
        }
    )
    model.save(out)
    return model
