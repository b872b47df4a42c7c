"""Restoration as a pipeline step: load the engine lazily, once per process, and map a
record (or a batch of records) to a restored record.

This is the pattern of CCNet's ``_prepare`` and datatrove's ``PipelineStep``: the step is
cheap to pickle (it carries only its settings), so it can be shipped to worker processes
or cluster actors, each of which loads the memory-mapped model on first use::

    step = RestoreStep(text_field="text", min_confidence=0.9)
    restored = step({"id": "a", "text": "在机场、铁、公等口岸设置防控站"})
    features = step.features(dataset.features)           # Hugging Face datasets
    dataset = dataset.map(step, num_proc=2, features=features)
    dataset = dataset.map(step.map_batch, batched=True, features=features)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .document import Candidate, Evidence, Gap
from .engine import DEFAULT_MIN_CONFIDENCE, Restorer, restoration_from_gaps
from .io.documents import MAX_DOCUMENT_BYTES, too_large

ADDED_FIELDS = ("restored_text", "restorations", "gaps_unfilled", "qc")
UNFILLED_CANDIDATES = 3


class RecordError(Exception):
    """A record that cannot be restored; the message is the reason for the error sidecar."""


@dataclass(frozen=True)
class StepConfig:
    text_field: str = "text"
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    model_dir: str | None = None
    lexicons: tuple[str, ...] = ()
    replace_lexicon: bool = False
    max_bytes: int = MAX_DOCUMENT_BYTES
    index: str | None = None  # corpus index directory; None: the default one, if built
    use_index: bool = True
    neural: str | None = None  # neural model directory; None: the bundled one
    use_neural: bool = False
    exclude: tuple[str, ...] = ()  # list entries never proposed (a site profile's not_filtered)

    def engine_key(self) -> tuple[Any, ...]:
        return (
            self.model_dir,
            self.lexicons,
            self.replace_lexicon,
            self.index,
            self.use_index,
            self.neural,
            self.use_neural,
            self.exclude,
        )


# One engine per process and engine settings: forked workers and actors each build theirs
# once; the kenlm models are memory-mapped, so their pages are shared between processes.
_ENGINES: dict[tuple[Any, ...], Restorer] = {}


def engine_for(config: StepConfig) -> Restorer:
    key = config.engine_key()
    engine = _ENGINES.get(key)
    if engine is None:
        engine = Restorer(
            model_dir=config.model_dir,
            lexicons=list(config.lexicons),
            replace_lexicon=config.replace_lexicon,
            index=config.index,
            use_index=config.use_index,
            neural=config.neural,
            use_neural=config.use_neural,
            exclude=config.exclude,
        )
        _ENGINES[key] = engine
    return engine


def _evidence(e: Evidence) -> dict[str, Any]:
    # A fixed set of keys in every record keeps columnar writers (Arrow, Parquet) happy.
    return {"kind": e.kind, "detail": e.detail, "value": None if e.value is None else round(e.value, 4)}


def _candidate(c: Candidate) -> dict[str, Any]:
    return {
        "text": c.text,
        "confidence": round(c.confidence, 4),
        "evidence": [_evidence(e) for e in c.evidence],
    }


def _unfilled(gap: Gap) -> dict[str, Any]:
    return {
        "offset": gap.offset,
        "kind": gap.kind,
        "span": list(gap.span) if gap.span else None,
        "candidates": [_candidate(c) for c in gap.candidates[:UNFILLED_CANDIDATES]],
    }


def restore_fields(engine: Restorer, text: str, min_confidence: float) -> dict[str, Any]:
    """The fields a restored record gains. ``restored_text`` is exactly what
    ``restore fix --min-confidence`` writes for the same text."""
    gaps = engine.scan(text)
    restoration = restoration_from_gaps(text, gaps, min_confidence)
    applied = {ins.offset for ins in restoration.insertions}
    restored = restoration.text
    return {
        "restored_text": restored,
        "restorations": [
            {
                "offset": ins.offset,
                "text": ins.text,
                "confidence": round(ins.confidence, 4),
                "evidence": [_evidence(e) for e in ins.evidence],
            }
            for ins in restoration.insertions
        ],
        "gaps_unfilled": [
            _unfilled(g) for g in gaps if not (g.kind == "deletion" and g.offset in applied and g.best is not None)
        ],
        "qc": {
            "characters": len(text),
            "gaps": len(gaps),
            "restored": len(restoration.insertions),
            "deletion_density": round(1000.0 * len(gaps) / max(len(text), 1), 3),
            "perplexity_before": round(engine.lm.perplexity(text), 2),
            "perplexity_after": round(engine.lm.perplexity(restored), 2),
            "model": engine.lm.version,
            "lexicon": engine.filter_list.name,
        },
    }


@dataclass
class RestoreStep:
    """Maps a record to the same record plus ``restored_text``, ``restorations``,
    ``gaps_unfilled`` and ``qc``. Picklable; the engine loads on first use."""

    text_field: str = "text"
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    model_dir: str | None = None
    lexicons: Sequence[str] = field(default_factory=tuple)
    replace_lexicon: bool = False
    max_bytes: int = MAX_DOCUMENT_BYTES
    index: str | None = None
    use_index: bool = True
    neural: str | None = None
    use_neural: bool = False
    exclude: Sequence[str] = field(default_factory=tuple)  # as StepConfig.exclude

    @property
    def config(self) -> StepConfig:
        d = asdict(self)
        d["lexicons"] = tuple(self.lexicons)
        d["exclude"] = tuple(self.exclude)
        return StepConfig(**d)

    def engine(self) -> Restorer:
        return engine_for(self.config)

    def text_of(self, record: Mapping[str, Any]) -> str:
        if self.text_field not in record:
            raise RecordError(f"no field {self.text_field!r}")
        text = record[self.text_field]
        if not isinstance(text, str):
            raise RecordError(f"field {self.text_field!r} is {type(text).__name__}, not a string")
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > self.max_bytes:
            raise RecordError(f"text: {too_large(size, self.max_bytes)} a document may have")
        return text

    def __call__(self, record: Mapping[str, Any]) -> dict[str, Any]:
        text = self.text_of(record)
        out = dict(record)
        out.update(restore_fields(self.engine(), text, self.min_confidence))
        return out

    def features(self, base: Any) -> Any:
        """Hugging Face ``datasets.Features`` for the output: ``base`` (the input
        dataset's features) plus the added columns. Pass it to ``map(features=…)`` so
        shards whose lists happen to be empty still agree on one schema."""
        from datasets import Features, Value

        evidence = [{"kind": Value("string"), "detail": Value("string"), "value": Value("float64")}]
        candidate = {"text": Value("string"), "confidence": Value("float64"), "evidence": evidence}
        out = dict(base)
        out["restored_text"] = Value("string")
        out["restorations"] = [
            {"offset": Value("int64"), "text": Value("string"), "confidence": Value("float64"), "evidence": evidence}
        ]
        out["gaps_unfilled"] = [
            {"offset": Value("int64"), "kind": Value("string"), "span": [Value("int64")], "candidates": [candidate]}
        ]
        out["qc"] = {
            "characters": Value("int64"),
            "gaps": Value("int64"),
            "restored": Value("int64"),
            "deletion_density": Value("float64"),
            "perplexity_before": Value("float64"),
            "perplexity_after": Value("float64"),
            "model": Value("string"),
            "lexicon": Value("string"),
        }
        return Features(out)

    def map_batch(self, batch: Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
        """A column batch (dict of equal-length columns) in, the same with the added
        columns out: the shape `datasets.map(batched=True)` and Ray Data use."""
        columns = {k: list(v) for k, v in batch.items()}
        n = len(columns[self.text_field]) if self.text_field in columns else 0
        added: dict[str, list[Any]] = {k: [] for k in ADDED_FIELDS}
        engine = self.engine()
        for i in range(n):
            text = self.text_of({self.text_field: columns[self.text_field][i]})
            fields = restore_fields(engine, text, self.min_confidence)
            for k in ADDED_FIELDS:
                added[k].append(fields[k])
        columns.update(added)
        return columns
