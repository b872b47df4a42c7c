"""What every command shares: the one-line failure, the engine and input options, the
progress bars. Engine options arrive as one explicit :class:`EngineOptions` argument and
become an :class:`~restore.engine.config.EngineConfig`; nothing travels through the
click context."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from restore.engine.config import EngineConfig
from restore.engine.restorer import Restorer
from restore.errors import LexiconError, ModelError, RestoreError
from restore.io.documents import MAX_DOCUMENT_BYTES, InputError, SourceDocument, read_document

F = TypeVar("F", bound=Callable[..., Any])


class Failure(click.ClickException):
    """One line on stderr, non-zero exit."""

    def show(self, file: Any = None) -> None:
        click.echo(f"restore: error: {self.message}", err=True)


@dataclass(frozen=True)
class EngineOptions:
    """The engine options of one command line, as given."""

    lexicons: tuple[str, ...] = ()
    replace_lexicon: bool = False
    model_dir: Path | None = None
    index: str | None = None  # DIR, "none", or None for the built one
    neural: str | None = None  # "on", DIR, or None/"none"/"off"
    same_site: bool = False
    site: tuple[str, ...] = ()
    infer: bool = True  # with a site's pages, infer its filter list from them

    def config(self, exclude: Sequence[str] = (), inferred: Sequence[str] = ()) -> EngineConfig:
        if self.replace_lexicon and not self.lexicons:
            raise Failure("--replace-lexicon needs at least one --lexicon")
        index_off = self.index is not None and self.index.lower() == "none"
        neural = (self.neural or "none").lower()
        use_neural = neural not in ("none", "off")
        return EngineConfig(
            model_dir=str(self.model_dir) if self.model_dir else None,
            lexicons=tuple(self.lexicons),
            replace_lexicon=self.replace_lexicon,
            index=None if index_off else self.index,
            use_index=not index_off,
            neural=self.neural if use_neural and neural not in ("on", "default") else None,
            use_neural=use_neural,
            exclude=tuple(exclude),
            inferred=tuple(inferred),
        )

    @property
    def profiles_site(self) -> bool:
        return bool(self.site) or self.same_site


ENGINE_FIELDS = ("lexicons", "replace_lexicon", "model_dir", "index", "neural", "same_site", "site", "infer")


def engine_options(func: F) -> F:
    """Add the engine options; the command receives them as ``engine: EngineOptions``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        engine = EngineOptions(**{name: kwargs.pop(name) for name in ENGINE_FIELDS})
        return func(*args, engine=engine, **kwargs)

    options = [
        click.option(
            "--lexicon",
            "lexicons",
            multiple=True,
            help="Filter list file (one string per line); adds to the default list. Repeatable.",
        ),
        click.option("--replace-lexicon", is_flag=True, help="Use only the --lexicon lists, not the default one."),
        click.option(
            "--model", "model_dir", type=click.Path(path_type=Path), help="Model directory (default: bundled)."
        ),
        click.option(
            "--index",
            metavar="DIR|none",
            help="Corpus index for long-context evidence (default: the one `restore build index` made, "
            "if any); 'none' turns it off.",
        ),
        click.option(
            "--neural",
            metavar="on|DIR|none",
            help="Also rescore uncertain gaps with the neural character model: 'on' for the bundled one, or its "
            "directory (default: none; more exact restorations, about 40% slower).",
        ),
        click.option(
            "--same-site",
            is_flag=True,
            help="The inputs are pages of one site: list entries that several of them show intact are not "
            "the site's filter and are not proposed.",
        ),
        click.option(
            "--site",
            multiple=True,
            metavar="PATH",
            help="Other pages of the same site (files, directories, JSONL); as --same-site. Repeatable.",
        ),
        click.option(
            "--infer/--no-infer",
            default=True,
            show_default=True,
            help="With --same-site or --site, infer the site's filter list from its pages and add it.",
        ),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


def input_options(func: F) -> F:
    func = click.option("--encoding", help="Decode inputs with this encoding instead of requiring UTF-8.")(func)
    func = click.option(
        "--max-bytes", type=int, default=MAX_DOCUMENT_BYTES, show_default=True, help="Largest document accepted."
    )(func)
    return func


def corpus_option(help_text: str) -> Callable[[F], F]:
    return click.option(
        "--corpus",
        "corpora",
        multiple=True,
        required=True,
        type=click.Path(exists=True, path_type=Path),
        help=help_text,
    )


def site_config(engine: EngineOptions, inputs: Iterable[str] = ()) -> EngineConfig:
    """The engine settings for a site's pages (--site pages, and ``inputs`` with
    --same-site), as :func:`restore.sites.profile.for_site` makes them; what it found is
    said on stderr. Without a site, the options as given."""
    from restore.review.sources import SourceProblem, iter_sources
    from restore.sites.profile import for_site

    if not engine.profiles_site:
        return engine.config()

    def pages() -> Iterator[str]:
        for item in iter_sources(engine.site):
            if isinstance(item, SourceProblem):
                click.echo(f"restore: error: {item.where}: {item.message} (skipped)", err=True)
            else:
                yield item.text
        if engine.same_site:
            yield from inputs

    try:
        with stage_progress() as update:
            update("reading the site's pages", 0, 0)  # one live bar on stderr: inference reports its stages
            found = for_site(pages(), engine.config(), engine.infer, update)
    except RestoreError as exc:
        raise Failure(str(exc)) from None
    if found.profile.pages == 0:
        raise Failure("no usable site pages in " + ", ".join(engine.site))
    click.echo(found.profile.summary(), err=True)
    if engine.infer and found.inferred:
        listed = ", ".join(f"{e.string} ({e.support})" for e in found.inferred)
        click.echo(
            f"site list: {len(found.inferred)} entr{'y' if len(found.inferred) == 1 else 'ies'} inferred from "
            f"{found.pages_read} page(s) in {found.seconds:.0f}s and added to the filter list: {listed}",
            err=True,
        )
    elif engine.infer:
        click.echo(f"site list: the {found.pages_read} page(s) prove no entry beyond the list given", err=True)
    return found.config


def make_restorer(config: EngineConfig) -> Restorer:
    try:
        return Restorer.from_config(config)
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


def load_inputs(files: Sequence[str], encoding: str | None, max_bytes: int) -> list[SourceDocument]:
    """The documents named: files, stdin (``-``), and the text files of directories
    (the one directory rule of :func:`restore.io.records.collection_files`)."""
    if not files:
        raise Failure("no input files given")
    from restore.engine.script import unreadable

    docs = []
    for name in expand_directories(files):
        try:
            docs.append(read_document(name, encoding, max_bytes))
        except InputError as exc:
            raise Failure(str(exc)) from None
        why = unreadable(docs[-1].text)
        if why:  # said plainly; the page is still read, and nothing in it is changed
            click.echo(f"restore: {name}: {why}; restore reads Chinese and will find little to restore here", err=True)
    return docs


def expand_directories(names: Sequence[str]) -> list[str]:
    from restore.io.records import TEXT_SUFFIXES, collection_files

    out: list[str] = []
    for name in names:
        path = Path(name)
        if name != "-" and path.is_dir():
            found = [str(f) for f in collection_files(path) if f.suffix.lower() in TEXT_SUFFIXES]
            if not found:
                raise Failure(f"{name}: directory holds no .txt, .text or .md files")
            out.extend(found)
        else:
            out.append(name)
    return out
