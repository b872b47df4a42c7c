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

from restore.document import Candidate, Evidence, Gap
from restore.engine.config import EngineConfig, engine_for
from restore.engine.restorer import DEFAULT_MIN_CONFIDENCE, Restorer, restoration_from_gaps
from restore.io.documents import MAX_DOCUMENT_BYTES, too_large

ADDED_FIELDS = ("restored_text", "restorations", "gaps_unfilled", "qc")
UNFILLED_CANDIDATES = 3


class RecordError(Exception):
    """A record that cannot be restored; the message is the reason for the error sidecar."""


def site_key(value: Any) -> str:
    """The site a record belongs to, from its site field: the host of a URL, else the value.

    >>> site_key("https://www.example.gov.cn/2020/page.html"), site_key("成都"), site_key(None)
    ('www.example.gov.cn', '成都', '')
    """
    if value is None:
        return ""
    text = str(value).strip()
    if "://" in text:
        from urllib.parse import urlsplit

        return (urlsplit(text).hostname or text).lower()
    return text


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
                # A mask's restoration replaces it; "" for a deletion, which only inserts.
                "replaced": ins.replaced,
            }
            for ins in restoration.insertions
        ],
        "gaps_unfilled": [
            _unfilled(g) for g in gaps if not (g.kind != "unknown" and g.offset in applied and g.best is not None)
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


@dataclass(frozen=True)
class RestoreStep:
    """Maps a record to the same record plus ``restored_text``, ``restorations``,
    ``gaps_unfilled`` and ``qc``. Frozen and picklable: it is also the settings of a
    batch run (its resume header) and travels to workers, which load the engine on first use.

    >>> step = RestoreStep(min_confidence=0.9, engine_config=EngineConfig(use_index=False))
    >>> step({"id": "a", "text": "在机场、铁、公等口岸"})["restored_text"]
    '在机场、铁路、公路等口岸'
    """

    text_field: str = "text"
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    max_bytes: int = MAX_DOCUMENT_BYTES
    engine_config: EngineConfig = field(default_factory=EngineConfig)
    # With a site field, each site's own settings (its profile and inferred list), by site key.
    site_field: str | None = None
    site_configs: tuple[tuple[str, EngineConfig], ...] = ()

    def engine(self) -> Restorer:
        return engine_for(self.engine_config)

    def engine_for(self, record: Mapping[str, Any]) -> Restorer:
        """The engine for ``record``: its site's settings where the run has them."""
        if self.site_field is not None and self.site_configs:
            key = site_key(record.get(self.site_field))
            for site, config in self.site_configs:
                if site == key:
                    return engine_for(config)
        return self.engine()

    def settings(self) -> dict[str, Any]:
        """Everything that decides the output, as plain JSON values."""
        return asdict(self)

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
        out.update(restore_fields(self.engine_for(record), text, self.min_confidence))
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
            {
                "offset": Value("int64"),
                "text": Value("string"),
                "confidence": Value("float64"),
                "evidence": evidence,
                "replaced": Value("string"),
            }
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
