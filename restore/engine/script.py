"""Traditional script: the engine reads every paragraph through a Simplified view, code
point for code point, and writes what it restores back in the paragraph's own script.

The models, filter lists and reference text are Simplified. A Traditional paragraph
(堅持以習總重要講話為指導) is converted with OpenCC's ``t2s`` for reading; offsets are
unchanged, because the view keeps one code point for each. A candidate found in the view
(近平) is converted back with the variant the paragraph uses (``s2tw``, ``s2hk`` or
``s2t``, whichever reproduces it best), in its context, so phrase rules apply.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

Script = Literal["simplified", "traditional"]
VARIANTS = ("s2tw", "s2hk", "s2t")
# Characters of context either side when a candidate is converted back.
CONTEXT = 4


@functools.lru_cache(maxsize=8)
def _converter(config: str) -> Any:
    import opencc

    return opencc.OpenCC(config)


def convert(text: str, config: str) -> str:
    """``text`` through OpenCC ``config``, one code point for one: where a phrase rule would
    change the length, characters are converted one by one instead."""
    out = _converter(config).convert(text)
    if len(out) == len(text):
        return out
    single = _converter(config)
    return "".join(c2 if len(c2 := single.convert(c)) == 1 else c for c in text)


def _paragraphs(text: str) -> Iterator[tuple[int, int]]:
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end == -1 else end + 1
        yield start, end
        start = end


def _differs(a: str, b: str) -> int:
    return sum(1 for x, y in zip(a, b) if x != y)


@dataclass(frozen=True)
class ScriptView:
    """A document and its Simplified view, with the script of each paragraph.

    >>> v = ScriptView.of("堅持以習總重要講話為指導\\n坚持新发展理念")
    >>> v.view
    '坚持以习总重要讲话为指导\\n坚持新发展理念'
    >>> v.script_at(2), v.script_at(15)
    ('traditional', 'simplified')
    >>> v.in_document("近平", 4)
    '近平'
    >>> ScriptView.of("優化營商，激發活力").in_document("环境", 4)
    '環境'
    """

    text: str
    view: str
    # (start, end, variant) of each Traditional paragraph; Simplified ones are not listed.
    traditional: tuple[tuple[int, int, str], ...] = field(default=())

    @classmethod
    def of(cls, text: str) -> ScriptView:
        spans: list[tuple[int, int, str]] = []
        parts: list[str] = []
        for start, end in _paragraphs(text):
            para = text[start:end]
            simple = convert(para, "t2s")
            # A Traditional paragraph changes under t2s more than under s2t; a Simplified one
            # is read as it stands (t2s would still touch a rare character or two).
            if _differs(para, simple) >= 1 and _differs(para, simple) > _differs(para, convert(para, "s2t")):
                variant = max(VARIANTS, key=lambda v: len(para) - _differs(para, convert(simple, v)))
                spans.append((start, end, variant))
                parts.append(simple)
            else:
                parts.append(para)
        if not spans:
            return cls(text, text)
        return cls(text, "".join(parts), tuple(spans))

    @property
    def script(self) -> Script:
        """The document's script: Traditional when most of its text is."""
        traditional = sum(end - start for start, end, _ in self.traditional)
        return "traditional" if traditional * 2 > len(self.text) else "simplified"

    def _variant_at(self, offset: int) -> str | None:
        for start, end, variant in self.traditional:
            if start <= offset < end or (offset == end and not self.text[start:end].endswith("\n")):
                return variant
        return None

    def script_at(self, offset: int) -> Script:
        return "simplified" if self._variant_at(offset) is None else "traditional"

    def in_document(self, candidate: str, offset: int) -> str:
        """``candidate`` (Simplified, as the engine found it) in the script of the paragraph
        it is inserted into at ``offset``, converted in its context."""
        variant = self._variant_at(offset)
        if variant is None or not candidate:
            return candidate
        left = self.view[max(0, offset - CONTEXT) : offset]
        right = self.view[offset : offset + CONTEXT]
        converted = convert(left + candidate + right, variant)
        if len(converted) == len(left) + len(candidate) + len(right):
            return converted[len(left) : len(left) + len(candidate)]
        return convert(candidate, variant)


def to_simplified(text: str) -> str:
    """The Simplified view of any text (a filter-list entry, a site's page)."""
    return convert(text, "t2s")


def unreadable(text: str) -> str | None:
    """Why restore cannot read ``text``, in a few words, or None: it reads Chinese, in
    either script, and a page in another writing system has nothing it could restore.

    >>> unreadable("これは日本語の文章です。ひらがなとカタカナがとても多いのです。"), unreadable("推进一带一建设")
    ('mostly Japanese kana', None)
    """
    han = kana = hangul = latin = 0
    for c in text:
        o = ord(c)
        if 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF:
            han += 1
        elif 0x3040 <= o <= 0x30FF:
            kana += 1
        elif 0xAC00 <= o <= 0xD7AF:
            hangul += 1
        elif c.isascii() and c.isalpha():
            latin += 1
    letters = han + kana + hangul + latin
    if letters < 20 or han >= 0.5 * letters:
        return None
    if kana > han:
        return "mostly Japanese kana"
    if hangul > han:
        return "mostly Korean hangul"
    if latin > 3 * han:
        return "mostly Latin letters"
    return None
