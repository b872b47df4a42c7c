"""Rescore shortlisted junctions with long-context evidence from the corpus index.

The n-gram stage is cheap and its top few candidates almost always hold the right string,
so only junctions whose verdict is still uncertain are looked at again. For each of their
best candidates the index tells how far a verbatim reference match reaches across the
junction with the candidate in place, and without it. A second small logistic model
(``data/rescore.json``, fitted like the decision model on held-out *train* documents)
combines that with the first-stage confidence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from .decision import DecisionModel
from .index import BOUNDARY, CorpusIndex, LongContext
from .suggest import Scored, SiteResult

DEFAULT_RESCORE_PATH = Path(__file__).parent / "data" / "rescore.json"

RESCORE_FEATURES = (
    "logit",  # log-odds of the first-stage confidence
    "span_gain",  # longest reference match across the junction with the candidate, minus without
    "count_with",  # log(1 + occurrences of that longest match with the candidate)
    "count_without",  # log(1 + occurrences of the longest match without it)
    "span_margin",  # this candidate's match length minus the best other shortlisted candidate's
    "span_with",  # longest match with the candidate, in characters
    "span_without",  # longest match without it
)

# Junctions whose best first-stage confidence lies in this range are rescored: outside it
# the n-gram verdict is already clear (and the index lookups cost time).
SHORTLIST = (0.02, 0.995)
TOP_K = 3  # candidates rescored per junction
WINDOW = 16  # characters of context on each side


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def contexts(result: SiteResult) -> tuple[str, str]:
    """The text around the junction as the models saw it; a line edge reads as BOUNDARY."""
    tokens, j = result.site.line.tokens, result.site.junction
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


def features(first_stage: Sequence[float], evidence: Sequence[LongContext]) -> list[list[float]]:
    rows = []
    for k, (confidence, lc) in enumerate(zip(first_stage, evidence)):
        w, o = lc.with_candidate, lc.without
        others = [e.with_candidate.length for i, e in enumerate(evidence) if i != k]
        rows.append(
            [
                _logit(confidence),
                float(w.length - o.length),
                math.log1p(w.count),
                math.log1p(o.count),
                float(w.length - max(others)) if others else 0.0,
                float(w.length),
                float(o.length),
            ]
        )
    return rows


def shortlisted(result: SiteResult) -> list[Scored]:
    if not result.scored:
        return []
    top = result.scored[0].confidence
    if not SHORTLIST[0] <= top <= SHORTLIST[1]:
        return []
    return result.scored[:TOP_K]


class Rescorer:
    def __init__(self, index: CorpusIndex, model: DecisionModel):
        self.index = index
        self.model = model

    @classmethod
    def load(cls, index: CorpusIndex, path: Path = DEFAULT_RESCORE_PATH) -> Rescorer:
        return cls(index, DecisionModel.load(path, RESCORE_FEATURES))

    def evidence(self, result: SiteResult) -> list[tuple[Scored, LongContext, list[float]]]:
        """Rescoring features of the shortlisted candidates at one junction (none if not shortlisted)."""
        chosen = shortlisted(result)
        if not chosen:
            return []
        left, right = contexts(result)
        found = long_context(self.index, left, right, [s.text for s in chosen])
        rows = features([s.confidence for s in chosen], found)
        return list(zip(chosen, found, rows))

    def rescore(self, results: Sequence[SiteResult]) -> None:
        for result in results:
            for scored, found, row in self.evidence(result):
                scored.long_context = found
                scored.confidence = self.model.confidence(row)
            result.scored.sort(key=lambda s: s.confidence, reverse=True)
