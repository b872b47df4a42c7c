"""Filter-list inference and fingerprinting on the real scraped seed page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from restore.infer import InferenceError, Reference, absent_strings, infer_filter_list, lexicon_text, match_lists
from restore.lexicon import default_filter_list, load_filter_list, parse_filter_list

from .conftest import SEED, SHARED, run_cli


@pytest.fixture(scope="module")
def reference() -> Reference:
    return Reference.load()


@pytest.fixture(scope="module")
def seed_inferred(reference):
    return infer_filter_list([SEED.read_text("utf-8")], reference, candidates=200)


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
    assert entries[: len(top)] == tuple(e.string for e in seed_inferred if e.junctions >= 2)[: len(top)]


def test_match_prefers_the_list_that_explains_the_damage(seed_inferred, reference):
    seed_list = default_filter_list()
    unrelated = load_filter_list(SHARED / "lexicons/konsheng-sensitive-lexicon/色情类型.txt")
    ranking = match_lists(seed_inferred, [unrelated, seed_list], [SEED.read_text("utf-8")], reference)
    assert ranking[0].name == seed_list.name and ranking[0].explained > 0.5
    assert ranking[1].explained < 0.1


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
    broken = tmp_path / "ref.tsv.xz"
    broken.write_bytes(b"not xz")
    with pytest.raises(InferenceError, match="cannot read reference"):
        Reference.load(broken)
