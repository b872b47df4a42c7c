"""Filter-list inference and fingerprinting benchmark.

Each trial plays a site whose filter is one public list. The site's pages are 300 dev
documents: those the list's filter touches (shuffled), topped up with untouched ones
(a filter that deletes nothing from a site's pages leaves nothing to infer or match).
They are damaged with the list, restricted to the entries that occur in them; the
entries that really delete at least 5 occurrences there are the truth the recall bar
counts (an entry an earlier one pre-empts deletes nothing of its own). "restorable" is
the share of them the engine, given the true list, puts back where they were cut at
enough junctions to be kept (``restorable``): what inference, which tests candidates with
the same engine, can expect to reach. The inferred list is scored, the restoration rate with the inferred list is
compared with the rate with the true list (first three lists), and `match` ranks all
public lists. Identical lists (fwwdn's 政治类 is konsheng's 政治类型, entry for entry)
are ranked as one. Prints a table and writes bench/results/infer.{json,md}.

Trial lists: ten public lists that delete something from the dev split. konsheng's
暴恐词库 and 涉枪涉爆 are left out: in all 2,529 dev documents they touch 4 and 3
documents and delete 3 and 1 distinct strings, fewer than any page set could show.

    python bench/infer_bench.py            # 10 trials, about 20 minutes on one core (--jobs)
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import random
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import write_results  # noqa: I001
from restore.engine.restorer import Restorer  # noqa: E402
from restore.evaluation.measure import evaluate  # noqa: E402
from restore.evaluation.simulate import damage, deletions  # noqa: E402
from restore.io.corpus import iter_documents  # noqa: E402
from restore.models.index import CorpusIndex  # noqa: E402
from restore.models.lexicon import FilterList, load_filter_list, parse_filter_list  # noqa: E402
from restore.sites.inference import InferredEntry, Reference, fills, infer_filter_list
from restore.sites.matching import lending_list, match_lists, site_list_text

SHARED = ROOT.parent / "shared"
KONSHENG = SHARED / "lexicons/konsheng-sensitive-lexicon"
FWWDN = SHARED / "lexicons/fwwdn-sensitive-stop-words"
TRIALS = [
    "政治类型",
    "民生词库",
    "反动词库",
    "贪腐词库",
    "COVID-19词库",
    "补充词库",
    "其他词库",
    "广告类型",
    "色情词库",
    "色情类型",
]


def site_pages(pool: list[str], entries: tuple[str, ...], size: int, seed: int) -> list[str]:
    """The documents the filter touches, then untouched ones, ``size`` in all."""
    rng = random.Random(seed)
    touched = [d for d in pool if any(e in d for e in entries)]
    untouched = [d for d in pool if not any(e in d for e in entries)]
    rng.shuffle(touched)
    rng.shuffle(untouched)
    pages = touched[:size] + untouched[: max(0, size - len(touched))]
    rng.shuffle(pages)
    return pages


def candidates_lists() -> list[FilterList]:
    names = sorted(p for p in KONSHENG.glob("*.txt")) + sorted(p for p in FWWDN.glob("*.txt"))
    return [load_filter_list(p) for p in names]


def restorable(engine: Restorer, pages: list[str], present: list[str], truth: set[str]) -> set[str]:
    """The truth entries that the engine, given the true list, puts back exactly where
    they were cut, at junctions that would keep them in an inferred list (confidence
    >= FILL_CONFIDENCE, two places, fills on one page counting one less). Inference tests
    its candidates with the same engine, but against hundreds of rivals instead of the
    list's own entries, so it can still keep an entry outside this set, by fills the
    true list's engine did not make."""
    damaged = [damage(page, present) for page in pages]
    cut = [{g.offset: g.text for g in gold} for _, gold in damaged]
    filled, _, on_pages = fills(engine, [text for text, _ in damaged], only=lambda n, o, s: cut[n].get(o) == s)
    return {e for e in truth if InferredEntry(e, 0.0, 0, filled[e], pages=on_pages[e]).kept()}


