"""Filter lists (what site filters delete) and the phrase dictionary (set phrases that
contain those strings, mined from the training corpus)."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from restore.errors import LexiconError
from restore.paths import DATA_DIR

FILTER_LIST_DIR = DATA_DIR / "filter-lists"
DEFAULT_FILTER_LIST = FILTER_LIST_DIR / "seed-chengdu.txt"
DEFAULT_PHRASES = DATA_DIR / "phrases.tsv"

MAX_ENTRY_CHARS = 8  # longer entries are never inserted: the LM cannot vouch for them
_SPLIT = re.compile(r"[,，、;；\t\n]+")


@dataclass(frozen=True)
class FilterList:
    """Strings a keyword filter deletes, in the order the filter applies them.

    A merged list remembers where each entry came from (``origin``), so evidence can say
    whether a string is on the bundled list, a given one, or inferred from the site.
    """

    name: str
    entries: tuple[str, ...]
    origins: dict[str, str] = field(default_factory=dict, compare=False)

    def usable(self) -> tuple[str, ...]:
        """Entries that can be proposed as insertions."""
        return tuple(e for e in self.entries if 0 < len(e) <= MAX_ENTRY_CHARS)

    def origin(self, entry: str) -> str:
        """The name of the list ``entry`` came from."""
        return self.origins.get(entry, self.name)

    def merged(self, other: FilterList) -> FilterList:
        seen = dict.fromkeys(self.entries)
        seen.update(dict.fromkeys(other.entries))
        origins = {e: other.origin(e) for e in other.entries} | {e: self.origin(e) for e in self.entries}
        return FilterList(f"{self.name}+{other.name}", tuple(seen), origins)


def parse_filter_list(text: str, name: str) -> FilterList:
    """One entry per line (or comma separated); ``#`` starts a comment. Entries in
    Traditional script are read in Simplified, as the engine reads every text.

    >>> parse_filter_list("一带一路\\n環境  # 環境 and 环境 are one entry\\n环境", "x").entries
    ('一带一路', '环境')
    """
    from restore.engine.script import to_simplified

    entries: dict[str, None] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        for item in _SPLIT.split(line):
            item = to_simplified(item.strip())
            if item:
                entries[item] = None
    return FilterList(name, tuple(entries))


def load_filter_list(path: Path | str) -> FilterList:
    path = Path(path)
    if not path.is_file():
        bundled = FILTER_LIST_DIR / f"{path}.txt"
        if bundled.is_file():
            path = bundled
        else:
            raise LexiconError(f"lexicon not found: {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise LexiconError(f"lexicon is not UTF-8 text: {path}") from None
    flist = parse_filter_list(text, path.stem)
    if not flist.entries:
        raise LexiconError(f"lexicon has no entries: {path}")
    return flist


def default_filter_list() -> FilterList:
    return load_filter_list(DEFAULT_FILTER_LIST)


def resolve_filter_list(paths: Sequence[Path | str], replace: bool = False) -> FilterList:
    """The default list extended (or, with ``replace``, replaced) by user lists."""
    lists = [load_filter_list(p) for p in paths]
    if replace and lists:
        result = lists[0]
        lists = lists[1:]
    else:
        result = default_filter_list()
    for extra in lists:
        result = result.merged(extra)
    return result


# ---------------------------------------------------------------- phrase dictionary


@dataclass(frozen=True)
class Phrase:
    """A set phrase containing a filter string, e.g. 营商环境 around 环境.

    ``signature`` is what a filter leaves: the phrase with the string cut out at ``cut``.
    ``count`` is how often the phrase occurs in training text, ``signature_count`` how
    often the signature occurs there on its own (low means the signature betrays a cut).
    """

    phrase: str
    filter_string: str
    cut: int
    count: int
    signature_count: int

    @property
    def strength(self) -> float:
        """log10 of how much more often the phrase occurs than its signature alone."""
        return math.log10((self.count + 1) / (self.signature_count + 1))

    @property
    def signature(self) -> str:
        return self.phrase[: self.cut] + self.phrase[self.cut + len(self.filter_string) :]


@dataclass(frozen=True)
class SignatureHit:
    junction: int  # code-point offset where the filter string would go back
    phrase: Phrase


class PhraseDictionary:
    def __init__(self, phrases: Iterable[Phrase]):
        self.phrases = list(phrases)
        self._by_first: dict[str, list[Phrase]] = defaultdict(list)
        for p in self.phrases:
            sig = p.signature
            if sig:
                self._by_first[sig[0]].append(p)

    def __len__(self) -> int:
        return len(self.phrases)

    def restricted(self, flist: FilterList) -> PhraseDictionary:
        keep = set(flist.usable())
        return PhraseDictionary(p for p in self.phrases if p.filter_string in keep)

    def signature_hits(self, text: str) -> list[SignatureHit]:
        """Signatures present in ``text`` where the full phrase is not."""
        hits: list[SignatureHit] = []
        index = self._by_first
        for i, ch in enumerate(text):
            bucket = index.get(ch)
            if not bucket:
                continue
            for p in bucket:
                # The phrase starts where its signature does: both begin with phrase[:cut].
                if text.startswith(p.signature, i) and not text.startswith(p.phrase, i):
                    hits.append(SignatureHit(i + p.cut, p))
        return hits

    def save(self, path: Path) -> None:
        with path.open("w", encoding="utf-8") as fh:
            fh.write("# phrase\tfilter_string\tcut\tcount\tsignature_count\n")
            for p in self.phrases:
                fh.write(f"{p.phrase}\t{p.filter_string}\t{p.cut}\t{p.count}\t{p.signature_count}\n")

    @classmethod
    def load(cls, path: Path | None = None) -> PhraseDictionary:
        path = path or DEFAULT_PHRASES
        phrases = []
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if not line or line.startswith("#"):
                    continue
                ph, fs, cut, count, sig = line.split("\t")
                phrases.append(Phrase(ph, fs, int(cut), int(count), int(sig)))
        return cls(phrases)
