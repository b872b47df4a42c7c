"""Fitting the mask calibration (:mod:`restore.engine.calibration`) on held-out train
documents, masked by simulated filters both ways (one ``*`` per occurrence, one ``□`` per
character), never on dev."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from restore.engine.calibration import Curve, MaskCalibration, calibration_path, logit
from restore.engine.detect import find_masks
from restore.engine.restorer import Restorer
from restore.evaluation.simulate import mask
from restore.models.lexicon import default_filter_list, load_filter_list
from restore.training.rescoring import heldout_documents


def mask_rows(
    restorer: Restorer, docs: Sequence[str], entries: Sequence[str]
) -> dict[str, tuple[list[list[float]], list[float]]]:
    """Per kind of mask ("fixed" length or "open"): for the top candidate at every mask, its
    logit and its margin over the best rival, and whether it is exactly right."""
    rows: dict[str, tuple[list[list[float]], list[float]]] = {"fixed": ([], []), "open": ([], [])}
    for doc in docs:
        for mode in ("star", "box"):
            masked, gold = mask(doc, entries, mode)  # type: ignore[arg-type]
            truth = {g.start: g.text for g in gold}
            lengths = {m.start: m.length for m in find_masks(masked)}
            for gap in restorer.gaps(restorer.analyse(masked)):
                if gap.kind == "mask" and gap.best is not None:
                    xs, ys = rows["open" if lengths.get(gap.offset) is None else "fixed"]
                    top = logit(gap.best.confidence)
                    rival = logit(gap.candidates[1].confidence) if len(gap.candidates) > 1 else logit(1e-3)
                    xs.append([top, top - rival])
                    ys.append(1.0 if truth.get(gap.offset) == gap.best.text else 0.0)
    return rows


def fit_mask_calibration(
    sources: Sequence[Path],
    lists: Sequence[Path],
    out: Path | None = None,
    docs_per_list: int = 150,
    use_index: bool = True,
) -> MaskCalibration:
    """Fit the curves for the engine as it runs with (or without) the corpus index, and
    write them where that engine reads them (or to ``out``)."""
    started = time.time()
    bundled = Restorer(use_index=use_index)
    with_index = bundled.rescorer is not None and bundled.rescorer.index is not None
    out = out or calibration_path(with_index)
    plans = [(default_filter_list().entries, bundled)]
    for path in lists:
        entries = load_filter_list(path).entries
        # The site's list given (--lexicon), and not told: a mask is often all a user has.
        plans.append((entries, Restorer(lexicons=[str(path)], use_index=use_index)))
        plans.append((entries, bundled))
    docs = heldout_documents(sources, docs_per_list * len(plans))
    rows: dict[str, tuple[list[list[float]], list[float]]] = {"fixed": ([], []), "open": ([], [])}
    for k, (entries, restorer) in enumerate(plans):
        # The engine as a user runs it, with its calibration left out while fitting a new one.
        restorer.mask_calibration = MaskCalibration()
        for kind, (x, y) in mask_rows(restorer, docs[k * docs_per_list : (k + 1) * docs_per_list], entries).items():
            rows[kind][0].extend(x)
            rows[kind][1].extend(y)
    curves = {}
    for kind, (xs, ys) in rows.items():
        if len(set(ys)) < 2:
            raise ValueError(f"not enough {kind}-length masks in the held-out documents to fit a calibration")
        slope, margin, bias = _fit(np.array(xs), np.array(ys))
        curves[kind] = Curve(slope, margin, bias, len(xs))
    model = MaskCalibration(curves["fixed"], curves["open"])
    model.save(
        out,
        {
            "fitted_on": f"{len(docs)} held-out train documents, {len(plans)} plans, star and box masks",
            "corpus_index": with_index,
            "lists": ["default"] + [p.name for p in lists] + ["each of them again, not told"],
            "right_share": {kind: round(float(np.mean(ys)), 4) for kind, (_, ys) in rows.items()},
            "seconds": round(time.time() - started, 1),
        },
    )
    return model


def _fit(x: np.ndarray, y: np.ndarray, iterations: int = 50, l2: float = 1e-3) -> tuple[float, ...]:
    """Logistic regression of ``y`` on the columns of ``x`` (their weights, then the bias),
    by Newton's method."""
    design = np.concatenate([x, np.ones((len(x), 1))], axis=1)
    w = np.zeros(design.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(design @ w)))
        grad = design.T @ (p - y) + l2 * w
        hess = (design * (p * (1 - p))[:, None]).T @ design + l2 * np.eye(design.shape[1])
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return tuple(float(v) for v in w)
