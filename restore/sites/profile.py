"""A site's other pages as evidence about its filter (the collection-level cache).

A filter that deletes by plain substring deletion leaves none of its strings behind: once
a string is on the list, no page of the site shows it again. So a list entry that the
site's pages show intact is not on the site's filter, and proposing it anywhere on the
site can only produce false insertions. This matters most when a user adds a long list
with ``--lexicon``: of the default list and the added one, only part is the site's
filter, and the rest (政府, 坚持, 精神 …) would otherwise be inserted into fluent text.

One page is not enough to rule an entry out (a page may come from before the string was
listed), so an entry must be seen intact on ``min_pages`` pages. Nor is a handful of
pages on a large site: sequential deletion forms new occurrences now and then (坚持 is
intact on 2 of 2,529 dev pages damaged by the seed list, where the reference text expects
it some 900 times). So, where a reference rate is known, an entry must also show at
least ``MIN_SHARE`` of the occurrences the reference expects in that much text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from restore.engine.config import EngineConfig

if TYPE_CHECKING:
    from restore.models.index import CorpusIndex
    from restore.sites.inference import InferredEntry

MIN_PAGES = 2
# A filtered string reappears only where a deletion happens to form it: far below this
# share of its expected count. An unfiltered one falls this low only off topic, and
# keeping such an entry as a candidate costs no more than not profiling the site at all.
MIN_SHARE = 0.05


@dataclass(frozen=True)
class SiteProfile:
    """How many of a site's pages show each list entry intact."""

    pages: int
    intact: dict[str, int] = field(default_factory=dict)  # entry -> pages showing it intact
    min_pages: int = MIN_PAGES
    occurrences: dict[str, int] = field(default_factory=dict)  # entry -> intact occurrences
    expected: dict[str, float] | None = None  # entry -> occurrences the reference expects

    @classmethod
    def from_pages(
        cls,
        pages: Iterable[str],
        entries: Sequence[str],
        min_pages: int = MIN_PAGES,
        expected_rate: Callable[[str], float] | None = None,
    ) -> SiteProfile:
        """Count, for each entry, the pages and occurrences that show it; pages are
        streamed, not kept. ``expected_rate(entry)``: occurrences per character of
        reference text (``reference_rate``)."""
        if min_pages < 1:
            raise ValueError("min_pages must be at least 1")
        wanted = tuple(dict.fromkeys(e for e in entries if e))
        page_counts = dict.fromkeys(wanted, 0)
        counts = dict.fromkeys(wanted, 0)
        n = characters = 0
        for page in pages:
            n += 1
            characters += len(page)
            for entry in wanted:
                c = page.count(entry)
                if c:
                    page_counts[entry] += 1
                    counts[entry] += c
        seen = [e for e in wanted if page_counts[e]]
        expected = {e: expected_rate(e) * characters for e in seen} if expected_rate is not None else None
        return cls(n, {e: page_counts[e] for e in seen}, min_pages, {e: counts[e] for e in seen}, expected)

    def not_filtered(self) -> tuple[str, ...]:
        """Entries this site's filter does not delete: seen intact on enough pages, and
        often enough for the reference's expectation."""
        return tuple(
            e
            for e, c in self.intact.items()
            if c >= self.min_pages
            and (self.expected is None or self.occurrences.get(e, 0) >= MIN_SHARE * self.expected.get(e, 0.0))
        )

    def summary(self, limit: int = 12) -> str:
        ruled_out = sorted(self.not_filtered(), key=lambda e: -self.intact[e])
        if not ruled_out:
            return f"site profile: {self.pages} page(s); no list entry is seen intact often enough to rule it out"
        shown = ", ".join(f"{e} ({self.intact[e]})" for e in ruled_out[:limit])
        more = f", … {len(ruled_out) - limit} more" if len(ruled_out) > limit else ""
        return (
            f"site profile: {self.pages} page(s); {len(ruled_out)} list entr{'y' if len(ruled_out) == 1 else 'ies'} "
            f"seen intact on ≥ {self.min_pages} pages"
            + (f" (and ≥ {MIN_SHARE:.0%} of the reference's expectation)" if self.expected is not None else "")
            + f" will not be proposed: {shown}{more}"
        )

    def to_dict(self) -> dict[str, object]:
        return {"pages": self.pages, "min_pages": self.min_pages, "not_filtered": list(self.not_filtered())}


