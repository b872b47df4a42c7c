"""`restore qc`: is a scraped page clean, damaged but restorable, or one for a person?"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
from restore.io.names import distinct_names
from restore.io.writers import OutputError, check_outputs, write_atomic

# ---------------------------------------------------------------- qc


@click.command("qc")
@click.argument("files", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True)
@click.option("--html", "html_path", type=click.Path(path_type=Path), help="Also write an HTML report of all files.")
@click.option(
    "--strip-boilerplate",
    "strip_dir",
    type=click.Path(path_type=Path),
    help="Write a copy of each file without the boilerplate into this directory (inputs are never changed).",
)
@click.option(
    "--typos",
    is_flag=True,
    help="Also report substitution typos (的/地/得, homophones, look-alikes); needs pip install 'restore[typos]'.",
)
@engine_options
@input_options
def qc_command(
    files: tuple[str, ...],
    fmt: str,
    html_path: Path | None,
    strip_dir: Path | None,
    typos: bool,
    engine: EngineOptions,
    encoding: str | None,
    max_bytes: int,
) -> None:
    """Report scraper boilerplate, layout artefacts, masks, mojibake, paragraph perplexity,
    deletion density and a verdict (clean, damaged-restorable, damaged-needs-human)."""
    from restore.models.lm import FORWARD_NAME
    from restore.qc.checks import check, strip_boilerplate
    from restore.qc.typos import TypoError, load_corrector

    docs = load_inputs(files, encoding, max_bytes)
    restorer = make_restorer(site_config(engine, (d.text for d in docs)))
    if typos:
        try:
            load_corrector(str(restorer.lm.directory / FORWARD_NAME))
        except TypoError as exc:
            raise Failure(str(exc)) from None
    strip_targets: list[Path] = []
    if strip_dir is not None:
        if any(d.name in ("-", "<stdin>") for d in docs):
            raise Failure("--strip-boilerplate needs file inputs, not stdin")
        strip_targets = [strip_dir / n for n in distinct_names([d.name for d in docs])]
    try:
        check_outputs(strip_targets + ([html_path] if html_path else []), files)
    except OutputError as exc:
        raise Failure(str(exc)) from None
    reports = []
    for k, doc in enumerate(progress(docs, "checking") if len(docs) > 1 else docs):
        report = check(doc.name, doc.text, restorer, typos=typos)
        reports.append(report)
        if fmt == "jsonl":
            click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
        else:
            print_qc_human(report)
        if strip_targets:
            write_atomic(strip_targets[k], strip_boilerplate(doc.text, report.findings), files)
    if html_path is not None:
        from restore.qc.report import render_html

        write_atomic(html_path, render_html(reports))


def print_qc_human(report: Any) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=True)
    d = report.to_dict()
    style = {"clean": "bold green", "damaged-restorable": "bold yellow"}.get(d["verdict"], "bold red")
    head = Text(f"{d['file']}: ", style="bold")
    head.append(d["verdict"], style=style)
    head.append(
        f"  ·  {d['gaps']} gap(s)"
        + (f" (and {d['gaps_in_furniture']} in page furniture)" if d["gaps_in_furniture"] else "")
        + f", {d['deletion_density']:.1f} per 1,000 characters, "
        f"{d['confident_gaps']} restorable at the default confidence"
    )
    console.print(head)
    if d["metadata"]:
        console.print("  page metadata: " + ", ".join(f"{k} {v}" for k, v in d["metadata"].items()), style="dim")
    b = d["perplexity_buckets"]
    console.print(f"  paragraphs by perplexity: {b['head']} head, {b['middle']} middle, {b['tail']} tail", style="dim")
    if d["top_strings"]:
        console.print("  most restored: " + ", ".join(f"{k} {v}" for k, v in d["top_strings"].items()), style="dim")
    for f in report.findings:
        line = Text(f"  {f.kind:<14}", style="magenta" if f.boilerplate else "yellow")
        line.append(f.text.strip()[:60])
        line.append(f"  ({f.detail})", style="dim")
        console.print(line)
