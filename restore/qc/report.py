"""The HTML report of `restore qc --html` for a whole collection: verdict counts, a
histogram of deletion density, the strings restored most often, and a table per document.
Self-contained (inline CSS and SVG, no scripts), so it opens anywhere and archives well."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timezone
from html import escape

from restore import __version__
from restore.qc.checks import QCReport

BINS = (0, 0.5, 2, 5, 10, 20, 50)  # gaps per 1,000 characters

CSS = """
body { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.clean { color: #1a7f37; } .damaged-restorable { color: #9a6700; } .damaged-needs-human { color: #cf222e; }
.boilerplate { color: #8250df; } .artefact { color: #9a6700; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
"""


def _histogram(densities: Sequence[float]) -> str:
    labels = [f"{BINS[i]}–{BINS[i + 1]}" for i in range(len(BINS) - 1)] + [f"≥ {BINS[-1]}"]
    counts = [0] * len(labels)
    for d in densities:
        i = sum(1 for edge in BINS[1:] if d >= edge)
        counts[i] += 1
    width, height, bar, pad = 560, 200, 560 // len(labels), 20
    top = max(counts) or 1
    parts = [
        f'<svg width="{width}" height="{height + 40 + pad}" role="img" aria-label="deletion density histogram">',
        f'<g transform="translate(0 {pad})">',
    ]
    for i, (label, n) in enumerate(zip(labels, counts)):
        h = int(height * n / top)
        x = i * bar
        parts.append(f'<rect x="{x + 4}" y="{height - h}" width="{bar - 8}" height="{h}" fill="#4c72b0"/>')
        parts.append(f'<text x="{x + bar / 2}" y="{height - h - 4}" text-anchor="middle" font-size="12">{n}</text>')
        parts.append(f'<text x="{x + bar / 2}" y="{height + 16}" text-anchor="middle" font-size="12">{label}</text>')
    parts.append(
        f'<text x="{width / 2}" y="{height + 34}" text-anchor="middle" font-size="12">gaps per 1,000 characters</text>'
    )
    parts.append("</g></svg>")
    return "".join(parts)


def render_html(reports: Sequence[QCReport], title: str = "restore qc report") -> str:
    verdicts = Counter(r.verdict for r in reports)
    strings: Counter[str] = Counter()
    for r in reports:
        strings.update(r.top_strings)
    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    out = [
        "<!DOCTYPE html>",
        '<html lang="zh"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p>{len(reports)} document(s), {sum(r.characters for r in reports):,} characters. "
        f"restore {escape(__version__)}, {escape(when)}.</p>",
        "<table><tr><th>verdict</th><th>documents</th></tr>",
    ]
    for verdict in ("clean", "damaged-restorable", "damaged-needs-human"):
        out.append(f'<tr><td class="{verdict}">{verdict}</td><td class="num">{verdicts.get(verdict, 0)}</td></tr>')
    out.append("</table>")
    out.append("<h2>Deletion density</h2>")
    out.append(_histogram([r.deletion_density for r in reports]))
    out.append("<h2>Strings restored most often</h2><table><tr><th>string</th><th>gaps</th></tr>")
    for text, n in strings.most_common(20):
        out.append(f'<tr><td>{escape(text)}</td><td class="num">{n}</td></tr>')
    out.append("</table>")
    for r in reports:
        d = r.to_dict()
        b = d["perplexity_buckets"]
        meta = ", ".join(f"{escape(k)} {escape(v)}" for k, v in r.metadata.items()) or "—"
        out.append(f"<h2>{escape(r.name)}</h2>")
        out.append(
            "<table><tr><th>verdict</th><th>characters</th><th>gaps</th><th>per 1,000</th>"
            "<th>restorable</th><th>perplexity head / middle / tail</th><th>page metadata</th></tr>"
            f'<tr><td class="{escape(r.verdict)}">{escape(r.verdict)}</td><td class="num">{r.characters:,}</td>'
            f'<td class="num">{r.gaps}</td><td class="num">{r.deletion_density:.1f}</td>'
            f'<td class="num">{r.confident_gaps}</td><td>{b["head"]} / {b["middle"]} / {b["tail"]}</td>'
            f"<td>{meta}</td></tr></table>"
        )
        if r.findings:
            out.append("<table><tr><th>finding</th><th>offset</th><th>text</th><th>why</th></tr>")
            for f in r.findings:
                cls = "boilerplate" if f.boilerplate else "artefact"
                out.append(
                    f'<tr><td class="{cls}">{escape(f.kind)}</td><td class="num">{f.start}</td>'
                    f"<td>{escape(f.text.strip()[:80])}</td><td>{escape(f.detail)}</td></tr>"
                )
            out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
