"""`restore lexicon …`: show the filter list in use, infer a site's list from its pages, match known lists."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click

from restore.cli.options import (
    Failure,
    stage_progress,
)
from restore.errors import LexiconError, ModelError
from restore.io.documents import MAX_DOCUMENT_BYTES
from restore.io.writers import write_atomic
from restore.models.lexicon import resolve_filter_list


@click.group()
def lexicon() -> None:
    """Show the filter list in use, infer a site's list from its pages, or match known lists."""


@lexicon.command("show")
@click.option("--lexicon", "lexicons", multiple=True, help="Filter list file(s) to show merged with the default.")
@click.option("--replace-lexicon", is_flag=True)
@click.option("--phrases", is_flag=True, help="Also list the mined set phrases for these strings.")
def lexicon_show(lexicons: tuple[str, ...], replace_lexicon: bool, phrases: bool) -> None:
    """Print the filter list in use (and, with --phrases, the phrase signatures)."""
    from restore.models.lexicon import PhraseDictionary

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


def _site_texts(
    paths: tuple[str, ...],
    text_field: str,
    encoding: str | None = None,
    pages: int = 0,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> list[str]:
    """The site's page texts; with ``pages``, a uniform sample of that many."""
    from restore.io.records import reservoir
    from restore.review.sources import SourceProblem, iter_sources

    def texts() -> Iterator[str]:
        for item in iter_sources(paths, text_field=text_field, encoding=encoding, max_bytes=max_bytes):
            if isinstance(item, SourceProblem):
                click.echo(f"restore: error: {item.where}: {item.message} (skipped)", err=True)
            else:
                yield item.text

    sample, seen = reservoir(texts(), pages)
    if not sample:
        raise Failure("no usable text in " + ", ".join(paths))
    if seen > len(sample):
        click.echo(
            f"restore: reading a uniform sample of {len(sample):,} of {seen:,} pages (--pages to change)", err=True
        )
    return sample


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
    from restore.models.index import CorpusIndex
    from restore.sites.inference import InferenceError, infer_filter_list, lexicon_text

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

    Expected counts come from the corpus index when `restore build index` made one."""
    from restore.models.index import CorpusIndex
    from restore.models.lexicon import load_filter_list
    from restore.sites.inference import LEND_EXPLAINED, InferenceError, Reference, infer_filter_list
    from restore.sites.matching import lending_list, match_lists, site_list_text

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
