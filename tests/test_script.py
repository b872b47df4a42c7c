"""Traditional script: read through a Simplified view, restored in the document's own
script, offsets unchanged, paragraph by paragraph in mixed documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from restore.document import remove_insertions
from restore.engine.script import ScriptView, convert, to_simplified
from restore.evaluation.simulate import damage
from restore.models.lexicon import parse_filter_list

from .conftest import FIXTURES, SEED, read_jsonl, run_cli

CASES = read_jsonl(FIXTURES / "synthetic" / "cases.jsonl")


@pytest.mark.parametrize("variant", ["s2tw", "s2hk", "s2t"])
def test_the_view_keeps_every_offset_and_finds_the_variant(variant: str):
    text = SEED.read_text("utf-8")
    traditional = convert(text, variant)
    view = ScriptView.of(traditional)
    assert len(view.view) == len(traditional) and view.script == "traditional"
    assert {v for _, _, v in view.traditional} <= {variant, "s2t", "s2tw", "s2hk"}
    assert sum(1 for a, b in zip(view.view, text) if a != b) < len(text) // 100


@pytest.mark.parametrize("case", CASES, ids=[c["original"][:8] for c in CASES])
def test_traditional_damage_is_restored_in_traditional(restorer, case):
    original = convert(case["original"], "s2tw")
    damaged, _ = damage(original, tuple(convert(e, "s2tw") for e in case["entries"]))
    fixed = restorer.fix(damaged, 0.9)
    assert fixed.text == original
    assert remove_insertions(fixed.text, fixed.restored_offsets()) == damaged


def test_a_mixed_document_is_read_paragraph_by_paragraph(restorer):
    simplified = "我们要深度融入一带一建设，持续优化营商。"
    traditional = convert("加快推进铁、公等基础设施建设。", "s2tw")
    text = simplified + "\n" + traditional
    fixed = restorer.fix(text, 0.9)
    first, second = fixed.text.split("\n")
    assert first == "我们要深度融入一带一路建设，持续优化营商环境。"
    assert second == convert("加快推进铁路、公路等基础设施建设。", "s2tw")


def test_clean_traditional_text_raises_no_more_gaps_than_simplified(restorer):
    clean = (FIXTURES / "negative" / "clean.txt").read_text("utf-8")
    clean += "\n".join(c["original"] for c in CASES) + "\n"
    simplified = len(restorer.scan(clean))
    traditional = len(restorer.scan(convert(clean, "s2tw")))
    assert traditional <= max(1.5 * simplified, simplified + 2)


def test_filter_lists_and_site_pages_work_in_either_script(tmp_path: Path):
    assert parse_filter_list("營商環境\n营商环境", "x").entries == ("营商环境",)
    assert to_simplified("習近平總書記") == "习近平总书记"
    pages = tmp_path / "site"
    pages.mkdir()
    for i in range(3):  # the site shows 政府 intact: it is not on its filter
        (pages / f"p{i}.txt").write_text(
            convert(f"第{i}页：市政府工作报告，持续优化营商，推进铁、公建设。", "s2tw"), "utf-8"
        )
    proc = run_cli("scan", "--same-site", *(str(p) for p in sorted(pages.iterdir())))
    assert proc.returncode == 0, proc.stderr
    assert "政府" in proc.stderr.decode() and "⟦環境⟧" in proc.stdout.decode()


def test_a_page_restore_cannot_read_is_said_plainly(tmp_path: Path):
    from restore.engine.script import unreadable

    assert unreadable("한국어로 쓴 글입니다. 한글이 아주 많이 들어 있는 문장입니다.") == "mostly Korean hangul"
    assert unreadable(convert("推进铁、公建设，优化营商环境，坚持以习总重要讲话为指导", "s2tw")) is None
    page = tmp_path / "en.txt"
    page.write_text("This page is written in English and has nothing Chinese in it at all.\n", "utf-8")
    proc = run_cli("fix", str(page), "-o", str(tmp_path / "out.txt"))
    assert proc.returncode == 0 and "mostly Latin letters" in proc.stderr.decode()
    assert (tmp_path / "out.txt").read_text("utf-8") == page.read_text("utf-8")
