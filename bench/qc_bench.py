"""QC benchmark: boilerplate false positives on clean dev documents, what QC finds on the
seed, and the time QC adds to `scan`. Prints a table and writes bench/results/qc.{json,md}.

    python bench/qc_bench.py                # all dev documents for false positives, 300 for speed
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections import Counter
from pathlib import Path

from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from restore.corpus import iter_documents  # noqa: E402
from restore.engine import Restorer  # noqa: E402
from restore.qc import check, find_boilerplate, find_mojibake  # noqa: E402

SHARED = ROOT.parent / "shared"
DEV = [SHARED / "corpus/xwlb-dev.jsonl.xz", SHARED / "corpus/gov-work-reports-dev.jsonl.xz"]
SEED = SHARED / "seeds/chengdu-2020-work-report.scraped.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--speed-docs", type=int, default=300)
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
    console = Console()
    console.print(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "qc.json").write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", "utf-8")
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
    (args.out / "qc.md").write_text("\n".join(md), "utf-8")


if __name__ == "__main__":
    main()
