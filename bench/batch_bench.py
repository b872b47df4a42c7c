"""Batch benchmark: `restore batch` throughput with -j 1 and -j 2, Ray Data on a local
2-CPU cluster, peak memory, equivalence with `restore fix`, and a 1 GB input streamed in
bounded memory. Prints tables and writes bench/results/batch.{json,md}.

    python bench/batch_bench.py               # 20 MB input (about 20 minutes in all)
    python bench/batch_bench.py --mb 2 --big-mb 50   # quicker

The input is dev documents, then train documents once dev runs out (speed only), damaged
with the default filter list as a scraped collection would be.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import write_results  # noqa: I001
from restore.evaluation.simulate import damage  # noqa: E402
from restore.io.corpus import iter_documents  # noqa: E402
from restore.models.lexicon import default_filter_list  # noqa: E402

SHARED = ROOT.parent / "shared"
SOURCES = [
    SHARED / "corpus/xwlb-dev.jsonl.xz",
    SHARED / "corpus/gov-work-reports-dev.jsonl.xz",
    SHARED / "corpus/xwlb-train.jsonl.xz",
]


def documents() -> Iterator[tuple[str, str]]:
    for path in SOURCES:
        yield from iter_documents(path)


def make_input(path: Path, megabytes: float, damaged: bool = True) -> tuple[int, int]:
    entries = default_filter_list().entries
    limit = int(megabytes * 1e6)
    size = records = chars = 0
    with path.open("w", encoding="utf-8") as out:
        for doc_id, text in documents():
            if damaged:
                text = damage(text, entries)[0]
            line = json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n"
            out.write(line)
            size += len(line.encode("utf-8"))
            records += 1
            chars += len(text)
            if size >= limit:
                break
    return records, chars


def make_big_input(path: Path, megabytes: float) -> tuple[int, int]:
    """Records with a short text and a large non-text field (a page's HTML, say): the run
    reads and writes a large file while restoring little text, which isolates streaming."""
    entries = default_filter_list().entries
    limit = int(megabytes * 1e6)
    html = "<div>" + "页面内容" * 25_000 + "</div>"  # about 300 KB per record
    size = records = chars = 0
    with path.open("w", encoding="utf-8") as out:
        for doc_id, text in documents():
            short = damage(text[:200], entries)[0]
            line = json.dumps({"id": doc_id, "html": html, "text": short}, ensure_ascii=False) + "\n"
            out.write(line)
            size += len(line.encode("utf-8"))
            records += 1
            chars += len(short)
            if size >= limit:
                break
    return records, chars


PEAK = (
    "import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(rc)"
)


def run(args: list[str]) -> tuple[float, float]:
    """Seconds, and peak RSS (MB) of the largest process of this run (main or worker),
    read by a fresh parent so earlier runs do not count."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", PEAK, sys.executable, "-m", "restore", *args], capture_output=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"restore {' '.join(args)} failed: {proc.stderr.decode()[-800:]}")
    peak_kb = int(proc.stderr.decode().strip().splitlines()[-1])
    return seconds, peak_kb / 1024


