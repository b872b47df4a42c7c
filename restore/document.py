"""The data model: a document's original text never changes; everything restore finds or
decides is standoff data pointing into it by code-point offset."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

GapKind = Literal["deletion", "mask", "unknown"]
# Where a piece of evidence comes from: the language models, the filter list, a mined
# phrase, the document itself, the corpus index, the neural model, a site's mask, a
# reviewer or the workspace's lexicon, and the threshold that applied a restoration.
EvidenceKind = Literal[
    "lm", "lexicon", "phrase", "document", "index", "neural", "mask", "reviewer", "workspace", "threshold"
]


@dataclass(frozen=True)
class Evidence:
    """One reason behind a candidate, in the spirit of ftfy's explanations."""

    kind: EvidenceKind
    detail: str
    value: float | None = None

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"kind": self.kind, "detail": self.detail}
        if self.value is not None:
            d["value"] = round(self.value, 4)
        return d


@dataclass(frozen=True)
class Candidate:
    """A string that may fill a gap, with its raw score and calibrated confidence."""

    text: str
    score: float
    confidence: float
    evidence: tuple[Evidence, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "confidence": round(self.confidence, 4),
            "score": round(self.score, 4),
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass(frozen=True)
class Gap:
    """A point where text is believed missing.

    ``offset`` is the code-point offset in the original text before which text would be
    inserted. A ``mask`` gap also has ``span``: the placeholder characters a site put
    there (□, ＊, XX …), which restore reports but never overwrites.
    """

    offset: int
    kind: GapKind
    candidates: tuple[Candidate, ...] = ()
    span: tuple[int, int] | None = None

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = {
            "offset": self.offset,
            "kind": self.kind,
            "candidates": [c.to_dict() for c in self.candidates],
        }
        if self.span is not None:
            d["span"] = list(self.span)
        return d


@dataclass(frozen=True)
class Insertion:
    """An accepted restoration: ``text`` goes in before original offset ``offset``."""

    offset: int
    text: str
    confidence: float
    evidence: tuple[Evidence, ...] = ()
    source: str = "auto"

    def to_dict(self) -> dict[str, object]:
        return {
            "offset": self.offset,
            "text": self.text,
            "confidence": round(self.confidence, 4),
            "source": self.source,
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass(frozen=True)
class Restoration:
    """The original text plus insertions; the original is recoverable exactly."""

    original: str
    insertions: tuple[Insertion, ...] = field(default=())

    def __post_init__(self) -> None:
        for ins in self.insertions:
            if not 0 <= ins.offset <= len(self.original):
                raise ValueError(f"insertion offset {ins.offset} outside the text")
            if not ins.text:
                raise ValueError("an insertion must add text")

    @property
    def text(self) -> str:
        parts: list[str] = []
        last = 0
        for ins in sorted(self.insertions, key=lambda i: i.offset):
            parts.append(self.original[last : ins.offset])
            parts.append(ins.text)
            last = ins.offset
        parts.append(self.original[last:])
        return "".join(parts)

    def restored_offsets(self) -> list[tuple[int, int]]:
        """Spans of inserted text in the restored string, in order."""
        spans = []
        shift = 0
        for ins in sorted(self.insertions, key=lambda i: i.offset):
            start = ins.offset + shift
            spans.append((start, start + len(ins.text)))
            shift += len(ins.text)
        return spans


def remove_insertions(restored: str, spans: list[tuple[int, int]]) -> str:
    """Undo insertions given their spans in the restored text (for round-trip checks)."""
    out = []
    last = 0
    for start, end in spans:
        out.append(restored[last:start])
        last = end
    out.append(restored[last:])
    return "".join(out)
