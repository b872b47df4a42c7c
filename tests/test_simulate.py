from restore.evaluation.simulate import GoldGap, damage, deletions


def test_sequential_deletion_in_list_order():
    damaged, gaps = damage("习近平总书记", ["近平", "书记"])
    assert damaged == "习总"
    assert gaps == [GoldGap(1, "近平"), GoldGap(2, "书记")]


def test_deletion_crosses_word_boundaries():
    assert damage("群众生活水平", ["众生"]) == ("群活水平", [GoldGap(1, "众生")])


def test_adjacent_deletions_merge_into_one_gap():
    damaged, gaps = damage("生态环境保护督察", ["环境", "保护"])
    assert damaged == "生态督察"
    assert gaps == [GoldGap(2, "环境保护")]


def test_a_later_entry_sees_text_joined_by_an_earlier_deletion():
    # Deleting 环境 joins 营商 and 政 into a new match for the second entry.
    damaged, gaps = damage("营商环境政策", ["环境", "商政"])
    assert damaged == "营策"
    assert gaps == [GoldGap(1, "商环境政")]


def test_nothing_to_delete_leaves_text_untouched():
    assert damage("一切正常。", ["路"]) == ("一切正常。", [])


def test_deletions_count_what_each_entry_removed():
    text = "基督教和基督，基督教。营商环境政策"
    counts = deletions(text, ["基督", "基督教", "环境", "商政"])
    # 基督 takes every 基督教 first, so 基督教 removes nothing of its own; 商政 is formed
    # by the 环境 deletion and counts for the entry that removed it.
    assert counts == {"基督": 3, "环境": 1, "商政": 1}
    removed = sum(len(e) * n for e, n in counts.items())
    damaged, gaps = damage(text, ["基督", "基督教", "环境", "商政"])
    assert len(text) - len(damaged) == removed == sum(len(g.text) for g in gaps)
