"""Restoration benchmark: accuracy on damaged dev text, calibration, false insertions on
untouched text, the gold-annotated seed, and speed. Prints tables and writes
bench/results/restoration.json and bench/results/restoration.md.

    python bench/run_bench.py                 # full dev split
    python bench/run_bench.py --limit 300     # quicker
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import write_results  # noqa: I001
from restore.engine.restorer import Restorer, restoration_from_gaps  # noqa: E402
from restore.evaluation.measure import evaluate  # noqa: E402
from restore.evaluation.simulate import damage  # noqa: E402
from restore.io.corpus import iter_documents  # noqa: E402
from restore.models.index import CorpusIndex  # noqa: E402
from restore.models.lexicon import default_filter_list, load_filter_list  # noqa: E402
from restore.sites.profile import SiteProfile, reference_rate  # noqa: E402

SHARED = ROOT.parent / "shared"
LISTS = {
    "seed (default list)": None,
    "konsheng 政治类型 (--lexicon)": SHARED / "lexicons/konsheng-sensitive-lexicon/政治类型.txt",
    "konsheng 反动词库 (--lexicon)": SHARED / "lexicons/konsheng-sensitive-lexicon/反动词库.txt",
}
# A fine grid: the table shows a few of these, the precision/recall plot all of them.
THRESHOLDS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98)
DEV = [SHARED / "corpus/xwlb-dev.jsonl.xz", SHARED / "corpus/gov-work-reports-dev.jsonl.xz"]


def dev_documents(limit: int) -> list[str]:
    docs = [text for path in DEV for _, text in iter_documents(path)]
    return docs[:limit] if limit else docs


def untouched_paragraphs(docs: list[str], entries: tuple[str, ...]) -> list[str]:
    out = []
    for doc in docs:
        for para in doc.split("\n"):
            if para.strip() and damage(para, entries)[0] == para:
                out.append(para)
    return out


def load_seed_gold() -> tuple[int, list[dict[str, object]]]:
    path = ROOT / "fixtures/in-the-wild/chengdu-seed.gold.jsonl"
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return int(lines[0]["region_end"]), lines[1:]


def seed_gold(restorer: Restorer, threshold: float) -> dict[str, float]:
    """Precision and exact restoration on the hand-annotated opening of the real seed page."""
    seed = (SHARED / "seeds/chengdu-2020-work-report.scraped.txt").read_text(encoding="utf-8")
    region_end, gold = load_seed_gold()
    ignored = {g["offset"] for g in gold if g["uncertain"]}
    gaps = {g["offset"]: g["text"] for g in gold if not g["uncertain"]}
    restorable = {off: text for off, text in gaps.items() if text}
    restoration = restoration_from_gaps(seed, restorer.scan(seed, report=0.0), threshold)
    applied = {i.offset: i.text for i in restoration.insertions if i.offset < region_end and i.offset not in ignored}
    at_gap = sum(1 for off in applied if off in gaps)
    exact = sum(1 for off, text in applied.items() if restorable.get(off) == text)
    return {
        "gaps": len(gaps),
        "restorable": len(restorable),
        "applied": len(applied),
        "precision": at_gap / len(applied) if applied else 1.0,
        "exact_restoration": exact / len(restorable) if restorable else 0.0,
    }


def speed(docs: list[str], entries: tuple[str, ...], limit: int = 400_000) -> dict[str, float]:
    """`scan` throughput document by document (as `restore scan FILE...` works), on clean
    dev documents and on the same documents damaged by the filter: the default engine
    (corpus index if built), then with the neural model too (`--neural on`)."""
    chosen: list[str] = []
    for doc in docs:
        if sum(map(len, chosen)) >= limit:
            break
        chosen.append(doc)
    damaged = [damage(doc, entries)[0] for doc in chosen]
    out: dict[str, float] = {"documents": len(chosen), "characters": sum(map(len, chosen))}
    out["damaged_characters"] = sum(map(len, damaged))
    for prefix, restorer in (("", Restorer()), ("neural_", Restorer(use_neural=True))):
        for key, sample in (("chars_per_second", chosen), ("damaged_chars_per_second", damaged)):
            started = time.perf_counter()
            for doc in sample:
                restorer.scan(doc)
            out[prefix + key] = sum(map(len, sample)) / (time.perf_counter() - started)
    load_started = time.perf_counter()
    Restorer()
    out["load_seconds"] = time.perf_counter() - load_started
    return out


# Each source of evidence on and off (seed list): the n-gram models alone, plus the
# document-support pass, plus long-context rescoring with the corpus index.
ABLATION: dict[str, dict[str, Any]] = {
    "n-gram models": {"use_index": False, "use_neural": False, "document_support": False},
    "+ document support": {"use_index": False, "use_neural": False, "document_support": True},
    "+ neural model, no index": {"use_index": False, "use_neural": True, "document_support": True},
    "+ corpus index, no neural model": {"use_index": True, "use_neural": False, "document_support": True},
    "+ corpus index + neural model (all)": {"use_index": True, "use_neural": True, "document_support": True},
}
MAIN = "+ corpus index + neural model (all)"  # the configuration of the main run


def best_at_precision(metrics: list[dict[str, float]], precision: float) -> dict[str, float] | None:
    """The threshold with the most exact restorations among those at or above ``precision``."""
    ok = [m for m in metrics if m["precision"] >= precision]
    return max(ok, key=lambda m: m["exact_restoration"]) if ok else None


def markdown(results: dict) -> str:
    """The README's benchmark section, generated from the results."""
    out = [
        f"Measured with `{results['command']}` on {results['dev_documents']} dev documents ({results['date']}, {results['machine']}).",
        "",
    ]
    out += [
        "| filter list | deletions | min confidence | applied | detection precision | recall | exact restoration | damage |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, per in results["lists"].items():
        for m in per["thresholds"]:
            if m["threshold"] in (0.4, 0.45, 0.5, 0.7, 0.9, 0.95):
                out.append(
                    f"| {name} | {per['gold_gaps']} | {m['threshold']:.2f} | {m['applied']} | {m['precision']:.3f} | {m['recall']:.3f} | {m['exact_restoration']:.3f} | {per['damage']} |"
                )
    out += ["", "Best exact restoration at a given detection precision (the threshold that gives it):", ""]
    out += ["| filter list | at precision ≥ 0.93 | ≥ 0.94 | ≥ 0.95 |", "|---|---|---|---|"]
    for name, per in results["lists"].items():
        cells = []
        for p in ("0.93", "0.94", "0.95"):
            b = per["best"][p]
            cells.append(f"{b['exact_restoration']:.3f} (t={b['threshold']}, p={b['precision']:.3f})" if b else "—")
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    if "site" in results:
        how = (
            f"; measured with `{results['site_command']}`, {results['site_date']}" if "site_command" in results else ""
        )
        out += site_markdown(results["site"], how)
    out += [
        "",
        "Ablation (seed list): each source of evidence added in turn.",
        "",
        "| evidence | exact at precision ≥ 0.94 | exact at ≥ 0.95 | exact at 0.9 (precision) | characters/s |",
        "|---|---|---|---|---|",
    ]
    for label, a in results["ablation"].items():
        cells = []
        for p in ("0.94", "0.95"):
            b = a["best"][p]
            cells.append(f"{b['exact_restoration']:.3f} (t={b['threshold']})" if b else "—")
        m = a["at_0.9"]
        cells.append(f"{m['exact_restoration']:.3f} ({m['precision']:.3f})")
        out.append(f"| {label} | " + " | ".join(cells) + f" | {a['chars_per_second']:,.0f} |")
    out += [
        "",
        "Calibration (seed list; the top candidate at every examined junction):",
        "",
        "| confidence | n | mean confidence | share exactly right |",
        "|---|---|---|---|",
    ]
    seed = next(iter(results["lists"].values()))
    for row in seed["calibration"]:
        out.append(
            f"| {row['low']:.2f}–{row['high']:.2f} | {row['n']} | {row['mean_confidence']:.3f} | {row['accuracy']:.3f} |"
        )
    a = seed["at_or_above_0.9"]
    out += ["", f"Of suggestions at confidence ≥ 0.9, {a['accuracy']:.3f} are exactly right (n = {a['n']})."]
    u = results["untouched"]
    out += [
        "",
        f"Untouched dev paragraphs ({u['paragraphs']}, {u['characters']} characters): false insertions per 10,000 characters "
        + ", ".join(f"{v['per_10k_chars']:.2f} at {k}" for k, v in u["false_insertions"].items())
        + ".",
    ]
    out += [
        "",
        "Hand-annotated opening of the real seed page (`fixtures/in-the-wild/`):",
        "",
        "| min confidence | gold gaps | applied | precision | exact restoration |",
        "|---|---|---|---|---|",
    ]
    for t, g in results["seed_gold"].items():
        out.append(f"| {t} | {g['gaps']} | {g['applied']} | {g['precision']:.3f} | {g['exact_restoration']:.3f} |")
    sp = results["speed"]
    out += [
        "",
        f"Speed, one core, after load, document by document: `scan` {sp['chars_per_second']:,.0f} characters/s on "
        f"{sp['documents']:,} clean dev documents ({sp['characters']:,} characters), "
        f"{sp['damaged_chars_per_second']:,.0f} characters/s on the same documents damaged by the seed list; "
        f"with `--neural on` {sp['neural_chars_per_second']:,.0f} and {sp['neural_damaged_chars_per_second']:,.0f}; "
        f"model load {sp['load_seconds']:.2f} s; peak RSS of the whole benchmark {results['peak_rss_mb']:.0f} MB.",
        "",
    ]
    out += [
        "",
        "Per-string errors at min confidence 0.9 (missed: a deletion not restored exactly; wrong: an insertion that is not exactly the deleted text):",
        "",
    ]
    out += ["| filter list | most missed | most often wrong |", "|---|---|---|"]
    for name, per in results["lists"].items():
        missed = ", ".join(f"{t} {n}" for t, n in per["top_missed"][:10])
        wrong = ", ".join(f"{t} {n}" for t, n in per["top_wrong"][:8]) or "—"
        out.append(f"| {name} | {missed} | {wrong} |")
    return "\n".join(out) + "\n"


def site_runs(docs: list[str]) -> dict[str, dict[str, Any]]:
    """Each list again, with the dev documents it damaged as one site's pages (``--same-site``):
    list entries those pages show intact are not proposed."""
    out: dict[str, dict[str, Any]] = {}
    index = CorpusIndex.find()
    for name, path in LISTS.items():
        restorer = Restorer(lexicons=[path] if path else [], **ABLATION[MAIN])
        entries = load_filter_list(path).entries if path else default_filter_list().entries
        pages = [damage(d, entries)[0] for d in docs]
        profile = SiteProfile.from_pages(pages, restorer.filter_list.usable(), expected_rate=reference_rate(index))
        ruled_out = profile.not_filtered()
        restorer = Restorer(lexicons=[path] if path else [], exclude=ruled_out, **ABLATION[MAIN])
        report = evaluate(restorer, docs, entries, THRESHOLDS)
        metrics = [report.metrics(t) for t in THRESHOLDS]
        out[name] = {
            "pages": profile.pages,
            "ruled_out": list(ruled_out),
            "true_entries_ruled_out": sorted(set(ruled_out) & set(entries)),
            "gold_gaps": report.gold_gaps,
            "damage": report.damage,
            "thresholds": metrics,
            "best": {str(p): best_at_precision(metrics, p) for p in (0.93, 0.94, 0.95)},
            "at_or_above_0.9": report.at_or_above(0.9),
            "chars_per_second": report.characters / report.seconds if report.seconds else 0.0,
        }
    return out


def site_markdown(site: dict[str, dict[str, Any]], how: str = "") -> list[str]:
    out = [
        "",
        f"With a site profile (`--same-site`{how}): the same runs, the damaged dev documents read first as one site's "
        "pages; list entries that at least 2 of them show intact, at least 5% as often as the reference text expects, "
        "are not proposed.",
        "",
        "| filter list | entries ruled out (of them truly filtered) | at precision ≥ 0.93 | ≥ 0.94 | ≥ 0.95 | conf ≥ 0.9 right (n) | damage |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, per in site.items():
        cells = []
        for p in ("0.93", "0.94", "0.95"):
            b = per["best"][p]
            cells.append(f"{b['exact_restoration']:.3f} (t={b['threshold']}, p={b['precision']:.3f})" if b else "—")
        a = per["at_or_above_0.9"]
        out.append(
            f"| {name} | {len(per['ruled_out'])} ({len(per['true_entries_ruled_out'])}) | "
            + " | ".join(cells)
            + f" | {a['accuracy']:.3f} ({a['n']}) | {per['damage']} |"
        )
    return out


def ablation(docs: list[str], entries: tuple[str, ...], full: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for label, options in ABLATION.items():
        if label == MAIN:
            per = full  # the main run above is this configuration
            metrics = per["thresholds"]
            cps = per["chars_per_second"]
        else:
            report = evaluate(Restorer(**options), docs, entries, THRESHOLDS)
            metrics = [report.metrics(t) for t in THRESHOLDS]
            cps = report.characters / report.seconds if report.seconds else 0.0
        out[label] = {
            "curve": [
                {"threshold": m["threshold"], "precision": m["precision"], "exact": m["exact_restoration"]}
                for m in metrics  # type: ignore[union-attr]
            ],
            "best": {str(p): best_at_precision(metrics, p) for p in (0.94, 0.95)},  # type: ignore[arg-type]
            "at_0.9": next(m for m in metrics if m["threshold"] == 0.9),  # type: ignore[union-attr]
            "chars_per_second": cps,
        }
    return out


# The plot's default font has no CJK glyphs.
_LIST_NAMES = {"政治类型": "political (zhengzhi leixing)", "反动词库": "reactionary (fandong ciku)"}


def _ascii_label(label: str) -> str:
    label = label.replace(" (--lexicon)", "")
    for cjk, name in _LIST_NAMES.items():
        label = label.replace(cjk, name)
    return label


def plot_curves(results: dict, path: Path) -> bool:
    """Precision against exact restoration, one line per evidence configuration (PNG)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for label, a in results["ablation"].items():
        xs = [c["exact"] for c in a["curve"]]
        ys = [c["precision"] for c in a["curve"]]
        ax.plot(xs, ys, marker="o", markersize=3, label=f"seed list: {label}")
    for label, per in results["lists"].items():
        if "--lexicon" in label:
            xs = [m["exact_restoration"] for m in per["thresholds"]]
            ys = [m["precision"] for m in per["thresholds"]]
            ax.plot(xs, ys, linestyle="--", linewidth=1, label=_ascii_label(label) + ", all evidence")
    ax.axhline(0.95, color="grey", linewidth=0.5)
    ax.axhline(0.94, color="grey", linewidth=0.5, linestyle=":")
    ax.set_xlabel("exact restoration (share of deletions put back exactly)")
    ax.set_ylabel("detection precision")
    ax.set_ylim(0.75, 1.0)
    ax.set_title("Dev split: precision against exact restoration, thresholds 0.1 to 0.98")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=0, help="dev documents to use (0: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results")
    parser.add_argument(
        "--speed-only", action="store_true", help="re-measure only the speed line of an existing results file"
    )
    parser.add_argument("--plot-only", action="store_true", help="redraw pr-curve.png from an existing results file")
    parser.add_argument(
        "--site-only", action="store_true", help="re-measure only the site-profile runs of an existing results file"
    )
    args = parser.parse_args()
    console = Console()
    if args.plot_only:
        plot_curves(json.loads((args.out / "restoration.json").read_text(encoding="utf-8")), args.out / "pr-curve.png")
        return
    docs = dev_documents(args.limit)
    if args.site_only:
        path = args.out / "restoration.json"
        results = json.loads(path.read_text(encoding="utf-8"))
        results["site"] = site_runs(docs)
        results["site_command"] = "python bench/run_bench.py --site-only"
        results["site_date"] = time.strftime("%Y-%m-%d")
        console.print("\n".join(site_markdown(results["site"])))
        write_results(args.out, "restoration", results, markdown(results), indent=1)
        return
    if args.speed_only:
        path = args.out / "restoration.json"
        results = json.loads(path.read_text(encoding="utf-8"))
        results["speed"] = speed(docs, default_filter_list().entries)
        console.print("speed: " + json.dumps(results["speed"]))
        write_results(args.out, "restoration", results, markdown(results), indent=1)
        return
    results: dict[str, object] = {
        "command": "python bench/run_bench.py" + (f" --limit {args.limit}" if args.limit else ""),
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()} {platform.processor() or ''} python {platform.python_version()}",
        "dev_documents": len(docs),
        "lists": {},
    }
    table = Table("filter list", "gaps", "min conf", "applied", "precision", "recall", "exact restoration", "damage")
    for name, path in LISTS.items():
        # The main runs use every source of evidence (the ablation's last row).
        restorer = Restorer(lexicons=[path] if path else [], **ABLATION[MAIN])
        entries = load_filter_list(path).entries if path else default_filter_list().entries
        report = evaluate(restorer, docs, entries, THRESHOLDS)
        per = {
            "gold_gaps": report.gold_gaps,
            "documents": report.documents,
            "damage": report.damage,
            "thresholds": [report.metrics(t) for t in THRESHOLDS],
            "calibration": report.calibration(),
            "at_or_above_0.9": report.at_or_above(0.9),
            "top_missed": report.missed.most_common(15),
            "top_wrong": report.wrong.most_common(15),
            "chars_per_second": report.characters / report.seconds if report.seconds else 0.0,
        }
        metrics = per["thresholds"]
        per["best"] = {str(p): best_at_precision(metrics, p) for p in (0.93, 0.94, 0.95)}  # type: ignore[arg-type]
        results["lists"][name] = per  # type: ignore[index]
        for m in per["thresholds"]:  # type: ignore[union-attr]
            if m["threshold"] in (0.8, 0.9, 0.95):
                table.add_row(
                    name,
                    str(report.gold_gaps),
                    f"{m['threshold']:.2f}",
                    str(m["applied"]),
                    f"{m['precision']:.3f}",
                    f"{m['recall']:.3f}",
                    f"{m['exact_restoration']:.3f}",
                    str(report.damage),
                )
        if path is None:
            cal = Table(
                "confidence bin",
                "n",
                "mean confidence",
                "accuracy",
                title="calibration (seed list, top candidate per examined junction)",
            )
            for row in per["calibration"]:  # type: ignore[union-attr]
                cal.add_row(
                    f"{row['low']:.2f}-{row['high']:.2f}",
                    str(row["n"]),
                    f"{row['mean_confidence']:.3f}",
                    f"{row['accuracy']:.3f}",
                )
            console.print(cal)
            untouched = untouched_paragraphs(docs, entries)
            chars = sum(len(p) for p in untouched)
            false = {}
            text_gaps = [(p, restorer.scan(p, report=0.5)) for p in untouched]
            for t in (0.8, 0.9, 0.95):
                n = sum(len(restoration_from_gaps(p, g, t).insertions) for p, g in text_gaps)
                false[str(t)] = {"insertions": n, "per_10k_chars": n / chars * 10_000 if chars else 0.0}
            results["untouched"] = {"paragraphs": len(untouched), "characters": chars, "false_insertions": false}
            results["seed_gold"] = {str(t): seed_gold(restorer, t) for t in (0.8, 0.9, 0.95)}
            results["speed"] = speed(docs, entries)
            results["ablation"] = ablation(docs, entries, per)
    results["site"] = site_runs(docs)
    console.print(table)
    u = results["untouched"]
    console.print(
        f"untouched dev paragraphs: {u['paragraphs']} ({u['characters']} chars); false insertions per 10k chars: "  # type: ignore[index]
        + ", ".join(f"{k}: {v['per_10k_chars']:.2f}" for k, v in u["false_insertions"].items())
    )  # type: ignore[index]
    console.print("seed gold: " + json.dumps(results["seed_gold"], ensure_ascii=False))
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    console.print("speed: " + json.dumps(results["speed"]) + f"  peak RSS {results['peak_rss_mb']:.0f} MB")
    write_results(args.out, "restoration", results, markdown(results), indent=1)
    if plot_curves(results, args.out / "pr-curve.png"):
        console.print(f"wrote {args.out / 'pr-curve.png'}")
    console.print(f"wrote {args.out / 'restoration.json'}")


if __name__ == "__main__":
    main()
