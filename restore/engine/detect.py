"""Detect: find junctions between characters where text is likely missing.

Three kinds of evidence raise a junction for examination:
- the language models, read from both sides: a deletion splices two contexts that were
  never adjacent, so the next character is surprising from the left and the previous one
  from the right;
- phrase signatures: a set phrase with its filter string cut out (营商政策 for 营商环境政策);
- explicit masks that some junctions write instead of deleting (□ ■ ＊ * × XX).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from restore.engine.normalize import SKIP, lm_view
from restore.models.lexicon import PhraseDictionary, SignatureHit
from restore.models.lm import CharLM, LineScores

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
class Junction:
    """A junction worth examining, with the evidence that raised it."""

    line: Line
    index: int  # the junction's place in the line: after this many model tokens
    surprisal: float
    signatures: list[SignatureHit] = field(default_factory=list)
    # Set when the junction was found in a provisionally restored text: the offset in the
    # original document that this junction corresponds to.
    original_offset: int | None = None

    @property
    def offset(self) -> int:
        if self.original_offset is not None:
            return self.original_offset
        return self.line.junction_offset(self.index)


@dataclass(frozen=True)
class Mask:
    """A mark a site wrote in place of what it filtered (□□, ＊, XX): text is missing here,
    and the mark is what a restoration replaces."""

    start: int
    end: int
    text: str = ""

    @property
    def length(self) -> int | None:
        """How many characters the mark stands for: one each for □ and ■ and for a run of
        stars; None (any number) for a single star or an X placeholder, which sites write
        once per filtered occurrence."""
        if self.text[:1] in "□■" or (len(self.text) > 1 and self.text[0] in "*＊×"):
            return len(self.text)
        return None


# Lines longer than this are scored in pieces cut after sentence-final punctuation, so a
# page that is one enormous line costs memory in proportion to a sentence, not the page.
MAX_SEGMENT = 2000
_SENTENCE_END = "。！？；!?;"


def _segments(start: int, end: int, text: str) -> Iterator[tuple[int, int]]:
    while end - start > MAX_SEGMENT:
        window = text[start : start + MAX_SEGMENT]
        cut = max(window.rfind(c) for c in _SENTENCE_END)
        stop = start + (cut + 1 if cut > MAX_SEGMENT // 4 else MAX_SEGMENT)
        yield start, stop
        start = stop
    yield start, end


def split_lines(text: str) -> Iterator[Line]:
    """The lines the models read. A site's masks are left out like whitespace, so the
    text reads as if the filter had deleted: the junction at a mask is the mask's start."""
    view = lm_view(text)
    masked = {i for m in MASK_RE.finditer(text) for i in range(m.start(), m.end())}
    line_start = 0
    for raw in text.split("\n"):
        for start, end in _segments(line_start, line_start + len(raw), text):
            positions = [i for i in range(start, end) if view[i] != SKIP and i not in masked]
            yield Line(start, positions, [view[p] for p in positions])
        line_start += len(raw) + 1


def junction_surprisal(scores: LineScores, j: int) -> float:
    n = len(scores.tokens)
    left_side = -(scores.fwd[j] if j < n else scores.fwd_end)
    right_side = -(scores.bwd[j - 1] if j > 0 else scores.bwd_end)
    return left_side + right_side


def find_masks(text: str) -> list[Mask]:
    return [Mask(m.start(), m.end(), m.group()) for m in MASK_RE.finditer(text)]


def detect_junctions(
    text: str,
    lm: CharLM,
    phrases: PhraseDictionary,
    screen: float = DEFAULT_SCREEN,
    near: set[int] | None = None,
    radius: int | None = None,
    force: bool = False,
) -> Iterator[Junction]:
    """All junctions that deserve candidate scoring, in document order.

    With ``near``, only lines holding one of those offsets are scored, and only junctions
    within ``radius`` (default: the model order) of one of them are examined; ``force``
    examines those junctions however unsurprising they are (the second pass).
    """
    hits_by_offset: dict[int, list[SignatureHit]] = {}
    for hit in phrases.signature_hits(text):
        hits_by_offset.setdefault(hit.junction, []).append(hit)
    if radius is None:
        radius = lm.order
    for line in split_lines(text):
        if not line.tokens:
            continue
        wanted: set[int] | None = None
        if near is not None:
            first, last = line.positions[0], line.positions[-1] + 1
            # The junction for an offset is the number of tokens before it.
            anchors = [bisect_left(line.positions, o) for o in near if first <= o <= last]
            if not anchors:
                continue
            wanted = {j for a in anchors for j in range(max(0, a - radius), min(len(line.tokens), a + radius) + 1)}
        line.scores = lm.score_line(line.tokens)
        runs = inside_runs(line.tokens)
        for j in range(len(line.tokens) + 1):
            if (wanted is not None and j not in wanted) or j in runs:
                continue
            s = junction_surprisal(line.scores, j)
            hits = hits_by_offset.get(line.junction_offset(j), [])
            if s >= screen or hits or (force and wanted is not None):
                yield Junction(line, j, s, hits)


# Four of one character in a row is not prose (国国国国, ------): nothing a filter deleted
# hides inside such a run, and a page of them would make every junction a junction.
RUN = 4


def inside_runs(tokens: list[str]) -> set[int]:
    """Junctions strictly inside a run of at least ``RUN`` identical tokens."""
    found: set[int] = set()
    start = 0
    for j in range(1, len(tokens) + 1):
        if j == len(tokens) or tokens[j] != tokens[start]:
            if j - start >= RUN:
                found.update(range(start + 1, j))
            start = j
    return found


# Quiet junctions below this surprisal are not worth even the document-support pass: on
# dev-like text almost none of its restorations come from there.
QUIET_FLOOR = 1.5


def quiet_junctions(
    text: str,
    lm: CharLM,
    skip: set[int],
    screen: float = DEFAULT_SCREEN,
    floor: float = QUIET_FLOOR,
    wanted: Callable[[str | None, str | None], bool] | None = None,
) -> Iterator[Junction]:
    """Junctions too unsurprising for ``detect_junctions`` (but at least ``floor``), except
    those at offsets in ``skip``; with ``wanted(left, right)``, only junctions between
    tokens it accepts, and only lines holding one are scored.

    The document-support pass looks at these for strings the document has already
    clearly lost elsewhere: a filter deletes every occurrence, and some deletions leave
    text that reads fluently.
    """
    for line in split_lines(text):
        tokens = line.tokens
        if not tokens:
            continue
        n = len(tokens)
        runs = inside_runs(tokens)
        junctions = [
            j
            for j in range(n + 1)
            if line.junction_offset(j) not in skip
            and j not in runs
            and (wanted is None or wanted(tokens[j - 1] if j else None, tokens[j] if j < n else None))
        ]
        if not junctions:
            continue
        line.scores = lm.score_line(tokens)
        for j in junctions:
            s = junction_surprisal(line.scores, j)
            if floor <= s < screen:
                yield Junction(line, j, s)
