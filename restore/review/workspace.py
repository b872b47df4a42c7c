"""The review library API: a workspace (store) plus the engine that fills it.

The CLI and the terminal loop are thin layers over this; scripts use it directly::

    ws = Workspace("restore.db", reviewer="alice")
    ws.import_items(iter_sources(["scraped/"]))
    ws.accept_at_or_above(0.9)
    export(ws.store, "out", "tei")
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from restore.document import Gap
from restore.engine.config import EngineConfig
from restore.engine.restorer import Restorer
from restore.models.lexicon import FilterList, resolve_filter_list
from restore.review.learning import apply_feedback, taught_gaps
from restore.review.sources import SourceItem, SourceProblem
from restore.review.store import Conflict, Feedback, Store, content_hash


@dataclass
class ImportSummary:
    imported: int = 0
    unchanged: int = 0  # same content already in the workspace
    resuggested: int = 0
    gaps: int = 0
    characters: int = 0
    problems: list[SourceProblem] = field(default_factory=list)


@dataclass
class BulkSummary:
    decided: int = 0
    conflicts: int = 0  # gaps someone else decided first


class Workspace:
    """A review workspace: the store, the reviewer, and the engine that suggests.

    ``config`` is the engine's settings (:class:`~restore.engine.config.EngineConfig`),
    as for ``restore fix``; its ``exclude`` holds the entries the site's pages show intact.
    """

    def __init__(self, db: str, reviewer: str, config: EngineConfig | None = None, create: bool = True):
        self.store = Store(db, create=create)
        self.reviewer = reviewer
        self.config = config or EngineConfig()
        self._restorer: Restorer | None = None
        self._typed: tuple[str, ...] | None = None

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def exclude(self, entries: Sequence[str]) -> None:
        """Never propose these list entries (a site profile's ``not_filtered``)."""
        self.config = self.config.with_exclude(tuple(entries))
        self._restorer = None

    def configure(self, config: EngineConfig) -> None:
        """Use these engine settings from now on (a site's profile and inferred list)."""
        self.config = config
        self._restorer = None

    def restorer(self) -> Restorer:
        """The engine, with the strings reviewers typed added to its filter list."""
        typed = self.store.feedback().typed
        if self._restorer is None or typed != self._typed:
            c = self.config
            flist = resolve_filter_list(list(c.lexicons), replace=c.replace_lexicon)
            if typed:
                flist = flist.merged(FilterList("workspace", typed))
            self._restorer = Restorer(
                model_dir=c.model_dir,
                filter_list=flist,
                index=c.index,
                use_index=c.use_index,
                neural=c.neural,
                use_neural=c.use_neural,
                # A string a reviewer typed is evidence from this site itself: no profile rules it out.
                exclude=tuple(e for e in c.exclude if e not in typed),
                inferred=c.inferred,
            )
            self._typed = typed
        return self._restorer

    @staticmethod
    def _found(text: str, restorer: Restorer, feedback: Feedback) -> list[Gap]:
        """The engine's gaps, moved by what reviewers taught, and the junctions they restored
        before wherever this text shows them again."""
        return taught_gaps(text, apply_feedback(text, restorer.scan(text), feedback), feedback, restorer.candidates_at)

    def versions(self, restorer: Restorer) -> dict[str, str]:
        entries = "\n".join(restorer.filter_list.entries).encode("utf-8")
        digest = hashlib.sha256(entries).hexdigest()[:12]
        return {"model": restorer.lm.version, "lexicon": f"{restorer.filter_list.name}@{digest}"}

    def suggest(self, text: str) -> list[Gap]:
        restorer = self.restorer()
        return self._found(text, restorer, self.store.feedback())

    def import_items(
        self,
        items: Iterable[SourceItem | SourceProblem],
        resuggest: bool = False,
        on_item: Callable[[SourceItem | SourceProblem], None] | None = None,
    ) -> ImportSummary:
        """Store each document with its suggestions; each is committed on its own, so an
        interrupted import keeps what it finished."""
        summary = ImportSummary()
        restorer = self.restorer()
        versions = self.versions(restorer)
        feedback = self.store.feedback()
        for item in items:
            if on_item is not None:
                on_item(item)
            if isinstance(item, SourceProblem):
                summary.problems.append(item)
                continue
            if "\x00" in item.text or "\x00" in item.key:
                # PostgreSQL cannot store a NUL, so neither store takes one: the two agree.
                summary.problems.append(SourceProblem(item.key[:80], "holds a NUL character (binary data?)"))
                continue
            existing = self.store.find_document_by_hash(content_hash(item.text))
            if existing is not None and not resuggest:
                summary.unchanged += 1
                continue
            found = self._found(item.text, restorer, feedback)
            summary.characters += len(item.text)
            summary.gaps += len(found)
            if existing is not None:
                self.store.replace_suggestions(existing, found, versions, self.reviewer)
                summary.resuggested += 1
                continue
            _, created = self.store.add_document(item.key, item.text, item.source, found, versions, self.reviewer)
            if created:
                summary.imported += 1
            else:
                summary.unchanged += 1
        return summary

    def resuggest(self, doc_ids: Sequence[int] | None = None, on_doc: Callable[[int], None] | None = None) -> int:
        """Re-run the engine (new model, lexicon or feedback) over stored documents;
        every decision already made is kept."""
        restorer = self.restorer()
        versions = self.versions(restorer)
        feedback = self.store.feedback()
        ids = list(doc_ids) if doc_ids is not None else self.store.document_ids()
        for doc_id in ids:
            doc = self.store.document(doc_id)
            found = self._found(doc.text, restorer, feedback)
            self.store.replace_suggestions(doc_id, found, versions, self.reviewer)
            if on_doc is not None:
                on_doc(doc_id)
        return len(ids)

    def accept_at_or_above(self, min_confidence: float, doc_id: int | None = None) -> BulkSummary:
        summary = BulkSummary()
        for gap_id, version in self.store.open_gaps_at_or_above(min_confidence, doc_id):
            try:
                self.store.decide(
                    gap_id, "accept", self.reviewer, expected_version=version, candidate_rank=1, bulk=True
                )
                summary.decided += 1
            except Conflict:
                summary.conflicts += 1
        return summary

    def reject_below(self, max_confidence: float, doc_id: int | None = None) -> BulkSummary:
        summary = BulkSummary()
        for gap_id, version in self.store.open_gaps_below(max_confidence, doc_id):
            try:
                self.store.decide(gap_id, "reject", self.reviewer, expected_version=version, bulk=True)
                summary.decided += 1
            except Conflict:
                summary.conflicts += 1
        return summary
