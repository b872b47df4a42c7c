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

from restore.engine.decision import DEFAULT_PATH, DecisionModel, fit
from restore.engine.rescore import Rescorer, feature_names, rescore_path
from restore.engine.restorer import Restorer
from restore.evaluation.measure import evaluate
from restore.evaluation.simulate import damage
from restore.io.corpus import check_training_sources, is_heldout, iter_documents
from restore.models.index import CorpusIndex
from restore.models.lexicon import FilterList, default_filter_list, load_filter_list
from restore.models.neural import NeuralLM


def heldout_documents(sources: Sequence[Path], limit: int, seed: int = 13) -> list[str]:
    docs = [
        text for path in check_training_sources(sources) for doc_id, text in iter_documents(path) if is_heldout(doc_id)
    ]
    random.Random(seed).shuffle(docs)
    return docs[:limit]


def _plans(lists: Sequence[Path]) -> list[tuple[FilterList, FilterList]]:
    """(list that damages, list the restorer knows) pairs: the default list, then each
    extra list as a user would run it, on top of the default one."""
    base = default_filter_list()
    plans: list[tuple[FilterList, FilterList]] = [(base, base)]
    for path in lists:
        flist = load_filter_list(path)
        plans.append((flist, base.merged(flist)))
    return plans


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
    xs: list[list[float]] = []
    ys: list[float] = []
    for k, (damaging, known) in enumerate(_plans(lists)):
        restorer = Restorer(model_dir=model_dir, filter_list=known, use_index=False, use_neural=False)
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


def fit_rescorer(
    sources: Sequence[Path],
    lists: Sequence[Path],
    index: CorpusIndex | None,
    neural: NeuralLM | None = None,
    out_dir: Path | None = None,
    docs_per_list: int = 500,
) -> dict[str, DecisionModel]:
    """Fit the rescoring models on the same kind of rows as the decision model.

    Every shortlisted candidate (not only the top one) is a row, labelled by whether it is
    exactly the deleted string: the rescorer may change which candidate comes first.
    One pass collects every feature; a model is fitted for each combination of the
    sources given (index, neural model, both) and saved where ``rescore_path`` says.
    Neither source may hold the held-out documents (``build_index`` and
    ``train_neural`` leave them out).
    """
    started = time.time()
    docs = heldout_documents(sources, docs_per_list * (len(lists) + 1))
    probe = Rescorer(index, neural, DecisionModel.prior_only())
    xs: list[list[float]] = []
    ys: list[float] = []
    for k, (damaging, known) in enumerate(_plans(lists)):
        restorer = Restorer(filter_list=known, use_index=False, use_neural=False)
        for original in docs[k * docs_per_list : (k + 1) * docs_per_list]:
            damaged, gold = damage(original, damaging.entries)
            if not gold:
                continue
            gold_at = {g.offset: g.text for g in gold}
            for result in restorer.analyse(damaged).results:
                for scored, _, _, row in probe.evidence(result)[0]:
                    xs.append(row)
                    ys.append(1.0 if gold_at.get(result.junction.offset) == scored.text else 0.0)
    full = feature_names(index is not None, neural is not None)
    x = np.array(xs)
    combos = [(True, False), (False, True), (True, True)]
    models: dict[str, DecisionModel] = {}
    for use_index, use_neural in combos:
        if (use_index and index is None) or (use_neural and neural is None):
            continue
        names = feature_names(use_index, use_neural)
        columns = [full.index(n) for n in names]
        model = fit(x[:, columns], np.array(ys), features=names)
        model.meta.update(
            {
                "lists": ["default"] + [p.name for p in lists],
                "documents": len(docs),
                "rows": len(ys),
                "positives": int(sum(ys)),
                "seconds": round(time.time() - started, 1),
            }
        )
        if use_index and index is not None:
            model.meta["index"] = index.version
        if use_neural and neural is not None:
            model.meta["neural"] = neural.version
        path = rescore_path(use_index, use_neural)
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            path = out_dir / path.name
        model.save(path)
        models[path.name] = model
    return models
