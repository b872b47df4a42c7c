"""Site profiles: a site's own pages rule out list entries its filter does not delete."""

from __future__ import annotations

import json

import pytest

from restore import Restorer
from restore.evaluation.simulate import damage
from restore.models.lexicon import default_filter_list
from restore.sites.profile import SiteProfile

from .conftest import FIXTURES, run_cli

# 政府 was cut out of 市委市政府 here, or so the default list suggests ...
PAGE = "在市委市的坚强领导下，全市经济平稳运行。\n"
# ... but these pages of the same site show 政府 intact, so this site does not delete it.
OTHERS = ["市政府召开常务会议，研究部署近期工作。\n", "省政府发布通知，要求做好防汛准备。\n"]


def offers(gaps, text: str) -> bool:
    return any(c.text == text for g in gaps for c in g.candidates)


def test_profile_counts_pages_not_occurrences():
    profile = SiteProfile.from_pages(["政府政府政府", "无关", "政府和路"], ["政府", "路", "改革"])
    assert profile.pages == 3
    assert profile.intact == {"政府": 2, "路": 1}
    assert profile.not_filtered() == ("政府",)
    assert SiteProfile.from_pages(["政府政府政府", "路"], ["政府", "路"], min_pages=1).not_filtered() == ("政府", "路")
    with pytest.raises(ValueError):
        SiteProfile.from_pages([], ["政府"], min_pages=0)


def test_a_few_formed_occurrences_do_not_rule_out_a_common_entry():
    """Sequential deletion now and then forms a filtered string anew (坚持 on 2 of 2,529 dev
    pages): against the ~900 occurrences the reference expects, that is absence."""
    pages = ["坚持" + "的" * 998, "坚持和政府" + "的" * 995]
    rates = {"坚持": 0.1, "政府": 0.0005}
    profile = SiteProfile.from_pages(pages, ["坚持", "政府"], min_pages=1, expected_rate=lambda s: rates[s])
    assert profile.expected == {"坚持": 200.0, "政府": 1.0}
    assert profile.not_filtered() == ("政府",)  # 2 of 200 expected is absence; 1 of 1 is not
    assert set(SiteProfile.from_pages(pages, ["坚持", "政府"], min_pages=1).not_filtered()) == {"坚持", "政府"}


def test_pages_damaged_by_a_list_never_rule_out_its_entries():
    """The premise: plain deletion leaves none of a list's strings behind, so a profile of
    damaged pages keeps every entry of the list that damaged them."""
    clean = (FIXTURES / "negative" / "clean.txt").read_text(encoding="utf-8").splitlines()
    flist = default_filter_list()
    pages = [damage(line + "坚持改革开放，政府工作报告，一带一路，铁路公路", flist.entries)[0] for line in clean]
    assert SiteProfile.from_pages(pages, flist.usable()).not_filtered() == ()
    intact = SiteProfile.from_pages(clean + ["市政府", "省政府"], flist.usable())
    assert "政府" in intact.not_filtered()


def test_excluded_entries_are_never_proposed():
    assert offers(Restorer().scan(PAGE), "政府")
    restorer = Restorer(exclude=SiteProfile.from_pages([PAGE, *OTHERS], default_filter_list().usable()).not_filtered())
    assert restorer.excluded == ("政府",)
    assert "政府" not in restorer.filter_list.entries
    assert not offers(restorer.scan(PAGE), "政府")
    assert restorer.version["site_excluded"] == "1"
    # Other entries are still restored.
    assert [i.text for i in restorer.fix("深度融入一带一建设。\n", 0.5).insertions] == ["路"]


def test_scan_same_site_rules_out_what_other_pages_show(tmp_path):
    files = []
    for k, text in enumerate([PAGE, *OTHERS]):
        path = tmp_path / f"p{k}.txt"
        path.write_text(text, encoding="utf-8")
        files.append(str(path))
    plain = run_cli("scan", files[0], "--format", "jsonl")
    assert plain.returncode == 0, plain.stderr
    assert "政府" in plain.stdout.decode()
    proc = run_cli("scan", *files, "--same-site", "--format", "jsonl")
    assert proc.returncode == 0, proc.stderr
    assert "政府" not in proc.stdout.decode()
    assert "site profile: 3 page(s)" in proc.stderr.decode()
    # The same pages given with --site while scanning only the damaged one.
    site = tmp_path / "site"
    site.mkdir()
    for k, text in enumerate(OTHERS):
        (site / f"o{k}.txt").write_text(text, encoding="utf-8")
    proc = run_cli("scan", files[0], "--site", str(site), "--format", "jsonl")
    assert proc.returncode == 0, proc.stderr
    assert "政府" not in proc.stdout.decode()
    # One other page is not enough to rule 政府 out.
    proc = run_cli("scan", files[0], files[1], "--same-site", "--format", "jsonl")
    assert "政府" in proc.stdout.decode()


def test_missing_site_pages_are_one_line_error(tmp_path):
    page = tmp_path / "p.txt"
    page.write_text(PAGE, encoding="utf-8")
    proc = run_cli("scan", str(page), "--site", str(tmp_path / "missing"))
    assert proc.returncode != 0
    err = proc.stderr.decode()
    assert "Traceback" not in err and "no usable site pages" in err


