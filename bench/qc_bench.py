"""QC benchmark: boilerplate false positives on clean dev documents, what QC finds on the
seed, the time QC adds to `scan`, and typo detection (`--typos`): reports on clean dev
documents, and recall on particles (的/地/得) and same-pinyin characters swapped in them.
Prints a table and writes bench/results/qc.{json,md}.

    python bench/qc_bench.py                # all dev documents for false positives, 300 for speed
    python bench/qc_bench.py --typo-docs 0  # without the typo part (it needs restore[typos])
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections import Counter
from pathlib import Path

from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import write_results  # noqa: I001
from restore.engine.restorer import Restorer  # noqa: E402
from restore.io.corpus import iter_documents  # noqa: E402
from restore.qc.checks import check, find_boilerplate, find_mojibake  # noqa: E402
from restore.qc.typos import find_typos  # noqa: E402

SHARED = ROOT.parent / "shared"
DEV = [SHARED / "corpus/xwlb-dev.jsonl.xz", SHARED / "corpus/gov-work-reports-dev.jsonl.xz"]
SEED = SHARED / "seeds/chengdu-2020-work-report.scraped.txt"


def same_pinyin() -> dict[str, str]:
    """pycorrector's table of characters with the same pinyin and tone."""
    import pycorrector

    table = {}
    path = Path(pycorrector.__file__).parent / "data" / "same_pinyin.txt"
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and not line.startswith("#") and len(parts[0]) == 1 and parts[1]:
            table[parts[0]] = parts[1]
    return table


def typo_bench(docs: list[str], restorer: Restorer, seed: int = 11) -> dict[str, object]:
    """One particle and one same-pinyin character swapped per document, at random."""
    import random

    rng = random.Random(seed)
    homophones = same_pinyin()
    chars = reports = 0
    by_source: Counter[str] = Counter()
    found = {"particle": 0, "homophone": 0}
    tried = {"particle": 0, "homophone": 0}
    started = time.perf_counter()
    for text in docs:
        chars += len(text)
        clean = find_typos(text, restorer.lm)
        reports += len(clean)
        by_source.update(t.source for t in clean)
        for kind in ("particle", "homophone"):
            if kind == "particle":
                spots = [i for i, c in enumerate(text) if c in "的地得"]
            else:
                spots = [i for i, c in enumerate(text) if c in homophones]
            if not spots:
                continue
            i = rng.choice(spots)
            pool = "的地得".replace(text[i], "") if kind == "particle" else homophones[text[i]]
            swapped = text[:i] + rng.choice(pool) + text[i + 1 :]
            tried[kind] += 1
            hits = find_typos(swapped, restorer.lm)
            found[kind] += any(t.start <= i < t.end and text[t.start : t.end] == t.suggestion for t in hits)
    seconds = time.perf_counter() - started
    return {
        "documents": len(docs),
        "characters": chars,
        "reports_on_clean": reports,
        "reports_per_10k_chars": round(reports / chars * 10_000, 2) if chars else 0.0,
        "reports_by_source": dict(by_source),
        "recall": {k: round(found[k] / tried[k], 3) if tried[k] else None for k in found},
        "swapped": tried,
        "chars_per_second": round(3 * chars / seconds) if seconds else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--speed-docs", type=int, default=300)
    parser.add_argument("--typo-docs", type=int, default=100, help="dev documents for the typo part (0: skip)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    docs = [text for path in DEV for _, text in iter_documents(path)]
    lines = sum(text.count("\n") + 1 for text in docs)
    flagged: Counter[str] = Counter()
    for text in docs:
        findings, _ = find_boilerplate(text)
        for f in findings + find_mojibake(text):
            flagged[f.kind] += 1
    boiler = sum(
        n for k, n in flagged.items() if k in ("breadcrumb", "metadata", "navigation", "related", "trailing-spam")
    )

    restorer = Restorer()
    seed = check("seed", SEED.read_text("utf-8"), restorer)
    sample = docs[: args.speed_docs]
    chars = sum(len(t) for t in sample)
    for text in sample:  # warm the memory-mapped model before timing either
        restorer.scan(text)
    scan_times, qc_times = [], []
    for _ in range(2):  # alternate, keep the best of each: this machine's timings wander
        started = time.perf_counter()
        for text in sample:
            restorer.scan(text)
        scan_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        for text in sample:
            check("doc", text, restorer)
        qc_times.append(time.perf_counter() - started)
    scan_s, qc_s = min(scan_times), min(qc_times)
    results = {
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
        "command": " ".join(["python", "bench/qc_bench.py", *sys.argv[1:]]),
        "clean_dev": {"documents": len(docs), "lines": lines, "findings": dict(flagged), "boilerplate_lines": boiler},
        "seed": {
            "verdict": seed.verdict,
            "findings": [(f.kind, f.text.strip()[:30]) for f in seed.findings if f.kind != "mask"],
        },
        "speed": {
            "documents": len(sample),
            "characters": chars,
            "scan_s": round(scan_s, 2),
            "qc_s": round(qc_s, 2),
            "added": round(qc_s / scan_s - 1, 3),
        },
    }
    if args.typo_docs:
        results["typos"] = typo_bench(docs[: args.typo_docs], restorer)
    console = Console()
    console.print(results)
    args.out.mkdir(parents=True, exist_ok=True)
    write_results(args.out, "qc", results)
    sp = results["speed"]
    md = [
        "# QC benchmark",
        "",
        f"`{results['command']}` on {results['machine']}.",
        "",
        f"Clean dev documents: {len(docs)} ({lines:,} lines); boilerplate lines flagged: {boiler} "
        f"({100 * boiler / len(docs):.2f} per 100 documents); all findings: {dict(flagged) or 'none'}.",
        "",
        "Seed: verdict " + seed.verdict + "; " + ", ".join(f"{k} 「{t}」" for k, t in results["seed"]["findings"]),  # type: ignore[index]
        "",
        f"Speed on {sp['documents']} dev documents ({sp['characters']:,} characters): scan {sp['scan_s']} s, "  # type: ignore[index]
        f"qc {sp['qc_s']} s (QC includes the scan): {100 * sp['added']:+.1f}%.",  # type: ignore[index]
        "",
    ]
    if "typos" in results:
        t = results["typos"]
        md += [
            f"Typos (`qc --typos`) on {t['documents']} clean dev documents ({t['characters']:,} characters): "  # type: ignore[index]
            f"{t['reports_on_clean']} reports ({t['reports_per_10k_chars']} per 10,000 characters; by source "  # type: ignore[index]
            f"{t['reports_by_source']}); swapped in one per document: particles found "  # type: ignore[index]
            f"{t['recall']['particle']} (n = {t['swapped']['particle']}), same-pinyin characters found "  # type: ignore[index]
            f"{t['recall']['homophone']} (n = {t['swapped']['homophone']}); "  # type: ignore[index]
            f"{t['chars_per_second']:,} characters/s.",  # type: ignore[index]
            "",
        ]
    (args.out / "qc.md").write_text("\n".join(md), "utf-8")


if __name__ == "__main__":
    main()
