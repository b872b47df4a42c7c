"""Review-flow benchmark: import speed against `restore scan` on the same files, and how
fast the review loop answers a key on a 5,000-document workspace. Prints tables and
writes bench/results/review.json and bench/results/review.md.

    python bench/review_bench.py              # 1,000 documents, 5,000-document workspace
    python bench/review_bench.py --docs 200   # quicker

Documents are dev text (then train text) cut into pieces of about 2,000
characters and damaged with the default filter list, as a scraped collection would be.
"""

from __future__ import annotations

import argparse
import io
import platform
import shutil
import statistics
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
from restore.document import Candidate, Gap  # noqa: E402
from restore.evaluation.simulate import damage  # noqa: E402
from restore.io.corpus import (
    is_heldout,  # noqa: E402
    iter_documents,  # noqa: E402
)
from restore.models.lexicon import default_filter_list  # noqa: E402
from restore.review.session import ReviewSession  # noqa: E402
from restore.review.store import Store  # noqa: E402
from restore.review.tui import render  # noqa: E402

SHARED = ROOT.parent / "shared"
DEV = [SHARED / "corpus/xwlb-dev.jsonl.xz", SHARED / "corpus/gov-work-reports-dev.jsonl.xz"]
TRAIN = [SHARED / "corpus/gov-work-reports-train.jsonl.xz", SHARED / "corpus/xwlb-train.jsonl.xz"]
PIECE = 2000


def source_texts() -> Iterator[str]:
    """Dev documents first; the dev split holds about 1.3M characters, so a larger
    collection continues with held-out train documents (which the LM never saw), then
    other train documents. This benchmark measures speed only, never accuracy."""
    for path in DEV:
        for _, text in iter_documents(path):
            yield text
    for heldout in (True, False):
        for path in TRAIN:
            for doc_id, text in iter_documents(path):
                if is_heldout(doc_id) == heldout:
                    yield text


def pieces(n: int) -> list[str]:
    """Dev text in pieces of about PIECE characters, cut at line ends, damaged."""
    entries = default_filter_list().entries
    out: list[str] = []
    buf: list[str] = []
    size = 0
    for text in source_texts():
        for line in text.split("\n"):
            buf.append(line)
            size += len(line) + 1
            if size >= PIECE:
                out.append(damage("\n".join(buf) + "\n", entries)[0])
                buf, size = [], 0
                if len(out) >= n:
                    return out
    return out


def timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}… failed: {proc.stderr.decode()[-500:]}")
    return time.perf_counter() - started


def import_speed(work: Path, docs: list[str]) -> dict[str, float]:
    src = work / "collection"
    src.mkdir()
    for i, text in enumerate(docs):
        (src / f"doc{i:05d}.txt").write_text(text, encoding="utf-8")
    files = sorted(str(p) for p in src.glob("*.txt"))
    restore = [sys.executable, "-m", "restore"]
    scan_s = timed([*restore, "scan", "--format", "jsonl", *files])
    db = work / "import.db"
    import_s = timed([*restore, "review", "import", str(src), "--db", str(db)])
    chars = sum(len(t) for t in docs)
    return {
        "documents": len(docs),
        "characters": chars,
        "scan_s": round(scan_s, 2),
        "import_s": round(import_s, 2),
        "ratio": round(import_s / scan_s, 3),
        "scan_chars_per_s": round(chars / scan_s),
        "import_chars_per_s": round(chars / import_s),
    }


def grow(db: Path, target: int) -> None:
    """Copy imported documents, with their stored suggestions, until the workspace holds
    ``target`` documents. Copies differ by a trailing line so their content hashes do."""
    with Store(str(db)) as store:
        ids = store.document_ids()
        n = len(ids)
        k = 0
        while n < target:
            doc = store.document(ids[k % len(ids)])
            found = [
                Gap(g.offset, g.kind, tuple(Candidate(c.text, c.score, c.confidence, c.evidence) for c in g.candidates))
                for g in store.gaps_of(doc.id)
            ]
            text = doc.text + f"（副本 {n}）\n"
            store.add_document(f"copy{n:05d}", text, {"copy_of": doc.key}, found, {"model": "m", "lexicon": "l"}, "b")
            n += 1
            k += 1


