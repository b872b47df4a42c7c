"""Import → decide → export through the CLI and the workspace API, with the real engine."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from xml.etree import ElementTree

import pytest

from restore.document import remove_insertions
from restore.review.export import TEI_NS, tei_texts
from restore.review.sources import SourceItem
from restore.review.store import Store
from restore.review.workspace import Workspace

from .conftest import ROOT, run_cli

SAMPLE = ROOT / "restore" / "data" / "samples" / "chengdu-2020-excerpt.scraped.txt"
EXTRA = [
    "坚持以改革开放为动力，推进营商优化，在机场、铁、公等口岸设置防控站。\n加强生态督察整改工作。\n",
    "全市上下深入学习贯彻习总重要讲话精神，推动一带一建设走深走实。\n",
]


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    src = tmp_path / "scraped"
    (src / "sub").mkdir(parents=True)
    (src / "sample.txt").write_bytes(SAMPLE.read_bytes())
    for n, body in enumerate(EXTRA):
        (src / "sub" / f"page{n}.txt").write_text(body, encoding="utf-8")
    records = [{"id": f"j{n}", "title": f"第{n}篇", "body": body + "（转载）"} for n, body in enumerate(EXTRA)]
    (src / "pages.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return src


def _cli_ok(*args: str, cwd: Path | None = None) -> str:
    proc = run_cli(*args, cwd=cwd)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode("utf-8")


def test_round_trip_matches_fix_and_restores_the_original(collection: Path, tmp_path: Path):
    db = str(tmp_path / "ws.db")
    _cli_ok("review", "import", str(collection), "--db", db, "--text-field", "body")
    again = run_cli("review", "import", str(collection), "--db", db, "--text-field", "body")
    assert again.returncode == 0 and b"imported 0 document(s), 5 already present" in again.stderr
    _cli_ok("review", "accept", "--min-confidence", "0.9", "--db", db)
    for fmt in ("txt", "jsonl", "tei"):
        _cli_ok("export", "--format", fmt, str(tmp_path / "out"), "--db", db)

    # txt export equals `restore fix --min-confidence 0.9`, character for character.
    files = sorted(p for p in collection.rglob("*.txt"))
    fixed = tmp_path / "fixed"
    fixed.mkdir()
    for f in files:
        restored = run_cli("fix", "--min-confidence", "0.9", str(f), "-o", str(fixed / f.name))
        assert restored.returncode == 0
        exported = (
            tmp_path / "out" / (f.relative_to(collection).as_posix().removesuffix(".txt").replace("/", "_") + ".txt")
        )
        assert exported.read_text("utf-8") == (fixed / f.name).read_text("utf-8"), f
    records = [json.loads(line) for line in (tmp_path / "out" / "restored.jsonl").read_text("utf-8").splitlines()]
    assert len(records) == 5 and sum(len(r["edits"]) for r in records) > 5
    for r in records:
        spans, shift = [], 0
        for e in r["edits"]:
            spans.append((e["offset"] + shift, e["offset"] + shift + len(e["text"])))
            shift += len(e["text"])
            assert e["decision"] == "accept" and e["confidence"] >= 0.9 and e["model_version"] and e["evidence"]
        assert remove_insertions(r["restored"], spans) == r["original"]
        xml = (tmp_path / "out" / f"{r['id'].removesuffix('.txt').replace('/', '_')}.xml").read_text("utf-8")
        root = ElementTree.fromstring(xml)  # well-formed
        assert root.tag == f"{{{TEI_NS}}}TEI"
        supplied = root.findall(f".//{{{TEI_NS}}}supplied")
        assert len(supplied) == len(r["edits"])
        assert all(s.get("reason") == "censored" and s.get("cert") == "high" for s in supplied)
        assert tei_texts(xml) == (r["original"], r["restored"])
    sample = next(r for r in records if r["id"] == "sample.txt")
    assert sample["original"] == SAMPLE.read_text("utf-8")


def test_tei_keeps_awkward_characters(tmp_path: Path):
    body = "甲\r\n乙 & <丙>\x0b丁\n在机场、铁、公等口岸设置防控站。\n开行中欧超过一千列"
    with Workspace(str(tmp_path / "ws.db"), "al ice") as ws:
        ws.import_items([SourceItem("odd", body, {"title": "标题 <1>"})])
        store = ws.store
        doc_id = store.document_ids()[0]
        for gap in store.gaps_of(doc_id):
            if gap.candidates:
                store.decide(gap.id, "accept", "al ice")
            elif gap.kind == "unknown":
                store.decide(gap.id, "unknown", "al ice")
        still_open = store.gaps_of(doc_id, ["open"])
        if still_open:
            store.decide(still_open[0].id, "edit", "al ice", typed="&<")
        from restore.review.export import restored_document, tei_document

        exported = restored_document(store, doc_id)
        xml = tei_document(exported)
    root = ElementTree.fromstring(xml)
    assert root.find(f".//{{{TEI_NS}}}titleStmt/{{{TEI_NS}}}title").text == "标题 <1>"
    gaps = root.findall(f".//{{{TEI_NS}}}gap")
    assert len(gaps) == len(exported.unknown) and all(g.get("reason") == "omitted" for g in gaps)
    assert exported.applied and exported.unknown  # both kinds of mark were exercised
    resp = {s.get("resp") for s in root.findall(f".//{{{TEI_NS}}}supplied")}
    ids = {r.get("{http://www.w3.org/XML/1998/namespace}id") for r in root.findall(f".//{{{TEI_NS}}}respStmt")}
    # "al ice" is not a valid id as it stands: its id keeps what it can and a hash of the name.
    (rid,) = ids
    assert rid.startswith("reviewer-al_ice-") and resp == {f"#{rid}"}
    original, restored = tei_texts(xml)
    assert original == body
    assert restored == exported.restoration.text


def test_learning_changes_later_suggestions(tmp_path: Path):
    first = "开行中欧超过一千列，加强生态督察整改工作。"
    later = "去年中欧开行数量全国第一，要求生态督察到位。"
    with Workspace(str(tmp_path / "ws.db"), "alice") as ws:
        ws.import_items([SourceItem("first", first)])
        before = {g.offset: g for g in ws.suggest(later)}
        store = ws.store
        gaps = {g.offset: g for g in store.gaps_of(store.document_ids()[0])}
        unknown = gaps[first.index("超过")]
        assert unknown.kind == "unknown" and not unknown.candidates
        store.decide(unknown.id, "edit", "alice", typed="班列")
        eco = gaps[first.index("督察")]
        texts = [c.text for c in eco.candidates]
        assert texts[0] == "环境保护" and "保护" in texts
        store.decide(eco.id, "accept", "alice", candidate_rank=texts.index("保护") + 1)
        ws.import_items([SourceItem("later", later)])
        later_id = store.document_ids()[-1]
        after = {g.offset: g for g in store.gaps_of(later_id)}
    # The typed string joined the workspace lexicon and is now proposed.
    at = later.index("开行")
    assert at not in before or "班列" not in [c.text for c in before[at].candidates]
    assert after[at].best is not None and after[at].best.text == "班列"
    # The choice of 保护 over 环境保护 in this context flips the ranking.
    eco_at = later.index("督察")
    assert before[eco_at].best.text == "环境保护"
    assert after[eco_at].best.text == "保护"
    demoted = {c.text: c.confidence for c in after[eco_at].candidates}["环境保护"]
    assert demoted < before[eco_at].best.confidence - 0.3
    assert any(e.kind == "workspace" for e in after[eco_at].candidates[0].evidence)


def test_cli_status_reject_diff_and_errors(collection: Path, tmp_path: Path):
    db = str(tmp_path / "ws.db")
    _cli_ok("review", "import", str(collection / "sub"), "--db", db)
    # A re-run with another lexicon keeps every decision and records the new version.
    _cli_ok("review", "accept", "--min-confidence", "0.99", "--db", db)
    decided = json.loads(_cli_ok("review", "status", "--format", "json", "--db", db))["counts"]["accepted"]
    extra = tmp_path / "extra.txt"
    extra.write_text("督察\n", encoding="utf-8")
    _cli_ok("review", "resuggest", "--lexicon", str(extra), "--db", db)
    assert json.loads(_cli_ok("review", "status", "--format", "json", "--db", db))["counts"]["accepted"] == decided
    with Store(db) as store:
        assert store.audit_entries(1)[0]["event"] == "resuggest"
        assert "+extra@" in store.audit_entries(1)[0]["detail"]["lexicon"]
    _cli_ok("review", "accept", "--min-confidence", "0.99", "--db", db)
    status = json.loads(_cli_ok("review", "status", "--format", "json", "--db", db))
    assert status["counts"]["documents"] == 2 and status["counts"]["open"] > 0
    _cli_ok("review", "reject", "--below", "0.5", "--db", db)
    _cli_ok("review", "accept", "--min-confidence", "0.5", "--doc", "page0.txt", "--db", db)
    diff = _cli_ok("diff", "page0.txt", "--db", db)
    assert "⟦路⟧" in diff
    unified = _cli_ok("diff", "page0.txt", "--format", "unified", "--db", db)
    assert unified.startswith("--- page0.txt (original)")

    unknown = run_cli("diff", "nope", "--db", db)
    assert unknown.returncode == 1 and unknown.stderr.decode().count("\n") == 1
    assert "no document 'nope'" in unknown.stderr.decode()
    both = run_cli("review", "reject", "--db", db)
    assert both.returncode == 1 and b"exactly one of" in both.stderr
    no_tty = run_cli("review", "--db", db)
    assert no_tty.returncode == 1 and b"needs a terminal" in no_tty.stderr


def test_bad_inputs_are_reported_and_nothing_is_lost(collection: Path, tmp_path: Path):
    db = tmp_path / "ws.db"
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes("铁、公等口岸设置防控站。".encode("gbk"))
    proc = run_cli("review", "import", str(gbk), str(collection / "sub"), "--db", str(db))
    err = proc.stderr.decode()
    assert proc.returncode == 1 and "Traceback" not in err
    assert "gbk.txt: not UTF-8 text" in err and "GB18030" in err
    status = json.loads(_cli_ok("review", "status", "--format", "json", "--db", str(db)))
    assert status["counts"]["documents"] == 2  # the good files were imported

    # A read-only workspace: reads work, decisions are refused, nothing changes.
    before = db.read_bytes()
    db.chmod(stat.S_IRUSR)
    try:
        proc = run_cli("review", "accept", "--min-confidence", "0.5", "--db", str(db))
        assert proc.returncode == 1 and b"read-only" in proc.stderr and b"Traceback" not in proc.stderr
        assert run_cli("review", "status", "--db", str(db)).returncode == 0
    finally:
        db.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert db.read_bytes() == before

    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 20)
    saved = corrupt.read_bytes()
    for args in (("review", "status"), ("review", "import", str(collection / "sub")), ("export", str(tmp_path / "x"))):
        proc = run_cli(*args, "--db", str(corrupt))
        err = proc.stderr.decode()
        assert proc.returncode == 1 and err.startswith("restore: error:") and err.count("\n") == 1, err
    assert corrupt.read_bytes() == saved


def test_tei_has_a_paragraph_per_line_and_a_revision_history(tmp_path: Path):
    from restore.document import Candidate, Gap
    from restore.review.export import restored_document, tei_document, tei_texts
    from restore.review.store import Store

    text = "推进铁、公建设。\n优化营商，激发活力。\n"
    gaps = [
        Gap(text.index("、"), "deletion", (Candidate("路", 3.0, 0.97, ()),)),
        Gap(text.index("，激"), "deletion", (Candidate("环境", 3.0, 0.96, ()),)),
    ]
    with Store(str(tmp_path / "ws.db")) as store:
        doc, _ = store.add_document("page.txt", text, {"title": "标题"}, gaps, {"model": "m", "lexicon": "l"}, "x")
        for g in store.gaps_of(doc):
            store.decide(g.id, "accept", "alice", expected_version=g.version)
        xml = tei_document(restored_document(store, doc))
    assert xml.count("<p xml:space") == 3  # two lines and the empty one after the last break
    assert "<title>标题</title>" in xml and xml.count("<change when=") == 2
    assert tei_texts(xml) == (text, "推进铁路、公建设。\n优化营商环境，激发活力。\n")


def test_exports_say_how_each_restoration_was_decided(tmp_path: Path):
    from restore.document import Candidate, Gap
    from restore.review.export import export, restored_document, tei_document
    from restore.review.store import Store

    text = "推进铁、公建设，优化营商，激发活力。"
    gaps = [
        Gap(text.index("、"), "deletion", (Candidate("路", 3.0, 0.97, ()),)),
        Gap(text.index("建设"), "deletion", (Candidate("路", 3.0, 0.96, ()),)),
        Gap(text.index("，激"), "deletion", (Candidate("政策", 1.0, 0.3, ()),)),
    ]
    with Store(str(tmp_path / "ws.db")) as store:
        doc, _ = store.add_document("p", text, {}, gaps, {"model": "m", "lexicon": "l"}, "x")
        first, second, third = store.gaps_of(doc)
        store.decide(first.id, "accept", "alice", expected_version=first.version, candidate_rank=1, bulk=True)
        store.decide(second.id, "accept", "alice", expected_version=second.version)
        store.decide(third.id, "edit", "alice", expected_version=third.version, typed="环境")
        xml = tei_document(restored_document(store, doc))
        export(store, tmp_path / "j", "jsonl")
    record = json.loads((tmp_path / "j" / "restored.jsonl").read_text("utf-8"))
    assert [e["mode"] for e in record["edits"]] == ["bulk", "reviewed", "typed"]
    assert 'resp="#restore"' in xml and '<respStmt xml:id="restore">' in xml
    assert 'cert="unknown" evidence="conjecture"' in xml
