"""Suggest: rank what could fill each junction, and say why.

For every junction raised by ``detect``, each filter-list entry is scored by how much more
likely both directional models find the text with the entry put back. The best entries
are also tried in pairs (环境+保护), since a filter that deletes two adjacent strings
leaves one gap. The decision model turns each candidate's evidence into a confidence.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from restore.document import Candidate, Evidence
from restore.engine.decision import FEATURE, DecisionModel
from restore.engine.detect import Junction
from restore.models.index import LongContext
from restore.models.lexicon import FilterList
from restore.models.lm import CharLM, LineScores

# A junction whose best candidate gains this much (log10, both directions) counts as
# support for that string elsewhere in the document.
SUPPORT_GAIN = 3.0
# A candidate whose forward gain is below this is not worth a backward pass: at true
# deletions both directions gain, and the forward pass is the cheaper filter.
FORWARD_FLOOR = -1.0
# Gain after the inserted text and one original token; see CharLM.forward_gains.
FIRST_TOKEN_FLOOR = -2.0
# log10 P(first inserted character | left context) below which the walk stops at once:
# a speed cut (later characters are not judged alone; see lm._batch_gains).
FORWARD_CHAR_FLOOR: float | None = -3.0
# The same for the whole inserted string, looser: 陕西、⟦西藏⟧、云南 scores below -3 until
# the right context is read.
FORWARD_STRING_FLOOR: float | None = -5.0
# The right-to-left pass only rescues what the left-to-right pass dropped, so it asks more.
RESCUE_FLOOR = 0.0
RESCUE_FIRST_TOKEN_FLOOR = -1.0
RESCUE_CHAR_FLOOR = -1.5
RESCUE_STRING_FLOOR = -3.5
PAIR_SEEDS = 2  # best single candidates extended into pairs
KEEP = 5  # candidates kept per junction


@dataclass
class Scored:
    text: str
    forward: float
    backward: float
    pair: bool = False
    features: list[float] = field(default_factory=list)
    confidence: float = 0.0
    long_context: LongContext | None = None  # set when the corpus index rescored it
    neural_gain: float | None = None  # set when the neural model rescored it (natural log)

    @property
    def gain(self) -> float:
        return self.forward + self.backward


@dataclass
class JunctionResult:
    junction: Junction
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
        self.compounds = self._compounds()
        self._after, self._before = self._compatibility_index()
        self._list_size = math.log10(max(len(self.entries), 1))

    def _compounds(self, limit: int = 400, min_follow: float = -1.6) -> tuple[str, ...]:
        """Pairs of entries that usually occur together (改革开放, 环境保护).

        A filter deletes both halves, leaving one gap whose halves alone read badly, so
        such pairs are proposed as candidates in their own right. ``min_follow`` is the
        least log10 P(second | first) (2.5%); lists longer than ``limit`` skip this.
        """
        if len(self.entries) > limit:
            return ()
        out = []
        for a in self.entries:
            base = self.lm.prior(a)
            for b in self.entries:
                if len(a) + len(b) <= 8 and self.lm.prior(a + b) - base >= min_follow:
                    out.append(a + b)
        return tuple(out)

    def _compatibility_index(self) -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
        """Which entries may follow (``after[c]``) or precede (``before[c]``) character c.

        A deleted string sat between two real neighbours, so its first character has been
        seen after the left neighbour in training text and its last before the right one.
        Checking that with a bigram table is far cheaper than asking the models.
        """
        by_first: dict[str, list[str]] = {}
        by_last: dict[str, list[str]] = {}
        for e in self.entries + self.compounds:
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
            return self.entries + self.compounds
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

    def score_junction(self, junction: Junction) -> JunctionResult:
        line = junction.line
        assert line.scores is not None
        j = junction.index
        tokens = line.tokens
        left = tokens[j - 1] if j > 0 else None
        right = tokens[j] if j < len(tokens) else None
        scored = self._both_ways(line.scores, j, self.compatible(left, right))
        scored.sort(key=lambda s: s.gain, reverse=True)
        seeds = [s for s in scored[:PAIR_SEEDS] if s.gain > 0]
        seen = {s.text for s in scored}
        after_seed = self._after
        pair_texts: list[str] = []
        for seed in seeds:
            for entry in self.entries:
                # Pairs must be compatible at the outer ends and where the two strings meet.
                pairs = []
                if entry in (
                    self._before.get(right or "", frozenset()) if right else self.entries
                ) and entry in after_seed.get(seed.text[-1], ()):
                    pairs.append(seed.text + entry)
                if entry in (
                    self._after.get(left or "", frozenset()) if left else self.entries
                ) and seed.text in after_seed.get(entry[-1], ()):
                    pairs.append(entry + seed.text)
                pair_texts.extend(t for t in pairs if t not in seen)
                seen.update(pairs)
        compounds = set(self.compounds)
        for s in scored:
            s.pair = s.text in compounds
        for pair in self._both_ways(line.scores, j, pair_texts):
            pair.pair = True
            scored.append(pair)
        scored.sort(key=lambda s: s.gain, reverse=True)
        return JunctionResult(junction, scored[:KEEP])

    def score_strings(self, junction: Junction, texts: Iterable[str]) -> JunctionResult:
        """Score only the given strings at a junction (no pairs): the document-support pass."""
        line = junction.line
        assert line.scores is not None
        scored = self._both_ways(line.scores, junction.index, texts)
        scored.sort(key=lambda s: s.gain, reverse=True)
        return JunctionResult(junction, scored[:KEEP])

    def _both_ways(self, scores: LineScores, j: int, texts: Iterable[str]) -> list[Scored]:
        """Candidates that pass the cheap floor from either side, with both exact gains.

        A deletion can look wrong from one side only (the character after it is rare after
        the restored string, or the one before it rare before it), so neither direction
        alone may veto a candidate.
        """
        texts = list(texts)
        lm = self.lm
        fwd = dict(
            lm.forward_gains(
                scores, j, texts, FORWARD_FLOOR, FIRST_TOKEN_FLOOR, FORWARD_CHAR_FLOOR, FORWARD_STRING_FLOOR
            )
        )
        rest = [t for t in texts if t not in fwd]
        bwd = dict(
            lm.backward_gains(
                scores, j, rest, RESCUE_FLOOR, RESCUE_FIRST_TOKEN_FLOOR, RESCUE_CHAR_FLOOR, RESCUE_STRING_FLOOR
            )
        )
        out = []
        for text in texts:
            f, b = fwd.get(text), bwd.get(text)
            if f is None and b is None:
                continue
            if f is None:
                f = lm.forward_gain(scores, j, text)
            if b is None:
                b = lm.backward_gain(scores, j, text)
            out.append(Scored(text, f, b))
        return out

    def support(self, results: Sequence[JunctionResult]) -> Counter[str]:
        """How often each string clearly wins a junction of the document.

        A filter deletes every occurrence of its strings, so where one gap is plainly
        政府, weaker 政府 gaps in the same document are more believable.
        """
        return Counter(r.scored[0].text for r in results if r.scored and r.scored[0].gain >= SUPPORT_GAIN)

    def featurise(self, results: Sequence[JunctionResult], document: str, support: Counter[str] | None = None) -> None:
        """Fill features and confidences; needs all junctions of a document (for neighbours).

        ``support`` comes from the first pass when only some junctions are re-judged."""
        if support is None:
            support = self.support(results)
        best_at: dict[tuple[int, int], float] = {}
        for r in results:
            best_at[(r.junction.line.start, r.junction.index)] = r.best_gain
        for r in results:
            if not r.scored:
                continue
            key_line, j = r.junction.line.start, r.junction.index
            neighbours = [best_at.get((key_line, j + d), float("-inf")) for d in (-1, 1)]
            rival_best = max(neighbours)
            signature: dict[str, float] = {}
            for h in r.junction.signatures:
                key = h.phrase.filter_string
                signature[key] = max(signature.get(key, 0.0), h.phrase.strength)
            positive = sum(1 for s in r.scored if s.gain > 0)
            top = r.scored[0].gain
            second = r.scored[1].gain if len(r.scored) > 1 else -5.0
            for rank, s in enumerate(r.scored):
                margin = (s.gain - second) if rank == 0 else (s.gain - top)
                s.features = [
                    min(max(s.gain, -10.0), 10.0),
                    min(s.forward, s.backward),
                    max(min(margin, 10.0), -10.0),
                    max(min(s.gain - rival_best, 10.0), -10.0) if rival_best > float("-inf") else 10.0,
                    r.junction.surprisal,
                    self.prior(s.text),
                    float(len(s.text)),
                    1.0 if s.pair else 0.0,
                    1.0 if s.text in document else 0.0,
                    signature.get(s.text, 0.0),
                    float(min(positive - (1 if s.gain > 0 else 0), 10)),
                    self._list_size,
                    math.log1p(max(0, support[s.text] - (1 if rank == 0 and s.gain >= SUPPORT_GAIN else 0))),
                ]
                s.confidence = self.decision.confidence(s.features)
            r.scored.sort(key=lambda s: s.confidence, reverse=True)

    def candidates(self, result: JunctionResult) -> tuple[Candidate, ...]:
        out = []
        for s in result.scored:
            evidence = [
                Evidence("lexicon", f"filter list '{self.flist.origin(s.text)}'" + (" (pair)" if s.pair else "")),
                Evidence("lm", "left-to-right gain, log10", s.forward),
                Evidence("lm", "right-to-left gain, log10", s.backward),
            ]
            for hit in result.junction.signatures:
                if hit.phrase.filter_string == s.text:
                    evidence.append(
                        Evidence("phrase", f"{hit.phrase.phrase} (seen {hit.phrase.count}x in training text)")
                    )
            if s.long_context is not None:
                w, o = s.long_context.with_candidate, s.long_context.without
                evidence.append(
                    Evidence(
                        "index",
                        f"longest reference match across the gap: {w.length} characters with it "
                        f"({w.count}x), {o.length} without",
                        float(w.length - o.length),
                    )
                )
            if s.neural_gain is not None:
                evidence.append(
                    Evidence(
                        "neural",
                        f"neural model, {s.neural_gain / math.log(10):+.1f} log10 on the "
                        "window around the gap with it than without",
                        s.neural_gain / math.log(10),
                    )
                )
            if s.features and s.features[FEATURE["in_document"]]:
                evidence.append(Evidence("document", "string occurs intact elsewhere in this document"))
            if s.features and s.features[FEATURE["document_support"]] > 0:
                others = round(math.expm1(s.features[FEATURE["document_support"]]))
                evidence.append(
                    Evidence("document", f"{others} other gap(s) in this document clearly take this string")
                )
            out.append(Candidate(s.text, s.gain, s.confidence, tuple(evidence)))
        return tuple(out)