def key_latency(db: Path, keys: int) -> dict[str, float]:
    """Time from a key to the next rendered screen, through the same session and
    renderer the terminal loop uses."""
    with Store(str(db)) as store:
        started = time.perf_counter()
        session = ReviewSession(store, "bench")
        console = Console(file=io.StringIO(), width=160, force_terminal=True)
        console.print(render(session.view(), session.message))
        startup = time.perf_counter() - started
        cycle = ["a", "r", "s", "z", "2", "n", "a", "u", "z", "e"]
        times: list[float] = []
        for i in range(keys):
            key = cycle[i % len(cycle)]
            t0 = time.perf_counter()
            if key == "a":
                session.accept(1)
            elif key == "2":
                session.accept(2) if session.gap and len(session.gap.candidates) > 1 else session.accept(1)
            elif key == "r":
                session.reject()
            elif key == "s":
                session.skip()
            elif key == "z":
                session.undo()
            elif key == "n":
                session.next_document()
            elif key == "u":
                session.mark_unknown()
            elif key == "e":
                session.edit("路")
            console.print(render(session.view(), session.message))
            times.append(time.perf_counter() - t0)
            console.file = io.StringIO()
        documents = store.status_counts()["documents"]
        gaps = sum(v for k, v in store.status_counts().items() if k != "documents")
    times.sort()
    return {
        "documents": documents,
        "gaps": gaps,
        "keys": keys,
        "startup_ms": round(startup * 1000, 1),
        "median_ms": round(statistics.median(times) * 1000, 1),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))] * 1000, 1),
        "max_ms": round(times[-1] * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=1000, help="documents to import (about 2,000 chars each)")
    parser.add_argument("--workspace-docs", type=int, default=5000, help="documents in the latency workspace")
    parser.add_argument("--keys", type=int, default=300)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()

    console = Console()
    work = Path(tempfile.mkdtemp(prefix="restore-review-bench-"))
    try:
        docs = pieces(args.docs)
        speed = import_speed(work, docs)
        grow(work / "import.db", args.workspace_docs)
        latency = key_latency(work / "import.db", args.keys)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    results = {
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
        "import": speed,
        "loop": latency,
        "command": " ".join(["python", "bench/review_bench.py", *sys.argv[1:]]),
    }
    t1 = Table(title="Import against scan (same files, one process each, one core)")
    for col in ("documents", "characters", "scan s", "import s", "import / scan", "bar"):
        t1.add_column(col, justify="right")
    t1.add_row(
        str(speed["documents"]),
        f"{speed['characters']:,}",
        f"{speed['scan_s']:.1f}",
        f"{speed['import_s']:.1f}",
        f"{speed['ratio']:.2f}",
        "≤ 2.00",
    )
    t2 = Table(title="Review loop: key to rendered screen (SQLite workspace)")
    for col in ("documents", "gaps", "keys", "start ms", "median ms", "p95 ms", "max ms", "bar"):
        t2.add_column(col, justify="right")
    t2.add_row(
        f"{latency['documents']:,}",
        f"{latency['gaps']:,}",
        str(latency["keys"]),
        f"{latency['startup_ms']:.0f}",
        f"{latency['median_ms']:.1f}",
        f"{latency['p95_ms']:.1f}",
        f"{latency['max_ms']:.1f}",
        "≤ 100",
    )
    console.print(t1)
    console.print(t2)
    args.out.mkdir(parents=True, exist_ok=True)
    write_results(args.out, "review", results)
    md = [
        "# Review-flow benchmark",
        "",
        f"`{results['command']}` on {results['machine']}.",
        "",
        "| documents | characters | scan s | import s | import / scan | bar |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {speed['documents']} | {speed['characters']:,} | {speed['scan_s']:.1f} | {speed['import_s']:.1f} "
        f"| {speed['ratio']:.2f} | ≤ 2.00 |",
        "",
        "| workspace documents | gaps | keys | start ms | median ms | p95 ms | max ms | bar |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {latency['documents']:,} | {latency['gaps']:,} | {latency['keys']} | {latency['startup_ms']:.0f} "
        f"| {latency['median_ms']:.1f} | {latency['p95_ms']:.1f} | {latency['max_ms']:.1f} | ≤ 100 |",
        "",
    ]
    (args.out / "review.md").write_text("\n".join(md), "utf-8")


if __name__ == "__main__":
    main()