def run_trial(numbered: tuple[int, str]) -> dict[str, object]:
    n, name = numbered
    pool: list[str] = _SHARED_STATE["pool"]  # type: ignore[assignment]
    reference: Reference = _SHARED_STATE["reference"]  # type: ignore[assignment]
    index: CorpusIndex | None = _SHARED_STATE["index"]  # type: ignore[assignment]
    known: list[FilterList] = _SHARED_STATE["known"]  # type: ignore[assignment]
    args: argparse.Namespace = _SHARED_STATE["args"]  # type: ignore[assignment]
    started = time.time()
    flist = load_filter_list(KONSHENG / f"{name}.txt")
    dev = site_pages(pool, flist.entries, args.documents, seed=n)
    touched = sum(1 for d in dev if any(e in d for e in flist.entries))
    present = [e for e in flist.entries if any(e in d for d in dev)]
    damaged = [damage(d, present)[0] for d in dev]
    # What each entry really deleted: one an earlier entry pre-empts (基督教 after 基督)
    # leaves no trace of its own, however often the original text holds it.
    deleted: Counter[str] = Counter()
    for d in dev:
        deleted.update(deletions(d, present))
    truth = {e for e in present if deleted[e] >= 5}
    inferred = infer_filter_list(damaged, reference, index=index)
    kept = [e.string for e in inferred if e.kept()]
    k = max(len(truth), 1)
    recall = len(truth & set(kept)) / k if truth else None
    ceiling = restorable(Restorer(filter_list=FilterList(name, tuple(present))), dev, present, truth)
    precision = len({e.string for e in inferred[:k]} & set(present)) / k if truth else None
    ranking = match_lists(inferred, known, damaged, reference, index=index)
    rank = next(i for i, m in enumerate(ranking, 1) if name in m.names)
    row: dict[str, object] = {
        "list": name,
        "touched": touched,
        "present": len(present),
        "deleted_5x": len(truth),
        "recall": recall,
        "precision_at_k": precision,
        "restorable": len(ceiling) / k if truth else None,
        "unrestorable": sorted(truth - ceiling),
        "kept": len(kept),
        "false_kept": len([g for g in kept if g not in present]),
        "missed": sorted(truth - set(kept)),
        "match_rank": rank,
        "match_top": " = ".join(ranking[0].names),
    }
    if n < args.rate_trials and truth:
        true_rate = evaluate(Restorer(filter_list=FilterList(name, tuple(present))), dev, present)
        inferred_rate = evaluate(Restorer(filter_list=FilterList("inferred", tuple(kept))), dev, present)
        row["exact_true_list"] = true_rate.metrics(0.5)["exact_restoration"]
        row["exact_inferred_list"] = inferred_rate.metrics(0.5)["exact_restoration"]
        # `lexicon match -o` as a user runs it who lacks the site's own list file: the
        # inferred entries plus those of the best of the other lists (an identical copy
        # under another name, as fwwdn's 政治类 of 政治类型, stays among them).
        others = [f for f in known if f.name != name]
        best = lending_list(match_lists(inferred, others, damaged, reference, index=index), others)
        site_list = parse_filter_list(site_list_text(inferred, best, damaged), "site")
        row["matched_without_true"] = best.name if best else "—"
        site_rate = evaluate(Restorer(filter_list=site_list), dev, present)
        row["exact_site_list"] = site_rate.metrics(0.5)["exact_restoration"]
    row["seconds"] = round(time.time() - started)
    Console().print(row)
    return row


# What every trial reads, loaded once before the workers fork (the index is a memory map).
_SHARED_STATE: dict[str, object] = {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--trials", type=int, default=len(TRIALS))
    parser.add_argument("--rate-trials", type=int, default=3, help="trials that also compare restoration rates")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="trials run side by side")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    _SHARED_STATE.update(
        pool=[text for path in sorted((SHARED / "corpus").glob("*-dev*")) for _, text in iter_documents(path)],
        reference=Reference.load(),
        index=CorpusIndex.find(),  # expected counts for fingerprinting; the reference table without it
        known=candidates_lists(),
        args=args,
    )
    numbered = list(enumerate(TRIALS[: args.trials]))
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("fork")) as workers:
            rows = list(workers.map(run_trial, numbered))
    else:
        rows = [run_trial(t) for t in numbered]

    table = Table(title=f"Filter-list inference on {args.documents} damaged dev documents")
    cols = [
        "list",
        "touched",
        "present",
        "deleted_5x",
        "recall",
        "precision_at_k",
        "restorable",
        "kept",
        "false_kept",
        "exact_true_list",
        "exact_inferred_list",
        "exact_site_list",
        "matched_without_true",
    ]
    cols += ["match_rank", "match_top"]
    for c in cols:
        table.add_column(c.replace("_", " "))

    def fmt(v: object) -> str:
        return f"{v:.2f}" if isinstance(v, float) else ("—" if v is None else str(v))

    for row in rows:
        table.add_row(*[fmt(row.get(c)) for c in cols])
    Console().print(table)
    top1 = sum(1 for r in rows if r["match_rank"] == 1)
    results = {
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
        "command": " ".join(["python", "bench/infer_bench.py", *sys.argv[1:]]),
        "trials": rows,
        "fingerprint_top1": f"{top1}/{len(rows)}",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_results(args.out, "infer", results)
    md = [
        "# Filter-list inference benchmark",
        "",
        f"`{results['command']}` on {results['machine']}.",
        "",
        "| " + " | ".join(c.replace("_", " ") for c in cols) + " |",
        "|" + "---|" * len(cols),
    ]
    md += ["| " + " | ".join(fmt(r.get(c)) for c in cols) + " |" for r in rows]
    md += ["", f"Fingerprinting: the true list ranked first in {top1} of {len(rows)} trials.", ""]
    (args.out / "infer.md").write_text("\n".join(md), "utf-8")


if __name__ == "__main__":
    main()
