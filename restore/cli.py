"""Command line: a thin layer over the library API (``restore.engine.Restorer``)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from .document import Gap, Restoration
from .engine import DEFAULT_MIN_CONFIDENCE, REPORT_CONFIDENCE, Restorer
from .io.documents import MAX_DOCUMENT_BYTES, InputError, SourceDocument, read_document
from .io.names import distinct_names
from .io.writers import OutputError, check_outputs, write_atomic
from .lexicon import LexiconError, resolve_filter_list
from .lm import FORWARD_NAME, ModelError

F = TypeVar("F", bound=Callable[..., Any])


class Failure(click.ClickException):
    """One line on stderr, non-zero exit."""

    def show(self, file: Any = None) -> None:
        click.echo(f"restore: error: {self.message}", err=True)


def _remember(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    # Kept out of the command's arguments: every engine command passes them the same way.
    ctx.meta[f"restore.{param.name}"] = value
    return value


def engine_options(func: F) -> F:
    func = click.option(
        "--same-site",
        is_flag=True,
        expose_value=False,
        callback=_remember,
        help="The inputs are pages of one site: list entries that several of them show intact are not "
        "the site's filter and are not proposed.",
    )(func)
    func = click.option(
        "--site",
        multiple=True,
        expose_value=False,
        callback=_remember,
        metavar="PATH",
        help="Other pages of the same site (files, directories, JSONL); as --same-site. Repeatable.",
    )(func)
    func = click.option(
        "--neural",
        expose_value=False,
        callback=_remember,
        metavar="on|DIR|none",
        help="Also rescore uncertain gaps with the neural character model: 'on' for the bundled one, or its "
        "directory (default: none; more exact restorations, about 40% slower).",
    )(func)
    func = click.option(
        "--index",
        expose_value=False,
        callback=_remember,
        metavar="DIR|none",
        help="Corpus index for long-context evidence (default: the one `restore index build` made, "
        "if any); 'none' turns it off.",
    )(func)
    func = click.option(
        "--model", "model_dir", type=click.Path(path_type=Path), help="Model directory (default: bundled)."
    )(func)
    func = click.option("--replace-lexicon", is_flag=True, help="Use only the --lexicon lists, not the default one.")(
        func
    )
    func = click.option(
        "--lexicon",
        "lexicons",
        multiple=True,
        help="Filter list file (one string per line); adds to the default list. Repeatable.",
    )(func)
    return func


def input_options(func: F) -> F:
    func = click.option("--encoding", help="Decode inputs with this encoding instead of requiring UTF-8.")(func)
    func = click.option(
        "--max-bytes", type=int, default=MAX_DOCUMENT_BYTES, show_default=True, help="Largest document accepted."
    )(func)
    return func


def _choice(name: str) -> tuple[str | None, bool]:
    ctx = click.get_current_context(silent=True)
    value = ctx.meta.get(f"restore.{name}") if ctx is not None else None
    if value is not None and value.lower() == "none":
        return None, False
    return value, True


def index_choice() -> tuple[str | None, bool]:
    """(index directory, whether to use one) from the command line's --index."""
    return _choice("index")


def neural_choice() -> tuple[str | None, bool]:
    """(neural model directory, whether to use one) from the command line's --neural (off unless asked)."""
    ctx = click.get_current_context(silent=True)
    value = ctx.meta.get("restore.neural") if ctx is not None else None
    if value is None or value.lower() in ("none", "off"):
        return None, False
    if value.lower() in ("on", "default"):
        return None, True
    return value, True


def evidence_choices() -> dict[str, Any]:
    """Restorer keyword arguments for the long-context evidence the command line chose."""
    index, use_index = index_choice()
    neural, use_neural = neural_choice()
    return {"index": index, "use_index": use_index, "neural": neural, "use_neural": use_neural}


def check_lexicon_choice(lexicons: Sequence[str], replace_lexicon: bool) -> None:
    if replace_lexicon and not lexicons:
        raise Failure("--replace-lexicon needs at least one --lexicon")


