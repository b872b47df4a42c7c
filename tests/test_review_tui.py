"""The review loop driven the way a person uses it: keys into a pseudo-terminal, and
assertions on the screen and on the database."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pexpect
import pytest

from restore.document import Candidate, Evidence, Gap
from restore.review.store import Store

DOCS = [
    "在机场、铁、公等口岸设置防控站。加强生态督察整改工作。",
    "全市深入学习贯彻习总重要讲话精神。推动一带一建设。",
]


def _gaps(text: str) -> list[Gap]:
    lm = Evidence("lm", "left-to-right gain, log10", 3.0)
    sites = {
        "、公": ("路", 0.97),
        "等口": ("路", 0.95),
        "督察": ("环境保护", 0.93),
        "总重": ("近平", 0.99),
        "重要": ("书记", 0.92),
        "建设": ("路", 0.6),
    }
    found = []
    for marker, (cand, conf) in sites.items():
        at = text.find(marker)
        if at >= 0:
            found.append(Gap(at, "deletion", (Candidate(cand, 3.0, conf, (lm,)), Candidate("X", 0.1, 0.01))))
    return sorted(found, key=lambda g: g.offset)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    db = tmp_path / "review.db"
    with Store(str(db)) as store:
        for n, body in enumerate(DOCS):
            store.add_document(f"doc{n}", body, {}, _gaps(body), {"model": "m", "lexicon": "l"}, "import")
    return db


def _spawn(db: Path, reviewer: str = "alice") -> pexpect.spawn:
    env = dict(os.environ, TERM="xterm", COLUMNS="160", LINES="40")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "restore", "review", "--db", str(db), "--reviewer", reviewer],
        env=env,
        encoding="utf-8",
        dimensions=(40, 160),
        timeout=30,
    )
    return child


def _screen(child: pexpect.spawn) -> None:
    child.expect(r"q +quit")


def _decisions(db: Path) -> list[tuple[str, str | None, bool]]:
    with Store(str(db)) as store:
        out = []
        for d in store.document_ids():
            with store.engine.connect() as conn:
                from sqlalchemy import text

                rows = conn.execute(
                    text(
                        "SELECT d.action, d.text, d.undone_at IS NULL FROM decisions d JOIN gaps g ON g.id = d.gap_id "
                        "WHERE g.document_id = :d ORDER BY d.id"
                    ),
                    {"d": d},
                ).all()
            out.extend((r[0], r[1], bool(r[2])) for r in rows)
        return out


def test_accept_reject_edit_undo_quit_and_resume(workspace: Path):
    child = _spawn(workspace)
    child.expect(r"document 1/2")
    child.expect(r"gap 1/3 at offset 5")
    _screen(child)
    child.send("a")
    child.expect(r"gap 2/3 at offset 7")
    child.expect("accepted 路")
    _screen(child)
    child.send("r")
    child.expect(r"gap 3/3 at offset 20")
    child.expect("环境保护")  # the candidate table
    child.expect("rejected")
    _screen(child)
    child.send("e")
    child.expect("text to insert")
    child.sendline("保护")
    child.expect(r"document 2/2")
    child.expect("inserted 保护")
    _screen(child)
    child.send("z")
    child.expect(r"document 1/2")
    child.expect(r"gap 3/3 at offset 20")
    child.expect("undid edit 保护")
    _screen(child)
    child.send("x")
    child.expect("unknown key 'x'")
    _screen(child)
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert _decisions(workspace) == [("accept", "路", True), ("reject", None, True), ("edit", "保护", False)]
    with Store(str(workspace)) as store:
        assert store.feedback().typed == ()  # the undone edit took its typed string with it

    # Restart: the reviewer is back on the gap they left.
    child = _spawn(workspace)
    child.expect(r"document 1/2")
    child.expect(r"gap 3/3 at offset 20")
    _screen(child)
    child.send("2")
    child.expect(r"document 2/2")
    child.expect("accepted X")
    _screen(child)
    child.send("?")
    child.expect("accept every suggestion in this document")
    _screen(child)
    child.send("A")
    child.expect("at or above confidence")
    child.send("\r")  # the line editor shows the default, 0.9: Enter takes it
    child.expect("2 suggestion\\(s\\) at or above 0.9 would be accepted")
    child.expect("accept all 2")
    child.send("y\r")
    child.expect("一带一")  # the remaining, low-confidence gap
    child.expect(r"accepted 2 suggestion\(s\) at or above 0.9")
    _screen(child)
    child.send("s")
    child.expect("No undecided gaps left")
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    with Store(str(workspace)) as store:
        counts = store.status_counts()
    assert counts == {"accepted": 4, "rejected": 1, "skipped": 1, "documents": 2}


def test_kill_minus_nine_loses_no_decision(workspace: Path):
    child = _spawn(workspace, "bob")
    _screen(child)
    for expected in ("accepted 路", "accepted 路", "accepted 环境保护"):
        child.send("a")
        child.expect(expected)
        _screen(child)
    os.kill(child.pid, signal.SIGKILL)
    child.expect(pexpect.EOF)
    child.close()
    assert child.signalstatus == signal.SIGKILL
    assert [d[:2] for d in _decisions(workspace)] == [("accept", "路"), ("accept", "路"), ("accept", "环境保护")]

    child = _spawn(workspace, "bob")
    child.expect(r"document 2/2")
    child.expect(r"gap 1/3 at offset")
    _screen(child)
    child.send("n")  # no later document: the reviewer is told, and stays
    child.expect("no later document")
    _screen(child)
    child.send("d")
    child.expect("3 restoration\\(s\\) accepted|0 restoration\\(s\\) accepted")
    child.send(" ")
    _screen(child)
    child.send("q")
    child.expect(pexpect.EOF)


def test_read_only_workspace_refuses_the_loop(workspace: Path):
    workspace.chmod(0o444)
    try:
        child = _spawn(workspace)
        child.expect("read-only")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 1
    finally:
        workspace.chmod(0o644)


def test_typed_text_is_edited_in_a_line_editor(workspace: Path):
    """e, 监管, Left, Enter saves 监管 and nothing else (a bare terminal stored ESC [ D)."""
    child = _spawn(workspace)
    child.expect(r"gap 1/3 at offset 5")
    _screen(child)
    child.send("e")
    child.expect("text to insert")
    child.send("监管")
    child.send("\x1b[D")  # Left
    child.send("\x7f")  # Backspace over the wide character before the cursor
    child.send("督")
    child.send("\r")
    child.expect("inserted 督管")
    _screen(child)
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    assert _decisions(workspace)[0] == ("edit", "督管", True)


def test_control_characters_are_refused_as_typed_text(workspace: Path):
    from restore.review.session import ReviewSession

    with Store(str(workspace)) as store:
        session = ReviewSession(store, "alice")
        session.edit("监管\x1b[D")
        assert "control characters" in session.message and "U+001B" in session.message
    assert _decisions(workspace) == []


def test_reject_all_like_this_and_a_bulk_undo_in_the_terminal(tmp_path: Path):
    """R takes a repeated name out of the queue after a count; A shows a preview and z
    takes the whole bulk accept back in one step."""
    from .test_review_session import _named

    _named(tmp_path).close()
    db = tmp_path / "n.db"
    child = _spawn(db)
    child.expect(r"document 1/3")
    _screen(child)
    child.send("R")
    child.expect(r"the 2 other open gap\(s\) like it")
    child.send("y\r")
    child.expect("rejected 3 gap")
    _screen(child)
    child.send("A")
    child.expect("at or above confidence")
    child.send("\r")
    child.expect(r"2 suggestion\(s\) at or above 0.9 would be accepted")
    child.expect("accept all 2")
    child.send("y\r")
    child.expect(r"accepted 2 suggestion\(s\)")
    _screen(child)
    child.send("z")
    child.expect(r"undid a bulk accept of 2")
    _screen(child)
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    with Store(str(db)) as store:
        counts = store.status_counts()
    assert counts.get("rejected") == 3 and counts.get("accepted", 0) == 0


def test_a_gap_moved_two_characters_and_one_added_at_a_cursor(tmp_path: Path):
    """The engine flagged 市委⟦?⟧市赓即 where 市委市|赓即 lost 政府 two characters later, and
    never showed 优化营商|，. The reviewer adds a gap at a cursor and fills it from the
    engine's candidates, then moves the flagged gap with the arrow keys and accepts."""
    from restore.document import Candidate, Gap

    body = "国务院、省委省作出部署后，市委市赓即安排。持续优化营商，激发活力。"
    hole = body.index("赓即")
    wrong = hole - 2  # two characters early: 市委|市赓即
    missing = body.index("，激")
    db = tmp_path / "place.db"
    with Store(str(db)) as store:
        store.add_document("doc", body, {}, [Gap(wrong, "deletion", (Candidate("长", 0.1, 0.3),))], {}, "import")
    child = _spawn(db)
    child.expect("gap 1/1")
    _screen(child)
    for _ in range(missing - wrong - 1):
        child.send(">")
        _screen(child)
    child.send(">")
    child.expect(f"cursor at {missing}")
    _screen(child)
    child.send("+")
    child.expect("环境")  # the engine's candidate for the new place
    child.expect(f"added a gap at {missing}")
    _screen(child)
    child.send("a")
    child.expect(f"gap 1/2 at offset {wrong}")  # back to the gap the engine showed
    child.expect("accepted 环境")
    _screen(child)
    for arrow in ("\x1b[C", "\x1b[C", "\x1b[C", "\x1b[D"):  # Right three times, Left once
        child.send(arrow)
        _screen(child)
    child.send("m")
    child.expect("政府")
    child.expect(f"moved the gap from {wrong} to {hole}")
    _screen(child)
    child.send("a")
    child.expect("accepted 政府")
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    with Store(str(db)) as store:
        (doc,) = store.document_ids()
        decided = {(d.offset, d.action, d.text) for d in store.decisions_of(doc)}
    assert decided == {(missing, "accept", "环境"), (wrong, "reject", None), (hole, "accept", "政府")}
    from restore.review.export import export

    with Store(str(db)) as store:
        export(store, tmp_path / "out", "jsonl")
    (record,) = [json.loads(x) for x in (tmp_path / "out" / "restored.jsonl").read_text("utf-8").splitlines()]
    assert [(e["offset"], e["text"], e["mode"]) for e in record["edits"]] == [
        (hole, "政府", "reviewed"),
        (missing, "环境", "reviewed"),
    ]
    assert record["restored"] == "国务院、省委省作出部署后，市委市政府赓即安排。持续优化营商环境，激发活力。"
