"""The loop's logic without a terminal: queue order, skipped gaps, start document, undo
races and what the screen model shows."""

from __future__ import annotations

from pathlib import Path

from restore.review.session import ReviewSession
from restore.review.store import Store

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
