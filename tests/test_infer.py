"""Filter-list inference and fingerprinting on the real scraped seed page."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from restore.models.lexicon import (
    DEFAULT_FILTER_LIST,
    FilterList,
    default_filter_list,
    load_filter_list,
    parse_filter_list,
)
from restore.sites.inference import (
    INTACT_PENALTY,
    InferenceError,
    InferredEntry,
    Reference,
    absent_strings,
    demote_superstrings,
    explanations,
    filler_order,
    infer_filter_list,
    lexicon_text,
)
from restore.sites.matching import absence_evidence, match_lists

from .conftest import SEED, needs_shared, run_cli


@pytest.fixture(scope="module")
def reference() -> Reference:
    return Reference.load()


PROGRESS: list[tuple[str, int, int]] = []


@pytest.fixture(scope="module")
def seed_inferred(reference):
    return infer_filter_list(
        [SEED.read_text("utf-8")], reference, candidates=200, on_progress=lambda *a: PROGRESS.append(a)
    )


def test_inference_reports_its_progress(seed_inferred):
    # One page: the candidate scan reports it done, so a bar can reach its end.
    assert PROGRESS and PROGRESS[-1] == ("testing candidates", 1, 1)


def test_index_proposes_what_the_reference_puts_into_the_gaps(reference, corpus_index):
    index = corpus_index
    text = SEED.read_text("utf-8")
    _, _, observed = absent_strings([text], reference)
    from restore.engine.restorer import Restorer

    scout = Restorer(use_index=False, use_neural=False)
    proposed = [g for g, _ in filler_order([text], observed, index, scout)]
    assert "路" in proposed[:5] and "环境" in proposed[:5], proposed[:5]
    assert not any(g in text for g in proposed)  # only strings the site never shows
    inferred = infer_filter_list([text], reference, candidates=150, index=index)
    top = [e.string for e in inferred[:10]]
    assert "路" in top and "政府" in top, top


def test_reference_table(reference):
    assert reference.characters > 5_000_000
    assert reference.counts["政府"] > reference.counts["政府工作报告"] >= 15


def test_absent_strings_are_expected_but_missing(reference):
    text = SEED.read_text("utf-8")
    absent, expected, observed = absent_strings([text], reference)
    assert "路" in absent and "政府" in absent  # the seed's filter deleted both everywhere
    assert "发展" not in absent and observed["发展"] > 50
    assert expected["路"] > 5


def test_seed_filter_strings_come_first(seed_inferred):
    top = [e.string for e in seed_inferred[:8]]
    assert "路" in top and "政府" in top, top
    first = seed_inferred[0]
    assert first.observed == 0 and first.junctions >= 5 and first.expected > 5
    text = lexicon_text(seed_inferred)
    entries = parse_filter_list(text, "inferred").entries
    assert entries == tuple(e.string for e in seed_inferred if e.kept())
    # One page given alone: its two-junction entries are kept, not discounted as one page's story.
    assert all(e.pages == 0 for e in seed_inferred)
    assert any(e.kept() and e.junctions == 2 for e in seed_inferred)


def test_match_prefers_the_list_that_explains_the_damage(seed_inferred, reference):
    seed_list = default_filter_list()
    unrelated = load_filter_list(needs_shared("lexicons/konsheng-sensitive-lexicon/色情类型.txt"))
    ranking = match_lists(seed_inferred, [unrelated, seed_list], [SEED.read_text("utf-8")], reference)
    assert ranking[0].name == seed_list.name and ranking[0].explained > 0.5
    assert ranking[1].explained < 0.1


def test_absence_evidence_saturates_for_bursty_counts():
    assert absence_evidence(5.0, None) == 5.0  # Poisson: log(1 / exp(-5))
    assert absence_evidence(5.0, 1.0) == pytest.approx(math.log(6.0))  # geometric: log(1 / (1 + 5)^-1)
    assert absence_evidence(0.0) == 0.0
    assert absence_evidence(100.0) < absence_evidence(100.0, 3.0) < absence_evidence(100.0, None)


def test_an_intact_entry_counts_against_a_list(reference):
    site = ["政府工作报告提出，要深化改革开放。" * 20]
    absent_list = FilterList("absent", ("路", "营商环境"))
    with_intact = FilterList("intact", ("路", "营商环境", "改革"))
    ranking = match_lists([], [with_intact, absent_list], site, reference)
    scores = {m.name: m for m in ranking}
    assert ranking[0].name == "absent" and scores["intact"].intact == 1 and scores["absent"].intact == 0
    assert scores["absent"].score - scores["intact"].score == pytest.approx(INTACT_PENALTY)
    assert scores["absent"].absent > 0


def test_match_ranks_identical_lists_once(seed_inferred, reference):
    seed_list = default_filter_list()
    copy = FilterList("copied", tuple(reversed(seed_list.entries)))
    other = load_filter_list(needs_shared("lexicons/konsheng-sensitive-lexicon/色情类型.txt"))
    ranking = match_lists(seed_inferred, [seed_list, other, copy], [SEED.read_text("utf-8")], reference)
    assert len(ranking) == 2
    assert ranking[0].names == (seed_list.name, "copied") and ranking[0].to_dict()["same_as"] == ["copied"]
    assert ranking[1].same_as == ()


def test_cli_infer_writes_a_usable_lexicon(tmp_path: Path):
    out = tmp_path / "site.txt"
    proc = run_cli("lexicon", "infer", str(SEED), "--candidates", "150", "-o", str(out), "--format", "jsonl")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]
    assert rows and all(r["junctions"] >= 2 for r in rows)
    assert "路" in load_filter_list(out).entries
    fixed = run_cli(
        "fix", "-", "--replace-lexicon", "--lexicon", str(out), stdin="在机场、铁、公等口岸设置防控站。".encode()
    )
    assert "铁路" in fixed.stdout.decode("utf-8")


def test_bad_inputs(tmp_path: Path):
    with pytest.raises(InferenceError):
        infer_filter_list([], candidates=10)
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run_cli("lexicon", "infer", str(empty))
    assert proc.returncode == 1 and b"no usable text" in proc.stderr and b"Traceback" not in proc.stderr
    # A page over the size limit is named with its size, and the flag that admits it exists.
    for command in ("infer", "match"):
        extra = ("--lexicon", str(DEFAULT_FILTER_LIST)) if command == "match" else ()
        proc = run_cli("lexicon", command, *extra, "--max-bytes", "100", str(SEED))
        err = proc.stderr.decode()
        assert proc.returncode == 1 and "Traceback" not in err, err
        assert f"{SEED.stat().st_size:,} bytes is more than the 100 bytes" in err and "--max-bytes" in err
    broken = tmp_path / "ref.tsv.xz"
    broken.write_bytes(b"not xz")
    with pytest.raises(InferenceError, match="cannot read reference"):
        Reference.load(broken)


def test_strings_explained_by_another_go_last():
    ranked = ["习近平", "真", "习近平在", "认真", "近平", "思想文化", "主权", "国家主权"]
    filled = {"习近平": 556, "真": 149, "习近平在": 5, "认真": 4, "近平": 1, "思想文化": 3, "主权": 4, "国家主权": 4}
    expected = {
        "习近平": 289.0,
        "真": 900.0,
        "习近平在": 20.0,
        "认真": 80.0,
        "近平": 290.0,
        "主权": 60.0,
        "国家主权": 9.0,
    }
    out = demote_superstrings(ranked, filled, expected)
    assert out == ["习近平", "真", "思想文化", "主权", "习近平在", "认真", "近平", "国家主权"]
    # At a tie the longer string explains a shorter one the reference rarely sees apart from it.
    assert demote_superstrings(
        ["共产党", "中国共产党"], {"共产党": 3, "中国共产党": 3}, {"共产党": 40.0, "中国共产党": 30.0}
    ) == [
        "中国共产党",
        "共产党",
    ]
    # An explainer needs junctions of its own.
    assert demote_superstrings(["认真", "真"], {"认真": 1, "真": 1}, {"真": 900.0, "认真": 80.0}) == ["认真", "真"]


def test_explained_strings_stay_out_of_the_inferred_list():
    filled = {"习近平": 556, "习近平总书记": 27, "真": 149, "认真": 4, "思想文化": 3}
    expected = {"习近平": 289.0, "习近平总书记": 60.0, "真": 900.0, "认真": 80.0, "思想文化": 2.0}
    ranked = sorted(filled, key=lambda g: -filled[g])
    assert explanations(ranked, filled, expected) == {"习近平总书记": "习近平", "认真": "真"}
    entries = [
        InferredEntry(g, expected[g], 0, filled[g], explanations(ranked, filled, expected).get(g, "")) for g in ranked
    ]
    assert [e.string for e in entries if e.kept()] == ["习近平", "真", "思想文化"]
    text = lexicon_text(entries)
    assert parse_filter_list(text, "inferred").entries == ("习近平", "真", "思想文化")
    # A reviewer still sees what was left out, and why.
    assert "# 习近平总书记  # explained by 习近平" in text


def test_phrase_fragments_are_not_terms():
    from restore.sites.inference import phrase_fragment

    # The optional halves of set phrases, opening with a conjunction ...
    assert all(phrase_fragment(s) for s in ("和留守", "和习主席", "及其实施细则精神"))
    # ... or with a particle that closes the word before it (坚持独立自主⟦的外交⟧政策) ...
    assert all(phrase_fragment(s) for s in ("的外交", "的同志要", "了一批"))
    # ... but not terms whose first character can be one (和平演变, 与会, 并购, 地下钱庄).
    terms = ("和平演变", "和谐", "与会", "并购", "习近平", "罢工", "以及", "地下钱庄", "的士司机", "了解", "得罪人")
    assert not any(phrase_fragment(s) for s in terms)


def test_strings_offered_at_several_junctions_rank_first():
    from restore.sites.inference import rank_offers

    # 一场生死大 is the only filler of one junction; 罢工 a minor one of three.
    score = {"一场生死大": 1.0, "罢工": 0.4, "大选": 0.9, "举行": 2.0}
    places = {"一场生死大": 1, "罢工": 3, "大选": 1, "举行": 4}
    ranked = [g for g, _ in rank_offers(score, places, {"举行": 3}, "今年举行")]
    assert ranked == ["罢工", "一场生死大", "大选"]  # 举行 is on the site: never offered


def test_a_junction_the_reference_shows_as_it_stands_is_no_evidence(corpus_index):
    from restore.sites.inference import _reads_as_written

    index = corpus_index
    # 中央、国务院 is how the reference writes it: 宣讲团成员 between them proves nothing.
    assert _reads_as_written(index, "近日，中央、国务院印发了", 5, "宣讲团成员")
    # 营商，激 hardly occurs; 营商环境，激 does: a fill there is evidence of a deletion.
    assert not _reads_as_written(index, "持续优化营商，激发市场活力", 6, "环境")
    # Too little context on one side: the fill is kept.
    assert not _reads_as_written(index, "中央、国务院", 1, "宣讲团成员")


def test_a_repeated_sentence_is_one_fill():
    from restore.engine.restorer import Restorer
    from restore.sites.inference import fills

    engine = Restorer(filter_list=FilterList("test", ("环境",)), use_index=False)
    sentence = "持续优化营商，激发市场主体活力。"
    # The same sentence on three pages of a crawl (headline, body, related links) ...
    repeated = [sentence, "今年要" + sentence, "我们将" + sentence]
    filled, surest, pages = fills(engine, repeated)
    assert filled["环境"] == 1 and surest["环境"] >= 0.9 and pages["环境"] == 3
    # ... against the same string put back in two different places.
    filled, _, pages = fills(engine, [sentence, "着力改善农村人居，建设美丽乡村。"])
    assert filled["环境"] == 2 and pages["环境"] == 2
    # Two places on one page of a crawl are two junctions on one page ...
    filled, _, pages = fills(engine, [sentence + "着力改善农村人居，建设美丽乡村。", "今天天气很好。"])
    assert filled["环境"] == 2 and pages["环境"] == 1
    # Only the fills ``only`` accepts count (a benchmark keeps those that put back what was cut).
    filled, _, _ = fills(engine, [sentence, "着力改善农村人居，建设美丽乡村。"], only=lambda n, o, s: n == 1)
    assert filled["环境"] == 1
    # ... and a single page given alone has no other page to weigh them against.
    filled, _, pages = fills(engine, [sentence + "着力改善农村人居，建设美丽乡村。"])
    assert filled["环境"] == 2 and not pages


def test_fills_on_one_page_count_one_less():
    # Two fills in one report share its story (智能⟦驾驶电动集装箱⟧卡车, twice) ...
    assert not InferredEntry("驾驶电动集装箱", 0.02, 0, 2, pages=1).kept()
    # ... three on one page, or two on two pages, are enough.
    assert InferredEntry("基督", 0.7, 0, 3, pages=1).kept()
    assert InferredEntry("罢工", 1.0, 0, 2, pages=2).kept()
    assert "junctions 2 on 2 pages" in lexicon_text([InferredEntry("罢工", 1.0, 0, 2, pages=2)])


def test_siblings_carry_who_vouched_for_them():
    entries = [
        InferredEntry("李克强", 56.0, 0, 105),
        InferredEntry("刘延东", 1.2, 0, 5, sibling_of=("王沪宁", "胡春华")),
        InferredEntry("李源潮", 0.4, 0, 1, sibling_of=("杨洁篪", "许其亮")),
    ]
    text = lexicon_text(entries)
    assert parse_filter_list(text, "inferred").entries == ("李克强", "刘延东")
    assert "sibling of 王沪宁/胡春华" in text
    assert entries[1].to_dict()["sibling_of"] == ["王沪宁", "胡春华"]
    assert entries[0].to_dict()["sibling_of"] is None


def test_a_large_crawl_is_read_as_a_uniform_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from restore.cli.lexicon import _site_texts

    crawl = tmp_path / "crawl.jsonl"
    pages = [f"第{i}页：推进铁、公建设。" for i in range(400)]
    crawl.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in pages), "utf-8")
    sample = _site_texts((str(crawl),), "text", pages=50)
    assert "50 of 400 pages" in capsys.readouterr().err
    assert len(set(sample)) == 50 and set(sample) <= set(pages)
    assert _site_texts((str(crawl),), "text", pages=50) == sample  # reproducible
    # Uniform, not the first pages: the sample reaches into every quarter of the crawl.
    quarters = {pages.index(t) * 4 // len(pages) for t in sample}
    assert quarters == {0, 1, 2, 3}
    assert _site_texts((str(crawl),), "text", pages=0) == pages


def test_site_list_takes_the_matched_lists_entries_the_pages_never_show():
    from restore.sites.matching import site_list_text

    inferred = [InferredEntry("政府", 20.0, 0, 9), InferredEntry("思想", 3.0, 0, 1)]
    known = FilterList("cms-list", ("政府", "营商环境", "铁路", "示威"))
    pages = ["修建铁路，推进建设。", "营商大会举行。"]
    text = site_list_text(inferred, known, pages)
    # 铁路 is intact on a page, so this site's filter cannot hold it.
    assert parse_filter_list(text, "site").entries == ("政府", "营商环境", "示威")
    assert "cms-list" in text and "intact on the site's pages (1): 铁路" in text
    assert parse_filter_list(site_list_text(inferred, None, pages), "site").entries == ("政府",)


def test_cli_match_writes_the_site_list(tmp_path: Path):
    out = tmp_path / "site.txt"
    unrelated = needs_shared("lexicons/konsheng-sensitive-lexicon/色情类型.txt")
    proc = run_cli(
        "lexicon", "match", str(SEED), "--lexicon", str(DEFAULT_FILTER_LIST), "--lexicon", str(unrelated),
        "--candidates", "150", "-o", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    inferred_part, marker, rest = out.read_text("utf-8").partition("# From the best-matching known list")
    list_part = marker + rest
    page = SEED.read_text("utf-8")
    assert "路" in parse_filter_list(inferred_part, "inferred").entries
    from_list = parse_filter_list(list_part, "matched").entries
    assert from_list and set(from_list) <= set(load_filter_list(DEFAULT_FILTER_LIST).entries)
    assert not any(e in page for e in from_list)  # nothing the page shows intact
    assert "wrote" in proc.stderr.decode("utf-8")


def test_only_a_list_holding_the_inferred_deletions_lends_its_entries():
    from restore.sites.matching import ListMatch, lending_list

    own, other = FilterList("own", ("政府", "铁路")), FilterList("other", ("枪支",))
    supported = ListMatch("own", 2, explained=0.94, contradicted=0.0, score=67.4)
    by_absence_alone = ListMatch("other", 1, explained=0.0, contradicted=0.0, score=0.5)
    assert lending_list([supported, by_absence_alone], [other, own]) is own
    assert lending_list([by_absence_alone, supported], [other, own]) is None
    assert lending_list([ListMatch("own", 2, 0.94, 0.5, score=-3.0)], [own]) is None
    assert lending_list([], [own]) is None


def test_an_unwritable_output_is_one_line(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", "utf-8")
    proc = run_cli("lexicon", "infer", str(SEED), "--candidates", "20", "-o", str(blocker / "site.txt"))
    assert proc.returncode == 1 and b"Traceback" not in proc.stderr
    assert proc.stderr.decode("utf-8").strip().splitlines()[-1].startswith(f"restore: error: cannot write {blocker}")
    assert blocker.read_text("utf-8") == "not a directory"