def reference_rate(index: CorpusIndex | None = None) -> Callable[[str], float] | None:
    """Occurrences per character of reference text: from the corpus index when given,
    else from the bundled n-gram table (strings it lacks count as rare); None if neither."""
    if index is not None:
        total = max(index.characters, 1)
        return lambda s: index.count(s) / total
    from restore.sites.inference import InferenceError, Reference

    try:
        reference = Reference.load()
    except InferenceError:
        return None
    return lambda s: reference.counts.get(s, 0) / reference.characters


def profile_site(pages: Iterable[str], config: EngineConfig) -> SiteProfile:
    """The profile of a site's ``pages`` against the filter list ``config`` loads, with
    the reference's expectations from the corpus index it names (or the bundled table)."""
    from restore.engine.script import to_simplified
    from restore.models.index import CorpusIndex
    from restore.models.lexicon import resolve_filter_list

    flist = resolve_filter_list(list(config.lexicons), replace=config.replace_lexicon)
    index = CorpusIndex.find(config.index) if config.use_index else None
    simplified = (to_simplified(page) for page in pages)  # the lists are Simplified; pages may not be
    return SiteProfile.from_pages(simplified, flist.usable(), expected_rate=reference_rate(index))


# Pages read for inference: a uniform sample of a crawl, so memory and time stay bounded.
INFER_PAGES = 2000


@dataclass(frozen=True)
class SiteSettings:
    """What a site's pages tell the engine, and the settings that follow."""

    config: EngineConfig  # the given settings, minus what the pages show intact, plus what they prove
    profile: SiteProfile
    inferred: tuple[InferredEntry, ...] = ()  # the entries inferred, with their evidence
    pages_read: int = 0  # pages inference read (a uniform sample of at most INFER_PAGES)
    seconds: float = 0.0  # time inference took


def for_site(
    pages: Iterable[str],
    config: EngineConfig,
    infer: bool = True,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> SiteSettings:
    """The engine settings for one site's ``pages``, read once as they stream past.

    List entries the pages show intact are left out (a deleting filter leaves none of its
    strings), and, with ``infer``, the entries the pages prove are the site's are added
    (:func:`restore.sites.inference.site_entries`, on a uniform sample of the pages).
    """
    import time

    from restore.io.records import Reservoir
    from restore.models.index import CorpusIndex
    from restore.sites.inference import site_entries

    drawn: Reservoir[str] = Reservoir(INFER_PAGES)

    def sampled() -> Iterator[str]:
        for page in pages:
            if infer:
                drawn.add(page)
            yield page

    profile = profile_site(sampled(), config)
    exclude = profile.not_filtered()
    sample = drawn.sample
    if not infer or not sample:
        return SiteSettings(config.with_exclude(exclude), profile)
    started = time.perf_counter()
    index = CorpusIndex.find(config.index) if config.use_index else None
    found = site_entries(sample, Path(config.model_dir) if config.model_dir else None, index, on_progress=on_progress)
    shown = set(exclude)
    kept = tuple(e for e in found if e.string not in shown)
    settings = replace(config, exclude=tuple(exclude), inferred=tuple(e.string for e in kept))
    return SiteSettings(settings, profile, kept, len(sample), time.perf_counter() - started)


def for_sites(
    pages: Iterable[tuple[str, str]],
    config: EngineConfig,
    infer: bool = True,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, SiteSettings]:
    """:func:`for_site` for each site of a mixed collection, from ``(site, page)`` pairs read
    once: each site keeps a uniform sample of at most ``INFER_PAGES`` pages, which its
    profile and inference read."""
    from restore.io.records import Reservoir

    samples: dict[str, Reservoir[str]] = {}
    for site, page in pages:
        samples.setdefault(site, Reservoir(INFER_PAGES)).add(page)
    out: dict[str, SiteSettings] = {}
    for n, (site, kept) in enumerate(sorted(samples.items())):
        if on_progress is not None:
            on_progress(f"site {site or '(none)'}", n, len(samples))
        out[site] = for_site(kept.sample, config, infer)
    return out
