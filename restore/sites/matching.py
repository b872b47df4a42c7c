"""Which public filter list a site uses: its pages' deletions and absences matched
against known lists, and the site list written from the best match.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from restore.engine.script import to_simplified
from restore.models.index import CorpusIndex
from restore.models.lexicon import FilterList
from restore.sites.inference import (
    DISPERSION,
    INTACT_PENALTY,
    LEND_EXPLAINED,
    LOOKUP_EXPECTED,
    InferredEntry,
    Reference,
    lexicon_text,
)


def lending_list(ranking: Sequence[ListMatch], lists: Sequence[FilterList]) -> FilterList | None:
    """The known list whose entries the site's list takes: the best match, if the pages
    support it (it scores above no filter) and it holds what was seen deleted."""
    if not ranking or ranking[0].score <= 0 or ranking[0].explained < LEND_EXPLAINED:
        return None
    return next((f for f in lists if f.name == ranking[0].name), None)


def site_list_text(
    inferred: Sequence[InferredEntry],
    best: FilterList | None,
    texts: Sequence[str],
    min_junctions: int = 2,
) -> str:
    """A --lexicon file for the site: the inferred entries, then the entries of ``best``
    (the known list that matched) that the site's pages never show intact.

    A filter deletes every occurrence of its strings, so an entry the pages show is not
    the site's, whatever the list says; those are named in a comment, not listed. The
    list's other entries are what fingerprinting is for: strings the pages show too
    rarely, or never, to be inferred from them."""
    kept = [e for e in inferred if e.kept(min_junctions)]
    lines = [lexicon_text(inferred, min_junctions).rstrip("\n")]
    if best is None:
        return "\n".join(lines) + "\n"
    site = to_simplified("\n".join(texts))
    have = {e.string for e in kept}
    intact: list[str] = []
    added: list[str] = []
    for e in best.usable():
        if e not in have:
            (intact if e in site else added).append(e)
    lines.append(f"# From the best-matching known list, {best.name}: {len(added)} entries the pages never show")
    lines += added
    if intact:
        shown = ", ".join(intact[:20]) + (" …" if len(intact) > 20 else "")
        lines.append(f"# Left out, intact on the site's pages ({len(intact)}): {shown}")
    return "\n".join(lines) + "\n"


def absence_evidence(expected: float, dispersion: float | None = DISPERSION) -> float:
    """Nats for "filtered" over "not filtered" when a string expected ``expected`` times is absent."""
    if dispersion is None:
        return expected  # Poisson
    return dispersion * math.log1p(expected / dispersion)


@dataclass(frozen=True)
class ListMatch:
    name: str
    entries: int
    explained: float  # share of the filled junctions whose string the list holds
    contradicted: float  # share of the list's looked-up entries found intact in the site
    score: float  # log likelihood ratio: this list is the site's filter, against no filter
    same_as: tuple[str, ...] = ()  # other lists with exactly the same entries
    absent: float = 0.0  # evidence from expected entries the site never shows (nats)
    intact: int = 0  # entries found intact in the site's text

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name,) + self.same_as

    def to_dict(self) -> dict[str, object]:
        return {
            "list": self.name,
            "same_as": list(self.same_as),
            "entries": self.entries,
            "explained": round(self.explained, 3),
            "contradicted": round(self.contradicted, 3),
            "absent_evidence": round(self.absent, 2),
            "intact": self.intact,
            "score": round(self.score, 3),
        }


def match_lists(
    inferred: Sequence[InferredEntry],
    lists: Sequence[FilterList],
    texts: Sequence[str],
    reference: Reference,
    min_junctions: int = 2,
    index: CorpusIndex | None = None,
    dispersion: float | None = DISPERSION,
) -> list[ListMatch]:
    """Rank known filter lists by the likelihood that each is the site's filter.

    Under a list, each entry the reference expects ``λ`` times in this much text is
    absent with probability 1, against ``(1 + λ/r)^-r`` without the filter (negative
    binomial, ``r = dispersion``): absence is worth ``r·log(1 + λ/r)`` nats for the list. An entry found intact counts ``INTACT_PENALTY`` against it.
    Expected counts come from the corpus index when one is given (every string of the
    training text), else from the reference n-gram table. The share of the inferred
    deletions each list holds is reported beside the score.

    Lists with exactly the same entries (projects copy each other's lists) cannot be told
    apart by any page, so they are ranked once, under the first name, with the others
    in ``same_as``."""
    evidence = {e.string: e.junctions for e in inferred if e.junctions >= min_junctions}
    total = sum(evidence.values()) or 1
    site = to_simplified("\n".join(texts))
    if index is not None:
        scale = len(site) / max(index.characters, 1)
        count: Callable[[str], int] = index.count
    else:
        scale = len(site) / reference.characters
        count = lambda e: reference.counts.get(e, 0)  # noqa: E731
    groups: dict[frozenset[str], list[FilterList]] = {}
    for flist in lists:
        groups.setdefault(frozenset(flist.entries), []).append(flist)
    expected: dict[str, float] = {}
    seen: dict[str, bool] = {}
    out = []
    for entries, same in groups.items():
        absent_nats = 0.0
        intact = looked = 0
        for e in entries:
            if e not in expected:
                expected[e] = count(e) * scale if e.strip() else 0.0
            lam = expected[e]
            if lam < LOOKUP_EXPECTED:
                continue
            if e not in seen:
                seen[e] = e in site
            looked += 1
            if seen[e]:
                intact += 1
            else:
                absent_nats += absence_evidence(lam, dispersion)
        explained = sum(n for s, n in evidence.items() if s in entries) / total
        score = absent_nats - INTACT_PENALTY * intact
        contradicted = intact / looked if looked else 0.0
        others = tuple(f.name for f in same[1:])
        out.append(ListMatch(same[0].name, len(entries), explained, contradicted, score, others, absent_nats, intact))
    out.sort(key=lambda m: (-m.score, -m.explained, m.entries, m.name))
    return out
