"""The incremental State-based scoring must equal rescoring whole strings."""

import pytest

from restore.engine import suggest
from restore.engine.detect import split_lines

TEXT = "在机场、铁、公等口岸设置防控站，实行24小时不间断值守。"


def full(model, chars, bos=True, eos=True):
    return model.score(" ".join(chars), bos=bos, eos=eos)


@pytest.mark.parametrize("insert", ["路", "政府", "环境保护"])
def test_insertion_gain_equals_the_difference_of_full_scores(restorer, insert):
    lm = restorer.lm
    line = next(iter(split_lines(TEXT)))
    scores = lm.score_line(line.tokens)
    for j in range(len(line.tokens) + 1):
        new = line.tokens[:j] + list(insert) + line.tokens[j:]
        want_f = full(lm.forward, new) - full(lm.forward, line.tokens)
        want_b = full(lm.backward, new[::-1]) - full(lm.backward, line.tokens[::-1])
        got_f, got_b = lm.insertion_gain(scores, j, insert)
        assert got_f == pytest.approx(want_f, abs=1e-3)
        assert got_b == pytest.approx(want_b, abs=1e-3)


def test_batched_forward_gains_match_single_gains_above_the_floor(restorer):
    lm = restorer.lm
    line = next(iter(split_lines(TEXT)))
    scores = lm.score_line(line.tokens)
    texts = ["路", "政府", "环境", "坚持", "改革开放"]
    for j in range(len(line.tokens) + 1):
        batched = dict(lm.forward_gains(scores, j, texts, floor=-1.0))
        for t in texts:
            single = lm.forward_gain(scores, j, t)
            if single >= -1.0:
                assert batched[t] == pytest.approx(single, abs=1e-6)
            else:
                assert t not in batched


def test_model_loads_lazily_and_reports_its_card(restorer):
    assert restorer.lm.order == 6
    assert restorer.lm.card.get("order") == 6


def test_the_character_floor_judges_only_the_first_inserted_character(restorer):
    """陕西、⟦西藏⟧、云南: 西 is likely after 、, but 西藏 as a whole is rare there until the
    following 、 explains it. A cut on the whole inserted string dropped this deletion."""
    lm = restorer.lm
    line = next(iter(split_lines("学习教育开展以来，陕西、、云南、海南等地认真学习")))
    scores = lm.score_line(line.tokens)
    j = line.tokens.index("、") + 1
    whole = lm.forward_gain(scores, j, "西藏")
    assert whole > 1.0
    first = full(lm.forward, line.tokens[:j] + ["西"], eos=False) - full(lm.forward, line.tokens[:j], eos=False)
    assert first > -3.0  # the first character passes the floor on its own ...
    kept = dict(
        lm.forward_gains(
            scores,
            j,
            ["西藏"],
            suggest.FORWARD_FLOOR,
            suggest.FIRST_TOKEN_FLOOR,
            suggest.FORWARD_CHAR_FLOOR,
            suggest.FORWARD_STRING_FLOOR,
        )
    )
    assert kept.get("西藏") == pytest.approx(whole, abs=1e-6)  # ... so the candidate is kept
    # A string floor as strict as the character floor drops it: the test can fail.
    strict = lm.forward_gains(scores, j, ["西藏"], -1.0, -2.0, -3.0, -3.0)
    assert strict == []
