"""The loop's logic without a terminal: queue order, skipped gaps, start document, undo
races and what the screen model shows."""

from __future__ import annotations

from pathlib import Path

from restore.review.session import ReviewSession
from restore.review.store import QueueFilter, Store

from .test_review_tui import DOCS, _gaps


def _store(tmp_path: Path) -> Store:
    store = Store(str(tmp_path / "s.db"))
    for n, body in enumerate(DOCS):
        store.add_document(f"doc{n}", body, {}, _gaps(body), {"model": "m", "lexicon": "l"}, "import")
    return store


def test_skipped_gaps_come_back_with_skipped_mode(tmp_path: Path):
    store = _store(tmp_path)
    session = ReviewSession(store, "ann")
    first = session.gap
    session.skip()
    assert session.gap is not None and session.gap.id != first.id
    again = ReviewSession(store, "ann-2", statuses=("skipped",))
    assert again.gap is not None and again.gap.id == first.id
    again.accept(1)
    assert store.gap(first.id).status == "accepted"
    assert again.done  # nothing else was skipped


def test_start_document_and_view(tmp_path: Path):
    store = _store(tmp_path)
    doc2 = store.resolve_document("doc1")
    session = ReviewSession(store, "ann", start_document=doc2)
    view = session.view()
    assert view is not None and view.document.key == "doc1"
    assert view.document_position == (2, 2) and view.gap_position[0] == 1
    assert view.left.endswith("习") and view.right.startswith("总")
    assert view.remaining == 6 and view.decided == 0


def test_undo_refuses_when_another_reviewer_changed_the_gap(tmp_path: Path):
    store = _store(tmp_path)
    ann = ReviewSession(store, "ann")
    gap_id = ann.gap.id
    ann.reject()
    # Ann takes her rejection back, Bob then accepts the gap: Ann's next undo has nothing
    # of hers in force and must leave Bob's decision alone.
    ann.undo()
    assert store.gap(gap_id).status == "open"
    store.decide(gap_id, "accept", "bob")
    ann.undo()
    assert ann.message == "nothing to undo"
    assert store.gap(gap_id).status == "accepted"


def test_invalid_candidate_number_is_a_message_not_a_decision(tmp_path: Path):
    store = _store(tmp_path)
    session = ReviewSession(store, "ann")
    gap_id = session.gap.id
    session.accept(7)
    assert session.message == "no candidate 7 here"
    assert session.gap.id == gap_id and store.gap(gap_id).status == "open"
    session.edit("")
    assert store.gap(gap_id).status == "open"


def test_an_empty_skipped_queue_says_how_many_gaps_are_still_open(tmp_path: Path):
    store = _store(tmp_path)
    open_gaps = store.status_counts()["open"]
    session = ReviewSession(store, "ann", statuses=("skipped",))
    assert session.done
    assert f"No skipped gaps left; {open_gaps} gap(s) are still open" in session.empty_message()
    assert ReviewSession(store, "bob").empty_message() == ""  # the open queue keeps its own words


def _named(tmp_path: Path) -> Store:
    """Three documents where the engine flagged the name 陈璐 (a false alarm) each time."""
    from restore.document import Candidate, Gap

    store = Store(str(tmp_path / "n.db"))
    for n in range(3):
        body = f"第{n}篇：记者陈璐报道，推进铁、公建设。"
        gaps = [
            Gap(body.index("陈璐") + 1, "deletion", (Candidate("路", 1.0, 0.4, ()),)),
            Gap(body.index("、公"), "deletion", (Candidate("路", 3.0, 0.97, ()),)),
            Gap(body.index("公建") + 1, "deletion", (Candidate("路", 3.0, 0.95, ()),)),
            Gap(body.index("报道"), "unknown", ()),
        ]
        store.add_document(f"d{n}", body, {}, gaps, {"model": "m", "lexicon": "l"}, "import")
    return store


def test_the_queue_hides_gaps_with_nothing_to_propose_unless_asked(tmp_path: Path):
    from restore.review.store import QueueFilter

    runs = iter(range(100))

    def walk(queue: QueueFilter) -> list[str]:
        where = tmp_path / f"w{next(runs)}"
        where.mkdir()
        session, seen = ReviewSession(_named(where), "ann", queue=queue), []
        while not session.done:
            seen.append(session.gap.kind if session.gap else "")
            session.skip()
        return seen

    default = walk(QueueFilter())
    assert default.count("unknown") == 0 and len(default) == 9
    assert walk(QueueFilter(with_candidates=False)).count("unknown") == 3
    assert walk(QueueFilter(min_confidence=0.95)) == ["deletion"] * 6
    assert walk(QueueFilter(kinds=("unknown",), with_candidates=False)) == ["unknown"] * 3


def test_reject_all_like_this_takes_a_repeated_name_out_of_the_queue(tmp_path: Path):
    store = _named(tmp_path)
    session = ReviewSession(store, "ann")
    assert session.gap is not None and session.gap.best.confidence == 0.4  # 记者陈⟦路⟧璐
    assert session.like_this() == 3
    session.reject_like_this()
    assert "rejected 3" in session.message
    left = []
    while not session.done:
        left.append(session.gap.best.confidence)
        session.skip()
    assert 0.4 not in left and len(left) == 6


