"""`restore review …`, `restore export` and `restore diff`: thin click layers over the
workspace API."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from restore.cli.options import EngineOptions, Failure, engine_options, input_options, progress, site_config
from restore.document import Insertion, Restoration
from restore.errors import LexiconError, ModelError
from restore.review.store import DEFAULT_WORKSPACE, QueueFilter, Store, WorkspaceError


def _default_reviewer() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return "reviewer"


@contextmanager
def workspace_errors() -> Iterator[None]:
    try:
        yield
    except (WorkspaceError, ModelError, LexiconError) as exc:
        raise Failure(str(exc)) from None
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None) or exc
        line = str(orig).strip().splitlines()[0] if str(orig).strip() else type(exc).__name__
        raise Failure(f"workspace error: {line}") from None


def _settings(ctx: click.Context, db: str | None, reviewer: str | None) -> tuple[str, str]:
    obj = ctx.obj or {}
    return db or obj.get("db") or DEFAULT_WORKSPACE, reviewer or obj.get("reviewer") or _default_reviewer()


def db_options(func: Any) -> Any:
    func = click.option("--reviewer", help="Who is deciding (default: $RESTORE_REVIEWER or your login).")(func)
    func = click.option(
        "--db", help=f"Workspace: a SQLite file or a postgresql:// URL (default: $RESTORE_DB or {DEFAULT_WORKSPACE})."
    )(func)
    return func


def _open(ctx: click.Context, db: str | None, reviewer: str | None, create: bool = False) -> tuple[Store, str]:
    path, who = _settings(ctx, db, reviewer)
    return Store(path, create=create), who


def _doc_id(store: Store, ref: str | None) -> int | None:
    return None if ref is None else store.resolve_document(ref)


# ---------------------------------------------------------------- review


@click.group(invoke_without_command=True)
@click.option("--db", envvar="RESTORE_DB", help=f"Workspace file or postgresql:// URL (default {DEFAULT_WORKSPACE}).")
@click.option("--reviewer", envvar="RESTORE_REVIEWER", help="Who is deciding (default: your login).")
@click.option("--skipped", is_flag=True, help="Walk the gaps skipped earlier instead of the undecided ones.")
@click.option("--doc", "doc_ref", help="Start at this document (key or id).")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(["deletion", "mask", "unknown"]),
    help="Only gaps of this kind (repeatable; default: all).",
)
@click.option(
    "--min-confidence",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Only gaps whose best candidate is at least this sure.",
)
@click.option("--string", help="Only gaps whose best candidate is this string.")
@click.option(
    "--all-gaps", is_flag=True, help="Also gaps with no candidate (hidden by default: mostly names and numbers)."
)
@click.pass_context
def review(
    ctx: click.Context,
    db: str | None,
    reviewer: str | None,
    skipped: bool,
    doc_ref: str | None,
    kinds: tuple[str, ...],
    min_confidence: float,
    string: str | None,
    all_gaps: bool,
) -> None:
    """Review suggestions in the terminal; subcommands import, decide in bulk and report.

    Without a subcommand, opens the keyboard-driven review loop on the workspace.
    Every decision is saved as it is made; quitting and restarting resumes in place.
    """
    ctx.obj = {"db": db, "reviewer": reviewer}
    if ctx.invoked_subcommand is not None:
        return
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise Failure("the review loop needs a terminal; in scripts use `restore review accept|reject|status`")
    from rich.console import Console

    from restore.review.diff import inline_diff
    from restore.review.export import restored_document
    from restore.review.session import ReviewSession
    from restore.review.tui import run_loop

    with workspace_errors():
        store, who = _open(ctx, None, None)
        if store.read_only:
            raise Failure(f"{store.label}: workspace is read-only; the review loop needs to record decisions")
        queue = QueueFilter(
            kinds=tuple(kinds) or QueueFilter().kinds,  # type: ignore[arg-type]
            min_confidence=min_confidence,
            string=string,
            with_candidates=not all_gaps,
        )
        from restore.review.workspace import Workspace

        # The engine ranks candidates where the reviewer places a gap; loaded on first use.
        placing = Workspace(_settings(ctx, None, None)[0], who, create=False)
        session = ReviewSession(
            store,
            who,
            ("skipped",) if skipped else ("open",),
            start_document=_doc_id(store, doc_ref),
            queue=queue,
            suggest=lambda text, offset: placing.restorer().candidates_at(text, offset),
        )
        console = Console(highlight=False)
        # Pages that fit the screen are shown without a pager to leave; colours pass through.
        os.environ.setdefault("LESS", "-FRX")

        def prompt(label: str, default: str) -> str:
            # A real line editor in a terminal: the cursor, arrow keys, backspace over wide
            # characters and input methods work, and no key arrives as an escape sequence.
            if sys.stdin.isatty() and sys.stdout.isatty():
                from prompt_toolkit import prompt as line_editor

                try:
                    return line_editor(f"{label}: ", default=default)
                except (EOFError, KeyboardInterrupt):
                    return ""
            try:
                return str(click.prompt(label, default=default, show_default=bool(default)))
            except click.Abort:
                return ""

        def show_diff(doc_id: int) -> None:
            exported = restored_document(store, doc_id)
            # Gaps marked unknown show as ⟦?⟧ in the diff: text is missing there.
            marks = tuple(Insertion(d.offset, "?", 0.0) for d in exported.unknown)
            shown = Restoration(exported.document.text, exported.restoration.insertions + marks)
            with console.pager(styles=True):
                console.print(
                    f"[bold]{exported.document.key}[/]: {len(exported.applied)} restoration(s) accepted, "
                    f"{len(exported.unknown)} gap(s) of unknown content (⟦?⟧)"
                )
                console.print(inline_diff(exported.document.text, shown.text))

        run_loop(session, console, lambda: click.getchar(), prompt, show_diff)
        placing.close()
        store.close()


@review.command("import")
@click.argument("paths", nargs=-1, required=True)
@click.option("--text-field", default="text", show_default=True, help="JSONL field with the document text.")
@click.option("--id-field", default="id", show_default=True, help="JSONL field with the document id.")
@click.option("--resuggest", is_flag=True, help="Re-run suggestions for documents already in the workspace.")
@db_options
@engine_options
@input_options
@click.pass_context
def import_command(
    ctx: click.Context,
    paths: tuple[str, ...],
    text_field: str,
    id_field: str,
    resuggest: bool,
    db: str | None,
    reviewer: str | None,
    engine: EngineOptions,
    encoding: str | None,
    max_bytes: int,
) -> None:
    """Import files, directories and JSONL collections, storing the engine's suggestions.

    Re-importing the same content does nothing (documents are keyed on a content hash).
    """
    from restore.review.sources import SourceItem, iter_sources
    from restore.review.workspace import Workspace

    engine.config()  # option errors first
    path, who = _settings(ctx, db, reviewer)
    pages = (
        i.text for i in iter_sources(paths, text_field, id_field, encoding, max_bytes) if isinstance(i, SourceItem)
    )
    settings = site_config(engine, pages)
    with workspace_errors():
        ws = Workspace(path, who, settings, create=True)
        items = iter_sources(paths, text_field, id_field, encoding, max_bytes)
        summary = ws.import_items(progress(items, "importing"), resuggest=resuggest)
        ws.close()
    for problem in summary.problems:
        click.echo(f"restore: error: {problem.where}: {problem.message}", err=True)
    click.echo(
        f"{path}: imported {summary.imported} document(s), {summary.unchanged} already present, "
        f"{summary.resuggested} re-suggested; {summary.gaps} gap(s) from {summary.characters:,} characters",
        err=True,
    )
    if summary.problems:
        raise SystemExit(1)


@review.command("resuggest")
@click.option("--doc", "doc_ref", help="Only this document (key or id).")
@db_options
@engine_options
@click.pass_context
def resuggest_command(
    ctx: click.Context,
    doc_ref: str | None,
    db: str | None,
    reviewer: str | None,
    engine: EngineOptions,
) -> None:
    """Re-run suggestions after a model or lexicon change, keeping every decision."""
    from restore.review.workspace import Workspace

    path, who = _settings(ctx, db, reviewer)
    with workspace_errors():
        ws = Workspace(path, who, engine.config(), create=False)
        # With --same-site, the workspace's documents are the site's pages.
        pages = (ws.store.document(i).text for i in ws.store.document_ids())
        ws.configure(site_config(engine, pages))
        ref = _doc_id(ws.store, doc_ref)
        ids = [ref] if ref is not None else ws.store.document_ids()
        n = ws.resuggest(list(progress(ids, "re-suggesting")))
        ws.close()
    click.echo(f"{path}: re-ran suggestions for {n} document(s); decisions kept", err=True)


@review.command("accept")
@click.option("--min-confidence", type=click.FloatRange(0, 1), required=True, help="Accept top candidates at or above.")
@click.option("--doc", "doc_ref", help="Only this document (key or id).")
@db_options
@click.pass_context
def accept_command(
    ctx: click.Context, min_confidence: float, doc_ref: str | None, db: str | None, reviewer: str | None
) -> None:
    """Accept the top candidate of every undecided gap at or above a confidence."""
    from restore.review.workspace import Workspace

    path, who = _settings(ctx, db, reviewer)
    with workspace_errors():
        ws = Workspace(path, who, create=False)
        summary = ws.accept_at_or_above(min_confidence, _doc_id(ws.store, doc_ref))
        ws.close()
    click.echo(f"accepted {summary.decided} gap(s); {summary.conflicts} already decided by someone else", err=True)


@review.command("reject")
@click.option("--gap", "gap_id", type=int, help="Reject this one gap (id from `status --format json`).")
@click.option("--below", type=click.FloatRange(0, 1), help="Reject undecided gaps whose best candidate is below this.")
@click.option("--doc", "doc_ref", help="Only this document (key or id).")
@db_options
@click.pass_context
def reject_command(
    ctx: click.Context,
    gap_id: int | None,
    below: float | None,
    doc_ref: str | None,
    db: str | None,
    reviewer: str | None,
) -> None:
    """Reject suggestions: one gap, or every undecided gap below a confidence."""
    from restore.review.workspace import Workspace

    if (gap_id is None) == (below is None):
        raise Failure("give exactly one of --gap or --below")
    path, who = _settings(ctx, db, reviewer)
    with workspace_errors():
        ws = Workspace(path, who, create=False)
        if gap_id is not None:
            ws.store.decide(gap_id, "reject", who)
            decided, conflicts = 1, 0
        else:
            summary = ws.reject_below(float(below or 0.0), _doc_id(ws.store, doc_ref))
            decided, conflicts = summary.decided, summary.conflicts
        ws.close()
    click.echo(f"rejected {decided} gap(s); {conflicts} already decided by someone else", err=True)


@review.command("status")
@click.option("--by-document", is_flag=True, help="One line per document.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@db_options
@click.pass_context
def status_command(ctx: click.Context, by_document: bool, fmt: str, db: str | None, reviewer: str | None) -> None:
    """How far the review has come."""
    with workspace_errors():
        store, _ = _open(ctx, db, reviewer)
        counts = store.status_counts()
        per_doc = store.document_summaries() if by_document or fmt == "json" else []
        store.close()
    if fmt == "json":
        click.echo(json.dumps({"workspace": store.label, "counts": counts, "documents": per_doc}, ensure_ascii=False))
        return
    gaps_total = sum(v for k, v in counts.items() if k != "documents")
    parts = ", ".join(f"{counts[k]} {k}" for k in sorted(counts) if k != "documents")
    click.echo(f"{store.label}: {counts.get('documents', 0)} document(s), {gaps_total} gap(s): {parts or 'none'}")
    for d in per_doc:
        click.echo(f"  {d['id']:>6}  {d['key']}  {d['gaps']} gap(s), {d['open']} open, {d['decided']} decided")


# ---------------------------------------------------------------- export and diff


@click.command("export")
@click.argument("outdir", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["txt", "jsonl", "tei"]), default="txt", show_default=True)
@click.option("--doc", "doc_refs", multiple=True, help="Only these documents (key or id). Repeatable.")
@click.option("--db", envvar="RESTORE_DB", help=f"Workspace (default {DEFAULT_WORKSPACE}).")
def export_command(outdir: Path, fmt: str, doc_refs: tuple[str, ...], db: str | None) -> None:
    """Write the clean corpus from accepted decisions (txt, JSONL with standoff edits, or TEI P5)."""
    from restore.review.export import export

    if outdir.exists() and not outdir.is_dir():
        raise Failure(f"{outdir}: exists and is not a directory")
    with workspace_errors():
        store = Store(db or DEFAULT_WORKSPACE, create=False)
        ids = [store.resolve_document(r) for r in doc_refs] if doc_refs else store.document_ids()
        try:
            written = export(store, outdir, fmt, list(progress(ids, "exporting")))
        except OSError as exc:
            raise Failure(f"{outdir}: cannot write: {exc.strerror or exc}") from None
        store.close()
    click.echo(f"exported {len(ids)} document(s) as {fmt} into {outdir} ({len(written)} file(s))", err=True)


@click.command("diff")
@click.argument("doc_ref")
@click.option("--format", "fmt", type=click.Choice(["text", "unified"]), default="text", show_default=True)
@click.option("--db", envvar="RESTORE_DB", help=f"Workspace (default {DEFAULT_WORKSPACE}).")
def diff_command(doc_ref: str, fmt: str, db: str | None) -> None:
    """Show a document's original against its restored text."""
    from rich.console import Console

    from restore.review.diff import inline_diff, unified_diff
    from restore.review.export import restored_document

    with workspace_errors():
        store = Store(db or DEFAULT_WORKSPACE, create=False)
        exported = restored_document(store, store.resolve_document(doc_ref))
        store.close()
    doc = exported.document
    if fmt == "unified":
        sys.stdout.writelines(unified_diff(doc.text, exported.restoration.text, doc.key))
        return
    console = Console(highlight=False, soft_wrap=True)
    console.print(
        f"[bold]{doc.key}[/]: {len(exported.applied)} restoration(s) accepted, {len(exported.unknown)} unknown"
    )
    if exported.applied:
        console.print(inline_diff(doc.text, exported.restoration.text))
