"""Rescore shortlisted junctions with evidence that sees further than the n-gram models.

The n-gram stage is cheap and its top few candidates almost always hold the right string,
so only junctions whose verdict is still uncertain are looked at again, with two sources
of long-context evidence, each optional:

- the corpus index: how far a verbatim reference match reaches across the junction with
  the candidate in place, and without it;
- the neural character model: the log likelihood ratio of the window around the
  junction with and without the candidate.

A second small logistic model, fitted like the decision model on held-out *train*
documents, combines what is available with the first-stage confidence. There is one
per combination of sources (``rescore_path``), fitted together by ``fit_rescorer``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from restore.engine.decision import DecisionModel
from restore.engine.suggest import JunctionResult, Scored
from restore.models.index import BOUNDARY, CorpusIndex, LongContext
from restore.models.neural import LEFT as NEURAL_LEFT
from restore.models.neural import RIGHT as NEURAL_RIGHT
from restore.models.neural import NeuralLM
from restore.paths import DATA_DIR

DEFAULT_RESCORE_PATH = DATA_DIR / "rescore.json"

INDEX_FEATURES = (
    "span_gain",  # longest reference match across the junction with the candidate, minus without
    "count_with",  # log(1 + occurrences of that longest match with the candidate)
    "count_without",  # log(1 + occurrences of the longest match without it)
    "span_margin",  # this candidate's match length minus the best other shortlisted candidate's
    "span_with",  # longest match with the candidate, in characters
    "span_without",  # longest match without it
)
NEURAL_FEATURES = (
    "neural_gain",  # log P(window with the candidate) - log P(window without), natural log
    "neural_margin",  # that gain minus the best other shortlisted candidate's
)


def feature_names(index: bool, neural: bool) -> tuple[str, ...]:
    return ("logit",) + (INDEX_FEATURES if index else ()) + (NEURAL_FEATURES if neural else ())


def rescore_path(index: bool, neural: bool) -> Path:
    """The fitted model for a combination of evidence sources (at least one)."""
    if index and neural:
        return DATA_DIR / "rescore-neural.json"
    if neural:
        return DATA_DIR / "rescore-neural-only.json"
    return DEFAULT_RESCORE_PATH


# Junctions whose best first-stage confidence lies in this range are rescored: outside it
# the n-gram verdict is already clear (and the index lookups cost time).
SHORTLIST = (0.02, 0.995)
# The neural model costs about 5 ms a junction. It can be asked only where the first-stage
# verdict is most open; on 300 held-out train documents (0.2, 0.95) was 26% faster than
# the whole shortlist for 0.002 less exact restoration. The bundled models were measured
# on the whole shortlist.
NEURAL_BAND = SHORTLIST
TOP_K = 3  # candidates rescored per junction
WINDOW = 16  # characters of context on each side


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def contexts(result: JunctionResult) -> tuple[str, str]:
    """The text around the junction as the models saw it; a line edge reads as BOUNDARY."""
    tokens, j = result.junction.line.tokens, result.junction.index
    left = "".join(tokens[max(0, j - WINDOW) : j])
    right = "".join(tokens[j : j + WINDOW])
    if j - WINDOW < 0:
        left = BOUNDARY + left
    if j + WINDOW >= len(tokens):
        right = right + BOUNDARY
    return left, right


def long_context(index: CorpusIndex, left: str, right: str, candidates: Sequence[str]) -> list[LongContext]:
    without = index.span(left + right, len(left) - 1, len(left) + 1)
    return [
        LongContext(index.span(left + c + right, len(left) - 1, len(left) + len(c) + 1), without) for c in candidates
    ]


def neural_contexts(result: JunctionResult) -> tuple[str, str]:
    """The wider window the neural model reads; a line edge reads as a line break."""
    tokens, j = result.junction.line.tokens, result.junction.index
    left = "".join(tokens[max(0, j - NEURAL_LEFT) : j])
    right = "".join(tokens[j : j + NEURAL_RIGHT])
    if j - NEURAL_LEFT < 0:
        left = "\n" + left
    if j + NEURAL_RIGHT >= len(tokens):
        right = right + "\n"
    return left, right


def _margins(values: Sequence[float]) -> list[float]:
    """Each value minus the best of the others (0 when there are no others)."""
    items = list(values)
    return [v - max(items[:k] + items[k + 1 :]) if len(items) > 1 else 0.0 for k, v in enumerate(items)]


def features(
    first_stage: Sequence[float],
    evidence: Sequence[LongContext] | None = None,
    neural_gains: Sequence[float] | None = None,
) -> list[list[float]]:
    """One row per shortlisted candidate, in ``feature_names`` order for the sources given."""
    rows = [[_logit(c)] for c in first_stage]
    if evidence is not None:
        spans = [float(lc.with_candidate.length) for lc in evidence]
        for row, lc, margin in zip(rows, evidence, _margins(spans)):
            w, o = lc.with_candidate, lc.without
            row += [
                float(w.length - o.length),
                math.log1p(w.count),
                math.log1p(o.count),
                margin,
                float(w.length),
                float(o.length),
            ]
    if neural_gains is not None:
        for row, gain, margin in zip(rows, neural_gains, _margins(list(neural_gains))):
            row += [gain, margin]
    return rows


def shortlisted(result: JunctionResult) -> list[Scored]:
    if not result.scored:
        return []
    top = result.scored[0].confidence
    if not SHORTLIST[0] <= top <= SHORTLIST[1]:
        return []
    return result.scored[:TOP_K]


class Rescorer:
    def __init__(
        self,
        index: CorpusIndex | None,
        neural: NeuralLM | None,
        model: DecisionModel,
        fallback: DecisionModel | None = None,
        neural_band: tuple[float, float] = SHORTLIST,
    ):
        """``model`` uses every source given; where the neural model is not asked (the
        junction's first-stage confidence lies outside ``neural_band``), ``fallback``,
        fitted on the index alone, rescores it, or nothing does."""
        if index is None and neural is None:
            raise ValueError("a rescorer needs the corpus index, the neural model or both")
        self.index = index
        self.neural = neural
        self.model = model
        self.fallback = fallback
        self.neural_band = neural_band

    @classmethod
    def load(cls, index: CorpusIndex | None, neural: NeuralLM | None = None, path: Path | None = None) -> Rescorer:
        names = feature_names(index is not None, neural is not None)
        model_path = path or rescore_path(index is not None, neural is not None)
        fallback = None
        if index is not None and neural is not None:
            fallback = DecisionModel.load(rescore_path(True, False), feature_names(True, False))
        return cls(index, neural, DecisionModel.load(model_path, names), fallback, NEURAL_BAND)

    @property
    def version(self) -> dict[str, str]:
        out = {}
        if self.index is not None:
            out["index"] = self.index.version
        if self.neural is not None:
            out["neural"] = self.neural.version
        return out

    def evidence(
        self, result: JunctionResult
    ) -> tuple[list[tuple[Scored, LongContext | None, float | None, list[float]]], DecisionModel | None]:
        """Rescoring features of the shortlisted candidates at one junction, and the model
        that reads them (nothing if the junction is not shortlisted)."""
        chosen = shortlisted(result)
        if not chosen:
            return [], None
        ask_neural = self.neural is not None and self.neural_band[0] <= chosen[0].confidence <= self.neural_band[1]
        if self.index is None and not ask_neural:
            return [], None
        texts = [s.text for s in chosen]
        found: list[LongContext] | None = None
        gains: list[float] | None = None
        if self.index is not None:
            found = long_context(self.index, *contexts(result), texts)
        if ask_neural and self.neural is not None:
            gains = self.neural.insertion_gains(*neural_contexts(result), texts)
        model = self.model if ask_neural or self.neural is None else self.fallback
        rows = features([s.confidence for s in chosen], found, gains)
        items = [(s, found[k] if found else None, gains[k] if gains else None, rows[k]) for k, s in enumerate(chosen)]
        return items, model

    def rescore(self, results: Sequence[JunctionResult]) -> None:
        for result in results:
            items, model = self.evidence(result)
            if model is None:
                continue
            for scored, found, gain, row in items:
                scored.long_context = found
                scored.neural_gain = gain
                scored.confidence = model.confidence(row)
            result.scored.sort(key=lambda s: s.confidence, reverse=True)