def site_exclusions(lexicons: Sequence[str], replace_lexicon: bool, inputs: Iterable[str] = ()) -> tuple[str, ...]:
    """List entries the site's own pages show intact (--site pages, and ``inputs`` with
    --same-site): a deleting filter leaves none of its strings, so these are not on it."""
    from .index import CorpusIndex
    from .review.sources import SourceProblem, iter_sources
    from .site import SiteProfile, reference_rate

    ctx = click.get_current_context(silent=True)
    paths: tuple[str, ...] = tuple(ctx.meta.get("restore.site") or ()) if ctx is not None else ()
    same = bool(ctx.meta.get("restore.same_site")) if ctx is not None else False
    if not paths and not same:
        return ()
    check_lexicon_choice(lexicons, replace_lexicon)
    try:
        flist = resolve_filter_list(list(lexicons), replace=replace_lexicon)
    except LexiconError as exc:
        raise Failure(str(exc)) from None

    def pages() -> Iterator[str]:
        for item in iter_sources(paths):
            if isinstance(item, SourceProblem):
                click.echo(f"restore: error: {item.where}: {item.message} (skipped)", err=True)
            else:
                yield item.text
        if same:
            yield from inputs

    index_dir, use_index = index_choice()
    try:
        index = CorpusIndex.find(index_dir) if use_index else None
    except ModelError as exc:
        raise Failure(str(exc)) from None
    profile = SiteProfile.from_pages(
        progress(pages(), "reading the site's pages"), flist.usable(), expected_rate=reference_rate(index)
    )
    if profile.pages == 0:
        raise Failure("no usable site pages in " + ", ".join(paths))
    click.echo(profile.summary(), err=True)
    return profile.not_filtered()


def make_restorer(
    model_dir: Path | None, lexicons: Sequence[str], replace_lexicon: bool, exclude: Sequence[str] = ()
) -> Restorer:
    check_lexicon_choice(lexicons, replace_lexicon)
    try:
        return Restorer(
            model_dir=model_dir,
            lexicons=list(lexicons),
            replace_lexicon=replace_lexicon,
            exclude=exclude,
            **evidence_choices(),
        )
    except (ModelError, LexiconError) as exc:
        raise Failure(str(exc)) from None


def progress(items: Sequence[Any] | Any, description: str, total: int | None = None) -> Any:
    """A progress bar on stderr for long work; silent when stderr is not a terminal."""
    from rich.console import Console
    from rich.progress import track

    return track(
        items,
        description=description,
        total=total,
        console=Console(stderr=True),
        transient=True,
        disable=not sys.stderr.isatty(),
    )


def load_inputs(files: Sequence[str], encoding: str | None, max_bytes: int) -> list[SourceDocument]:
    if not files:
        raise Failure("no input files given")
    docs = []
    for name in files:
        try:
            docs.append(read_document(name, encoding, max_bytes))
        except InputError as exc:
            raise Failure(str(exc)) from None
    return docs


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="restore")
def main() -> None:
    """Find and restore text that keyword filters silently deleted from Chinese documents."""


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


@main.command()
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
    lexicons: tuple[str, ...],
    replace_lexicon: bool,
    model_dir: Path | None,
    encoding: str | None,
    max_bytes: int,
) -> None:
    """Report where text was dropped, with ranked candidates and their evidence."""
    docs = load_inputs(files, encoding, max_bytes)
    exclude = site_exclusions(lexicons, replace_lexicon, (d.text for d in docs))
    restorer = make_restorer(model_dir, lexicons, replace_lexicon, exclude)
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


@main.command()
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
    lexicons: tuple[str, ...],
    replace_lexicon: bool,
    model_dir: Path | None,
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
    exclude = site_exclusions(lexicons, replace_lexicon, (d.text for d in docs))
    restorer = make_restorer(model_dir, lexicons, replace_lexicon, exclude)
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


# ---------------------------------------------------------------- batch


