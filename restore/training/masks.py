"""Fitting the mask calibration (:mod:`restore.engine.calibration`) on held-out train
documents, masked by simulated filters both ways (one ``*`` per occurrence, one ``□`` per
character), never on dev."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from restore.engine.calibration import DEFAULT_PATH, MaskCalibration, logit
from restore.engine.restorer import Restorer
from restore.evaluation.simulate import mask
from restore.models.lexicon import default_filter_list, load_filter_list
from restore.training.rescoring import heldout_documents


def mask_rows(restorer: Restorer, docs: Sequence[str], entries: Sequence[str]) -> tuple[list[float], list[float]]:
    """(logit of the top candidate's confidence, whether it is exactly right) at every mask."""
    xs: list[float] = []
    ys: list[float] = []
    for doc in docs:
        for mode in ("star", "box"):
            masked, gold = mask(doc, entries, mode)  # type: ignore[arg-type]
            truth = {g.start: g.text for g in gold}
            for gap in restorer.gaps(restorer.analyse(masked)):
                if gap.kind == "mask" and gap.best is not None:
                    xs.append(logit(gap.best.confidence))
                    ys.append(1.0 if truth.get(gap.offset) == gap.best.text else 0.0)
    return xs, ys


def fit_mask_calibration(
    sources: Sequence[Path], lists: Sequence[Path], out: Path = DEFAULT_PATH, docs_per_list: int = 150
) -> MaskCalibration:
    started = time.time()
    bundled = Restorer()
    plans = [(default_filter_list().entries, bundled)]
    for path in lists:
        entries = load_filter_list(path).entries
        # The site's list given (--lexicon), and not told: a mask is often all a user has.
        plans.append((entries, Restorer(lexicons=[str(path)])))
        plans.append((entries, bundled))
    docs = heldout_documents(sources, docs_per_list * len(plans))
    xs: list[float] = []
    ys: list[float] = []
    for k, (entries, restorer) in enumerate(plans):
        # The engine as a user runs it, with its calibration left out while fitting a new one.
        restorer.mask_calibration = MaskCalibration()
        x, y = mask_rows(restorer, docs[k * docs_per_list : (k + 1) * docs_per_list], entries)
        xs += x
        ys += y
    if len(set(ys)) < 2:
        raise ValueError("not enough masks in the held-out documents to fit a calibration")
    a, b = _fit(np.array(xs), np.array(ys))
    model = MaskCalibration(a, b, len(xs))
    model.save(
        out,
        {
            "fitted_on": f"{len(docs)} held-out train documents, {len(plans)} lists, star and box masks",
            "lists": ["default"] + [p.name for p in lists] + ["each of them again, not told"],
            "right_share": round(float(np.mean(ys)), 4),
            "seconds": round(time.time() - started, 1),
        },
    )
    return model


def _fit(x: np.ndarray, y: np.ndarray, iterations: int = 50, l2: float = 1e-3) -> tuple[float, float]:
    """Logistic regression of ``y`` on ``x`` (slope, bias), by Newton's method."""
    w = np.zeros(2)
    design = np.stack([x, np.ones_like(x)], axis=1)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(design @ w)))
        grad = design.T @ (p - y) + l2 * w
        hess = (design * (p * (1 - p))[:, None]).T @ design + l2 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return float(w[0]), float(w[1])
