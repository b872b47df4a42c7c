"""Every site's kind of damage: deletion in Simplified and in Traditional script, and
masks (one ``*`` per filtered occurrence, one ``□`` per filtered character), each with
the filter list known (given with --lexicon, or the bundled one); the masks also with the
list not told (the bundled list and, when built, what the corpus index puts between the
mask's contexts). Dev documents only, at the default threshold of ``restore fix`` (0.9)
and at 0.5.

Also ``scan`` on clean paragraphs in both scripts: the gaps it reports where there are none.

    python bench/sites_bench.py              # about 10 minutes
    python bench/sites_bench.py --limit 100  # quicker

Prints a table and writes bench/results/sites.{json,md}.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import SHARED, command, machine, write_results  # noqa: I001
from restore.engine.config import EngineConfig
from restore.engine.restorer import Restorer
from restore.engine.script import convert
from restore.evaluation.simulate import damage, mask
from restore.io.corpus import iter_documents
from restore.models.lexicon import default_filter_list, load_filter_list
from restore.sites.profile import for_site

DEV = [SHARED / "corpus/gov-work-reports-dev.jsonl.xz", SHARED / "corpus/xwlb-dev.jsonl.xz"]
LISTS = {
    "seed (bundled)": None,
    "konsheng 政治类型 (--lexicon)": SHARED / "lexicons/konsheng-sensitive-lexicon/政治类型.txt",
    "konsheng 民生词库 (--lexicon)": SHARED / "lexicons/konsheng-sensitive-lexicon/民生词库.txt",
}
THRESHOLDS = (0.5, 0.9)


def dev_documents(limit: int) -> list[str]:
    """Report paragraphs first (the seed's register), then news, ``limit`` documents in all."""
    docs: list[str] = []
    for path in DEV:
        for _, text in iter_documents(path):
            docs.extend(p for p in text.split("\n") if len(p) >= 20) if "gov-work" in path.name else docs.append(text)
            if len(docs) >= limit:
                return docs[:limit]
    return docs


def deletion_run(restorer: Restorer, docs: list[str], entries: tuple[str, ...], script: str) -> dict[str, Any]:
    gold_total = 0
    applied = {t: 0 for t in THRESHOLDS}
    at_gap = {t: 0 for t in THRESHOLDS}
    exact = {t: 0 for t in THRESHOLDS}
    chars = 0
    started = time.perf_counter()
    for doc in docs:
        original = convert(doc, "s2tw") if script == "traditional" else doc
        listed = tuple(convert(e, "s2tw") for e in entries) if script == "traditional" else entries
        damaged, gold = damage(original, listed)
        gold_total += len(gold)
        chars += len(damaged)
        where = {g.offset: g.text for g in gold}
        gaps = restorer.scan(damaged)
        for t in THRESHOLDS:
            for g in gaps:
                if g.kind != "deletion" or g.best is None or g.best.confidence < t:
                    continue
                applied[t] += 1
                if g.offset in where:
                    at_gap[t] += 1
                    exact[t] += where[g.offset] == g.best.text
    seconds = time.perf_counter() - started
    return _metrics(gold_total, applied, at_gap, exact) | {"characters_per_second": round(chars / seconds)}


def mask_run(restorer: Restorer, docs: list[str], entries: tuple[str, ...], mode: str) -> dict[str, Any]:
    gold_total = 0
    applied = {t: 0 for t in THRESHOLDS}
    at_gap = {t: 0 for t in THRESHOLDS}
    exact = {t: 0 for t in THRESHOLDS}
    for doc in docs:
        masked, gold = mask(doc, entries, mode)  # type: ignore[arg-type]
        gold_total += len(gold)
        where = {g.start: g.text for g in gold}
        for g in restorer.scan(masked):
            if g.kind != "mask":
                continue
            for t in THRESHOLDS:
                if g.best is not None and g.best.confidence >= t:
                    applied[t] += 1
                    at_gap[t] += g.offset in where
                    exact[t] += where.get(g.offset) == g.best.text
    return _metrics(gold_total, applied, at_gap, exact)


def _metrics(gold: int, applied: dict, at_gap: dict, exact: dict) -> dict[str, Any]:
    out: dict[str, Any] = {"damaged": gold}
    for t in THRESHOLDS:
        out[f"applied@{t}"] = applied[t]
        out[f"precision@{t}"] = round(exact[t] / applied[t], 3) if applied[t] else None
        out[f"exact@{t}"] = round(exact[t] / gold, 3) if gold else None
    return out


def clean_gaps(restorer: Restorer, docs: list[str]) -> dict[str, Any]:
    simplified = sum(len(restorer.scan(d)) for d in docs)
    traditional = sum(len(restorer.scan(convert(d, "s2tw"))) for d in docs)
    return {
        "paragraphs": len(docs),
        "gaps_simplified": simplified,
        "gaps_traditional": traditional,
        "ratio": round(traditional / simplified, 2) if simplified else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=300, help="dev documents (report paragraphs first)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results")
    args = parser.parse_args()
    docs = dev_documents(args.limit)
    rows: list[dict[str, Any]] = []
    console = Console()
    for name, path in LISTS.items():
        entries = default_filter_list().entries if path is None else load_filter_list(path).entries
        restorer = Restorer() if path is None else Restorer(lexicons=[str(path)])
        for script in ("simplified", "traditional"):
            rows.append({"list": name, "mode": f"deletion, {script}"} | deletion_run(restorer, docs, entries, script))
            console.print(rows[-1])
        if path is not None:
            # The site's list not told: as `restore fix --same-site pages/*`, which profiles the
            # pages and infers the site's list from them before restoring.
            pages = [damage(d, entries)[0] for d in docs]
            started = time.perf_counter()
            site = for_site(pages, EngineConfig())
            took = time.perf_counter() - started
            run = deletion_run(Restorer.from_config(site.config), docs, entries, "simplified")
            run |= {
                "inferred": len(site.inferred),
                "inferred_truly_filtered": sum(1 for e in site.inferred if e.string in set(entries)),
                "site_seconds_per_1000_pages": round(1000 * took / len(pages), 1),
            }
            rows.append({"list": name, "mode": "deletion, list not told, --same-site"} | run)
            console.print(rows[-1])
            blind = deletion_run(Restorer(), docs, entries, "simplified")
            rows.append({"list": name, "mode": "deletion, list not told, default fix"} | blind)
            console.print(rows[-1])
        for mode in ("star", "box"):
            rows.append({"list": name, "mode": f"mask, {mode}"} | mask_run(restorer, docs, entries, mode))
            console.print(rows[-1])
            if path is not None:  # the same masks with the site's list not told: the bundled list and the index
                run = mask_run(Restorer(), docs, entries, mode)
                rows.append({"list": name, "mode": f"mask, {mode}, list not told"} | run)
                console.print(rows[-1])
    clean = [d for d in docs if damage(d, default_filter_list().entries)[0] == d][:200]
    untouched = clean_gaps(Restorer(), clean)
    cols = ["list", "mode", "damaged", "exact@0.9", "precision@0.9", "exact@0.5", "precision@0.5"]
    table = Table(*cols)
    for r in rows:
        table.add_row(*[str(r.get(c)) for c in cols])
    console.print(table)
    console.print(untouched)
    results = {"command": command("sites_bench.py"), "machine": machine(), "documents": len(docs), "runs": rows}
    results["clean_gaps"] = untouched
    md = [
        "# Every site's kind of damage",
        "",
        f"`{results['command']}` on {results['machine']}, {len(docs)} dev documents (report paragraphs first).",
        "Exact: the share of damaged places restored to exactly what was there; precision: the share of",
        "applied restorations that are exactly right. The list is known (bundled, or given with --lexicon).",
        "",
        "| " + " | ".join(cols) + " |",
        "|" + "---|" * len(cols),
    ]
    md += ["| " + " | ".join(str(r.get(c)) for c in cols) + " |" for r in rows]
    site_rows = [r for r in rows if "inferred" in r]
    if site_rows:
        md += ["", "With the site's list not told, `--same-site` infers it from the damaged pages:", ""]
        md += [
            f"- {r['list']}: {r['inferred']} entries inferred, {r['inferred_truly_filtered']} of them truly "
            f"filtered; {r['site_seconds_per_1000_pages']} s per 1,000 pages for profile and inference."
            for r in site_rows
        ]
    md += [
        "",
        f"`scan` on {untouched['paragraphs']} clean dev paragraphs: {untouched['gaps_simplified']} gaps in "
        f"Simplified, {untouched['gaps_traditional']} in Traditional (s2tw), ratio {untouched['ratio']}.",
    ]
    write_results(args.out, "sites", results, "\n".join(md))


if __name__ == "__main__":
    main()