@main.command("batch")
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
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--address", help="Ray cluster address for --engine ray (default: start a local one).")
@click.option("--force", is_flag=True, help="Start over: ignore a partial run and overwrite OUT.")
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
    engine: str,
    address: str | None,
    force: bool,
    max_bytes: int,
    lexicons: tuple[str, ...],
    replace_lexicon: bool,
    model_dir: Path | None,
) -> None:
    """Restore a collection: JSONL (also .gz/.xz/.zst/.bz2), Parquet, or a directory of .txt.

    Every record keeps its fields and gains restored_text, restorations, gaps_unfilled and
    qc. Interrupted runs resume where they stopped. Bad records go to OUT.errors.jsonl;
    the exit status is the number of failed records (at most 100).
    """
    from .batch import BatchError, run_batch
    from .pipeline import StepConfig, engine_for

    check_lexicon_choice(lexicons, replace_lexicon)
    try:
        exclude = site_exclusions(lexicons, replace_lexicon, _record_texts(src, text_field, id_field, max_bytes))
    except BatchError as exc:
        raise Failure(str(exc)) from None
    config = StepConfig(
        text_field=text_field,
        min_confidence=min_confidence,
        model_dir=str(model_dir) if model_dir else None,
        lexicons=tuple(lexicons),
        replace_lexicon=replace_lexicon,
        max_bytes=max_bytes,
        exclude=exclude,
        **evidence_choices(),
    )
    try:
        engine_for(config)  # a missing model or index fails here, before any output is written
    except (ModelError, LexiconError) as exc:
        raise Failure(str(exc)) from None
    try:
        with batch_progress() as update:
            if engine == "ray":
                from .ray import run_batch_on_ray

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
    from .io.records import Reader

    for item in Reader(src, text_field, id_field, max_bytes):
        text = item.record.get(text_field) if item.record is not None else None
        if isinstance(text, str):
            yield text


@contextmanager
def stage_progress() -> Iterator[Callable[[str, int, int], None]]:
    """One bar on stderr for work in stages over the same texts: (stage, done, total)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not sys.stderr.isatty(),
    )
    with bar:
        task = bar.add_task("", total=None)

        def update(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        yield update


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


# ---------------------------------------------------------------- qc


@main.command("qc")
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
    lexicons: tuple[str, ...],
    replace_lexicon: bool,
    model_dir: Path | None,
    encoding: str | None,
    max_bytes: int,
) -> None:
    """Report scraper boilerplate, layout artefacts, masks, mojibake, paragraph perplexity,
    deletion density and a verdict (clean, damaged-restorable, damaged-needs-human)."""
    from .qc import check, strip_boilerplate
    from .typos import TypoError, load_corrector

    docs = load_inputs(files, encoding, max_bytes)
    exclude = site_exclusions(lexicons, replace_lexicon, (d.text for d in docs))
    restorer = make_restorer(model_dir, lexicons, replace_lexicon, exclude)
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
        from .qc_report import render_html

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
        f"  ·  {d['gaps']} gap(s), {d['deletion_density']:.1f} per 1,000 characters, "
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


# ---------------------------------------------------------------- eval


@main.command("eval")
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
    lexicons: tuple[str, ...],
    replace_lexicon: bool,
    model_dir: Path | None,
) -> None:
    """Damage your own clean text with a simulated filter and measure the repair."""
    from .evaluate import evaluate
    from .io.corpus import iter_documents
    from .lexicon import load_filter_list
    from .simulate import damage

    if not clean.exists():
        raise Failure(f"{clean}: no such file or directory")
    check_lexicon_choice(lexicons, replace_lexicon)
    try:
        if damage_with is not None:
            entries = load_filter_list(damage_with).entries
        elif lexicons:
            entries = tuple(e for name in lexicons for e in load_filter_list(name).entries)
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
        exclude = site_exclusions(lexicons, replace_lexicon, (damage(t, entries)[0] for t in documents()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise Failure(f"{clean}: cannot read clean text: {exc}") from None
    restorer = make_restorer(model_dir, lexicons, replace_lexicon, exclude)

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


# ---------------------------------------------------------------- models and lexicons


def corpus_option(help_text: str) -> Callable[[F], F]:
    return click.option(
        "--corpus",
        "corpora",
        multiple=True,
        required=True,
        type=click.Path(exists=True, path_type=Path),
        help=help_text,
    )


@main.group()
def lm() -> None:
    """Build the character language models."""


@lm.command("build")
@corpus_option("Training files or directories (*-dev* files are skipped).")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Model directory to write.")
@click.option("--order", type=int, default=6, show_default=True)
@click.option("--prune", default="0 0 1 1 2 2", show_default=True, help="lmplz --prune thresholds per order.")
@click.option("--kenlm-bin", type=click.Path(path_type=Path), help="Directory with lmplz and build_binary.")
def lm_build(corpora: tuple[Path, ...], output: Path, order: int, prune: str, kenlm_bin: Path | None) -> None:
    """Estimate forward and backward models with kenlm's lmplz (pruned, quantized)."""
    from .lm import build_models

    try:
        card = build_models(
            list(corpora), output, order=order, prune=[int(x) for x in prune.split()], kenlm_bin=kenlm_bin
        )
    except (ModelError, ValueError) as exc:
        raise Failure(str(exc)) from None
    click.echo(json.dumps(card, ensure_ascii=False, indent=2))


