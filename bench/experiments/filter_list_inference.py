"""Experiment towards `restore lexicon infer` (issue 6): can a site's filter list be read
off its own damaged pages? Not product code; kept so the numbers in the closing note can
be reproduced and the next step starts from them.

    python bench/experiments/filter_list_inference.py 政治类型 --candidates 500

Method:
1. Reference n-gram counts (1–6 characters, apriori-pruned, count ≥ 15) from a quarter
   of the train documents (about 6M characters).
2. Damage 300 shuffled xwlb dev documents with a konsheng list restricted to the entries
   that occur in them (the simulator of the benchmark).
3. Candidates: Chinese-only n-grams whose expected count in the site's text
   (reference rate × site length) is at least 1 but which are (nearly) absent there,
   ordered by expected count; the top N go on.
4. Run the engine over the damaged pages with exactly those candidates as its filter
   list; rank candidates by how many junctions they fill at confidence ≥ 0.5.

With ``--junctions``, step 3 instead orders the absent n-grams by how many surprising
junctions of the site they fit (the reference holds left character + g and g + right
character), weighted by the square root of the expected count.

Reported: recall of the entries that deleted ≥ 5 occurrences (among candidates filling
≥ 2 junctions), and precision of the top k for k = that number and k = all entries present.

Measured 2026-11-25 (500 candidates, 300 documents, about 70 s each):

| list | entries present / deleted ≥ 5× | by expected count: recall, P@k | with --junctions: recall, P@k |
|---|---|---|---|
| 政治类型 | 10 / 5 | 1.00, 1.00 | 1.00, 1.00 |
| 民生词库 | 17 / 5 | 0.60, 0.60 | 0.80, 0.80 |
| 反动词库 | 21 / 7 | 0.71, 0.71 | 0.71, 0.86 |

Still missed: 复制, 形式主义, 伊斯兰 (rarely expected in the reference sample, or fluent
when deleted). Issue 6's bar is recall ≥ 0.90 and P@k ≥ 0.80.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from restore.corpus import iter_documents  # noqa: E402
from restore.engine import Restorer  # noqa: E402
from restore.lexicon import FilterList, load_filter_list  # noqa: E402
from restore.simulate import damage  # noqa: E402

SHARED = ROOT.parent / "shared"
MAX_N = 6
MIN_COUNT = 15


def reference_counts(limit_chars: int) -> tuple[dict[str, int], int]:
    texts: list[str] = []
    total = 0
    for path in (SHARED / "corpus/xwlb-train.jsonl.xz", SHARED / "corpus/gov-work-reports-train.jsonl.xz"):
        for i, (_, text) in enumerate(iter_documents(path)):
            if i % 4:
                continue
            texts.append(text)
            total += len(text)
            if total > limit_chars:
                break
    freq: dict[str, int] = {}
    previous: dict[str, int] = {}
    for n in range(1, MAX_N + 1):
        counts: Counter[str] = Counter()
        for text in texts:
            for i in range(len(text) - n + 1):
                gram = text[i : i + n]
                if n > 1 and (gram[:-1] not in previous or gram[1:] not in previous):
                    continue
                counts[gram] += 1
        previous = {g: c for g, c in counts.items() if c >= MIN_COUNT and "\n" not in g}
        freq.update(previous)
    return freq, total


def junction_candidates(
    damaged: list[str], freq: dict[str, int], absent: set[str], expected: dict[str, float], limit: int
) -> list[str]:
    """Absent n-grams ordered by how many surprising junctions of the site they would
    fill: the reference has both (left character + g) and (g + right character)."""
    from restore.detect import detect_sites
    from restore.lexicon import PhraseDictionary

    engine = Restorer(filter_list=FilterList("none", ("的",)))
    by_left: dict[str, set[str]] = {}
    by_right: dict[str, set[str]] = {}
    # (left character + g) and (g + right character): n-grams the reference holds
    for gram in freq:
        if len(gram) < 2:
            continue
        head, tail = gram[0], gram[1:]
        if tail in absent:
            by_left.setdefault(head, set()).add(tail)
        head2, tail2 = gram[:-1], gram[-1]
        if head2 in absent:
            by_right.setdefault(tail2, set()).add(head2)
    fits: Counter[str] = Counter()
    empty = PhraseDictionary(())
    for text in damaged:
        for site in detect_sites(text, engine.lm, empty):
            o = site.offset
            if 0 < o < len(text):
                a = by_left.get(text[o - 1])
                b = by_right.get(text[o])
                if a and b:
                    fits.update(a & b)
    return sorted(fits, key=lambda g: (-fits[g] * min(expected[g], 50.0) ** 0.5, g))[:limit]


def chinese(gram: str) -> bool:
    return all("\u4e00" <= c <= "\u9fff" for c in gram)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("list_name", help="a konsheng list, e.g. 政治类型")
    parser.add_argument("--candidates", type=int, default=500)
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--junctions", action="store_true", help="order candidates by the junctions they fit")
    parser.add_argument("--reference-chars", type=int, default=6_000_000)
    args = parser.parse_args()

    started = time.time()
    freq, ref_total = reference_counts(args.reference_chars)
    flist = load_filter_list(SHARED / f"lexicons/konsheng-sensitive-lexicon/{args.list_name}.txt")
    dev = [text for _, text in iter_documents(SHARED / "corpus/xwlb-dev.jsonl.xz")]
    random.Random(1).shuffle(dev)
    dev = dev[: args.documents]
    present = [e for e in flist.entries if any(e in d for d in dev)]
    damaged = [damage(d, present)[0] for d in dev]
    deleted = {e: sum(d.count(e) for d in dev) for e in present}
    truth = {e for e in present if deleted[e] >= 5}

    site = "\n".join(damaged)
    observed: Counter[str] = Counter()
    for n in range(1, MAX_N + 1):
        for i in range(len(site) - n + 1):
            gram = site[i : i + n]
            if gram in freq:
                observed[gram] += 1
    expected = {g: c * len(site) / ref_total for g, c in freq.items()}
    absent = sorted(
        (g for g, lam in expected.items() if lam >= 1.0 and observed[g] <= 0.02 * lam and chinese(g)),
        key=lambda g: -expected[g],
    )
    chosen = absent[: args.candidates]
    if args.junctions:
        chosen = junction_candidates(damaged, freq, set(absent), expected, args.candidates)
    print(
        f"candidate rank of each such entry (engine input): { {e: chosen.index(e) if e in chosen else None for e in truth} }"
    )
    engine = Restorer(filter_list=FilterList("inferred", tuple(chosen)))
    filled: Counter[str] = Counter()
    for text in damaged:
        for gap in engine.scan(text):
            if gap.kind == "deletion" and gap.best is not None and gap.best.confidence >= 0.5:
                filled[gap.best.text] += 1
    ranked = sorted(chosen, key=lambda g: (-filled[g], -expected[g]))
    inferred = [g for g in ranked if filled[g] >= 2]
    k_truth, k_all = len(truth), len(present)
    print(f"list {args.list_name}: {len(present)} entries occur in {len(dev)} documents, {k_truth} deleted ≥ 5 times")
    print(f"candidate rank of each such entry: { {e: absent.index(e) if e in absent else None for e in truth} }")
    print(f"top inferred: {[(g, filled[g]) for g in ranked[:15]]}")
    print(f"recall (≥ 5 deletions): {len(truth & set(inferred)) / max(k_truth, 1):.2f}")
    print(f"precision@{k_truth}: {len(set(ranked[:k_truth]) & set(present)) / max(k_truth, 1):.2f}")
    print(f"precision@{k_all}: {len(set(ranked[:k_all]) & set(present)) / max(k_all, 1):.2f}")
    print(f"{time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
