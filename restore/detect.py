"""Detect: find junctions between characters where text is likely missing.

Three kinds of evidence raise a junction as a gap site:
- the language models, read from both sides: a deletion splices two contexts that were
  never adjacent, so the next character is surprising from the left and the previous one
  from the right;
- phrase signatures: a set phrase with its filter string cut out (营商政策 for 营商环境政策);
- explicit masks that some sites write instead of deleting (□ ■ ＊ * × XX).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from .lexicon import PhraseDictionary, SignatureHit
from .lm import CharLM, LineScores
from .normalize import SKIP, lm_view

MASK_RE = re.compile(r"[□■＊*×]+|(?<![A-Za-z])XX+(?![A-Za-z])")

# A junction is examined when the two directions together find it at least this
# surprising (sum of -log10 probabilities); tuned on held-out train text so that almost
# every true deletion passes while most junctions are skipped.
DEFAULT_SCREEN = 3.0


@dataclass
class Line:
    """One line of the original text, as the model sees it."""

    start: int  # code-point offset of the line in the document
    positions: list[int]  # document offset of each model token
    tokens: list[str]
    scores: LineScores | None = None

    def junction_offset(self, j: int) -> int:
        """Document offset where an insertion at junction ``j`` goes: right after token j-1."""
        if j == 0:
            return self.positions[0] if self.positions else self.start
        return self.positions[j - 1] + 1


@dataclass
class Site:
    """A junction worth examining, with the evidence that raised it."""

    line: Line
    junction: int
    surprisal: float
    signatures: list[SignatureHit] = field(default_factory=list)

    @property
    def offset(self) -> int:
        return self.line.junction_offset(self.junction)


@dataclass(frozen=True)
class Mask:
    start: int
    end: int


def split_lines(text: str) -> Iterator[Line]:
    view = lm_view(text)
    start = 0
    for raw in text.split("\n"):
        positions = [start + i for i, c in enumerate(view[start : start + len(raw)]) if c != SKIP]
        yield Line(start, positions, [view[p] for p in positions])
        start += len(raw) + 1


def junction_surprisal(scores: LineScores, j: int) -> float:
    n = len(scores.tokens)
    left_side = -(scores.fwd[j] if j < n else scores.fwd_end)
    right_side = -(scores.bwd[j - 1] if j > 0 else scores.bwd_end)
    return left_side + right_side


def find_masks(text: str) -> list[Mask]:
    return [Mask(m.start(), m.end()) for m in MASK_RE.finditer(text)]


def detect_sites(
    text: str,
    lm: CharLM,
    phrases: PhraseDictionary,
    screen: float = DEFAULT_SCREEN,
) -> list[Site]:
    """All junctions that deserve candidate scoring, in document order."""
    sites: list[Site] = []
    hits_by_offset: dict[int, list[SignatureHit]] = {}
    for hit in phrases.signature_hits(text):
        hits_by_offset.setdefault(hit.junction, []).append(hit)
    for line in split_lines(text):
        if not line.tokens:
            continue
        line.scores = lm.score_line(line.tokens)
        # Offsets of junctions in this line, to attach signature hits.
        for j in range(len(line.tokens) + 1):
            s = junction_surprisal(line.scores, j)
            hits = hits_by_offset.get(line.junction_offset(j), [])
            if s >= screen or hits:
                sites.append(Site(line, j, s, hits))
    return sites
