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
    """An accepted restoration: ``text`` goes in at original offset ``offset``.

    Most restorations only insert. A restoration of a site's mask (``在*、国务院``) also
    replaces the mask: ``replaced`` holds the original characters it stands in for, from
    ``offset`` on, so the original is still recoverable exactly."""

    offset: int
    text: str
    confidence: float
    evidence: tuple[Evidence, ...] = ()
    source: str = "auto"
    replaced: str = ""

    @property
    def end(self) -> int:
        """Where the original characters this edit covers end (``offset`` for an insertion)."""
        return self.offset + len(self.replaced)

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = {
            "offset": self.offset,
            "text": self.text,
            "confidence": round(self.confidence, 4),
            "source": self.source,
            "evidence": [e.to_dict() for e in self.evidence],
        }
        if self.replaced:
            d["replaced"] = self.replaced
            d["span"] = [self.offset, self.end]
        return d


@dataclass(frozen=True)
class Restoration:
    """The original text plus standoff edits; the original is recoverable exactly.

    >>> r = Restoration("在*、国务院", (Insertion(1, "党中央", 0.97, replaced="*"),))
    >>> r.text
    '在党中央、国务院'
    >>> r.unapply(r.text)
    '在*、国务院'
    """

    original: str
    insertions: tuple[Insertion, ...] = field(default=())

    def __post_init__(self) -> None:
        last = -1
        for ins in sorted(self.insertions, key=lambda i: i.offset):
            if not 0 <= ins.offset <= len(self.original) or ins.end > len(self.original):
                raise ValueError(f"edit at {ins.offset} outside the text")
            if not ins.text:
                raise ValueError("an edit must add text")
            if ins.replaced and self.original[ins.offset : ins.end] != ins.replaced:
                raise ValueError(f"edit at {ins.offset} replaces {ins.replaced!r}, which the original does not hold")
            if ins.offset < last:
                raise ValueError(f"edit at {ins.offset} overlaps the one before it")
            last = ins.end if ins.replaced else ins.offset

    def _ordered(self) -> list[Insertion]:
        return sorted(self.insertions, key=lambda i: (i.offset, i.end))

    @property
    def text(self) -> str:
        parts: list[str] = []
        last = 0
        for ins in self._ordered():
            parts.append(self.original[last : ins.offset])
            parts.append(ins.text)
            last = ins.end
        parts.append(self.original[last:])
        return "".join(parts)

    def restored_offsets(self) -> list[tuple[int, int]]:
        """Spans of restored text in the restored string, in order."""
        spans = []
        shift = 0
        for ins in self._ordered():
            start = ins.offset + shift
            spans.append((start, start + len(ins.text)))
            shift += len(ins.text) - len(ins.replaced)
        return spans

    def unapply(self, restored: str) -> str:
        """The original, from the restored text and the edits alone."""
        out = []
        last = 0
        for (start, end), ins in zip(self.restored_offsets(), self._ordered()):
            out.append(restored[last:start])
            out.append(ins.replaced)
            last = end
        out.append(restored[last:])
        return "".join(out)


def remove_insertions(restored: str, spans: list[tuple[int, int]]) -> str:
    """Undo insertions given their spans in the restored text (for round-trip checks)."""
    out = []
    last = 0
    for start, end in spans:
        out.append(restored[last:start])
        last = end
    out.append(restored[last:])
    return "".join(out)