def restored_texts(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line)["restored_text"] for line in handle]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=20.0, help="size of the throughput input")
    parser.add_argument("--clean-mb", type=float, default=5.0, help="size of the undamaged input")
    parser.add_argument("--big-mb", type=float, default=1000.0, help="size of the streaming input")
    parser.add_argument("--fix-sample", type=int, default=50, help="documents compared with `restore fix`")
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    console = Console()
    work = Path(tempfile.mkdtemp(prefix="restore-batch-bench-"))
    results: dict[str, object] = {
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
        "command": " ".join(["python", "bench/batch_bench.py", *sys.argv[1:]]),
    }
    try:
        src = work / "in.jsonl"
        records, chars = make_input(src, args.mb)
        size_mb = src.stat().st_size / 1e6
        rows = []
        outputs = {}
        for name, extra in (("-j 1", ["-j", "1"]), ("-j 2", ["-j", "2"]), ("ray, local 2 CPUs", ["--engine", "ray"])):
            if name.startswith("ray") and args.skip_ray:
                continue
            out = work / f"out-{len(rows)}.jsonl"
            seconds, rss = run(["batch", str(src), str(out), *extra])
            outputs[name] = out
            rows.append({"engine": name, "seconds": round(seconds, 1), "chars_per_s": round(chars / seconds)})
            rows[-1]["peak_rss_mb"] = round(rss)
            console.print(f"{name}: {seconds:.1f}s")
        base = rows[0]["chars_per_s"]
        for row in rows:
            row["speedup"] = round(row["chars_per_s"] / base, 2)  # type: ignore[operator]
        identical_j = outputs["-j 1"].read_bytes() == outputs["-j 2"].read_bytes()
        texts = restored_texts(outputs["-j 1"])
        same_ray = None
        if "ray, local 2 CPUs" in outputs:
            same_ray = outputs["ray, local 2 CPUs"].read_bytes() == outputs["-j 1"].read_bytes()
        # `restore fix` on a sample of documents, one process each.
        with src.open(encoding="utf-8") as handle:
            originals = [json.loads(line)["text"] for line in handle]
        step = max(1, len(originals) // args.fix_sample)
        sample = list(range(0, len(originals), step))[: args.fix_sample]
        fix_equal = 0
        for i in sample:
            proc = subprocess.run(
                [sys.executable, "-m", "restore", "fix", "-", "--min-confidence", "0.9"],
                input=originals[i].encode("utf-8"),
                capture_output=True,
            )
            fix_equal += proc.stdout.decode("utf-8") == texts[i]
        results["throughput"] = {"input_mb": round(size_mb, 1), "records": records, "characters": chars, "runs": rows}
        results["equivalence"] = {
            "j1_j2_byte_identical": identical_j,
            "ray_byte_identical": same_ray,
            "fix_sample": len(sample),
            "fix_identical": fix_equal,
        }
        for out in outputs.values():
            out.unlink()

        # The same text as it was published, undamaged: most pages of a real crawl.
        clean = work / "clean.jsonl"
        clean_records, clean_chars = make_input(clean, args.clean_mb, damaged=False)
        clean_rows = []
        for name, extra in (("-j 1", ["-j", "1"]), ("-j 2", ["-j", "2"])):
            seconds, rss = run(["batch", str(clean), str(work / f"clean-{name[-1]}.jsonl"), *extra])
            clean_rows.append(
                {"engine": name, "seconds": round(seconds, 1), "chars_per_s": round(clean_chars / seconds)}
            )
            clean_rows[-1]["peak_rss_mb"] = round(rss)
        for row in clean_rows:
            row["speedup"] = round(row["chars_per_s"] / clean_rows[0]["chars_per_s"], 2)  # type: ignore[operator]
        results["throughput_undamaged"] = {
            "input_mb": round(clean.stat().st_size / 1e6, 1),
            "records": clean_records,
            "characters": clean_chars,
            "runs": clean_rows,
        }

        big = work / "big.jsonl"
        big_records, big_chars = make_big_input(big, args.big_mb)
        big_mb = big.stat().st_size / 1e6
        seconds, rss = run(["batch", str(big), str(work / "big-out.jsonl"), "-j", "2"])
        results["streaming"] = {
            "input_mb": round(big_mb),
            "records": big_records,
            "text_characters": big_chars,
            "seconds": round(seconds, 1),
            "peak_rss_mb": round(rss),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)

    t = Table(title=f"restore batch on {size_mb:.1f} MB ({records:,} records, {chars:,} characters)")
    for col in ("engine", "seconds", "chars/s", "× -j 1", "peak RSS MB (largest process)"):
        t.add_column(col, justify="right")
    for row in rows:
        t.add_row(
            str(row["engine"]),
            f"{row['seconds']}",
            f"{row['chars_per_s']:,}",
            f"{row['speedup']:.2f}",
            f"{row['peak_rss_mb']}",
        )
    console.print(t)
    eq = results["equivalence"]
    st = results["streaming"]
    console.print(results["throughput_undamaged"])
    console.print(eq)
    console.print(st)
    args.out.mkdir(parents=True, exist_ok=True)
    write_results(args.out, "batch", results)
    md = [
        "# Batch benchmark",
        "",
        f"`{results['command']}` on {results['machine']}.",
        "",
        f"Input: {size_mb:.1f} MB JSONL, {records:,} records, {chars:,} characters.",
        "",
        "| engine | seconds | characters/s | × -j 1 | peak RSS MB (largest process) |",
        "|---|---:|---:|---:|---:|",
    ]
    md += [
        f"| {r['engine']} | {r['seconds']} | {r['chars_per_s']:,} | {r['speedup']:.2f} | {r['peak_rss_mb']} |"
        for r in rows
    ]
    cl = results["throughput_undamaged"]
    md += [
        "",
        f"Undamaged text ({cl['input_mb']} MB, {cl['records']:,} records, {cl['characters']:,} characters):",  # type: ignore[index]
        "",
        "| engine | seconds | characters/s | × -j 1 | peak RSS MB (largest process) |",
        "|---|---:|---:|---:|---:|",
    ]
    md += [
        f"| {r['engine']} | {r['seconds']} | {r['chars_per_s']:,} | {r['speedup']:.2f} | {r['peak_rss_mb']} |"
        for r in cl["runs"]  # type: ignore[index]
    ]
    md += [
        "",
        f"Equivalence: -j 1 and -j 2 byte-identical: {eq['j1_j2_byte_identical']}; "  # type: ignore[index]
        f"Ray byte-identical to -j 1: {eq['ray_byte_identical']}; "  # type: ignore[index]
        f"`restore fix` gives the same text for {eq['fix_identical']} of {eq['fix_sample']} sampled documents.",  # type: ignore[index]
        "",
        f"Streaming: {st['input_mb']} MB input ({st['records']:,} records with a 300 KB non-text field), "  # type: ignore[index]
        f"-j 2, {st['seconds']} s, peak RSS {st['peak_rss_mb']} MB.",  # type: ignore[index]
        "",
    ]
    (args.out / "batch.md").write_text("\n".join(md), "utf-8")


if __name__ == "__main__":
    main()
