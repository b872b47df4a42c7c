"""`restore scan` and `restore fix`: find gaps, and write restored text with its standoff edits."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from restore.cli.options import (
    EngineOptions,
    Failure,
    engine_options,
    input_options,
    load_inputs,
    make_restorer,
    progress,
    site_config,
)
from restore.document import Gap, Restoration
from restore.engine.restorer import DEFAULT_MIN_CONFIDENCE, REPORT_CONFIDENCE
from restore.io.names import distinct_names
from restore.io.writers import OutputError, check_outputs, write_atomic

# ---------------------------------------------------------------- scan


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def _context(text: str, offset: int, width: int = 16) -> tuple[str, str]:
    left = text[max(0, offset - width) : offset].split("\n")[-1]
    right = text[offset : offset + width].split("\n")[0]
    return left, right


def gap_record(name: str, text: str, gap: Gap) -> dict[str, object]:
    line, col = _line_col(text, gap.offset)
    left, right = _context(text, gap.offset)
    record: dict[str, object] = {"file": name, "offset": gap.offset, "line": line, "column": col}
    record.update(gap.to_dict())
    record["context"] = {"before": left, "after": right}
    return record


def print_gaps_human(name: str, text: str, gaps: Sequence[Gap], min_confidence: float) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=True)
    console.print(Text(f"{name}: {len(gaps)} gap(s)", style="bold"))
    for gap in gaps:
        line, col = _line_col(text, gap.offset)
        left, right = _context(text, gap.offset)
        left = left.lstrip()
        out = Text(f"  {line}:{col}  ", style="dim")
        out.append(left)
        best = gap.best
        if gap.kind == "mask" and gap.span:
            out.append(text[gap.span[0] : gap.span[1]], style="bold magenta")
            right = text[gap.span[1] : gap.span[1] + 16].split("\n")[0]
        elif best is not None and gap.kind == "deletion":
            style = "bold green" if best.confidence >= min_confidence else "bold yellow"
            out.append(f"⟦{best.text}⟧", style=style)
        else:
            out.append("⟦?⟧", style="bold red")
        out.append(right)
        console.print(out)
        label = {"mask": "masked by the site", "unknown": "text missing, no confident candidate"}.get(gap.kind)
        if label:
            console.print(Text(f"        {label}", style="dim"))
        for rank, cand in enumerate(gap.candidates[:3], 1):
            lm = [e.value for e in cand.evidence if e.kind == "lm" and e.value is not None]
            why = [f"LM gain {lm[0]:+.1f}/{lm[1]:+.1f}" if len(lm) == 2 else ""]
            why += [e.detail for e in cand.evidence if e.kind in ("phrase", "document", "index", "neural")]
            console.print(
                Text(f"        {rank}. {cand.text}  ", style="cyan").append(
                    f"{cand.confidence:.2f}  " + "; ".join(w for w in why if w), style="dim"
                )
            )


@click.command()
@click.argument("files", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True)
@click.option(
    "--min-confidence",
    type=float,
    default=DEFAULT_MIN_CONFIDENCE,
    show_default=True,
    help="Highlight level for candidates (green at or above).",
)
@click.option(
    "--report-confidence", type=float, default=REPORT_CONFIDENCE, show_default=True, help="Lowest confidence reported."
)
@engine_options
@input_options
def scan(
    files: tuple[str, ...],
    fmt: str,
    min_confidence: float,
    report_confidence: float,
    engine: EngineOptions,
    encoding: str | None,
    max_bytes: int,
) -> None:
    """Report where text was dropped, with ranked candidates and their evidence."""
    docs = load_inputs(files, encoding, max_bytes)
    restorer = make_restorer(site_config(engine, (d.text for d in docs)))
    for doc in progress(docs, "scanning") if len(docs) > 1 else docs:
        gaps = restorer.scan(doc.text, report=report_confidence)
        if fmt == "jsonl":
            for gap in gaps:
                click.echo(json.dumps(gap_record(doc.name, doc.text, gap), ensure_ascii=False))
        else:
            print_gaps_human(doc.name, doc.text, gaps, min_confidence)


# ---------------------------------------------------------------- fix


def change_records(name: str, restoration: Restoration, versions: dict[str, str]) -> list[dict[str, object]]:
    records = []
    for ins in sorted(restoration.insertions, key=lambda i: i.offset):
        rec: dict[str, object] = {"file": name}
        rec.update(ins.to_dict())
        rec.update(versions)
        records.append(rec)
    return records


@click.command()
@click.argument("files", nargs=-1)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Output file, or directory when several inputs; '-' for stdout.",
)
@click.option(
    "--in-place-copy", is_flag=True, help="Write FILE.restored.txt next to each input (the input is never touched)."
)
@click.option(
    "--min-confidence",
    type=float,
    default=DEFAULT_MIN_CONFIDENCE,
    show_default=True,
    help="Apply only restorations at or above this confidence.",
)
@click.option("--changes", type=click.Path(path_type=Path), help="Write the applied standoff edits here as JSONL.")
@engine_options
@input_options
def fix(
    files: tuple[str, ...],
    output: Path | None,
    in_place_copy: bool,
    min_confidence: float,
    changes: Path | None,
    engine: EngineOptions,
    encoding: str | None,
    max_bytes: int,
) -> None:
    """Write restored text, applying only restorations at or above --min-confidence."""
    if not 0.0 <= min_confidence <= 1.0:
        raise Failure("--min-confidence must be between 0 and 1")
    if output is not None and in_place_copy:
        raise Failure("use either -o or --in-place-copy, not both")
    docs = load_inputs(files, encoding, max_bytes)
    if len(docs) > 1 and output is not None and str(output) != "-" and output.exists() and not output.is_dir():
        raise Failure(f"{output}: several inputs need -o to name a directory")
    targets = fix_targets([d.name for d in docs], output, in_place_copy)
    try:  # every output is checked before the first is written
        check_outputs([t for t in targets if t is not None] + ([changes] if changes else []), files)
    except OutputError as exc:
        raise Failure(str(exc)) from None
    restorer = make_restorer(site_config(engine, (d.text for d in docs)))
    records: list[dict[str, object]] = []
    for doc, target in zip(progress(docs, "restoring") if len(docs) > 1 else docs, targets):
        restoration = restorer.fix(doc.text, min_confidence)
        records.extend(change_records(doc.name, restoration, restorer.version))
        if target is None:
            sys.stdout.write(restoration.text)
            sys.stdout.flush()
        else:
            write_atomic(target, restoration.text, files)
        click.echo(f"{doc.name}: {len(restoration.insertions)} restoration(s) applied", err=True)
    if changes is not None:
        write_atomic(changes, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), files)


def fix_targets(names: Sequence[str], output: Path | None, in_place_copy: bool) -> list[Path | None]:
    """Where each input's restored text goes (None: stdout); two inputs never share a file."""
    if in_place_copy:
        if any(n in ("-", "<stdin>") for n in names):
            raise Failure("--in-place-copy needs file inputs, not stdin")
        return [Path(n).with_name(Path(n).stem + ".restored" + (Path(n).suffix or ".txt")) for n in names]
    if output is None or str(output) == "-":
        return [None] * len(names)
    if len(names) > 1 or output.is_dir():
        return [output / name for name in distinct_names(names)]
    return [output]
