"""Property-based tests (hypothesis) over the library and the readers: any string, any
bytes, any JSONL. No traceback, the standoff invariant kept, the same output twice."""

from __future__ import annotations

import json

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from restore.errors import CollectionError, InputError  # noqa: E402
from restore.io.documents import decode  # noqa: E402
from restore.io.records import Reader  # noqa: E402

# Text that looks like a damaged page: Chinese, punctuation, digits, masks, and anything else.
CHINESE = st.sampled_from(list("推进铁路公建设优化营商环境一带群众生活习近平总书记政府的了和在、，。；：“”"))
ODD = st.sampled_from(["\n", "\r\n", " ", "\t", "*", "□", "X", "\ufeff", "\x00", "\ud800", "\udfff", "😀", "A", "7"])
TEXT = st.lists(st.one_of(CHINESE, CHINESE, CHINESE, ODD, st.characters()), max_size=80).map("".join)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(TEXT)
def test_any_string_keeps_every_source_character(restorer, text: str):
    restoration = restorer.fix(text, 0.5)
    assert restoration.unapply(restoration.text) == text
    assert restorer.fix(text, 0.5) == restoration  # deterministic
    for gap in restorer.scan(text):
        assert 0 <= gap.offset <= len(text)


@FAST
@given(st.binary(max_size=400))
def test_any_bytes_decode_or_give_one_line(data: bytes):
    try:
        doc = decode(data, "x.txt")
    except InputError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("x.txt: ")
    else:
        assert doc.text.encode(doc.encoding) == data or doc.encoding != "utf-8"


JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
LINE = st.one_of(
    st.dictionaries(st.sampled_from(["id", "text", "title"]), JSON_VALUE, max_size=3).map(
        lambda d: json.dumps(d, ensure_ascii=False)
    ),
    st.dictionaries(st.sampled_from(["id", "text"]), TEXT, max_size=2).map(json.dumps),  # escapes, surrogates too
    TEXT,
)


@FAST
@given(st.lists(LINE, min_size=1, max_size=6), st.booleans())
def test_any_jsonl_gives_records_or_reasons_never_a_traceback(tmp_path_factory, lines: list[str], torn: bool):
    path = tmp_path_factory.mktemp("jsonl") / "in.jsonl"
    data = "\n".join(lines).encode("utf-8", "surrogatepass") + (b"" if torn else b"\n")
    path.write_bytes(data)
    try:
        items = list(Reader(path, max_bytes=1000))
    except CollectionError as exc:
        assert "\n" not in str(exc)
        return
    assert [i.index for i in items] == list(range(len(items)))
    for item in items:
        assert (item.record is None) != (item.error is None)
        if item.record is not None:
            json.dumps(item.record, ensure_ascii=False).encode("utf-8")  # every kept record can be written
