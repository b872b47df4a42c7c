import pytest

from restore.errors import LexiconError
from restore.models.lexicon import Phrase, PhraseDictionary, default_filter_list, load_filter_list, parse_filter_list
from restore.training.phrases import mine_phrases


def test_parse_handles_comments_commas_and_duplicates():
    flist = parse_filter_list("# header\n路\t# comment\n政府, 环境，路\n\n", "x")
    assert flist.entries == ("路", "政府", "环境")


def test_default_list_holds_the_seed_evidence():
    entries = default_filter_list().entries
    for s in ("路", "政府", "环境", "近平", "书记", "众生", "升天"):
        assert s in entries


def test_user_list_is_read_and_merged(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("西藏\n路\n", encoding="utf-8")
    merged = default_filter_list().merged(load_filter_list(path))
    assert merged.entries.count("路") == 1
    assert "西藏" in merged.entries


def test_missing_empty_and_non_utf8_lists_raise(tmp_path):
    with pytest.raises(LexiconError):
        load_filter_list(tmp_path / "nope.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(LexiconError):
        load_filter_list(empty)
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes("政府\n".encode("gbk"))
    with pytest.raises(LexiconError):
        load_filter_list(gbk)


def test_signature_hits_where_the_phrase_is_cut_but_not_where_it_is_whole():
    d = PhraseDictionary([Phrase("营商环境", "环境", 2, 100, 0)])
    hits = d.signature_hits("优化营商政策，营商环境更好")
    assert [(h.junction, h.phrase.phrase) for h in hits] == [(4, "营商环境")]


def test_mining_finds_a_set_phrase_whose_signature_is_rare():
    corpus = "持续优化营商环境。" * 40 + "保护生态环境。" * 40 + "营造良好氛围。" * 5
    d = mine_phrases(corpus, ["环境"], min_count=20)
    found = {p.phrase for p in d.phrases}
    assert "营商环境" in found or "商环境" in found
    # 生态 occurs without 环境? No: the signature 生态 only ever precedes 环境 here, so it qualifies too,
    # but a context whose signature is common on its own must not.
    assert not any(p.signature == "。" for p in d.phrases)
