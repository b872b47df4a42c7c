"""The workspace store, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import hashlib
import os
import stat
import threading

import pytest
from sqlalchemy import text

from restore.document import Candidate, Evidence, Gap
from restore.review.learning import apply_feedback
from restore.review.store import SCHEMA_VERSION, Conflict, Store, WorkspaceError

TEXT = "在机场、铁、公等口岸设置防控站。加强生态督察整改工作。"
VERSIONS = {"model": "m1", "lexicon": "l1"}


def _gaps(text: str = TEXT) -> list[Gap]:
    lm = Evidence("lm", "left-to-right gain, log10", 3.0)
    return [
        Gap(text.index("、公"), "deletion", (Candidate("路", 5.0, 0.97, (lm,)),)),
        Gap(text.index("等"), "deletion", (Candidate("路", 4.0, 0.95, (lm,)),)),
        Gap(
            text.index("督察"),
            "deletion",
            (Candidate("环境保护", 3.0, 0.97, (lm,)), Candidate("保护", 1.0, 0.03, (lm,))),
        ),
        Gap(text.index("整改"), "unknown", ()),
    ]


def _store(url: str) -> Store:
    return Store(url)


def test_import_is_idempotent_on_content(workspace_url):
    with _store(workspace_url) as store:
        doc_id, created = store.add_document("a.txt", TEXT, {"file": "a.txt"}, _gaps(), VERSIONS, "alice")
        again, created_again = store.add_document("b.txt", TEXT, {"file": "b.txt"}, _gaps(), VERSIONS, "alice")
        assert created and not created_again and again == doc_id
        other, _ = store.add_document("a.txt", TEXT + "\n", {}, _gaps(), VERSIONS, "alice")
        assert store.document(other).key == "a.txt~2"  # keys stay unique
        assert store.status_counts()["documents"] == 2
        doc = store.document(doc_id)
        assert doc.text == TEXT and doc.content_hash == hashlib.sha256(TEXT.encode()).hexdigest()
        assert [g.offset for g in store.gaps_of(doc_id)] == sorted(g.offset for g in _gaps())


def test_decide_conflict_and_undo(workspace_url):
    with _store(workspace_url) as store:
        doc_id, _ = store.add_document("a", TEXT, {}, _gaps(), VERSIONS, "alice")
        first = store.gaps_of(doc_id)[0]
        decision = store.decide(first.id, "accept", "alice", expected_version=first.version)
        assert decision.text == "路" and decision.model_version == "m1" and decision.evidence[0].kind == "lm"
        with pytest.raises(Conflict):
            store.decide(first.id, "reject", "bob", expected_version=first.version)
        with pytest.raises(Conflict):  # already decided, whatever version is named
            store.decide(first.id, "reject", "bob")
        undone = store.undo_last("alice")
        assert undone is not None and undone.gap_id == first.id
        assert store.gap(first.id).status == "open"
        assert store.decisions_of(doc_id) == []
        store.decide(first.id, "edit", "bob", typed="路口")
        assert [d.text for d in store.decisions_of(doc_id)] == ["路口"]
        assert store.undo_last("alice") is None  # alice has nothing left in force
        events = [e["event"] for e in store.audit_entries()]
        assert events == ["decide", "undo", "decide", "import"]


def test_resuggest_keeps_every_decision(workspace_url):
    with _store(workspace_url) as store:
        doc_id, _ = store.add_document("a", TEXT, {}, _gaps(), VERSIONS, "alice")
        decided, still_open, *_ = store.gaps_of(doc_id)
        store.decide(decided.id, "accept", "alice")
        new_gap = Gap(3, "deletion", (Candidate("机场", 1.0, 0.5),))
        moved = Gap(still_open.offset, "deletion", (Candidate("路口", 2.0, 0.6),))
        replaced_decided = Gap(decided.offset, "deletion", (Candidate("公路", 2.0, 0.99),))
        counts = store.replace_suggestions(
            doc_id, [new_gap, moved, replaced_decided], {"model": "m2", "lexicon": "l2"}, "alice"
        )
        assert counts == {"updated": 1, "added": 1, "stale": 2, "kept": 1}
        by_offset = {g.offset: g for g in store.gaps_of(doc_id)}
        assert by_offset[decided.offset].status == "accepted"
        assert by_offset[decided.offset].best.text == "路"  # what the reviewer saw is kept
        assert by_offset[still_open.offset].best.text == "路口"
        assert by_offset[3].status == "open"
        assert [d.text for d in store.decisions_of(doc_id)] == ["路"]


def test_audit_log_and_originals_are_protected_by_the_database(workspace_url):
    with _store(workspace_url) as store:
        doc_id, _ = store.add_document("a", TEXT, {}, _gaps(), VERSIONS, "alice")
        for statement in ("UPDATE audit_log SET reviewer = 'mallory'", "DELETE FROM audit_log"):
            with pytest.raises(Exception, match="append-only"):
                with store.engine.begin() as conn:
                    conn.execute(text(statement))
        with pytest.raises(Exception, match="immutable"):
            with store.engine.begin() as conn:
                conn.execute(text("UPDATE documents SET text = 'x'"))
        with store.engine.begin() as conn:  # metadata may still be corrected
            conn.execute(text("UPDATE documents SET source = '{}'"))
        assert store.audit_entries()[0]["reviewer"] == "alice"
        assert store.document(doc_id).text == TEXT


def test_feedback_reorders_candidates(workspace_url):
    with _store(workspace_url) as store:
        doc_id, _ = store.add_document("a", TEXT, {}, _gaps(), VERSIONS, "alice")
        target = next(g for g in store.gaps_of(doc_id) if len(g.candidates) == 2)
        store.decide(target.id, "accept", "alice", candidate_rank=2)
        feedback = store.feedback()
        assert feedback.rejected == {("生态", "环境保护", "督察"): 1}
        later = "另一份文件：" + TEXT
        after = apply_feedback(later, _gaps(later), feedback)
        ranked = next(g for g in after if g.offset == later.index("督察")).candidates
        assert [c.text for c in ranked] == ["保护", "环境保护"]
        assert any(e.kind == "workspace" for e in ranked[0].evidence)
        # Bulk decisions teach nothing: the engine must not learn from its own guesses.
        other = next(g for g in store.gaps_of(doc_id) if g.status == "open" and g.candidates)
        store.decide(other.id, "accept", "alice", bulk=True)
        assert store.feedback().accepted == feedback.accepted


def test_migrates_an_old_workspace(tmp_path):
    from restore.review import store as store_module

    path = tmp_path / "old.db"
    saved = dict(store_module.MIGRATIONS)
    try:
        for later in [v for v in store_module.MIGRATIONS if v > 1]:
            store_module.MIGRATIONS.pop(later)
        original_version = store_module.SCHEMA_VERSION
        store_module.SCHEMA_VERSION = 1
        with Store(str(path)) as old:
            old.add_document("a", TEXT, {}, _gaps(), VERSIONS, "alice")
            assert old.schema_version() == 1
    finally:
        store_module.MIGRATIONS.clear()
        store_module.MIGRATIONS.update(saved)
        store_module.SCHEMA_VERSION = original_version
    with Store(str(path)) as upgraded:
        assert upgraded.schema_version() == SCHEMA_VERSION
        assert upgraded.status_counts()["documents"] == 1
        assert upgraded.feedback().typed == ()


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.db"
    with Store(str(path)) as store:
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE schema_info SET value = '99' WHERE key = 'schema_version'"))
    with pytest.raises(WorkspaceError, match="newer"):
        Store(str(path))


def test_corrupt_and_foreign_databases(tmp_path):
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(os.urandom(8192))
    before = corrupt.read_bytes()
    with pytest.raises(WorkspaceError, match="not a usable restore workspace|cannot open"):
        Store(str(corrupt))
    assert corrupt.read_bytes() == before
    foreign = tmp_path / "foreign.db"
    import sqlite3

    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE things (x)")
    with pytest.raises(WorkspaceError, match="not a restore workspace"):
        Store(str(foreign))
    with pytest.raises(WorkspaceError, match="no such workspace"):
        Store(str(tmp_path / "missing.db"), create=False)


def test_read_only_workspace_reads_but_never_writes(tmp_path):
    path = tmp_path / "ro.db"
    with Store(str(path)) as store:
        doc_id, _ = store.add_document("a", TEXT, {}, _gaps(), VERSIONS, "alice")
    path.chmod(stat.S_IRUSR | stat.S_IRGRP)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        with Store(str(path)) as ro:
            assert ro.read_only
            gap = ro.gaps_of(doc_id)[0]
            with pytest.raises(WorkspaceError, match="read-only"):
                ro.decide(gap.id, "accept", "alice")
            assert ro.gap(gap.id).status == "open"
    finally:
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


@pytest.mark.integration
def test_two_reviewers_never_apply_a_gap_twice(postgres_url):
    """Two reviewers race over every gap of a shared PostgreSQL workspace."""
    with Store(postgres_url) as setup:
        for n in range(20):
            setup.add_document(f"d{n}", f"{n}号文件。" + TEXT, {}, _gaps(f"{n}号文件。" + TEXT), VERSIONS, "setup")
        gap_ids = [g.id for d in setup.document_ids() for g in setup.gaps_of(d)]
    wins: dict[str, list[int]] = {"alice": [], "bob": []}
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def reviewer(name: str, action: str) -> None:
        try:
            with Store(postgres_url) as store:
                barrier.wait()
                for gap_id in gap_ids:
                    version = store.gap(gap_id).version
                    try:
                        store.decide(gap_id, action, name, expected_version=version)
                        wins[name].append(gap_id)
                    except Conflict:
                        pass
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reviewer, args=a) for a in (("alice", "reject"), ("bob", "unknown"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(wins["alice"] + wins["bob"]) == sorted(gap_ids)  # each gap exactly once, none lost
    with Store(postgres_url) as check:
        with check.engine.connect() as conn:
            per_gap = conn.execute(text("SELECT gap_id, count(*) FROM decisions GROUP BY gap_id")).all()
            decide_events = conn.execute(text("SELECT count(*) FROM audit_log WHERE event = 'decide'")).scalar()
        assert len(per_gap) == len(gap_ids) and all(n == 1 for _, n in per_gap)
        assert decide_events == len(gap_ids)
        statuses = {g.id: g.status for d in check.document_ids() for g in check.gaps_of(d)}
        assert all(statuses[g] == "rejected" for g in wins["alice"])
        assert all(statuses[g] == "unknown" for g in wins["bob"])
