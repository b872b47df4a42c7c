"""Substitution typos: the particle check, pycorrector on our model, QC reporting."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from restore.cli import main
from restore.models.lm import CharLM
from restore.qc.typos import find_typos, load_corrector, particle_typos

SWAPPED = [
    ("我们要认真的学习文件精神。", "的", "地"),
    ("努力把工作做的更好。", "的", "得"),
    ("人民群众过上了幸福地生活。", "地", "的"),
]
CORRECT = [
    "我们要认真地学习文件精神，努力把工作做得更好。",
    "人民群众过上了幸福的生活，脸上洋溢着满意的笑容。",
    "会议强调，要坚持以人民为中心的发展思想。",
    "他高兴地说，今年的收成好得很。",
]


@pytest.fixture(scope="module")
def lm() -> CharLM:
    return CharLM.load()


@pytest.mark.parametrize("text,wrong,right", SWAPPED)
def test_swapped_particles_are_found(lm: CharLM, text: str, wrong: str, right: str) -> None:
    typos = particle_typos(text, lm)
    assert [(t.text, t.suggestion) for t in typos] == [(wrong, right)]
    assert text[typos[0].start : typos[0].end] == wrong


@pytest.mark.parametrize("text", CORRECT)
def test_correct_particles_are_left_alone(lm: CharLM, text: str) -> None:
    assert particle_typos(text, lm) == []


def test_typos_beside_a_gap_are_dropped(lm: CharLM) -> None:
    text = "我们要认真的学习文件精神。"
    at = text.index("的")
    assert find_typos(text, lm, use_pycorrector=False)
    assert find_typos(text, lm, near_gaps=[at + 1], use_pycorrector=False) == []


def test_pycorrector_runs_on_our_model(lm: CharLM) -> None:
    pytest.importorskip("pycorrector")
    typos = find_typos("这个问题我们已经研究过了，决定明天在会议上讨轮。", lm)
    assert ("讨轮", "讨论") in [(t.text, t.suggestion) for t in typos]
    assert not [t for t in find_typos(CORRECT[2], lm) if t.source == "pycorrector"]


def test_qc_reports_typos_only_when_asked(tmp_path: Path) -> None:
    pytest.importorskip("pycorrector")
    page = tmp_path / "page.txt"
    page.write_text("我们要认真的学习文件精神，努力把工作做的更好。\n", encoding="utf-8")
    plain = CliRunner().invoke(main, ["qc", str(page)])
    asked = CliRunner().invoke(main, ["qc", "--typos", str(page)])
    assert plain.exit_code == 0 and asked.exit_code == 0
    assert "⟦" not in plain.output
    assert "认真⟦的→地⟧学习" in asked.output and "做⟦的→得⟧更好" in asked.output
    assert page.read_text(encoding="utf-8") == "我们要认真的学习文件精神，努力把工作做的更好。\n"


def test_missing_pycorrector_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "page.txt"
    page.write_text("我们要认真的学习文件精神。\n", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "pycorrector", None)
    monkeypatch.setitem(sys.modules, "pycorrector.corrector", None)
    load_corrector.cache_clear()
    try:
        result = CliRunner().invoke(main, ["qc", "--typos", str(page)])
    finally:
        load_corrector.cache_clear()
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "restore[typos]" in result.output
