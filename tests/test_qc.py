"""Quality control: the seed's boilerplate and artefacts, clean text left alone, the
cleaned copy, mojibake, masks and verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from restore.qc.checks import check, find_boilerplate, find_mojibake, strip_boilerplate

from .conftest import FIXTURES, SEED, run_cli


@pytest.fixture(scope="module")
def seed_report(restorer):
    return check("seed", SEED.read_text("utf-8"), restorer)


def test_seed_boilerplate_and_artefacts(seed_report):
    kinds = {f.kind: f for f in seed_report.findings}
    assert kinds["breadcrumb"].text.startswith("网站首页 >")
    assert kinds["metadata"].text.startswith("※发布时间")
    assert kinds["trailing-spam"].text == "眼跳测吉凶"
    assert kinds["bullet"].text == "▲"
    assert kinds["fused-heading"].text.startswith("加强残疾人综合服务设施建设")
    assert seed_report.metadata == {"published": "2020-6-20 1:51:17", "author": "habao"}
    assert seed_report.verdict == "damaged-needs-human"
    assert seed_report.deletion_density > 5
    assert "路" in seed_report.top_strings


def test_strip_boilerplate_writes_a_clean_copy(seed_report, tmp_path: Path):
    original = SEED.read_text("utf-8")
    cleaned = strip_boilerplate(original, seed_report.findings)
    assert "网站首页" not in cleaned and "※发布时间" not in cleaned and not cleaned.rstrip().endswith("眼跳测吉凶")
    assert cleaned.rstrip().endswith("全国发展新亮点。")
    assert "▲加强残疾人" in cleaned  # artefacts are reported, not removed
    proc = run_cli("qc", str(SEED), "--strip-boilerplate", str(tmp_path / "clean"))
    assert proc.returncode == 0
    assert (tmp_path / "clean" / SEED.name).read_text("utf-8") == cleaned
    assert SEED.read_text("utf-8") == original


def test_clean_text_has_no_findings(restorer):
    text = (FIXTURES / "negative" / "clean.txt").read_text("utf-8")
    findings, metadata = find_boilerplate(text)
    assert findings == [] and metadata == {}
    report = check("clean", text, restorer)
    assert report.verdict == "clean", report.to_dict()


def test_mojibake_masks_and_other_furniture(restorer):
    broken = "新闻标题".encode().decode("latin-1")
    text = (
        "当前位置：首页 > 新闻中心\n"
        f"{broken}\n"
        "会议指出，要坚决□□，推动高质量发展。\n"
        "相关文章\n"
        "市政府召开常务会议\n"
        "上一篇：关于做好春节期间工作的通知\n"
    )
    report = check("page", text, restorer)
    kinds = [f.kind for f in report.findings]
    assert kinds.count("related") == 2 and "breadcrumb" in kinds and "navigation" in kinds
    assert "mask" in kinds and report.verdict == "damaged-needs-human"
    mojibake = find_mojibake(text)
    assert len(mojibake) == 1 and "新闻标题" in mojibake[0].detail


def test_cli_jsonl_and_bad_input(tmp_path: Path):
    proc = run_cli("qc", "--format", "jsonl", str(SEED))
    record = json.loads(proc.stdout.decode("utf-8"))
    assert record["verdict"] == "damaged-needs-human" and record["metadata"]["author"] == "habao"
    assert sum(record["perplexity_buckets"].values()) == len(record["paragraphs"])
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes("铁、公等口岸设置防控站。".encode("gbk"))
    bad = run_cli("qc", str(gbk))
    assert bad.returncode == 1 and b"GB18030" in bad.stderr and b"Traceback" not in bad.stderr


def _chromium() -> str | None:
    import shutil

    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.integration
def test_html_report_renders_in_headless_chromium(tmp_path: Path):
    import os
    import subprocess
    from html.parser import HTMLParser

    report = tmp_path / "qc.html"
    sample = (
        Path(__file__).resolve().parent.parent / "restore" / "data" / "samples" / "chengdu-2020-excerpt.scraped.txt"
    )
    proc = run_cli("qc", str(SEED), str(FIXTURES / "negative" / "clean.txt"), str(sample), "--html", str(report))
    assert proc.returncode == 0, proc.stderr
    html = report.read_text("utf-8")

    class Tags(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.open: list[str] = []
            self.seen: list[str] = []

        def handle_starttag(self, tag, attrs):
            self.seen.append(tag)
            if tag != "meta":  # the one void element the report uses
                self.open.append(tag)

        def handle_startendtag(self, tag, attrs):
            self.seen.append(tag)

        def handle_endtag(self, tag):
            assert self.open and self.open[-1] == tag, (tag, self.open[-3:])
            self.open.pop()

    parser = Tags()
    parser.feed(html)
    assert parser.open == [] and parser.seen.count("h2") == 2 + 3  # density, strings, one per document
    assert "眼跳测吉凶" in html and "damaged-needs-human" in html and "<svg" in html

    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs Chromium for this test; .ci/run installs it")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    shot = tmp_path / "qc.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1200,1600",
            f"--screenshot={shot}",
            report.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    from PIL import Image

    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 1600)
    colours = image.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 20  # text, table rules and coloured verdicts, not a blank page
    # The histogram's bars are drawn in #4c72b0.
    assert any(rgb == (0x4C, 0x72, 0xB0) for _, rgb in colours)


def test_a_site_that_deletes_every_long_number_is_named_as_a_pattern(restorer):
    import re

    from restore.qc.checks import check

    clean = (
        "国务院关于2019年国民经济和社会发展计划执行情况的报告。全市地区生产总值达到17012亿元，增长7.8%。"
        "总投资约3200亿元，新建项目150个。全年接待游客2.8亿人次。"
    )
    damaged = re.sub(r"[0-9.]{3,}", "", clean)
    kinds = [f.kind for f in check("page", damaged, restorer).findings]
    assert kinds.count("numbers-deleted") == 1
    assert "numbers-deleted" not in [f.kind for f in check("page", clean, restorer).findings]


def test_qc_gap_counts_add_up_to_what_scan_reports(restorer):
    from restore.qc.checks import check

    from .conftest import SEED

    text = SEED.read_text("utf-8")
    report = check("seed", text, restorer)
    scanned = [g for g in restorer.scan(text) if g.kind != "mask"]
    assert report.gaps + report.gaps_in_furniture == len(scanned) and report.gaps_in_furniture >= 1