def test_a_bulk_accept_is_previewed_and_undone_in_one_step(tmp_path: Path):
    store = _named(tmp_path)
    session = ReviewSession(store, "ann")
    preview = session.bulk_preview(0.9)
    assert [s for _, s in preview] == ["路", "路"] and all("⟦路⟧" in c for c, _ in preview)
    session.accept_document(0.9)
    decided = [d for d in store.decisions_of(session.gap.document_id if session.gap else 1)]
    assert len(decided) == 2 and all(d.mode == "bulk" for d in decided)
    session.undo()
    assert "undid a bulk accept of 2" in session.message
    assert store.status_counts().get("accepted", 0) == 0


def test_a_name_rejected_once_is_not_flagged_again(tmp_path: Path):
    from restore.document import Gap
    from restore.review.learning import apply_feedback

    store = _named(tmp_path)
    session = ReviewSession(store, "ann", queue=QueueFilter(kinds=("unknown",), with_candidates=False))
    assert session.gap is not None and session.gap.kind == "unknown"
    at = session.gap.offset
    session.reject()
    text = "另一篇：记者陈璐报道，陈璐说。"
    found = [Gap(text.index("璐报") + 1, "unknown", ()), Gap(text.index("璐说") + 1, "unknown", ())]
    feedback = store.feedback()
    assert at and feedback.quiet
    kept = apply_feedback(text, found, feedback)
    assert [g.offset for g in kept] == [text.index("璐说") + 1]  # 璐|报 was the rejected place; 璐|说 is not


def test_the_context_shows_accepted_neighbours_and_widens(tmp_path: Path):
    store = _store(tmp_path)
    session = ReviewSession(store, "ann")
    session.accept(1)  # 铁⟦路⟧、公
    view = session.view()
    assert view is not None and "铁⟦路⟧、公" in view.left
    before = len(view.left)
    session.widen()
    assert session.context == 80 and len(session.view().left) >= before  # type: ignore[union-attr]
    assert "⟦?⟧" in session.whole_document() and "⟦路⟧" in session.whole_document()


def test_evidence_reads_in_words_and_in_full_on_request():
    from restore.document import Evidence
    from restore.review.tui import evidence_summary

    evidence = (
        Evidence("lexicon", "filter list 'seed-chengdu'"),
        Evidence("lm", "left-to-right gain, log10", 3.4),
        Evidence("lm", "right-to-left gain, log10", 3.8),
        Evidence("index", "longest reference match across the gap: 16 characters with it (1x), 8 without", 8.0),
    )
    words = evidence_summary(evidence)
    assert "reads better with it, both ways" in words and "LM" not in words and "3.4" not in words
    assert "+3.40" in evidence_summary(evidence, raw=True)


def test_find_and_go_to_a_document(tmp_path: Path):
    store = _store(tmp_path)
    session = ReviewSession(store, "ann")
    assert session.gap is not None and session.gap.document_id == store.resolve_document("doc0")
    session.find("一带一")
    assert session.gap.document_id == store.resolve_document("doc1") and "found" in session.message
    session.find("不存在的字")
    assert "no other gap" in session.message
    session.go_to_document("doc0")
    assert session.gap.document_id == store.resolve_document("doc0")
    session.go_to_document("nope")
    assert session.gap.document_id == store.resolve_document("doc0") and session.message


def test_a_note_on_the_last_decision_reaches_the_exports(tmp_path: Path):
    import json

    from restore.review.export import export, restored_document, tei_document

    store = _store(tmp_path)
    session = ReviewSession(store, "ann")
    session.note("nothing yet")
    assert "nothing decided yet" in session.message
    session.accept(1)
    session.note("见2020年原文")
    assert "note written on accept" in session.message
    session.note("bad\x1b[D")
    assert "control characters" in session.message
    doc = store.resolve_document("doc0")
    (decision,) = [d for d in store.decisions_of(doc) if d.note]
    assert decision.note == "见2020年原文"
    assert "(note: 见2020年原文)" in tei_document(restored_document(store, doc))
    export(store, tmp_path / "j", "jsonl")
    records = [json.loads(x) for x in (tmp_path / "j" / "restored.jsonl").read_text("utf-8").splitlines()]
    assert [e.get("note") for r in records for e in r["edits"] if e.get("note")] == ["见2020年原文"]


def test_a_restoration_a_reviewer_placed_is_evidence_for_the_sites_other_pages(tmp_path: Path):
    """A reviewer places a gap the engine never raised and accepts 政府 there; a later page
    with the same junction gets that gap from the start."""
    from restore.engine.config import EngineConfig
    from restore.review.sources import SourceItem
    from restore.review.workspace import Workspace

    db = str(tmp_path / "site.db")
    first = "国务院、省委省作出部署后，市委市赓即安排。"
    at = first.index("赓即")
    with Workspace(db, "ann", EngineConfig(use_index=False)) as ws:
        ws.import_items([SourceItem("p1", first)])
        assert at not in {g.offset for g in ws.store.gaps_of(1)}
        gap_id = ws.store.place_gap(1, at, ws.restorer().candidates_at(first, at), "ann")
        ws.store.decide(gap_id, "accept", "ann", candidate_rank=1)
        later = "会议结束后，市委市赓即部署落实。"
        ws.import_items([SourceItem("p2", later)])
        doc2 = ws.store.resolve_document("p2")
        taught = [g for g in ws.store.gaps_of(doc2) if g.offset == later.index("赓即")]
    assert taught and taught[0].best is not None and taught[0].best.text == "政府"
