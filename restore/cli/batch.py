"""`restore batch`: a collection, streamed, in parallel, resumable."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from restore.cli.options import (
    EngineOptions,
    Failure,
    engine_options,
    site_config,
    stage_progress,
)
from restore.engine.config import EngineConfig
from restore.engine.restorer import DEFAULT_MIN_CONFIDENCE
from restore.errors import LexiconError, ModelError, RestoreError
from restore.io.documents import MAX_DOCUMENT_BYTES

# ---------------------------------------------------------------- batch


@click.command("batch")
@click.argument("src", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--text-field", default="text", show_default=True)
@click.option("--id-field", default="id", show_default=True)
@click.option(
    "--min-confidence",
    type=click.FloatRange(0, 1),
    default=DEFAULT_MIN_CONFIDENCE,
    show_default=True,
    help="Apply only restorations at or above this confidence.",
)
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=1, show_default=True, help="Worker processes.")
@click.option("--engine", "runner", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--address", help="Ray cluster address for --engine ray (default: start a local one).")
@click.option("--force", is_flag=True, help="Start over: ignore a partial run and overwrite OUT.")
@click.option(
    "--site-field",
    metavar="FIELD",
    help="Records come from several sites, named by this field (a URL's host counts): each site's pages are "
    "profiled and its filter list inferred on its own, in a first pass.",
)
@click.option(
    "--max-bytes", type=int, default=MAX_DOCUMENT_BYTES, show_default=True, help="Largest text a record may have."
)
@engine_options
def batch_command(
    src: Path,
    out: Path,
    text_field: str,
    id_field: str,
    min_confidence: float,
    jobs: int,
    runner: str,
    address: str | None,
    force: bool,
    site_field: str | None,
    max_bytes: int,
    engine: EngineOptions,
) -> None:
    """Restore a collection: JSONL (also .gz/.xz/.zst/.bz2), Parquet, or a directory of .txt.

    Every record keeps its fields and gains restored_text, restorations, gaps_unfilled and
    qc. Interrupted runs resume where they stopped. Bad records go to OUT.errors.jsonl;
    the exit status is the number of failed records (at most 100).
    """
    from restore.batch.runner import BatchError, run_batch
    from restore.batch.step import RestoreStep

    engine.config()  # option errors first, before the input is read
    if site_field is not None and runner == "ray":
        raise Failure("--site-field runs with the local engine; drop --engine ray")
    try:
        if site_field is not None:
            config = RestoreStep(
                text_field,
                min_confidence,
                max_bytes,
                engine.config(),
                site_field,
                per_site_configs(engine, _record_sites(src, text_field, id_field, site_field, max_bytes)),
            )
        else:
            settings = site_config(engine, _record_texts(src, text_field, id_field, max_bytes))
            config = RestoreStep(text_field, min_confidence, max_bytes, settings)
    except BatchError as exc:
        raise Failure(str(exc)) from None
    try:
        config.engine()  # a missing model or index fails here, before any output is written
    except (ModelError, LexiconError) as exc:
        raise Failure(str(exc)) from None
    try:
        with batch_progress() as update:
            if runner == "ray":
                from restore.batch.ray import run_batch_on_ray

                summary = run_batch_on_ray(src, out, config, id_field, address=address, force=force, on_progress=update)
            else:
                summary = run_batch(src, out, config, id_field, jobs, on_progress=update, force=force)
    except BatchError as exc:
        raise Failure(str(exc)) from None
    except (ModelError, LexiconError) as exc:
        raise Failure(str(exc)) from None
    rate = summary.characters / summary.seconds if summary.seconds else 0.0
    resumed = f" (resumed after {summary.resumed_from})" if summary.resumed_from else ""
    click.echo(
        f"{out}: {summary.records} record(s){resumed}, {summary.characters:,} characters in {summary.seconds:.1f}s "
        f"({rate:,.0f} characters/s)",
        err=True,
    )
    if summary.failed:
        click.echo(f"restore: {summary.failed} record(s) failed; see {summary.errors_path}", err=True)
        sys.exit(min(summary.failed, 100))


def _record_texts(src: Path, text_field: str, id_field: str, max_bytes: int) -> Iterator[str]:
    """The texts of a batch input, streamed (for --same-site); bad records are skipped here
    and reported by the batch itself."""
    from restore.io.records import Reader

    for item in Reader(src, text_field, id_field, max_bytes):
        text = item.record.get(text_field) if item.record is not None else None
        if isinstance(text, str):
            yield text


def _record_sites(
    src: Path, text_field: str, id_field: str, site_field: str, max_bytes: int
) -> Iterator[tuple[str, str]]:
    """(site, text) of each usable record, streamed, for the per-site first pass."""
    from restore.batch.step import site_key
    from restore.io.records import Reader

    for item in Reader(src, text_field, id_field, max_bytes):
        text = item.record.get(text_field) if item.record is not None else None
        if isinstance(text, str) and item.record is not None:
            yield site_key(item.record.get(site_field)), text


def per_site_configs(engine: EngineOptions, pages: Iterator[tuple[str, str]]) -> tuple[tuple[str, EngineConfig], ...]:
    """Each site's settings, said on stderr: what its pages show intact, and what they prove."""
    from restore.sites.profile import for_sites

    try:
        with stage_progress() as update:
            sites = for_sites(pages, engine.config(), engine.infer, update)
    except RestoreError as exc:
        raise Failure(str(exc)) from None
    for n, (site, found) in enumerate(sorted(sites.items())):
        if n == 20:
            click.echo(f"restore: … and {len(sites) - 20} more site(s)", err=True)
            break
        inferred = ", ".join(e.string for e in found.inferred) or "none"
        click.echo(
            f"site {site or '(no site field)'}: {found.profile.pages} page(s) read; "
            f"{len(found.config.exclude)} entries shown intact; inferred: {inferred}",
            err=True,
        )
    return tuple((site, found.config) for site, found in sorted(sites.items()))


@contextmanager
def batch_progress() -> Iterator[Callable[[int, int, int, int], None]]:
    """Documents, characters per second and ETA (by input bytes) on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(
        TextColumn("restoring"),
        BarColumn(),
        TextColumn("{task.fields[docs]:,} docs"),
        TextColumn("{task.fields[rate]:,.0f} chars/s"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not sys.stderr.isatty(),
    )
    started = time.perf_counter()
    with progress:
        task = progress.add_task("restoring", total=None, docs=0, rate=0.0)

        def update(records: int, characters: int, position: int, size: int) -> None:
            elapsed = max(time.perf_counter() - started, 1e-6)
            progress.update(
                task,
                completed=position,
                total=size or None,
                docs=records,
                rate=characters / elapsed,
            )

        yield update
