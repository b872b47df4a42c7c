"""A keyword-filter simulator: sequential substring deletion in list order, as the seed
shows (each entry is removed from the text left by the previous ones, no marker left)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class GoldGap:
    offset: int  # in the damaged text
    text: str  # what the filter removed there (contiguous in the original)


def _filter(original: str, entries: Sequence[str]) -> tuple[list[bool], Counter[str]]:
    """Which characters survive, and how many occurrences each entry removed."""
    alive = [True] * len(original)
    removed_by: Counter[str] = Counter()
    for entry in entries:
        if not entry:
            continue
        idx = [i for i, a in enumerate(alive) if a]
        current = "".join(original[i] for i in idx)
        start = current.find(entry)
        while start != -1:
            removed_by[entry] += 1
            for k in range(start, start + len(entry)):
                alive[idx[k]] = False
            start = current.find(entry, start + len(entry))
    return alive, removed_by


def deletions(original: str, entries: Sequence[str]) -> Counter[str]:
    """How many occurrences each entry really deleted. An entry that an earlier one
    pre-empts (基督教 after 基督) deletes nothing and leaves no trace of its own."""
    return _filter(original, entries)[1]


def damage(original: str, entries: Sequence[str]) -> tuple[str, list[GoldGap]]:
    """Apply a filter list to ``original``; return the damaged text and the true gaps."""
    alive, _ = _filter(original, entries)
    damaged: list[str] = []
    gaps: list[GoldGap] = []
    removed: list[str] = []
    for ch, keep in zip(original, alive):
        if keep:
            if removed:
                gaps.append(GoldGap(len(damaged), "".join(removed)))
                removed = []
            damaged.append(ch)
        else:
            removed.append(ch)
    if removed:
        gaps.append(GoldGap(len(damaged), "".join(removed)))
    return "".join(damaged), gaps


@dataclass(frozen=True)
class GoldMask:
    start: int  # in the masked text
    end: int
    text: str  # what the mask stands for


MaskMode = Literal["star", "box"]


def mask(original: str, entries: Sequence[str], mode: MaskMode = "star") -> tuple[str, list[GoldMask]]:
    """Apply a filter list that marks instead of deleting: ``star`` writes one ``*`` per
    filtered occurrence (在*、国务院), ``box`` one ``□`` per filtered character.

    >>> mask("坚持党中央领导", ["党中央"], "box")
    ('坚持□□□领导', [GoldMask(start=2, end=5, text='党中央')])
    """
    alive, _ = _filter(original, entries)
    out: list[str] = []
    gold: list[GoldMask] = []
    run: list[str] = []

    size = 0

    def close() -> None:
        nonlocal size
        if run:
            mark = "*" if mode == "star" else "□" * len(run)
            out.append(mark)
            gold.append(GoldMask(size, size + len(mark), "".join(run)))
            size += len(mark)
            run.clear()

    for ch, keep in zip(original, alive):
        if keep:
            close()
            out.append(ch)
            size += 1
        else:
            run.append(ch)
    close()
    return "".join(out), gold
