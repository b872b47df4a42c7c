import pytest

from restore.document import Insertion, Restoration, remove_insertions


def test_restoration_applies_insertions_in_offset_order():
    r = Restoration("一带一和营商", (Insertion(6, "环境", 0.9), Insertion(3, "路", 0.95)))
    assert r.text == "一带一路和营商环境"


def test_removing_insertions_gives_back_the_original_exactly():
    original = "  省委省和市委\n铁、公等"
    r = Restoration(original, (Insertion(5, "政府", 0.9), Insertion(10, "路", 0.9), Insertion(12, "路", 0.9)))
    assert r.text == "  省委省政府和市委\n铁路、公路等"
    assert remove_insertions(r.text, r.restored_offsets()) == original


def test_two_insertions_at_one_offset_are_kept_in_order():
    r = Restoration("ab", (Insertion(1, "X", 0.9), Insertion(1, "Y", 0.9)))
    assert r.text == "aXYb"
    assert remove_insertions(r.text, r.restored_offsets()) == "ab"


@pytest.mark.parametrize("offset", [-1, 4])
def test_offsets_outside_the_text_are_rejected(offset):
    with pytest.raises(ValueError):
        Restoration("abc", (Insertion(offset, "x", 0.9),))


def test_empty_insertion_is_rejected():
    with pytest.raises(ValueError):
        Restoration("abc", (Insertion(1, "", 0.9),))
