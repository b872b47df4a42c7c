"""Long-context evidence: a suffix array over a reference corpus (the infini-gram idea).

A 6-gram model sees five characters of context. Official Chinese repeats long formulas
(坚持以人民为中心的发展思想), so whether ``left + candidate + right`` occurs verbatim in a
reference corpus, and how far the match reaches on each side, is evidence the n-gram
model cannot give. The index answers two questions by binary search over a suffix array
(built with libdivsufsort through ``pydivsufsort``):

- ``count(s)``: how often ``s`` occurs in the reference text;
- ``span(text, lo, hi)``: the longest substring of ``text`` that covers ``text[lo:hi]``
  and occurs in the reference text.

The index holds the reference text itself, so it is never shipped inside the package:
``restore build index --corpus DIR`` builds it from a corpus on the user's machine (the
training split of ``../shared/corpus`` for the default), by default into
``restore/data/index/``, where ``Restorer`` finds it. Without it the engine runs on the
n-gram models alone.

Files: ``text.u16`` (the reference text as big-endian UTF-16 code units, so byte order is
code-unit order), ``sa.i32`` (suffix array, native int32) and ``index.json`` (card).
"""

from __future__ import annotations

import json
import mmap
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from restore.errors import ModelError
from restore.paths import DATA_DIR

DEFAULT_INDEX_DIR = DATA_DIR / "index"
TEXT_NAME = "text.u16"
SA_NAME = "sa.i32"
CARD_NAME = "index.json"
# Paragraphs are joined with this, so a match that reaches a paragraph edge can say so.
BOUNDARY = "\n"


@dataclass(frozen=True)
class Span:
    """The longest reference match around a junction: its length and how often it occurs."""

    length: int
    count: int


@dataclass(frozen=True)
class LongContext:
    """What the index says about one candidate: the longest match across its junction with
    the candidate in place, and without it."""

    with_candidate: Span
    without: Span


