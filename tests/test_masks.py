"""Masks: a site's marks (□□, ＊, XX) are gaps whose place is known. They are filled by the
same engine, the restoration replaces the mark, and the edit records what it replaced, so
the original is always recoverable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from restore.document import Insertion, Restoration
from restore.engine.detect import find_masks
from restore.evaluation.simulate import mask

from .conftest import FIXTURES, read_jsonl, run_cli

CASES = read_jsonl(FIXTURES / "synthetic" / "cases.jsonl")


@pytest.mark.parametrize("mode", ["star", "box"])
@pytest.mark.parametrize("case", CASES, ids=[c["original"][:8] for c in CASES])
def test_masked_cases_are_filled_and_the_marks_replaced(restorer, case, mode):
    masked, gold = mask(case["original"], case["entries"], mode)
    fixed = restorer.fix(masked, 0.9)
    assert fixed.unapply(fixed.text) == masked
    filled = {i.offset: (i.text, i.replaced) for i in fixed.insertions}
    for g in gold:
        if g.start in filled:  # never a wrong fill; most are filled
            assert filled[g.start] == (g.text, masked[g.start : g.end])
    assert len(filled) >= len(gold) // 2


def test_a_box_per_character_fixes_the_length(restorer):
    gaps = [g for g in restorer.scan("持续优化营商□□，推进一带一□建设") if g.kind == "mask"]
    assert [g.span for g in gaps] == [(6, 8), (14, 15)]
    assert all(len(c.text) == 2 for c in gaps[0].candidates) and gaps[0].best.text == "环境"
    assert all(len(c.text) == 1 for c in gaps[1].candidates)


def test_masks_are_known_by_their_marks():
    found = find_masks("在*、国务院，XX同志，□□□，＊＊，Xbox 不是")
    assert [(m.text, m.length) for m in found] == [("*", None), ("XX", None), ("□□□", 3), ("＊＊", 2)]


def test_edits_that_replace_are_checked_and_reversible():
    r = Restoration("在*、国务院", (Insertion(1, "党中央", 0.97, replaced="*"),))
    assert r.text == "在党中央、国务院" and r.unapply(r.text) == "在*、国务院"
    assert r.insertions[0].to_dict()["span"] == [1, 2]
    with pytest.raises(ValueError):
        Restoration("在*、国务院", (Insertion(1, "党中央", 0.97, replaced="、"),))


def test_fix_changes_and_batch_records_carry_the_replaced_span(tmp_path: Path):
    page = tmp_path / "page.txt"
    page.write_text("持续优化营商□□，推进一带一□建设。\n", "utf-8")
    proc = run_cli("fix", str(page), "--changes", str(tmp_path / "edits.jsonl"), "-o", str(tmp_path / "out.txt"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out.txt").read_text("utf-8") == "持续优化营商环境，推进一带一路建设。\n"
    edits = [json.loads(x) for x in (tmp_path / "edits.jsonl").read_text("utf-8").splitlines()]
    assert [(e["text"], e["replaced"], e["span"]) for e in edits] == [("环境", "□□", [6, 8]), ("路", "□", [14, 15])]
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "text": page.read_text("utf-8")}, ensure_ascii=False) + "\n", "utf-8")
    assert run_cli("batch", str(src), str(tmp_path / "out.jsonl")).returncode == 0
    record = json.loads((tmp_path / "out.jsonl").read_text("utf-8"))
    assert [r["replaced"] for r in record["restorations"]] == ["□□", "□"]
    assert record["restored_text"] == "持续优化营商环境，推进一带一路建设。\n"


def test_review_accepts_a_mask_and_every_export_shows_both(tmp_path: Path):
    from restore.review.export import export, tei_texts
    from restore.review.store import Store

    page = tmp_path / "page.txt"
    original = "持续优化营商□□，推进一带一□建设。"
    page.write_text(original, "utf-8")
    db = str(tmp_path / "ws.db")
    assert run_cli("review", "import", "--db", db, str(page)).returncode == 0
    with Store(db) as store:
        (doc,) = store.document_ids()
        masks = [g for g in store.gaps_of(doc) if g.kind == "mask"]
        assert len(masks) == 2
        for g in masks:
            store.decide(g.id, "accept", "张三", expected_version=g.version, candidate_rank=1)
        export(store, tmp_path / "tei", "tei")
        export(store, tmp_path / "jsonl", "jsonl")
    xml = next((tmp_path / "tei").glob("*.xml")).read_text("utf-8")
    assert '<choice><orig>□□</orig><supplied reason="masked"' in xml
    assert tei_texts(xml) == (original, "持续优化营商环境，推进一带一路建设。")
    record = json.loads((tmp_path / "jsonl" / "restored.jsonl").read_text("utf-8"))
    assert record["restored"] == "持续优化营商环境，推进一带一路建设。"
    assert [(e["replaced"], e["span"]) for e in record["edits"]] == [("□□", [6, 8]), ("□", [14, 15])]


def test_mask_confidence_is_calibrated_and_keeps_the_order():
    from restore.engine.calibration import Curve, MaskCalibration

    calibrate = MaskCalibration(fixed=Curve(0.5, 0.3, 2.0), open=Curve(0.5, 0.3, -1.0))
    values = [0.05, 0.3, 0.6, 0.9, 0.99]
    assert [calibrate(v, 0.01, 2) for v in values] == sorted(calibrate(v, 0.01, 2) for v in values)
    assert all(calibrate(v, 0.01, None) < calibrate(v, 0.01, 2) for v in values)  # any length: less sure
    assert all(calibrate(v, 0.8, 2) < calibrate(v, 0.01, 2) for v in values)  # a close rival: less sure
    assert MaskCalibration()(0.42, 0.1, None) == 0.42  # not fitted: the decision model's confidence as it is


def test_a_mask_the_list_cannot_fill_is_left_for_a_person(restorer):
    (gap,) = [g for g in restorer.scan("推进*战略，加快发展") if g.kind == "mask"]
    assert all(c.confidence < 0.9 for c in gap.candidates)
    assert restorer.fix("推进*战略，加快发展", 0.9).text == "推进*战略，加快发展"
