"""The corpus index: counts and spans against brute force, the held-out split, bad files."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("pydivsufsort")

from restore.cli import main  # noqa: E402
from restore.document import remove_insertions  # noqa: E402
from restore.engine.restorer import Restorer  # noqa: E402
from restore.errors import ModelError  # noqa: E402
from restore.io.corpus import is_heldout  # noqa: E402
from restore.models.index import BOUNDARY, CorpusIndex  # noqa: E402
from restore.training.index import build_index  # noqa: E402

PARAGRAPHS = [
    "坚持以人民为中心的发展思想，推动高质量发展。",
    "我们要坚持以人民为中心，坚持新发展理念，优化营商环境。",
    "共建一带一路，推进铁路、公路建设，优化营商环境政策。",
    "习近平总书记强调，要深化改革开放。",
    "𠀀𠀁 rare astral characters 123 ABC",
]


def _heldout_id() -> str:
    return next(f"doc{i}" for i in range(10_000) if is_heldout(f"doc{i}"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    docs = [{"id": f"kept{i}", "text": p} for i, p in enumerate(PARAGRAPHS)]
    docs.append({"id": _heldout_id(), "text": "独一无二的留出文档内容"})
    (root / "mini-train.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), "utf-8")
    (root / "mini-dev.jsonl").write_text(json.dumps({"id": "d", "text": "开发集专用文字"}, ensure_ascii=False) + "\n")
    return root


@pytest.fixture(scope="module")
def index(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> CorpusIndex:
    out = tmp_path_factory.mktemp("index")
    build_index([corpus], out)
    return CorpusIndex.load(out)


def _reference() -> str:
    return BOUNDARY.join(p.replace(" ", "") for p in PARAGRAPHS) + BOUNDARY


def _brute_count(text: str, s: str) -> int:
    return sum(1 for i in range(len(text) - len(s) + 1) if text.startswith(s, i))


def test_fillers_match_brute_force(index: CorpusIndex) -> None:
    reference = _reference()
    for left, right in [
        ("坚持", "发展"),
        ("优化营商", "。"),
        ("优化营商", "政策"),
        ("铁路", "路建"),
        ("以人民为", "，"),
    ]:
        expected: dict[str, int] = {}
        for i in range(len(reference)):
            if reference.startswith(left, i):
                follow = reference[i + len(left) : i + len(left) + 8 + len(right)]
                k = follow.find(right)
                if 0 <= k <= 8 and BOUNDARY not in follow[:k]:
                    expected[follow[:k]] = expected.get(follow[:k], 0) + 1
        assert dict(index.fillers(left, right)) == expected, (left, right)
    assert index.fillers("坚持", "发展")["以人民为中心的"] == 1
    assert index.fillers("没有这个", "右") == {}


def test_filler_order_backs_off_to_shorter_left_context(index: CorpusIndex) -> None:
    from collections import Counter

    from restore.sites.inference import filler_order

    # 快带一 never occurs in the reference, 带一 does (共建一带一路，推进…).
    text = "我们加快带一，推进交通建设。"
    assert index.count("快带一") == 0 and index.fillers("带一", "，推")["路"] == 1
    proposed = dict(filler_order([text], Counter(), index, Restorer(use_index=False)))
    assert "路" in proposed


def test_contexts_match_brute_force(index: CorpusIndex) -> None:
    reference = _reference()
    for s in ["营商环境", "坚持", "发展", "路", "以人民为中心"]:
        expected: dict[tuple[str, str], int] = {}
        for i in range(2, len(reference) - len(s) - 1):
            around = reference[i - 2 : i + len(s) + 2]
            if reference.startswith(s, i) and len(around) == len(s) + 4 and BOUNDARY not in around:
                key = (around[:2], around[-2:])
                expected[key] = expected.get(key, 0) + 1
        assert dict(index.contexts(s)) == expected, s
    assert index.contexts("不存在的") == {}


def test_siblings_stand_where_two_seeds_stand(tmp_path: Path) -> None:
    from restore.sites.inference import sibling_strings

    officials = ["李克强", "王沪宁", "刘延东", "杨洁篪"]
    lines = [f"国务院副总理{a}出席会议。会见时{a}表示欢迎。" for a in officials]
    lines += ["国务院副总理孙春兰出席会议。", "今天天气很好，大家出席会议。"]
    root = tmp_path / "corpus"
    root.mkdir()
    ids = (f"p{i}" for i in range(10_000) if not is_heldout(f"p{i}"))
    docs = [{"id": next(ids), "text": t} for t in lines]
    (root / "people-train.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), "utf-8")
    build_index([root], tmp_path / "index")
    people = CorpusIndex.load(tmp_path / "index")
    found = {g: who for g, _, who in sibling_strings(["李克强", "王沪宁"], people, "site text shows 杨洁篪 intact")}
    # Both seeds vouch for 刘延东 and 孙春兰; 杨洁篪 is on the site, so not filtered.
    assert found["刘延东"] == ("李克强", "王沪宁") and "孙春兰" in found
    assert "杨洁篪" not in found and "李克强" not in found
    # One seed alone vouches for nothing.
    assert sibling_strings(["李克强"], people, "") == []


def test_count_matches_brute_force(index: CorpusIndex) -> None:
    reference = _reference()
    rng = random.Random(3)
    probes = ["坚持", "以人民为中心", "营商环境", "营商政策", "，", "发展", "不存在的", "𠀀𠀁", "ABC"]
    for _ in range(200):
        a = rng.randrange(len(reference))
        probes.append(reference[a : a + rng.randint(1, 8)])
    for s in probes:
        assert index.count(s) == _brute_count(reference, s), s


def test_span_matches_brute_force(index: CorpusIndex) -> None:
    reference = _reference()

    def brute(text: str, lo: int, hi: int) -> int:
        return max(
            (e - s for s in range(lo + 1) for e in range(hi, len(text) + 1) if text[s:e] in reference),
            default=0,
        )

    rng = random.Random(5)
    texts = ["我们要坚持以人民为中心的发展思想", "推进铁、公建设", "共建一带一路，推进", "优化营商政策"]
    for text in texts:
        for _ in range(10):
            lo = rng.randrange(len(text) - 1)
            hi = rng.randint(lo + 1, len(text))
            assert index.span(text, lo, hi).length == brute(text, lo, hi), (text, lo, hi)


def test_heldout_and_dev_text_stay_out(index: CorpusIndex) -> None:
    assert index.count("独一无二") == 0
    assert index.count("开发集") == 0
    assert index.count("营商环境") == 2


def test_missing_and_corrupt_index(tmp_path: Path, index: CorpusIndex) -> None:
    with pytest.raises(ModelError, match="not found"):
        CorpusIndex.load(tmp_path)
    for name in ("text.u16", "sa.i32"):
        (tmp_path / name).write_bytes((index.directory / name).read_bytes())
    (tmp_path / "sa.i32").write_bytes(b"\0" * 6)
    with pytest.raises(ModelError, match="corrupt"):
        CorpusIndex.load(tmp_path)
    result = CliRunner().invoke(main, ["scan", "--index", str(tmp_path), "-"], input="推进铁、公建设")
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "corrupt corpus index" in result.output


def test_rescoring_explains_and_never_alters_source(index: CorpusIndex) -> None:
    damaged = "我们要坚持以人民为中心，坚持新发展理念，优化营商政策。推进铁、公建设。"
    restorer = Restorer(index=index)
    assert restorer.rescorer is not None
    gaps = restorer.scan(damaged, report=0.0)
    kinds = {e.kind for g in gaps for c in g.candidates for e in c.evidence}
    assert "index" in kinds
    restoration = restorer.fix(damaged, min_confidence=0.0)
    assert remove_insertions(restoration.text, restoration.restored_offsets()) == damaged
    assert Restorer(index=index, use_index=False).rescorer is None


def test_bad_corpus_files_get_one_line(tmp_path: Path) -> None:
    gbk = tmp_path / "gbk"
    gbk.mkdir()
    (gbk / "page-train.txt").write_bytes("政府工作报告".encode("gb18030"))
    broken = tmp_path / "broken-train.jsonl"
    broken.write_bytes(b"\x00\x01 not json\n")
    for corpus, reason in ((gbk, "not UTF-8"), (broken, "invalid JSON")):
        result = CliRunner().invoke(main, ["build", "index", "--corpus", str(corpus), "-o", str(tmp_path / "ix")])
        assert result.exit_code == 1, result.output
        assert reason in result.output and result.output.strip().count("\n") == 0
    assert not (tmp_path / "ix" / "sa.i32").exists()
