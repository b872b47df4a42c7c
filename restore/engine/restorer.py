"""The library API: load resources once, then scan or fix any number of documents.

from restore import Restorer
r = Restorer()                       # bundled model and default filter list
gaps = r.scan(text)                  # gaps with ranked, explained candidates
fixed = r.fix(text, min_confidence=0.9)   # a Restoration; fixed.text is the result
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from restore.document import Candidate, Evidence, Gap, Insertion, Restoration
from restore.engine.calibration import MaskCalibration, calibration_path
from restore.engine.config import EngineConfig
from restore.engine.decision import DEFAULT_PATH as DEFAULT_DECISION
from restore.engine.decision import DecisionModel
from restore.engine.detect import DEFAULT_SCREEN, MASK_RE, Mask, detect_junctions, find_masks, quiet_junctions
from restore.engine.rescore import Rescorer, rescore_path
from restore.engine.script import ScriptView
from restore.engine.suggest import KEEP, JunctionResult, Suggester
from restore.errors import ModelError
from restore.models.index import CorpusIndex
from restore.models.lexicon import FilterList, PhraseDictionary, resolve_filter_list
from restore.models.lm import CharLM
from restore.models.neural import NeuralLM, load_neural

# How entries inferred from a site's pages are named in the list and in evidence.
INFERRED_NAME = "inferred from the site's pages"

# Default threshold for applying a restoration without review. It favours precision:
# on dev data, suggestions at or above it are right about 19 times in 20.
DEFAULT_MIN_CONFIDENCE = 0.9
# Gaps are reported for review from this confidence up.
REPORT_CONFIDENCE = 0.3
# A junction this surprising from both sides is reported even when no candidate fits
# (dropped digits, names): a person can fill it.
UNKNOWN_SURPRISAL = 9.0


# First-pass suggestions at or above this are put in place for the second pass.
PROVISIONAL = 0.5
# ... and those at or above this are not re-judged there.
SETTLED = 0.98


class _Staged:
    """The original text with some insertions in place, and the way back to it."""

    def __init__(self, original: str, insertions: dict[int, str]):
        parts: list[str] = []
        self._shift: list[tuple[int, int]] = []  # (original offset, total inserted before it)
        self.boundaries: set[int] = set()
        last = shift = 0
        for offset in sorted(insertions):
            parts.append(original[last:offset])
            self.boundaries.update((offset + shift, offset + shift + len(insertions[offset])))
            parts.append(insertions[offset])
            shift += len(insertions[offset])
            self._shift.append((offset, shift))
            last = offset
        parts.append(original[last:])
        self.text = "".join(parts)

    def position(self, offset: int) -> int:
        """Where original junction ``offset`` lies in the staged text (before any insertion there)."""
        shift = 0
        for at, total in self._shift:
            if at < offset:
                shift = total
        return offset + shift

    def origin(self, position: int) -> int | None:
        """The original junction at staged ``position``; None inside or beside an insertion."""
        if position in self.boundaries:
            return None
        shift = 0
        for at, total in self._shift:
            if at + total <= position:
                shift = total
            else:
                break
        offset = position - shift
        return offset if self.position(offset) == position else None


def _promote(merged: dict[int, JunctionResult], offset: int, result: JunctionResult) -> None:
    """Keep the second-pass view of a junction when it is more confident."""
    if not result.scored:
        return
    old = merged.get(offset)
    if old is None or not old.scored or result.scored[0].confidence > old.scored[0].confidence:
        result.junction.original_offset = offset
        merged[offset] = result


@dataclass
class Analysis:
    text: str  # the Simplified view the engine read (offsets as in the document)
    results: list[JunctionResult]
    script: ScriptView | None = None  # set when some paragraph is in Traditional script


class Restorer:
    """Load the models once, then scan or fix any number of documents.

    >>> from restore import Restorer
    >>> r = Restorer(use_index=False)
    >>> fixed = r.fix("在机场、铁、公等口岸设置防控站", min_confidence=0.9)
    >>> fixed.text
    '在机场、铁路、公路等口岸设置防控站'
    >>> [(i.offset, i.text) for i in fixed.insertions]
    [(5, '路'), (7, '路')]
    >>> gap = r.scan("推进一带一建设")[0]
    >>> gap.kind, gap.best.text
    ('deletion', '路')
    """

    @classmethod
    def from_config(cls, config: EngineConfig) -> Restorer:
        """The engine an :class:`~restore.engine.config.EngineConfig` describes."""
        return cls(
            model_dir=config.model_dir,
            lexicons=list(config.lexicons),
            replace_lexicon=config.replace_lexicon,
            index=config.index,
            use_index=config.use_index,
            neural=config.neural,
            use_neural=config.use_neural,
            exclude=config.exclude,
            inferred=config.inferred,
        )

    def __init__(
        self,
        model_dir: Path | str | None = None,
        lexicons: Sequence[Path | str] = (),
        replace_lexicon: bool = False,
        decision_path: Path | None = None,
        phrases_path: Path | None = None,
        screen: float = DEFAULT_SCREEN,
        filter_list: FilterList | None = None,
        index: CorpusIndex | Path | str | None = None,
        use_index: bool = True,
        document_support: bool = True,
        neural: NeuralLM | Path | str | None = None,
        use_neural: bool = False,
        exclude: Collection[str] = (),
        inferred: Collection[str] = (),
    ):
        """``index``: a corpus index or its directory; by default the one built into
        ``restore/data/index`` is used when present (``use_index=False``: never).
        ``use_neural``: also rescore with the neural character model, ``neural`` or by
        default the bundled one. Off by default: it is the most accurate configuration and
        about 40% slower (README, "neural model").
        ``document_support``: also try, at fluent junctions, strings the document has
        clearly lost elsewhere.
        ``inferred``: entries inferred from the site's own pages (``restore.sites.inference``),
        added to the filter list under their own name.
        ``exclude``: list entries never to propose, such as those a site's other pages
        show intact (``site.SiteProfile.not_filtered``)."""
        self.lm = CharLM.load(model_dir)
        flist = filter_list or resolve_filter_list(list(lexicons), replace=replace_lexicon)
        if inferred:
            flist = flist.merged(FilterList(INFERRED_NAME, tuple(inferred)))
        ruled_out = set(exclude)
        self.excluded = tuple(e for e in flist.entries if e in ruled_out)
        if self.excluded:
            flist = FilterList(flist.name, tuple(e for e in flist.entries if e not in ruled_out), flist.origins)
        self.filter_list = flist
        path = decision_path or DEFAULT_DECISION
        try:
            self.decision = DecisionModel.load(path) if path.is_file() else DecisionModel.prior_only()
        except (ValueError, KeyError, OSError) as exc:
            raise ModelError(f"cannot read decision model {path}: {exc}") from None
        self.phrases = PhraseDictionary.load(phrases_path).restricted(self.filter_list)
        self.suggester = Suggester(self.lm, self.filter_list, self.decision)
        self.screen = screen
        self.rescorer = _rescorer(index, use_index, neural, use_neural)
        self.mask_calibration = MaskCalibration.load(
            calibration_path(self.rescorer is not None and self.rescorer.index is not None)
        )
        self.support_pass = document_support

    @property
    def version(self) -> dict[str, str]:
        version = {"model": self.lm.version, "lexicon": self.filter_list.name}
        if self.excluded:
            version["site_excluded"] = str(len(self.excluded))
        if self.rescorer is not None:
            version.update(self.rescorer.version)
        return version

    def _pass(
        self,
        text: str,
        document: str,
        near: set[int] | None = None,
        radius: int | None = None,
        force: bool = False,
        support: Counter[str] | None = None,
    ) -> list[JunctionResult]:
        results = []
        previous = None
        for junction in detect_junctions(text, self.lm, self.phrases, self.screen, near, radius, force):
            if previous is not None and junction.line is not previous:
                previous.scores = None  # a line's kenlm states are not needed once it is scored
            result = self.suggester.score_junction(junction)
            # Keep only what can become a gap: memory then follows the damage, not the length.
            if result.scored or junction.surprisal >= UNKNOWN_SURPRISAL:
                results.append(result)
            previous = junction.line
        if previous is not None:
            previous.scores = None
        self.suggester.featurise(results, document, support)
        return results

    def analyse(self, text: str) -> Analysis:
        """Every examined junction with its scored candidates, read through the document's
        Simplified view (:mod:`restore.engine.script`); candidates are Simplified here."""
        script = ScriptView.of(scoring_view(text))
        analysis = self._ngram_analysis(script.view)
        self._mask_pass(analysis)
        if script.traditional:
            analysis.script = script
        if self.rescorer is not None:
            self.rescorer.rescore(analysis.results)
        return analysis

    def _mask_pass(self, analysis: Analysis) -> None:
        """Score every mask's junction: its place is known, so it is examined however fluent
        the text reads without it, and with a corpus index, what the reference puts between
        the same contexts is tried beside the filter list (a site's list is often unknown)."""
        masks = {m.start: m for m in find_masks(analysis.text)}
        if not masks:
            return
        index = self.rescorer.index if self.rescorer is not None else None
        text = analysis.text
        found: list[JunctionResult] = []
        previous = None
        for junction in detect_junctions(text, self.lm, self.phrases, self.screen, set(masks), 0, True):
            if junction.offset not in masks:
                continue
            if previous is not None and junction.line is not previous:
                previous.scores = None
            previous = junction.line
            result = self.suggester.score_junction(junction)
            if index is not None:
                fillers = _fillers(index, text, masks[junction.offset])
                if fillers:
                    extra = self.suggester.score_strings(junction, fillers)
                    known = {s.text for s in result.scored}
                    merged = result.scored + [s for s in extra.scored if s.text not in known]
                    result = JunctionResult(junction, sorted(merged, key=lambda s: s.gain, reverse=True)[:KEEP])
            found.append(result)
        if previous is not None:
            previous.scores = None
        self.suggester.featurise(found, text, None)
        kept = [r for r in analysis.results if r.junction.offset not in masks]
        analysis.results = sorted(kept + found, key=lambda r: r.junction.offset)

    def _support_pass(self, text: str, results: list[JunctionResult]) -> list[JunctionResult]:
        """Quiet junctions that could take a string this document clearly lost elsewhere.

        Only those strings are tried, and only where the bigram table allows them, so the
        pass costs little more than scoring the lines once more."""
        support = self.suggester.support(results)
        if not support:
            return []
        wanted = frozenset(support)
        compatible = self.suggester.compatible
        # The strings that fit between two characters, worked out once per pair: quiet_junctions
        # asks before scoring a line, and the scoring below uses the same answer.
        fitting: dict[tuple[str | None, str | None], list[str]] = {}

        def fits(left: str | None, right: str | None) -> bool:
            key = (left, right)
            if key not in fitting:
                fitting[key] = sorted(wanted.intersection(compatible(left, right)))
            return bool(fitting[key])

        found: list[JunctionResult] = []
        previous = None
        skip = {r.junction.offset for r in results}
        for junction in quiet_junctions(text, self.lm, skip, self.screen, wanted=fits):
            if previous is not None and junction.line is not previous:
                previous.scores = None  # as in _pass: memory follows the damage
            previous = junction.line
            tokens, j = junction.line.tokens, junction.index
            texts = fitting[(tokens[j - 1] if j > 0 else None, tokens[j] if j < len(tokens) else None)]
            result = self.suggester.score_strings(junction, texts)
            if result.scored and result.scored[0].gain > 0:
                found.append(result)
        if previous is not None:
            previous.scores = None
        self.suggester.featurise(found, text, support)
        return found

    def _ngram_analysis(self, text: str) -> Analysis:
        results = self._pass(text, text)
        if self.support_pass:
            results = sorted(results + self._support_pass(text, results), key=lambda r: r.junction.offset)
        merged = {r.junction.offset: r for r in results}
        # Second pass. Adjacent deletions hide each other (习总 is 习⟦近平⟧总⟦书记⟧), so
        # (a) junctions around provisional insertions are re-examined with them in place,
        # and (b) each provisional insertion with another nearby is re-judged with only
        # its neighbours in place. Both work on the one line segment that holds the
        # insertions, so the cost grows with the segment, not the document; features
        # still come from the whole original document.
        segments: dict[int, tuple[int, dict[int, str]]] = {}
        for r in results:
            if r.scored and r.scored[0].confidence >= PROVISIONAL:
                line = r.junction.line
                end = line.positions[-1] + 1 if line.positions else line.start
                segments.setdefault(line.start, (end, {}))[1][r.junction.offset - line.start] = r.scored[0].text
        if not segments:
            return Analysis(text, results)
        support = self.suggester.support(results)
        settled = {r.junction.offset for r in results if r.scored and r.scored[0].confidence >= SETTLED}
        reach = 2 * self.lm.order
        for start, (end, provisional) in segments.items():
            segment = text[start:end]
            staged = _Staged(segment, provisional)
            for r in self._pass(staged.text, text, near=staged.boundaries, support=support):
                origin = staged.origin(r.junction.offset)
                if origin is not None:
                    _promote(merged, start + origin, r)
            for offset in provisional:
                if start + offset in settled:
                    continue  # already as sure as the second pass could make it
                others = {o: t for o, t in provisional.items() if o != offset and abs(o - offset) <= reach}
                if not others:
                    continue
                staged = _Staged(segment, others)
                target = staged.position(offset)
                for r in self._pass(staged.text, text, near={target}, radius=0, force=True, support=support):
                    if r.junction.offset == target:
                        _promote(merged, start + offset, r)
        return Analysis(text, [merged[k] for k in sorted(merged)])

    def gaps(self, analysis: Analysis, report: float = REPORT_CONFIDENCE) -> list[Gap]:
        gaps: list[Gap] = []
        masks = {m.start: m for m in find_masks(analysis.text)}
        at_mask: dict[int, tuple[Candidate, ...]] = {}
        for r in analysis.results:
            candidates = self.suggester.candidates(r)
            if r.junction.offset in masks:
                at_mask[r.junction.offset] = candidates
                continue
            if candidates and candidates[0].confidence >= report:
                gaps.append(Gap(r.junction.offset, "deletion", candidates))
            elif r.junction.surprisal >= UNKNOWN_SURPRISAL and _is_unknown_gap(analysis.text, r.junction.offset):
                weak = tuple(c for c in candidates if c.confidence >= 0.05)
                gaps.append(Gap(r.junction.offset, "unknown", weak))
        calibrate = self.mask_calibration
        for mask in masks.values():
            fitting = [c for c in at_mask.get(mask.start, ()) if mask.length in (None, len(c.text))]
            fits = tuple(
                replace(c, confidence=calibrate(c.confidence, _rival(fitting, i), mask.length))
                for i, c in enumerate(fitting)
            )
            gaps.append(Gap(mask.start, "mask", fits, (mask.start, mask.end)))
        gaps.sort(key=lambda g: g.offset)
        if analysis.script is not None:
            gaps = [_in_script(g, analysis.script) for g in gaps]
        return gaps

    def candidates_at(self, text: str, offset: int) -> tuple[Candidate, ...]:
        """The ranked candidates for text missing at ``offset``, however fluent the text
        reads there: for a place a reviewer points at."""
        script = ScriptView.of(scoring_view(text))
        view = script.view
        found: tuple[Candidate, ...] = ()
        for junction in detect_junctions(view, self.lm, self.phrases, self.screen, {offset}, 0, True):
            if junction.offset != offset:
                continue
            # Every entry is scored, with none of the cheap floors that prune a search: a
            # person says text is missing here, so the engine only has to rank.
            result = self.suggester.score_strings(junction, self.filter_list.usable())
            self.suggester.featurise([result], view, None)
            found = self.suggester.candidates(result)
            junction.line.scores = None
            break
        gap = Gap(offset, "deletion", found)
        return (_in_script(gap, script) if script.traditional else gap).candidates

    def scan(self, text: str, report: float = REPORT_CONFIDENCE) -> list[Gap]:
        """Every gap at or above ``report`` confidence, in text order, with ranked and
        explained candidates; masks and unknown gaps too. The text is never changed."""
        return self.gaps(self.analyse(text), report)

    def fix(self, text: str, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> Restoration:
        """The restorations at or above ``min_confidence``, as standoff insertions into
        ``text``; ``.text`` applies them, and removing them gives ``text`` back exactly."""
        return restoration_from_gaps(text, self.scan(text), min_confidence)


def _find_index(index: CorpusIndex | Path | str | None, use_index: bool) -> CorpusIndex | None:
    if not use_index:
        return None
    found = index if isinstance(index, CorpusIndex) else CorpusIndex.find(index)
    if found is None and index is not None:
        raise ModelError(f"corpus index not found: {index}")
    return found


def _find_neural(neural: NeuralLM | Path | str | None, use_neural: bool) -> NeuralLM | None:
    if not use_neural:
        return None
    if isinstance(neural, NeuralLM):
        return neural
    return load_neural(Path(neural)) if neural is not None else load_neural()


def _rescorer(
    index: CorpusIndex | Path | str | None, use_index: bool, neural: NeuralLM | Path | str | None, use_neural: bool
) -> Rescorer | None:
    found_index = _find_index(index, use_index)
    found_neural = _find_neural(neural, use_neural)
    if found_index is None and found_neural is None:
        return None
    path = rescore_path(found_index is not None, found_neural is not None)
    if found_neural is not None and (found_neural.directory / path.name).is_file():
        # A model trained by the user carries the rescoring weights fitted on its gains
        # (restore build rescoring --neural DIR -o DIR); the bundled weights fit the bundled model.
        path = found_neural.directory / path.name
    if not path.is_file():
        return None  # evidence without a rescoring model fitted for it adds nothing
    try:
        return Rescorer.load(found_index, found_neural, path)
    except (ValueError, KeyError, OSError) as exc:
        raise ModelError(f"cannot read rescoring model {path}: {exc}") from None


# Context either side that the corpus index is asked about, and the fillers tried per mask.
MASK_CONTEXT = 3
MASK_FILLERS = 20


def _fillers(index: CorpusIndex, text: str, mask: Mask) -> list[str]:
    """The strings the reference most often puts between a mask's contexts, for a mask of
    known length (□ per character). A single ``*`` is not asked: fillers of every length
    compete there, and on dev they cost more precision than they gave (experiment log)."""
    if mask.length is None:
        return []
    left = text[max(0, mask.start - MASK_CONTEXT) : mask.start].split("\n")[-1]
    right = text[mask.end : mask.end + 2].split("\n")[0]
    if len(left) < 2 or not right:
        return []
    counts = index.fillers(left, right)
    return [
        s
        for s, _ in counts.most_common()
        if s and (mask.length is None or len(s) == mask.length) and not MASK_RE.search(s)
    ][:MASK_FILLERS]


def _rival(candidates: Sequence[Candidate], i: int) -> float:
    """The confidence of the best candidate other than the ``i``-th (a small floor if none)."""
    others = [c.confidence for k, c in enumerate(candidates) if k != i]
    return max(others) if others else 1e-3


def _in_script(gap: Gap, script: ScriptView) -> Gap:
    """``gap`` with its candidates written in the script of the paragraph it lies in."""
    if not gap.candidates or script.script_at(gap.offset) == "simplified":
        return gap
    return replace(
        gap, candidates=tuple(replace(c, text=script.in_document(c.text, gap.offset)) for c in gap.candidates)
    )


def restoration_from_gaps(text: str, gaps: Sequence[Gap], min_confidence: float) -> Restoration:
    """Apply the best candidate of each deletion gap that clears ``min_confidence``."""
    insertions = []
    taken: set[int] = set()
    for gap in gaps:
        best = gap.best
        if gap.kind == "unknown" or best is None or best.confidence < min_confidence or gap.offset in taken:
            continue
        taken.add(gap.offset)
        evidence = best.evidence + (Evidence("threshold", f"confidence >= {min_confidence}"),)
        # A mask is replaced by what it stands for; a deletion only gains text.
        replaced = text[gap.span[0] : gap.span[1]] if gap.kind == "mask" and gap.span else ""
        insertions.append(Insertion(gap.offset, best.text, best.confidence, evidence, replaced=replaced))
    return Restoration(text, tuple(insertions))


_SURROGATE = re.compile("[\ud800-\udfff]")


def scoring_view(text: str) -> str:
    """``text`` with each lone surrogate (not a character; JSON and file-system names can
    carry one) read as U+FFFD, one code point for one, so every offset stays the same."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def _is_unknown_gap(text: str, offset: int) -> bool:
    """Unknown gaps are only worth a person's time between two CJK characters or digits."""
    if offset <= 0 or offset >= len(text):
        return False
    a, b = text[offset - 1], text[offset]
    return _word_char(a) and _word_char(b)


def _word_char(c: str) -> bool:
    return c.isdigit() or "\u4e00" <= c <= "\u9fff"
