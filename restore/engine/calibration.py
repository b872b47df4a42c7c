"""Calibration of mask confidences. A mask's place is known, so the decision model, fitted
on deletions whose place is a guess, is too cautious there. A two-parameter logistic map
of its logit, fitted on held-out *train* documents masked by simulated filters
(``restore build masks``), turns it into the share of mask fills that are exactly right.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from restore.errors import ModelError
from restore.paths import DATA_DIR

DEFAULT_PATH = DATA_DIR / "mask-calibration.json"
# Without a corpus index a mask has fewer candidates, and fewer rivals: its own curves.
NO_INDEX_PATH = DATA_DIR / "mask-calibration-noindex.json"


def calibration_path(with_index: bool) -> Path:
    return DEFAULT_PATH if with_index else NO_INDEX_PATH


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


@dataclass(frozen=True)
class Curve:
    """``sigmoid(slope * logit(c) + margin * (logit(c) - logit(rival)) + bias)``, where
    ``rival`` is the best other candidate at the same mask: a candidate with close rivals
    (绿色, 开放, 协调 … all fit 坚持□□发展理念) is a guess, however well it reads.

    >>> Curve(1.0, 0.0, 0.0)(0.8, 0.1)
    0.8
    """

    slope: float = 1.0
    margin: float = 0.0
    bias: float = 0.0
    rows: int = 0

    def __call__(self, confidence: float, rival: float) -> float:
        x = logit(confidence)
        z = self.slope * x + self.margin * (x - logit(rival)) + self.bias
        return round(1.0 / (1.0 + math.exp(-z)), 6) if z > -40 else 0.0


@dataclass(frozen=True)
class MaskCalibration:
    """One curve for masks of known length (one ``□`` per character, a run of stars) and
    one for masks of any length (a single ``*``, an ``X`` placeholder): where the length is
    open, a list entry fits far more easily, and is far more often wrong.

    >>> MaskCalibration()(0.42, 0.1, None)
    0.42
    """

    fixed: Curve = Curve()
    open: Curve = Curve()

    def __call__(self, confidence: float, rival: float, length: int | None) -> float:
        return (self.open if length is None else self.fixed)(confidence, rival)

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> MaskCalibration:
        if not path.is_file():
            return cls()  # not fitted: the decision model's confidence as it is
        try:
            data = json.loads(path.read_text("utf-8"))
            curves = {
                k: Curve(float(v["slope"]), float(v["margin"]), float(v["bias"]), int(v.get("rows", 0)))
                for k, v in data["curves"].items()
            }
            return cls(curves["fixed"], curves["open"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ModelError(f"cannot read mask calibration {path}: {exc}") from None

    def save(self, path: Path, meta: dict[str, object]) -> None:
        curves = {
            name: {"slope": c.slope, "margin": c.margin, "bias": c.bias, "rows": c.rows}
            for name, c in (("fixed", self.fixed), ("open", self.open))
        }
        path.write_text(json.dumps({"curves": curves, "meta": meta}, ensure_ascii=False, indent=1) + "\n", "utf-8")
