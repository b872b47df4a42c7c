"""What a reviewer meets in the queue: of the holes a filter really made, how many are
shown; how many false alarms come with each real one; and how many keystrokes a restored
deletion costs, for the queue as it was (every gap) and as it is now (gaps with something
to propose; the rest with --all-gaps).

The reviewer is simulated: at a real hole they accept the right candidate (one key: a or
its number), or type it (e, the characters, Enter) when no candidate is right; at a false
alarm they reject it (r). A hole shown within two characters of where it is can be moved
(one arrow key a character, then m) and accepted. Dev documents only.

    python bench/review_quality_bench.py              # 200 dev documents, about 2 minutes
    python bench/review_quality_bench.py --limit 50

Prints a table and writes bench/results/review-quality.{json,md}.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import SHARED, command, machine, write_results  # noqa: I001
from restore.document import Gap
from restore.engine.restorer import Restorer
from restore.evaluation.simulate import damage
from restore.io.corpus import iter_documents
from restore.models.lexicon import default_filter_list

DEV = [SHARED / "corpus/gov-work-reports-dev.jsonl.xz", SHARED / "corpus/xwlb-dev.jsonl.xz"]
NEAR = 2  # characters a gap may be off and still be moved onto its hole


def documents(limit: int) -> list[str]:
    docs: list[str] = []
    for path in DEV:
        for _, text in iter_documents(path):
            docs.append(text)
    # Reports and news alike: every other document from each end of the list.
    return [docs[i] for i in range(0, len(docs), max(1, len(docs) // limit))][:limit]


def review(shown: list[Gap], holes: dict[int, str]) -> dict[str, int]:
    out = {"holes": len(holes), "shown_at": 0, "shown_near": 0, "false": 0, "keys": 0, "restored": 0}
    used: set[int] = set()
    for gap in shown:
        at = gap.offset if gap.offset in holes and gap.offset not in used else None
        if at is None:
            near = [h for h in holes if h not in used and 0 < abs(h - gap.offset) <= NEAR]
            if near:
                at = near[0]
                out["shown_near"] += 1
                out["keys"] += abs(at - gap.offset) + 1  # arrow keys, then m
            else:
                out["false"] += 1
                out["keys"] += 1  # r
                continue
        else:
            out["shown_at"] += 1
        used.add(at)
        texts = [c.text for c in gap.candidates[:9]]
        out["keys"] += 1 if holes[at] in texts else len(holes[at]) + 2  # a / a digit, or e TEXT Enter
        out["restored"] += 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results")
    args = parser.parse_args()
    restorer = Restorer()
    entries = default_filter_list().entries
    totals: dict[str, dict[str, int]] = {"every gap (before)": {}, "gaps with candidates (now)": {}}
    for doc in documents(args.limit):
        damaged, gold = damage(doc, entries)
        holes = {g.offset: g.text for g in gold}
        gaps = restorer.scan(damaged)
        for name, shown in (
            ("every gap (before)", gaps),
            ("gaps with candidates (now)", [g for g in gaps if g.candidates]),
        ):
            for k, v in review(shown, holes).items():
                totals[name][k] = totals[name].get(k, 0) + v
    rows: list[dict[str, Any]] = []
    for name, t in totals.items():
        shown = t["shown_at"] + t["shown_near"]
        rows.append(
            {
                "queue": name,
                "holes": t["holes"],
                "shown": round(shown / t["holes"], 3) if t["holes"] else None,
                "shown_exactly_there": round(t["shown_at"] / t["holes"], 3) if t["holes"] else None,
                "false_alarms_per_hole": round(t["false"] / max(shown, 1), 3),
                "keys_per_restored": round(t["keys"] / max(t["restored"], 1), 2),
            }
        )
    cols = list(rows[0])
    table = Table(*cols)
    for r in rows:
        table.add_row(*[str(r[c]) for c in cols])
    Console().print(table)
    results = {"command": command("review_quality_bench.py"), "machine": machine(), "rows": rows}
    md = [
        "# What a reviewer meets in the queue",
        "",
        f"`{results['command']}` on {results['machine']}: {args.limit} dev documents damaged by the bundled list.",
        "Shown: real holes with a gap at them or within two characters; false alarms per real hole shown;",
        "keystrokes per restored deletion for a simulated reviewer (accept, type, reject, move).",
        "",
        "| " + " | ".join(c.replace("_", " ") for c in cols) + " |",
        "|" + "---|" * len(cols),
    ]
    md += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    write_results(args.out, "review-quality", results, "\n".join(md))


if __name__ == "__main__":
    main()