def test_batch_same_site_records_the_profile(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(
        "".join(json.dumps({"id": k, "text": t}, ensure_ascii=False) + "\n" for k, t in enumerate([PAGE, *OTHERS])),
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    proc = run_cli("batch", str(src), str(out), "--same-site", "--min-confidence", "0.5")
    assert proc.returncode == 0, proc.stderr
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert first["restored_text"] == PAGE
    assert not any(c["text"] == "政府" for g in first["gaps_unfilled"] for c in g["candidates"])


def test_review_import_same_site(tmp_path):
    from restore.review.store import Store

    pages = tmp_path / "pages"
    pages.mkdir()
    for k, text in enumerate([PAGE, *OTHERS]):
        (pages / f"p{k}.txt").write_text(text, encoding="utf-8")
    offered = {}
    for label, extra in (("plain", []), ("site", ["--same-site"])):
        db = tmp_path / f"{label}.db"
        proc = run_cli("review", "import", str(pages), "--db", str(db), "--reviewer", "alice", *extra)
        assert proc.returncode == 0, proc.stderr
        with Store(str(db), create=False) as store:
            offered[label] = {c.text for d in store.document_ids() for g in store.gaps_of(d) for c in g.candidates}
    assert "政府" in offered["plain"]
    assert "政府" not in offered["site"]


def test_batch_resume_header_with_site_exclusions(tmp_path):
    """A resumed --same-site run must recognise its own partial file (the header goes
    through JSON, where tuples come back as lists)."""
    from restore.batch.runner import _header
    from restore.batch.step import RestoreStep
    from restore.engine.config import EngineConfig

    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "x"}\n', encoding="utf-8")
    header = _header(src, RestoreStep(engine_config=EngineConfig(exclude=("政府", "坚持"))), "id")
    assert json.loads(json.dumps(header, ensure_ascii=False)) == header


def test_a_typed_string_overrides_the_site_profile(tmp_path):
    """A reviewer who types 政府 into a gap has seen this site delete it; no profile wins over that."""
    from restore.review.sources import iter_sources
    from restore.review.workspace import Workspace

    page = tmp_path / "p.txt"
    page.write_text(PAGE + "深度融入一带一建设。\n", encoding="utf-8")
    with Workspace(str(tmp_path / "w.db"), "alice") as ws:
        ws.exclude(("政府",))
        assert "政府" not in ws.restorer().filter_list.entries
        ws.import_items(iter_sources([str(page)]))
        doc = ws.store.document_ids()[0]
        gap = ws.store.gaps_of(doc)[0]
        ws.store.decide(gap.id, "edit", "alice", typed="政府")
        assert "政府" in ws.restorer().filter_list.entries


def test_same_site_infers_the_list_it_was_not_told(tmp_path):
    """Given only an unrelated list, --same-site finds what the seed page's filter deleted,
    says so on stderr, names the inferred list in the evidence, and --no-infer turns it off."""
    from .conftest import SEED

    other = tmp_path / "other.txt"
    other.write_text("无关词语\n", "utf-8")
    base = ("fix", "--replace-lexicon", "--lexicon", str(other), "--changes", str(tmp_path / "edits.jsonl"))
    proc = run_cli(*base, "--same-site", str(SEED), "-o", str(tmp_path / "out.txt"))
    assert proc.returncode == 0, proc.stderr
    assert "site list:" in proc.stderr.decode() and "inferred from 1 page" in proc.stderr.decode()
    edits = [json.loads(x) for x in (tmp_path / "edits.jsonl").read_text("utf-8").splitlines()]
    assert edits and all(
        any(e["kind"] == "lexicon" and "inferred from the site" in e["detail"] for e in edit["evidence"])
        for edit in edits
    )
    proc = run_cli(*base, "--same-site", "--no-infer", str(SEED), "-o", str(tmp_path / "out2.txt"))
    assert proc.returncode == 0 and "site list:" not in proc.stderr.decode()
    assert len((tmp_path / "edits.jsonl").read_text("utf-8").splitlines()) < len(edits)


def test_batch_profiles_each_site_of_a_mixed_collection_on_its_own(tmp_path):
    from restore.batch.step import site_key

    assert site_key("https://www.Example.gov.cn/a.html") == "www.example.gov.cn"
    src = tmp_path / "in.jsonl"
    rows = []
    for i in range(6):
        # Site a shows 政府 intact, site b never does.
        text = "市政府召开常务会议，推进铁、公建设。" if i % 2 == 0 else "持续优化营商，推进一带一建设。"
        rows.append({"id": f"r{i}", "url": f"https://{'a' if i % 2 == 0 else 'b'}.example.com/{i}", "text": text})
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    out = tmp_path / "out.jsonl"
    proc = run_cli("batch", str(src), str(out), "--site-field", "url", "--no-infer")
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr.decode()
    assert "site a.example.com: 3 page(s) read" in err and "site b.example.com: 3 page(s) read" in err
    restored = [json.loads(x)["restored_text"] for x in out.read_text("utf-8").splitlines()]
    assert len(restored) == 6 and "铁路、公路" in restored[0] and "一带一路" in restored[1]
    proc = run_cli("batch", str(src), str(tmp_path / "o2.jsonl"), "--site-field", "url", "--engine", "ray")
    assert proc.returncode != 0 and "--site-field" in proc.stderr.decode()
