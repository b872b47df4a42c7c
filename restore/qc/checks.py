"""Quality control of scraped pages: what the scraper added (breadcrumbs, metadata lines,
navigation, trailing spam), layout artefacts (bullets, headings fused onto paragraphs),
masks, mojibake, per-paragraph LM perplexity, deletion density, and a verdict.

Every finding is a span of the original text with a reason, in the spirit of the
restorations: QC reports, and ``strip_boilerplate`` writes a cleaned copy; the original
is never changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from restore.engine.detect import find_masks
from restore.engine.restorer import DEFAULT_MIN_CONFIDENCE, Restorer

# Perplexity buckets in the manner of CCNet: paragraphs the model finds as fluent as the
# better third of clean paragraphs are "head", the worst third "tail". The edges are the
# 33rd and 67th percentiles over 7,057 held-out train paragraphs (the LM never saw them):
# `restore build qc-buckets --corpus ../shared/corpus`.
DEFAULT_BUCKETS = (9.0, 22.3)

CLEAN_DENSITY = 0.5  # gaps per 1,000 characters below which a page counts as clean

_BREADCRUMB_START = re.compile(
    r"^\s*(?:(?:当前位置|您的位置|您现在的位置|你的位置)\s*[:：]|(?:网站首页|首页|主页)\s*(?:[>＞»›→]|&gt;))"
)
_SEPARATORS = re.compile(r"\s*(?:[>＞»›→]|&gt;)\s*")
_META_KEYS = (
    "发布时间|发布日期|发表时间|更新时间|时间|日期|来源|信息来源|文章来源|作者|发布作者|发布者|出处|出自何处|"
    "浏览次数|点击数|点击|阅读|阅读数|编辑|责任编辑|字号|供稿"
)
_META_FIELD = re.compile(
    rf"(?:※|【|\[)?\s*({_META_KEYS})\s*[:：]\s*([^※【\[]*?)(?=\s*(?:※|【|\[|(?:{_META_KEYS})\s*[:：])|$)"
)
_NAVIGATION = re.compile(
    r"^\s*(?:上一篇|下一篇|上一页|下一页|返回顶部|返回首页|打印本页|关闭窗口|打印|关闭|分享到|收藏本页|【打印】|【关闭】)"
)
_RELATED = re.compile(r"^\s*(?:相关文章|相关阅读|推荐阅读|相关新闻|热门文章|猜你喜欢|延伸阅读)\s*[:：]?\s*$")
_BULLETS = "▲■●◆★►▶◇□"
_SENTENCE_END = "。！？!?；;…"


@dataclass(frozen=True)
class Finding:
    kind: str  # breadcrumb, metadata, navigation, related, trailing-spam, bullet, fused-heading, mask, mojibake,
    # typo, numbers-deleted
    start: int  # code-point span in the original text
    end: int
    text: str
    detail: str
    boilerplate: bool  # part of the page furniture: --strip-boilerplate removes it from the copy

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "detail": self.detail,
            "boilerplate": self.boilerplate,
        }


@dataclass(frozen=True)
class Paragraph:
    start: int
    end: int
    perplexity: float
    bucket: str  # head, middle, tail


@dataclass
class QCReport:
    name: str
    characters: int
    findings: list[Finding] = field(default_factory=list)
    paragraphs: list[Paragraph] = field(default_factory=list)
    gaps: int = 0
    confident_gaps: int = 0
    deletion_density: float = 0.0
    verdict: str = "clean"
    metadata: dict[str, str] = field(default_factory=dict)
    top_strings: dict[str, int] = field(default_factory=dict)
    gaps_in_furniture: int = 0  # gaps scan reports in boilerplate lines, left out of the density

    def to_dict(self) -> dict[str, Any]:
        buckets: dict[str, int] = {"head": 0, "middle": 0, "tail": 0}
        for p in self.paragraphs:
            buckets[p.bucket] += 1
        return {
            "file": self.name,
            "characters": self.characters,
            "verdict": self.verdict,
            "deletion_density": round(self.deletion_density, 3),
            "gaps": self.gaps,
            "gaps_in_furniture": self.gaps_in_furniture,
            "confident_gaps": self.confident_gaps,
            "metadata": self.metadata,
            "top_strings": self.top_strings,
            "perplexity_buckets": buckets,
            "paragraphs": [
                {"start": p.start, "end": p.end, "perplexity": round(p.perplexity, 1), "bucket": p.bucket}
                for p in self.paragraphs
            ],
            "findings": [f.to_dict() for f in self.findings],
        }


def _lines(text: str) -> list[tuple[int, int, str]]:
    out = []
    start = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        out.append((start, start + len(body), body))
        start += len(line)
    return out


def _metadata_fields(line: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2).strip(" \u3000\xa0")) for m in _META_FIELD.finditer(line)]


def find_boilerplate(text: str) -> tuple[list[Finding], dict[str, str]]:
    """Page furniture and layout artefacts, with the metadata the page carries."""
    findings: list[Finding] = []
    metadata: dict[str, str] = {}
    lines = _lines(text)
    in_related = False
    for start, end, line in lines:
        stripped = line.strip(" \t\u3000\xa0")
        if not stripped:
            in_related = False
            continue
        if (_BREADCRUMB_START.match(stripped) and _SEPARATORS.search(stripped)) or (
            len(stripped) <= 60
            and len(_SEPARATORS.findall(stripped)) >= 2
            and all(0 < len(s) <= 12 for s in _SEPARATORS.split(stripped))
        ):
            findings.append(Finding("breadcrumb", start, end, line, "site navigation path", True))
            continue
        fields = _metadata_fields(stripped)
        if len(fields) >= 2 and len(stripped) <= 200:
            findings.append(Finding("metadata", start, end, line, ", ".join(k for k, _ in fields), True))
            for key, value in fields:
                if value:
                    metadata.setdefault(_metadata_name(key), value)
            continue
        if _RELATED.match(stripped):
            findings.append(Finding("related", start, end, line, "related-articles list", True))
            in_related = True
            continue
        if _NAVIGATION.match(stripped) and len(stripped) <= 80:
            findings.append(Finding("navigation", start, end, line, "page navigation", True))
            in_related = False
            continue
        if in_related and len(stripped) <= 40 and not stripped.endswith(tuple(_SENTENCE_END)):
            findings.append(Finding("related", start, end, line, "related-articles list", True))
            continue
        in_related = False
        lead = len(line) - len(line.lstrip(" \t\u3000\xa0"))
        if stripped[0] in _BULLETS:
            findings.append(Finding("bullet", start + lead, start + lead + 1, stripped[0], "bullet artefact", False))
            first = re.split(r"[，,。；;：:！？!?]", stripped[1:], maxsplit=1)[0]
            if len(first) >= 14:
                findings.append(
                    Finding(
                        "fused-heading",
                        start + lead + 1,
                        start + lead + 1 + len(first),
                        first,
                        "a heading run into its paragraph (no punctuation for a long stretch after the bullet)",
                        False,
                    )
                )
    findings.extend(_trailing_spam(lines))
    return findings, metadata


def _metadata_name(key: str) -> str:
    if "时间" in key or "日期" in key:
        return "published"
    if "作者" in key or key in ("发布者", "编辑", "责任编辑", "供稿"):
        return "author"
    if "来源" in key or "出处" in key or "出自" in key:
        return "source"
    return key


def _trailing_spam(lines: list[tuple[int, int, str]]) -> list[Finding]:
    """A short fragment after the last sentence of the page, with no punctuation of its
    own: the seed ends 「…全国发展新亮点。眼跳测吉凶」."""
    body = [(s, e, line) for s, e, line in lines if line.strip()]
    if not body:
        return []
    start, end, line = body[-1]
    stripped = line.rstrip(" \t\u3000\xa0")
    cut = max(stripped.rfind(c) for c in _SENTENCE_END)
    if cut < 0 or cut == len(stripped) - 1:
        return []
    tail = stripped[cut + 1 :]
    if (
        not 1 <= len(tail.strip()) <= 20
        or any(c in tail for c in "，,、：:“”\"'（）()")
        or len(stripped) < 3 * len(tail)
    ):
        return []
    return [
        Finding("trailing-spam", start + cut + 1, start + len(stripped), tail, "text after the last sentence", True)
    ]


_FTFY: Any = None


def find_mojibake(text: str) -> list[Finding]:
    """Lines that ftfy would repair (mis-decoded UTF-8, HTML entities, and the like)."""
    try:
        import ftfy
    except ImportError:  # pragma: no cover - declared dependency
        return []
    global _FTFY
    if _FTFY is None:
        # Encoding damage only: full-width punctuation, curly quotes and the like are
        # normal in Chinese text and must not count as damage.
        _FTFY = ftfy.TextFixerConfig(
            unescape_html=True,
            fix_character_width=False,
            uncurl_quotes=False,
            fix_latin_ligatures=False,
            fix_line_breaks=False,
            remove_control_chars=False,
            remove_terminal_escapes=False,
            normalization=None,
        )
    findings = []
    for start, end, line in _lines(text):
        if not line.strip():
            continue
        fixed, steps = ftfy.fix_and_explain(line, config=_FTFY)
        if fixed != line and steps:
            what = ", ".join(str(s[0]) for s in steps)
            findings.append(
                Finding("mojibake", start, end, line, f"ftfy would repair it ({what}): {fixed[:40]}", False)
            )
    return findings


# What usually follows or precedes a number in official text: where text is missing next
# to one of these, a number is the likeliest thing a filter took.
NUMBER_AFTER = set("年月日亿万千百元%％个家项人次台辆件吨米倍届期号条")
NUMBER_BEFORE = ("约", "达", "共", "第", "至", "超", "近", "增长", "下降", "提高", "完成", "实现", "投资")
LONG_NUMBER = re.compile(r"[0-9０-９][0-9０-９,，.．]*[0-9０-９]{2}|[0-9０-９]{3,}")
MIN_NUMBER_GAPS = 3


def number_pattern(text: str, unknown: list[int]) -> Finding | None:
    """One finding for a site that deletes every long number: no number of three or more
    digits survives in the page, and at least three gaps of unknown content stand where a
    number reads naturally (关于⟦?⟧年国民经济, 总投资约⟦?⟧亿元). Named as a pattern rather
    than left as a list of unrelated gaps; each gap is still reported."""
    if LONG_NUMBER.search(text):
        return None
    places = [
        o
        for o in unknown
        if (o < len(text) and text[o] in NUMBER_AFTER) or text[max(0, o - 2) : o].endswith(NUMBER_BEFORE)
    ]
    if len(places) < MIN_NUMBER_GAPS:
        return None
    shown = ", ".join(f"{text[max(0, o - 4) : o]}⟦?⟧{text[o : o + 3]}" for o in places[:3])
    return Finding(
        "numbers-deleted",
        places[0],
        places[-1],
        "",
        f"numbers of 3+ digits deleted: {len(places)} place(s) where a number reads naturally, and no number "
        f"of three or more digits survives ({shown}{' …' if len(places) > 3 else ''})",
        False,
    )


def check(
    name: str,
    text: str,
    restorer: Restorer,
    buckets: tuple[float, float] = DEFAULT_BUCKETS,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    typos: bool = False,
) -> QCReport:
    """``typos``: also look for substitution typos (needs the ``restore[typos]`` extra)."""
    report = QCReport(name, len(text))
    findings, metadata = find_boilerplate(text)
    for mask in find_masks(text):
        findings.append(Finding("mask", mask.start, mask.end, text[mask.start : mask.end], "placeholder", False))
    findings.extend(find_mojibake(text))
    findings.sort(key=lambda f: (f.start, f.kind))
    report.findings = findings
    report.metadata = metadata
    furniture = [(f.start, f.end) for f in findings if f.boilerplate]

    def in_furniture(offset: int) -> bool:
        return any(a <= offset <= b for a, b in furniture)

    lo, hi = buckets
    for start, end, line in _lines(text):
        if len(line.strip()) < 10 or in_furniture(start):
            continue
        ppl = restorer.lm.perplexity(line)
        report.paragraphs.append(Paragraph(start, end, ppl, "head" if ppl <= lo else "middle" if ppl <= hi else "tail"))

    found = restorer.scan(text)
    gaps = [g for g in found if g.kind != "mask" and not in_furniture(g.offset)]
    # The rest of what scan and review import count: said, so the numbers add up.
    report.gaps_in_furniture = sum(1 for g in found if g.kind != "mask" and in_furniture(g.offset))
    body_chars = max(1, len(text) - sum(b - a for a, b in furniture))
    report.gaps = len(gaps)
    report.confident_gaps = sum(1 for g in gaps if g.best is not None and g.best.confidence >= min_confidence)
    report.deletion_density = 1000.0 * len(gaps) / body_chars
    strings: dict[str, int] = {}
    for g in gaps:
        if g.best is not None and g.kind == "deletion":
            strings[g.best.text] = strings.get(g.best.text, 0) + 1
    report.top_strings = dict(sorted(strings.items(), key=lambda kv: -kv[1])[:10])
    if typos:
        from restore.qc.typos import find_typos

        for t in find_typos(text, restorer.lm, near_gaps=[g.offset for g in gaps]):
            if not in_furniture(t.start):
                left = text[max(0, t.start - 6) : t.start].split("\n")[-1]
                right = text[t.end : t.end + 6].split("\n")[0]
                why = f"models prefer it by {t.margin:.1f} log10" if t.margin is not None else "pycorrector"
                detail = f"{left}⟦{t.text}→{t.suggestion}⟧{right}: {why}"
                report.findings.append(Finding("typo", t.start, t.end, t.text, detail, False))
        report.findings.sort(key=lambda f: (f.start, f.kind))
    numbers = number_pattern(text, [g.offset for g in gaps if g.kind == "unknown"])
    if numbers is not None:
        report.findings.append(numbers)
        report.findings.sort(key=lambda f: (f.start, f.kind))
    has_masks = any(f.kind == "mask" for f in findings)
    if report.deletion_density < CLEAN_DENSITY and not has_masks:
        report.verdict = "clean"
    elif not has_masks and report.confident_gaps >= 0.8 * report.gaps:
        report.verdict = "damaged-restorable"
    else:
        report.verdict = "damaged-needs-human"
    return report


def strip_boilerplate(text: str, findings: list[Finding]) -> str:
    """A cleaned copy: boilerplate spans removed (whole lines with their line break)."""
    spans = sorted((f.start, f.end) for f in findings if f.boilerplate)
    out = []
    last = 0
    for start, end in spans:
        if start < last:
            continue
        out.append(text[last:start])
        last = end
        if f"{text[start - 1 : start]}" in ("", "\n") and text[end : end + 1] == "\n":
            last = end + 1  # a whole line: drop its line break too
    out.append(text[last:])
    return "".join(out)
