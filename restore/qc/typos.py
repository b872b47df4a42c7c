"""Substitution typos for `restore qc --typos`: 的/地/得 confusions, homophones, look-alikes.

Two sources, both scored with the bundled language models:
- the particle check: each 的, 地 or 得 is compared with the other two in its context, read
  in both directions; a clearly better particle is reported;
- pycorrector's kenlm corrector (the optional extra ``restore[typos]``, pycorrector 0.4.x,
  whose kenlm path needs no torch), run on our forward model instead of the model it would
  otherwise download. Its confusion sets (same pinyin, same stroke) propose the candidates.

Typos are only reported, never applied: the original text is not changed. A typo right
next to a detected deletion is dropped, because a junction where text went missing reads
like a wrong character to both checks.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from restore.engine.normalize import SKIP, lm_view
from restore.models.lm import FORWARD_NAME, CharLM

PARTICLES = "的地得"
# log10 gain (both directions together) a particle needs over the one in the text. On 400
# held-out train documents: 0.21 reports per 10,000 characters of clean text, and 96% of
# particles swapped at random found (2.0 gives 0.46 and 96%, 4.0 gives 0.10 and 93%).
PARTICLE_MARGIN = 3.0
WINDOW = 6  # context characters on each side
# The same test for pycorrector's proposals. On 60 held-out train documents: 0.79 reports
# per 10,000 characters of clean text and 40% of same-pinyin swaps found (3.0 gives 4.4
# reports and the same 40%: the real corrections win by far more).
CORRECTION_MARGIN = 6.0


class TypoError(Exception):
    """Typo detection cannot run (pycorrector missing)."""


@dataclass(frozen=True)
class Typo:
    start: int  # code-point span in the original text
    end: int
    text: str
    suggestion: str
    source: str  # "particle" or "pycorrector"
    margin: float | None = None  # log10 gain of the suggestion (particle check)


def _line_view(text: str) -> str:
    """The model's view of ``text``, keeping line breaks (whitespace to lm_view) as context edges."""
    return "".join("\n" if c == "\n" else v for c, v in zip(text, lm_view(text)))


def _context(view: str, start: int, end: int) -> tuple[list[str], list[str]]:
    left: list[str] = []
    i = start - 1
    while i >= 0 and len(left) < WINDOW and view[i] != "\n":
        if view[i] != SKIP:
            left.append(view[i])
        i -= 1
    right: list[str] = []
    i = end
    while i < len(view) and len(right) < WINDOW and view[i] != "\n":
        if view[i] != SKIP:
            right.append(view[i])
        i += 1
    left.reverse()
    return left, right


def _score(lm: CharLM, tokens: list[str]) -> float:
    forward = lm.forward.score(" ".join(tokens), bos=False, eos=False)
    backward = lm.backward.score(" ".join(reversed(tokens)), bos=False, eos=False)
    return float(forward + backward)


def particle_typos(text: str, lm: CharLM, margin: float = PARTICLE_MARGIN) -> list[Typo]:
    view = _line_view(text)
    out = []
    for i, ch in enumerate(text):
        if ch not in PARTICLES:
            continue
        left, right = _context(view, i, i + 1)
        if not left or not right:
            continue
        base = _score(lm, left + [ch] + right)
        best, gain = ch, 0.0
        for alt in PARTICLES:
            if alt != ch:
                g = _score(lm, left + [alt] + right) - base
                if g > gain:
                    best, gain = alt, g
        if best != ch and gain >= margin:
            out.append(Typo(i, i + 1, ch, best, "particle", gain))
    return out


@lru_cache(maxsize=2)
def load_corrector(model_path: str) -> Any:
    """pycorrector's kenlm corrector on our forward model, loaded once per process."""
    try:
        from loguru import logger
        from pycorrector.corrector import Corrector
    except ImportError:
        raise TypoError("typo detection needs pycorrector 0.4: pip install 'restore[typos]'") from None
    logger.disable("pycorrector")
    # Its proper-name pass (idioms, names) costs 80% of its time and misfires on news
    # names; an empty list turns it off.
    return Corrector(language_model_path=model_path, proper_name_path=os.devnull)


def pycorrector_typos(text: str, lm: CharLM, margin: float = CORRECTION_MARGIN) -> list[Typo]:
    """pycorrector proposes; both our models must prefer its correction by ``margin``."""
    corrector = load_corrector(str(lm.directory / FORWARD_NAME))
    view = _line_view(text)
    out = []
    start = 0
    for line in text.split("\n"):
        if line.strip():
            _, details = corrector.correct(line)
            for wrong, right, b, e in details:
                if line[b:e] != wrong or right == wrong or len(right) != len(wrong):
                    continue
                left, after = _context(view, start + b, start + e)
                gain = _score(lm, left + list(right) + after) - _score(lm, left + list(wrong) + after)
                if gain >= margin:
                    out.append(Typo(start + b, start + e, wrong, right, "pycorrector", gain))
        start += len(line) + 1
    return out


def find_typos(text: str, lm: CharLM, near_gaps: Iterable[int] = (), use_pycorrector: bool = True) -> list[Typo]:
    """Both checks, one report per span (the particle check first), none beside a gap."""
    gaps = sorted(set(near_gaps))
    found = particle_typos(text, lm)
    if use_pycorrector:
        found += pycorrector_typos(text, lm)
    out: list[Typo] = []
    taken: list[tuple[int, int]] = []
    for typo in found:
        if any(typo.start - 1 <= g <= typo.end + 1 for g in gaps):
            continue
        if any(a < typo.end and typo.start < b for a, b in taken):
            continue
        taken.append((typo.start, typo.end))
        out.append(typo)
    return sorted(out, key=lambda t: t.start)