class CorpusIndex:
    def __init__(self, directory: Path, text: mmap.mmap, sa: memoryview, card: dict[str, object]):
        self.directory = directory
        self._text = text
        self._sa = sa
        self._n = len(sa)
        self.card = card

    @classmethod
    def load(cls, directory: Path | str | None = None) -> CorpusIndex:
        directory = Path(directory) if directory is not None else DEFAULT_INDEX_DIR
        text_path, sa_path = directory / TEXT_NAME, directory / SA_NAME
        for path in (text_path, sa_path):
            if not path.is_file():
                raise ModelError(f"corpus index not found: {path} (build it with `restore build index`)")
        if sys.byteorder != "little":
            raise ModelError("the corpus index is only supported on little-endian machines")
        text_size, sa_size = text_path.stat().st_size, sa_path.stat().st_size
        if text_size == 0 or text_size % 2 or sa_size != text_size * 2:
            raise ModelError(f"corrupt corpus index in {directory}: file sizes do not match")
        card: dict[str, object] = {}
        card_path = directory / CARD_NAME
        if card_path.is_file():
            try:
                card = json.loads(card_path.read_text(encoding="utf-8"))
            except (ValueError, OSError) as exc:
                raise ModelError(f"corrupt corpus index card {card_path}: {exc}") from None
        with text_path.open("rb") as fh:
            text = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        with sa_path.open("rb") as fh:
            sa_map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        return cls(directory, text, memoryview(sa_map).cast("i"), card)

    @classmethod
    def find(cls, directory: Path | str | None = None) -> CorpusIndex | None:
        """The index in ``directory`` (or the default place); None when none was built there."""
        directory = Path(directory) if directory is not None else DEFAULT_INDEX_DIR
        if not (directory / SA_NAME).exists():
            return None
        return cls.load(directory)

    @property
    def characters(self) -> int:
        return self._n

    @property
    def version(self) -> str:
        return str(self.card.get("version", self.directory.name))

    def __getstate__(self) -> dict[str, object]:
        return {"directory": self.directory}

    def __setstate__(self, state: dict[str, object]) -> None:
        other = CorpusIndex.load(Path(str(state["directory"])))
        self.__dict__.update(other.__dict__)

    def count(self, s: str) -> int:
        """Occurrences of ``s`` in the reference text."""
        if not s:
            return self._n
        first, last = self._range(_units(s), 0, self._n)
        return last - first

    def fillers(self, left: str, right: str, longest: int = 8, sample: int = 256) -> Counter[str]:
        """How often each string ``s`` (up to ``longest`` characters, "" included) stands
        between ``left`` and ``right`` in the reference text: what a junction could have lost.

        Looks at up to ``sample`` occurrences of ``left``, spread evenly over its suffix-array
        rows, and scales the counts to all of them."""
        first, last = self._range(_units(left), 0, self._n)
        found: Counter[str] = Counter()
        if first == last:
            return found
        step = max(1, (last - first) // sample)
        rows = range(first, last, step)
        width = len(_units(left)) // 2
        for row in rows:
            at = (self._sa[row] + width) << 1
            follow = self._text[at : at + 2 * (longest + len(right))].decode("utf-16-be", "replace")
            k = follow.find(right)
            if 0 <= k <= longest and BOUNDARY not in follow[:k]:
                found[follow[:k]] += 1
        scale = (last - first) / len(rows)
        return Counter({text: round(n * scale) for text, n in found.items()})

    def contexts(self, s: str, width: int = 2, sample: int = 200) -> Counter[tuple[str, str]]:
        """The (left, right) contexts, ``width`` characters each, that surround ``s`` in the
        reference text, from up to ``sample`` of its occurrences; none that cross a paragraph edge."""
        found: Counter[tuple[str, str]] = Counter()
        if not s:
            return found
        first, last = self._range(_units(s), 0, self._n)
        if first == last:
            return found
        step = max(1, (last - first) // sample)
        span = len(_units(s)) // 2
        for row in range(first, last, step):
            at = self._sa[row]
            if at < width:
                continue
            around = self._text[(at - width) << 1 : (at + span + width) << 1].decode("utf-16-be", "replace")
            if len(around) == span + 2 * width and BOUNDARY not in around:
                found[(around[:width], around[-width:])] += 1
        return found

    def _range(self, pattern: bytes, lo: int, hi: int) -> tuple[int, int]:
        """Suffix-array rows ``[first, last)`` that start with ``pattern``, searched within
        ``[lo, hi)`` (the rows of a prefix of ``pattern``, when that is known)."""
        m = len(pattern)
        text, sa = self._text, self._sa
        top = hi
        while lo < hi:
            mid = (lo + hi) >> 1
            at = sa[mid] << 1
            if text[at : at + m] < pattern:
                lo = mid + 1
            else:
                hi = mid
        first, hi = lo, top
        while lo < hi:
            mid = (lo + hi) >> 1
            at = sa[mid] << 1
            if text[at : at + m] <= pattern:
                lo = mid + 1
            else:
                hi = mid
        return first, lo

    def span(self, text: str, lo: int, hi: int) -> Span:
        """The longest ``text[s:e]`` with ``s <= lo`` and ``e >= hi`` that occurs at least once.

        Two pointers: the furthest end for a start can only shrink as the start moves
        left, so the search costs about ``len(text)`` lookups, not its square; growing the
        end searches only within the rows of the shorter match.
        """
        start, end = lo, hi
        first, last = self._range(_units(text[start:end]), 0, self._n)
        if first == last:
            return Span(0, 0)
        while end < len(text):
            a, b = self._range(_units(text[start : end + 1]), first, last)
            if a == b:
                break
            end, first, last = end + 1, a, b
        best = Span(end - start, last - first)
        while start > 0:
            start -= 1
            count = 0
            while end >= hi:
                count = self.count(text[start:end])
                if count:
                    break
                end -= 1
            if end < hi:
                break
            if end - start > best.length:
                best = Span(end - start, count)
        return best


def _units(s: str) -> bytes:
    return s.encode("utf-16-be", "surrogatepass")
