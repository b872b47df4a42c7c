"""Measure restoration on clean text damaged by a simulated filter.

Used by ``restore eval`` and by the benchmark in ``bench/``; the decision model is
fitted from the same rows (on held-out *train* documents only).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from restore.document import Restoration, remove_insertions
from restore.engine.restorer import Analysis, Restorer, restoration_from_gaps
from restore.evaluation.simulate import GoldGap, damage

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98)


@dataclass
class Row:
    """The top candidate at one examined junction, with its label."""

    features: list[float]
    confidence: float
    correct: bool  # a gold gap is here and the candidate is exactly its text
    at_gap: bool  # a gold gap is here (whatever the candidate)
    text: str
    gold: str | None


@dataclass
class Report:
    documents: int = 0
    characters: int = 0
    gold_gaps: int = 0
    damaged_characters: int = 0
    seconds: float = 0.0
    rows: list[Row] = field(default_factory=list)
    screened_gold: int = 0
    # per threshold: [applied, correct position, exact]
    by_threshold: dict[float, list[int]] = field(default_factory=dict)
    damage: int = 0
    missed: Counter[str] = field(default_factory=Counter)
    wrong: Counter[str] = field(default_factory=Counter)

    def metrics(self, threshold: float) -> dict[str, float]:
        applied, at_gap, exact = self.by_threshold.get(threshold, [0, 0, 0])
        return {
            "threshold": threshold,
            "applied": applied,
            "precision": at_gap / applied if applied else 1.0,
            "exact_precision": exact / applied if applied else 1.0,
            "recall": at_gap / self.gold_gaps if self.gold_gaps else 0.0,
            "exact_restoration": exact / self.gold_gaps if self.gold_gaps else 0.0,
        }

    def calibration(
        self, bins: Sequence[float] = (0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0001)
    ) -> list[dict[str, float]]:
        table = []
        for lo, hi in zip(bins, bins[1:]):
            rows = [r for r in self.rows if lo <= r.confidence < hi]
            if rows:
                table.append(
                    {
                        "low": lo,
                        "high": min(hi, 1.0),
                        "n": len(rows),
                        "mean_confidence": sum(r.confidence for r in rows) / len(rows),
                        "accuracy": sum(r.correct for r in rows) / len(rows),
                    }
                )
        return table

    def at_or_above(self, threshold: float) -> dict[str, float]:
        rows = [r for r in self.rows if r.confidence >= threshold]
        return {"n": len(rows), "accuracy": sum(r.correct for r in rows) / len(rows) if rows else 1.0}


def evaluate(
    restorer: Restorer,
    documents: Iterable[str],
    entries: Sequence[str],
    thresholds: Sequence[float] = THRESHOLDS,
) -> Report:
    """Damage each document with ``entries`` and score what ``restorer`` gives back."""
    report = Report()
    for t in thresholds:
        report.by_threshold[t] = [0, 0, 0]
    for original in documents:
        damaged, gold = damage(original, entries)
        if not gold:
            continue
        report.documents += 1
        report.characters += len(damaged)
        report.gold_gaps += len(gold)
        report.damaged_characters += len(original) - len(damaged)
        started = time.perf_counter()
        analysis = restorer.analyse(damaged)
        gaps = restorer.gaps(analysis, report=0.0)
        report.seconds += time.perf_counter() - started
        gold_at = {g.offset: g for g in gold}
        _collect_rows(report, analysis, gold_at)
        for t in thresholds:
            restoration = restoration_from_gaps(damaged, gaps, t)
            _check_intact(report, restoration, damaged)
            counts = report.by_threshold[t]
            for ins in restoration.insertions:
                counts[0] += 1
                g = gold_at.get(ins.offset)
                if g is not None:
                    counts[1] += 1
                    if g.text == ins.text:
                        counts[2] += 1
            if t == 0.9:
                applied = {i.offset: i.text for i in restoration.insertions}
                for g in gold:
                    if applied.get(g.offset) != g.text:
                        report.missed[g.text] += 1
                for off, text in applied.items():
                    if off not in gold_at or gold_at[off].text != text:
                        report.wrong[text] += 1
    return report


def _collect_rows(report: Report, analysis: Analysis, gold_at: dict[int, GoldGap]) -> None:
    for r in analysis.results:
        g = gold_at.get(r.junction.offset)
        if g is not None:
            report.screened_gold += 1
        if not r.scored:
            continue
        top = r.scored[0]
        report.rows.append(
            Row(
                top.features,
                top.confidence,
                g is not None and g.text == top.text,
                g is not None,
                top.text,
                g.text if g else None,
            )
        )


def _check_intact(report: Report, restoration: Restoration, damaged: str) -> None:
    if remove_insertions(restoration.text, restoration.restored_offsets()) != damaged:
        report.damage += 1