@lm.command("qc-buckets")
@click.option("--corpus", "corpora", multiple=True, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--model", "model_dir", type=click.Path(path_type=Path), help="Model directory (default: bundled).")
def lm_qc_buckets(corpora: tuple[Path, ...], model_dir: Path | None) -> None:
    """Perplexity bucket edges for `restore qc` (33rd/67th percentile of held-out train paragraphs)."""
    from .io.corpus import corpus_files
    from .lm import CharLM
    from .qc import perplexity_buckets

    sources = [f for c in corpora for f in corpus_files(c) if "-dev" not in f.name]
    try:
        edges = perplexity_buckets(CharLM.load(model_dir), sources)
    except ValueError as exc:  # no held-out paragraphs to measure
        raise Failure(str(exc)) from None
    click.echo(json.dumps(edges))


@main.group()
def index() -> None:
    """The corpus index: long-context evidence from a suffix array over reference text."""


@index.command("build")
@corpus_option("Reference files or directories (*-dev* files are skipped).")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Index directory (default: restore/data/index).")
def index_build(corpora: tuple[Path, ...], output: Path | None) -> None:
    """Build the suffix array (libdivsufsort) over the training split of a corpus."""
    from .index import DEFAULT_INDEX_DIR, build_index

    try:
        card = build_index(list(corpora), output or DEFAULT_INDEX_DIR)
    except (ModelError, ValueError) as exc:
        raise Failure(str(exc)) from None
    click.echo(json.dumps(card, ensure_ascii=False, indent=2))


@index.command("fit")
@click.option("--corpus", "corpora", multiple=True, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--lexicon", "lexicons", multiple=True, help="Extra filter lists to simulate while fitting.")
@click.option("--docs-per-list", type=int, default=200, show_default=True)
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index directory (default: built one).")
@click.option(
    "--neural", "neural_dir", metavar="DIR|none", help="Neural model directory (default: bundled); 'none': index only."
)
@click.option("-o", "--output-dir", type=click.Path(path_type=Path), help="Default: the bundled restore/data.")
def index_fit(
    corpora: tuple[Path, ...],
    lexicons: tuple[str, ...],
    docs_per_list: int,
    index_dir: Path | None,
    neural_dir: str | None,
    output_dir: Path | None,
) -> None:
    """Fit the rescoring models (index, neural, both) on synthetic damage of held-out train documents."""
    from .index import CorpusIndex
    from .lm import check_training_sources
    from .neural import DEFAULT_NEURAL_DIR, load_neural
    from .train import fit_rescorer

    started = time.time()
    try:
        check_training_sources(corpora)  # a corpus with nothing to fit on is named before the index is needed
        found = CorpusIndex.load(index_dir)
        neural = None
        if neural_dir is None or neural_dir.lower() != "none":
            neural = load_neural(Path(neural_dir) if neural_dir else DEFAULT_NEURAL_DIR)
    except ModelError as exc:
        raise Failure(str(exc)) from None
    models = fit_rescorer(list(corpora), [Path(x) for x in lexicons], found, neural, output_dir, docs_per_list)
    for name, model in models.items():
        click.echo(f"{name}: " + json.dumps(model.meta, ensure_ascii=False), err=True)
    click.echo(f"fitted in {time.time() - started:.0f}s", err=True)


@main.group()
def neural() -> None:
    """The neural character model that rescores shortlisted junctions (trained with PyTorch, run with onnxruntime)."""


@neural.command("train")
@corpus_option("Training files or directories (*-dev* files are skipped).")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Model directory (default: restore/data/neural).")
@click.option("--minutes", type=float, default=60.0, show_default=True, help="Wall-clock training budget.")
@click.option("--threads", type=int, default=2, show_default=True)
@click.option("--device", default="cpu", show_default=True, help="PyTorch device, e.g. cuda to train on a GPU.")
@click.option("--batch", type=int, default=64, show_default=True, help="Windows per step.")
@click.option("--lr", type=float, default=1e-3, show_default=True, help="Peak learning rate.")
@click.option("--layers", type=int, default=4, show_default=True)
@click.option("--width", type=int, default=256, show_default=True)
@click.option("--heads", type=int, default=4, show_default=True)
@click.option("--save-weights", is_flag=True, help="Also keep the float16 weights (charlm-weights.pt).")
def neural_train(
    corpora: tuple[Path, ...],
    output: Path | None,
    minutes: float,
    threads: int,
    device: str,
    batch: int,
    lr: float,
    layers: int,
    width: int,
    heads: int,
    save_weights: bool,
) -> None:
    """Train the character transformer on the training split and export it to ONNX."""
    from .neural import DEFAULT_NEURAL_DIR
    from .train_neural import train_neural

    try:
        card = train_neural(
            list(corpora),
            output or DEFAULT_NEURAL_DIR,
            minutes=minutes,
            threads=threads,
            log=lambda m: click.echo(m, err=True),
            device=device,
            lr=lr,
            batch=batch,
            layers=layers,
            width=width,
            heads=heads,
            save_weights=save_weights,
        )
    except (ModelError, ValueError) as exc:
        raise Failure(str(exc)) from None
    click.echo(json.dumps(card, ensure_ascii=False, indent=2))


@main.group()
def lexicon() -> None:
    """Inspect filter lists and the phrase dictionary."""


@lexicon.command("show")
@click.option("--lexicon", "lexicons", multiple=True, help="Filter list file(s) to show merged with the default.")
@click.option("--replace-lexicon", is_flag=True)
@click.option("--phrases", is_flag=True, help="Also list the mined set phrases for these strings.")
def lexicon_show(lexicons: tuple[str, ...], replace_lexicon: bool, phrases: bool) -> None:
    """Print the filter list in use (and, with --phrases, the phrase signatures)."""
    from .lexicon import PhraseDictionary, resolve_filter_list

    try:
        flist = resolve_filter_list(list(lexicons), replace=replace_lexicon)
    except LexiconError as exc:
        raise Failure(str(exc)) from None
    click.echo(f"# {flist.name}: {len(flist.entries)} entries")
    for entry in flist.entries:
        click.echo(entry)
    if phrases:
        d = PhraseDictionary.load().restricted(flist)
        click.echo(f"# phrases: {len(d)}")
        for p in d.phrases:
            click.echo(f"{p.phrase}\t{p.signature}\t{p.count}")


@lexicon.command("mine-phrases")
@click.option("--corpus", "corpora", multiple=True, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--lexicon", "lexicons", multiple=True, help="Extra lists whose strings get phrases too.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Default: the bundled phrases.tsv.")
def lexicon_mine(corpora: tuple[Path, ...], lexicons: tuple[str, ...], output: Path | None) -> None:
    """Mine the phrase dictionary from training text."""
    from .lexicon import DEFAULT_PHRASES, build_phrase_dictionary, default_filter_list, load_filter_list

    strings = list(default_filter_list().entries)
    for name in lexicons:
        strings += [e for e in load_filter_list(name).entries if 2 <= len(e) <= 6]
    d = build_phrase_dictionary(list(corpora), strings)
    d.save(output or DEFAULT_PHRASES)
    click.echo(f"{len(d)} phrases for {len({p.filter_string for p in d.phrases})} strings", err=True)


@lexicon.command("build-reference")
@click.option("--corpus", "corpora", multiple=True, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Default: the bundled reference-ngrams.tsv.xz.")
def lexicon_build_reference(corpora: tuple[Path, ...], output: Path | None) -> None:
    """Count the reference n-grams that `lexicon infer` compares a site against (train text only)."""
    from .infer import DEFAULT_REFERENCE, build_reference
    from .io.corpus import corpus_files

    sources = [f for c in corpora for f in corpus_files(c) if "-train" in f.name and "cpc-" not in f.name]
    if not sources:
        raise Failure("no *-train corpus files found")
    ref = build_reference(sources, output or DEFAULT_REFERENCE)
    click.echo(f"{len(ref.counts)} n-grams from {ref.characters:,} characters", err=True)


def _site_texts(
    paths: tuple[str, ...],
    text_field: str,
    encoding: str | None = None,
    pages: int = 0,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> list[str]:
    """The site's page texts; with ``pages``, a uniform sample of that many (reservoir
    sampling, fixed seed), so a crawl of millions of pages is read once in bounded memory."""
    import random

    from .review.sources import SourceProblem, iter_sources

    rng = random.Random(0)
    texts: list[str] = []
    seen = 0
    for item in iter_sources(paths, text_field=text_field, encoding=encoding, max_bytes=max_bytes):
        if isinstance(item, SourceProblem):
            click.echo(f"restore: error: {item.where}: {item.message} (skipped)", err=True)
            continue
        seen += 1
        if not pages or len(texts) < pages:
            texts.append(item.text)
        else:
            slot = rng.randrange(seen)
            if slot < pages:
                texts[slot] = item.text
    if not texts:
        raise Failure("no usable text in " + ", ".join(paths))
    if seen > len(texts):
        click.echo(
            f"restore: reading a uniform sample of {len(texts):,} of {seen:,} pages (--pages to change)", err=True
        )
    return texts


PAGES_HELP = "Infer from a uniform sample of this many pages (0: all of them)."


@lexicon.command("infer")
@click.argument("paths", nargs=-1, required=True)
@click.option("--text-field", default="text", show_default=True, help="JSONL field with the page text.")
@click.option("--candidates", type=click.IntRange(1, 5000), default=500, show_default=True)
@click.option("--min-junctions", type=int, default=2, show_default=True, help="Junctions an entry must fill.")
@click.option("--pages", type=click.IntRange(0), default=2000, show_default=True, help=PAGES_HELP)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write the inferred list here (for --lexicon).")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True)
@click.option("--encoding", help="Decode .txt inputs with this encoding instead of requiring UTF-8.")
@click.option("--max-bytes", type=int, default=MAX_DOCUMENT_BYTES, show_default=True, help="Largest page accepted.")
@click.option("--model", "model_dir", type=click.Path(path_type=Path), help="Model directory (default: bundled).")
def lexicon_infer(
    paths: tuple[str, ...],
    text_field: str,
    candidates: int,
    min_junctions: int,
    pages: int,
    output: Path | None,
    fmt: str,
    encoding: str | None,
    max_bytes: int,
    model_dir: Path | None,
) -> None:
    """Infer a site's filter list from many of its pages (files, directories, JSONL)."""
    from .index import CorpusIndex
    from .infer import InferenceError, infer_filter_list, lexicon_text

    texts = _site_texts(paths, text_field, encoding, pages, max_bytes)
    try:
        with stage_progress() as update:
            entries = infer_filter_list(
                texts, candidates=candidates, model_dir=model_dir, index=CorpusIndex.find(), on_progress=update
            )
    except (InferenceError, ModelError) as exc:
        raise Failure(str(exc)) from None
    kept = [e for e in entries if e.kept(min_junctions)]
    explained = [e for e in entries if e.junctions >= min_junctions and e.explained_by]
    if fmt == "jsonl":
        for e in kept:
            click.echo(json.dumps(e.to_dict(), ensure_ascii=False))
    else:
        click.echo(
            f"{len(kept)} string(s) the site's pages never show but the reference expects, and that fill junctions:"
        )
        for e in kept:
            click.echo(
                f"  {e.string}\texpected {e.expected:.1f}, observed {e.observed},"
                f" junctions filled {e.junctions}"
                + (f" on {e.pages} page(s)" if e.pages else "")
                + f" (surest {e.surest:.2f})"
                + (f", stands where {', '.join(e.sibling_of)} stand" if e.sibling_of else "")
            )
        if explained:
            listed = ", ".join(f"{e.string} ({e.explained_by})" for e in explained)
            click.echo(f"left out, explained by another entry: {listed}")
    if output is not None:
        write_atomic(output, lexicon_text(entries, min_junctions))


@lexicon.command("match")
@click.argument("paths", nargs=-1, required=True)
@click.option("--lexicon", "lexicons", multiple=True, required=True, help="A known filter list to rank. Repeatable.")
@click.option("--text-field", default="text", show_default=True)
@click.option("--candidates", type=click.IntRange(1, 5000), default=500, show_default=True)
@click.option("--pages", type=click.IntRange(0), default=2000, show_default=True, help=PAGES_HELP)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write a --lexicon file: the inferred entries plus the best match's entries the pages never show.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True)
@click.option("--encoding", help="Decode .txt inputs with this encoding instead of requiring UTF-8.")
@click.option("--max-bytes", type=int, default=MAX_DOCUMENT_BYTES, show_default=True, help="Largest page accepted.")
def lexicon_match(
    paths: tuple[str, ...],
    lexicons: tuple[str, ...],
    text_field: str,
    candidates: int,
    pages: int,
    output: Path | None,
    fmt: str,
    encoding: str | None,
    max_bytes: int,
) -> None:
    """Rank known filter lists by how likely each is the site's filter (fingerprinting).

    Expected counts come from the corpus index when `restore index build` made one."""
    from .index import CorpusIndex
    from .infer import (
        LEND_EXPLAINED,
        InferenceError,
        Reference,
        infer_filter_list,
        lending_list,
        match_lists,
        site_list_text,
    )
    from .lexicon import load_filter_list

    try:
        lists = [load_filter_list(name) for name in lexicons]
    except LexiconError as exc:
        raise Failure(str(exc)) from None
    texts = _site_texts(paths, text_field, encoding, pages, max_bytes)
    try:
        reference = Reference.load()
        index = CorpusIndex.find()
        with stage_progress() as update:
            entries = infer_filter_list(texts, reference, candidates=candidates, index=index, on_progress=update)
    except (InferenceError, ModelError) as exc:
        raise Failure(str(exc)) from None
    ranking = match_lists(entries, lists, texts, reference, index=index)
    for m in ranking:
        if fmt == "jsonl":
            click.echo(json.dumps(m.to_dict(), ensure_ascii=False))
        else:
            same = f" = {' = '.join(m.same_as)}" if m.same_as else ""
            click.echo(
                f"{m.score:+9.1f}  {m.name}{same}  ({m.entries} entries; expected but absent: {m.absent:.1f} nats; "
                f"{m.intact} intact; holds {m.explained:.0%} of the inferred deletions)"
            )
    if output is not None:
        best = lending_list(ranking, lists)
        write_atomic(output, site_list_text(entries, best, texts))
        source = (
            f"with the entries of {best.name} the pages never show"
            if best
            else f"alone: no known list scores above no filter and holds {LEND_EXPLAINED:.0%} of its deletions"
        )
        click.echo(f"wrote {output}: the inferred list {source}", err=True)


@main.command("fit-decision")
@click.option("--corpus", "corpora", multiple=True, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--lexicon", "lexicons", multiple=True, help="Extra filter lists to simulate while fitting.")
@click.option("--docs-per-list", type=int, default=250, show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Default: the bundled decision.json.")
def fit_decision_command(
    corpora: tuple[Path, ...], lexicons: tuple[str, ...], docs_per_list: int, output: Path | None
) -> None:
    """Fit the decision model on synthetic damage of held-out train documents."""
    from .decision import DEFAULT_PATH
    from .train import fit_decision

    started = time.time()
    model = fit_decision(list(corpora), [Path(x) for x in lexicons], output or DEFAULT_PATH, docs_per_list)
    click.echo(json.dumps(model.meta, ensure_ascii=False), err=True)
    click.echo(f"fitted in {time.time() - started:.0f}s", err=True)


def _register_review() -> None:
    from .review.commands import diff_command, export_command, review

    main.add_command(review)
    main.add_command(export_command)
    main.add_command(diff_command)


_register_review()


def run() -> None:
    """Entry point that never shows a traceback for expected failures."""
    from .errors import RestoreError

    try:
        main(standalone_mode=True)
    # Any of restore's own errors a command did not catch itself (a corpus read deep inside
    # a build, an output path, a missing model) is still one line.
    except RestoreError as exc:
        click.echo(f"restore: error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("restore: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
