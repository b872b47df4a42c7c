"""`restore eval`: damage your own clean text with a simulated filter and measure the repair."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from restore.cli.options import (
    EngineOptions,
    Failure,
    engine_options,
    make_restorer,
    progress,
    site_config,
)
from restore.errors import LexiconError
from restore.models.lexicon import resolve_filter_list

# ---------------------------------------------------------------- eval


@click.command("eval")
@click.option(
    "--clean",
    "clean",
    required=True,
    type=click.Path(path_type=Path),
    help="Clean text: a directory of .txt, or JSONL(.xz/.gz) with a text field.",
)
@click.option(
    "--damage-with",
    type=click.Path(path_type=Path),
    help="Filter list to damage the text with (default: the --lexicon lists, else the default list).",
)
@click.option("--limit", type=int, default=0, help="Use at most this many documents (0: all).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@engine_options
def eval_command(
    clean: Path,
    damage_with: Path | None,
    limit: int,
    fmt: str,
    engine: EngineOptions,
) -> None:
    """Damage your own clean text with a simulated filter and measure the repair."""
    from restore.evaluation.measure import evaluate
    from restore.evaluation.simulate import damage
    from restore.io.corpus import iter_documents
    from restore.models.lexicon import load_filter_list

    if not clean.exists():
        raise Failure(f"{clean}: no such file or directory")
    engine.config()  # --replace-lexicon without --lexicon is one line here
    try:
        if damage_with is not None:
            entries = load_filter_list(damage_with).entries
        elif engine.lexicons:
            entries = tuple(e for name in engine.lexicons for e in load_filter_list(name).entries)
        else:
            entries = resolve_filter_list([], replace=False).entries
    except LexiconError as exc:
        raise Failure(str(exc)) from None

    def documents() -> Any:
        for k, (_, text) in enumerate(iter_documents(clean)):
            if limit and k >= limit:
                return
            yield text

    try:
        # With --same-site the damaged documents are the site's pages.
        settings = site_config(engine, (damage(t, entries)[0] for t in documents()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise Failure(f"{clean}: cannot read clean text: {exc}") from None
    restorer = make_restorer(settings)

    try:
        report = evaluate(restorer, progress(documents(), "evaluating", total=limit or None), entries)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Failure(f"{clean}: cannot read clean text: {exc}") from None
    if report.gold_gaps == 0:
        raise Failure(f"{clean}: the filter list deletes nothing from this text, so there is nothing to measure")
    thresholds = [report.metrics(t) for t in sorted(report.by_threshold)]
    summary = {
        "documents": report.documents,
        "characters": report.characters,
        "gold_gaps": report.gold_gaps,
        "damage": report.damage,
        "chars_per_second": report.characters / report.seconds if report.seconds else 0.0,
        "thresholds": thresholds,
        "calibration": report.calibration(),
    }
    if fmt == "json":
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"{report.documents} documents, {report.gold_gaps} deletions, damage {report.damage}")
    table = Table("min confidence", "applied", "precision", "recall", "exact restoration")
    for m in thresholds:
        table.add_row(
            f"{m['threshold']:.2f}",
            str(m["applied"]),
            f"{m['precision']:.3f}",
            f"{m['recall']:.3f}",
            f"{m['exact_restoration']:.3f}",
        )
    console.print(table)
