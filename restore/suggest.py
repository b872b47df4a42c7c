"""Suggest: rank what could fill each gap site, and say why.

For every site raised by ``detect``, each filter-list entry is scored by how much more
likely both directional models find the text with the entry put back. The best entries
are also tried in pairs (环境+保护), since a filter that deletes two adjacent strings
leaves one gap. The decision model turns each candidate's evidence into a confidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .decision import DecisionModel
from .detect import Site
from .document import Candidate, Evidence
from .lexicon import FilterList
from .lm import CharLM

# A candidate whose forward gain is below this is not worth a backward pass: at true
# deletions both directions gain, and the forward pass is the cheaper filter.
FORWARD_FLOOR = -1.0
# Gain after the inserted text and one original token; see CharLM.forward_gains.
FIRST_TOKEN_FLOOR = -2.0
PAIR_SEEDS = 2  # best single candidates extended into pairs
KEEP = 5  # candidates kept per site


@dataclass
class Scored:
    text: str
    forward: float
    backward: float
    pair: bool = False
    features: list[float] = field(default_factory=list)
    confidence: float = 0.0

    @property
    def gain(self) -> float:
        return self.forward + self.backward


@dataclass
class SiteResult:
    site: Site
    scored: list[Scored]

    @property
    def best_gain(self) -> float:
        return self.scored[0].gain if self.scored else float("-inf")


class Suggester:
    """Scores candidates; holds the per-run state that is reused across documents."""

    def __init__(self, lm: CharLM, flist: FilterList, decision: DecisionModel):
        self.lm = lm
        self.flist = flist
        self.entries = flist.usable()
        self.decision = decision
        self._prior: dict[str, float] = {}
        self._after, self._before = self._compatibility_index()

    def _compatibility_index(self) -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
        """Which entries may follow (``after[c]``) or precede (``before[c]``) character c.

        A deleted string sat between two real neighbours, so its first character has been
        seen after the left neighbour in training text and its last before the right one.
        Checking that with a bigram table is far cheaper than asking the models.
        """
        by_first: dict[str, list[str]] = {}
        by_last: dict[str, list[str]] = {}
        for e in self.entries:
            by_first.setdefault(e[0], []).append(e)
            by_last.setdefault(e[-1], []).append(e)
        after: dict[str, set[str]] = {}
        before: dict[str, set[str]] = {}
        for first, group in by_first.items():
            for cp in self.lm.bigram_neighbours(first, "left").tolist():
                after.setdefault(chr(cp), set()).update(group)
        for last, group in by_last.items():
            for cp in self.lm.bigram_neighbours(last, "right").tolist():
                before.setdefault(chr(cp), set()).update(group)
        return (
            {c: frozenset(v) for c, v in after.items()},
            {c: frozenset(v) for c, v in before.items()},
        )

    def compatible(self, left: str | None, right: str | None) -> frozenset[str] | tuple[str, ...]:
        if left is None and right is None:
            return self.entries
        if left is None:
            return self._before.get(right or "", frozenset())
        if right is None:
            return self._after.get(left, frozenset())
        a = self._after.get(left)
        b = self._before.get(right)
        if not a or not b:
            return frozenset()
        return a & b

    def prior(self, text: str) -> float:
        p = self._prior.get(text)
        if p is None:
            p = self.lm.prior(text) / max(len(text), 1)
            self._prior[text] = p
        return p

    def score_site(self, site: Site) -> SiteResult:
        line = site.line
        assert line.scores is not None
        lm = self.lm
        j = site.junction
        tokens = line.tokens
        left = tokens[j - 1] if j > 0 else None
        right = tokens[j] if j < len(tokens) else None
        scored = [
            Scored(text, f, lm.backward_gain(line.scores, j, text))
            for text, f in lm.forward_gains(line.scores, j, self.compatible(left, right), FORWARD_FLOOR, FIRST_TOKEN_FLOOR)
        ]
        scored.sort(key=lambda s: s.gain, reverse=True)
        seeds = [s for s in scored[:PAIR_SEEDS] if s.gain > 0]
        seen = {s.text for s in scored}
        after_seed = self._after
        pair_texts: list[str] = []
        for seed in seeds:
            for entry in self.entries:
                # Pairs must be compatible at the outer ends and where the two strings meet.
                pairs = []
                if entry in (self._before.get(right or "", frozenset()) if right else self.entries) and entry in after_seed.get(seed.text[-1], ()):
                    pairs.append(seed.text + entry)
                if entry in (self._after.get(left or "", frozenset()) if left else self.entries) and seed.text in after_seed.get(entry[-1], ()):
                    pairs.append(entry + seed.text)
                pair_texts.extend(t for t in pairs if t not in seen)
                seen.update(pairs)
        for text, f in lm.forward_gains(line.scores, j, pair_texts, FORWARD_FLOOR, FIRST_TOKEN_FLOOR):
            scored.append(Scored(text, f, lm.backward_gain(line.scores, j, text), pair=True))
        scored.sort(key=lambda s: s.gain, reverse=True)
        return SiteResult(site, scored[:KEEP])

    def featurise(self, results: Sequence[SiteResult], document: str) -> None:
        """Fill features and confidences; needs all sites of a document (for neighbours)."""
        best_at: dict[tuple[int, int], float] = {}
        for r in results:
            best_at[(r.site.line.start, r.site.junction)] = r.best_gain
        for r in results:
            if not r.scored:
                continue
            key_line, j = r.site.line.start, r.site.junction
            neighbours = [best_at.get((key_line, j + d), float("-inf")) for d in (-1, 1)]
            rival_best = max(neighbours)
            signature_strings = {h.phrase.filter_string for h in r.site.signatures}
            top = r.scored[0].gain
            second = r.scored[1].gain if len(r.scored) > 1 else -5.0
            for rank, s in enumerate(r.scored):
                margin = (s.gain - second) if rank == 0 else (s.gain - top)
                s.features = [
                    min(max(s.gain, -10.0), 10.0),
                    min(s.forward, s.backward),
                    max(min(margin, 10.0), -10.0),
                    max(min(s.gain - rival_best, 10.0), -10.0) if rival_best > float("-inf") else 10.0,
                    r.site.surprisal,
                    self.prior(s.text),
                    float(len(s.text)),
                    1.0 if s.pair else 0.0,
                    1.0 if s.text in document else 0.0,
                    1.0 if s.text in signature_strings else 0.0,
                ]
                s.confidence = self.decision.confidence(s.features)
            r.scored.sort(key=lambda s: s.confidence, reverse=True)

    def candidates(self, result: SiteResult) -> tuple[Candidate, ...]:
        out = []
        for s in result.scored:
            evidence = [
                Evidence("lexicon", f"filter list '{self.flist.name}'" + (" (pair)" if s.pair else "")),
                Evidence("lm", "left-to-right gain, log10", s.forward),
                Evidence("lm", "right-to-left gain, log10", s.backward),
            ]
            for hit in result.site.signatures:
                if hit.phrase.filter_string == s.text:
                    evidence.append(
                        Evidence("phrase", f"{hit.phrase.phrase} (seen {hit.phrase.count}x in training text)")
                    )
            if s.features and s.features[8]:
                evidence.append(Evidence("document", "string occurs intact elsewhere in this document"))
            out.append(Candidate(s.text, s.gain, s.confidence, tuple(evidence)))
        return tuple(out)
