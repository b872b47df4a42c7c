"""The decision model: turns a candidate's evidence into a calibrated confidence.

A logistic regression over a handful of features, fitted on synthetic damage of held-out
*train* documents (never dev). It is small enough to read: ``explain`` shows each
feature's contribution. Weights live in ``data/decision.json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from restore.paths import DATA_DIR

DEFAULT_PATH = DATA_DIR / "decision.json"

FEATURES = (
    "gain",  # forward + backward log10 gain, clipped
    "gain_min",  # the weaker of the two directions
    "margin",  # gain minus the best rival at the same junction
    "neighbour",  # gain minus the best gain one junction to either side
    "surprisal",  # how surprising the junction is as it stands
    "prior",  # log10 P(string) with no context, per character
    "length",  # characters inserted
    "pair",  # two filter strings at once (环境+保护)
    "in_document",  # the string occurs intact elsewhere in the document
    "signature",  # strength of a mined set phrase betrayed at this junction (0: none)
    "competitors",  # other candidates here whose gain is positive
    "list_size",  # log10 of the filter-list entries in play
    "document_support",  # log(1 + other junctions in this document where the string wins clearly)
)


# Each feature's position in a feature vector, so code reads features by name.
FEATURE = {name: i for i, name in enumerate(FEATURES)}


def _clip(x: float, lo: float = -10.0, hi: float = 10.0) -> float:
    return lo if x < lo else hi if x > hi else x


@dataclass
class DecisionModel:
    mean: list[float]
    scale: list[float]
    weights: list[float]
    bias: float
    meta: dict[str, object]
    features: tuple[str, ...] = FEATURES

    def logit(self, x: Sequence[float]) -> float:
        z = self.bias
        for xi, m, s, w in zip(x, self.mean, self.scale, self.weights):
            z += w * (_clip(xi, -20, 20) - m) / s
        return z

    def confidence(self, x: Sequence[float]) -> float:
        z = self.logit(x)
        return 1.0 / (1.0 + math.exp(-z)) if z > -40 else 0.0

    def explain(self, x: Sequence[float]) -> dict[str, float]:
        return {
            name: w * (_clip(xi, -20, 20) - m) / s
            for name, xi, m, s, w in zip(self.features, x, self.mean, self.scale, self.weights)
        }

    def save(self, path: Path = DEFAULT_PATH) -> None:
        data = {
            "features": list(self.features),
            "mean": self.mean,
            "scale": self.scale,
            "weights": self.weights,
            "bias": self.bias,
            "meta": self.meta,
        }
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH, features: tuple[str, ...] = FEATURES) -> DecisionModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["features"]) != features:
            raise ValueError(f"decision model {path} was fitted on other features")
        return cls(data["mean"], data["scale"], data["weights"], data["bias"], data.get("meta", {}), features)

    @classmethod
    def prior_only(cls) -> DecisionModel:
        """Used before a model is fitted: confidence from the LM gain alone."""
        n = len(FEATURES)
        weights = [0.0] * n
        weights[0] = 1.5
        return cls([0.0] * n, [1.0] * n, weights, -3.0, {"fitted": False})


def fit(
    x: np.ndarray, y: np.ndarray, l2: float = 1e-3, iterations: int = 50, features: tuple[str, ...] = FEATURES
) -> DecisionModel:
    """Fit L2-regularised logistic regression by Newton's method."""
    x = np.clip(x, -20, 20)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    z1 = np.hstack([z, np.ones((len(z), 1))])
    w = np.zeros(z1.shape[1])
    reg = l2 * len(z1) * np.eye(z1.shape[1])
    reg[-1, -1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(z1 @ w, -40, 40)))
        grad = z1.T @ (p - y) + reg @ w
        hess = (z1 * (p * (1 - p))[:, None]).T @ z1 + reg
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return DecisionModel(
        mean.tolist(), scale.tolist(), w[:-1].tolist(), float(w[-1]), {"fitted": True, "rows": int(len(y))}, features
    )
