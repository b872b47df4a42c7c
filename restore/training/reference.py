"""Building the reference n-gram counts that filter-list inference compares a site's
pages against.
"""

from __future__ import annotations

import lzma
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from restore.io.corpus import is_heldout, iter_documents
from restore.sites.inference import MAX_N, MIN_COUNT, Reference


def build_reference(sources: Sequence[Path], out: Path, limit_chars: int = 6_000_000, every: int = 4) -> Reference:
    """Count n-grams (1–6 characters, each count >= MIN_COUNT) over every ``every``-th
    train document, held-out ones excluded, up to ``limit_chars``; apriori pruning keeps
    it to a few hundred thousand entries."""
    texts: list[str] = []
    total = 0
    for source in sources:
        for i, (doc_id, text) in enumerate(iter_documents(source)):
            if i % every or is_heldout(doc_id):
                continue
            texts.append(text)
            total += len(text)
            if total >= limit_chars:
                break
    counts: dict[str, int] = {}
    previous: dict[str, int] = {}
    for n in range(1, MAX_N + 1):
        grams: Counter[str] = Counter()
        for text in texts:
            for i in range(len(text) - n + 1):
                gram = text[i : i + n]
                if n > 1 and (gram[:-1] not in previous or gram[1:] not in previous):
                    continue
                grams[gram] += 1
        previous = {g: c for g, c in grams.items() if c >= MIN_COUNT and not any(ch in g for ch in "\n\t\r")}
        counts.update(previous)
    out.parent.mkdir(parents=True, exist_ok=True)
    with lzma.open(out, "wt", encoding="utf-8", preset=9) as handle:
        handle.write(f"#characters\t{total}\n")
        for gram in sorted(counts):
            handle.write(f"{gram}\t{counts[gram]}\n")
    return Reference(counts, total)


def reference_sources(corpora: Sequence[Path]) -> list[Path]:
    """The files the reference is counted from: the training split, without the CPC
    congress reports (a few long documents that would dominate the counts)."""
    from restore.io.corpus import corpus_files

    return [f for c in corpora for f in corpus_files(c) if "-train" in f.name and "cpc-" not in f.name]
