"""`restore build …`: every model and table restore ships, rebuilt from a corpus."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from restore.cli.options import (
    Failure,
    corpus_option,
)
from restore.errors import ModelError


@click.group()
def build() -> None:
    """Build the bundled models and data from a corpus (training files only; *-dev* files never train).

    Each writes into the package's data directory by default, or where -o says."""


@build.command("lm")
@corpus_option("Training files or directories (*-dev* files are skipped).")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Model directory to write.")
@click.option("--order", type=int, default=6, show_default=True)
@click.option("--prune", default="0 0 1 1 2 2", show_default=True, help="lmplz --prune thresholds per order.")
@click.option("--kenlm-bin", type=click.Path(path_type=Path), help="Directory with lmplz and build_binary.")
def lm_build(corpora: tuple[Path, ...], output: Path, order: int, prune: str, kenlm_bin: Path | None) -> None:
    """Estimate forward and backward models with kenlm's lmplz (pruned, quantized)."""
    from restore.training.lm import build_models

    try:
        card = build_models(
            list(corpora), output, order=order, prune=[int(x) for x in prune.split()], kenlm_bin=kenlm_bin
        )
    except (ModelError, ValueError) as exc:
        raise Failure(str(exc)) from None
    click.echo(json.dumps(card, ensure_ascii=False, indent=2))


@build.command("index")
@corpus_option("Reference files or directories (*-dev* files are skipped).")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Index directory (default: restore/data/index).")
def index_build(corpora: tuple[Path, ...], output: Path | None) -> None:
    """Build the suffix array (libdivsufsort) over the training split of a corpus."""
    from restore.models.index import DEFAULT_INDEX_DIR
    from restore.training.index import build_index

    try:
        card = build_index(list(corpora), output or DEFAULT_INDEX_DIR)
    except (ModelError, ValueError) as exc:
        raise Failure(str(exc)) from None
    click.echo(json.dumps(card, ensure_ascii=False, indent=2))


@build.command("phrases")
@click.option("--corpus", "corpora", multiple=True, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--lexicon", "lexicons", multiple=True, help="Extra lists whose strings get phrases too.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Default: the bundled phrases.tsv.")
def lexicon_mine(corpora: tuple[Path, ...], lexicons: tuple[str, ...], output: Path | None) -> None:
    """Mine the phrase dictionary from training text."""
    from restore.models.lexicon import DEFAULT_PHRASES, default_filter_list, load_filter_list
    from restore.training.phrases import build_phrase_dictionary

    strings = list(default_filter_list().entries)
    for name in lexicons:
        strings += [e for e in load_filter_list(name).entries if 2 <= len(e) <= 6]
    d = build_phrase_dictionary(list(corpora), strings)
    d.save(output or DEFAULT_PHRASES)
    click.echo(f"{len(d)} phrases for {len({p.filter_string for p in d.phrases})} strings", err=True)


@build.command("reference")
@click.option("--corpus", "corpora", multiple=True, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Default: the bundled reference-ngrams.tsv.xz.")
def lexicon_build_reference(corpora: tuple[Path, ...], output: Path | None) -> None:
    """Count the reference n-grams that `lexicon infer` compares a site against (train text only)."""
    from restore.sites.inference import DEFAULT_REFERENCE
    from restore.training.reference import build_reference, reference_sources

    sources = reference_sources(corpora)
    if not sources:
        raise Failure("no *-train corpus files found")
    ref = build_reference(sources, output or DEFAULT_REFERENCE)
    click.echo(f"{len(ref.counts)} n-grams from {ref.characters:,} characters", err=True)


@build.command("decision")
@click.option("--corpus", "corpora", multiple=True, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--lexicon", "lexicons", multiple=True, help="Extra filter lists to simulate while fitting.")
@click.option("--docs-per-list", type=int, default=250, show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Default: the bundled decision.json.")
def fit_decision_command(
    corpora: tuple[Path, ...], lexicons: tuple[str, ...], docs_per_list: int, output: Path | None
) -> None:
    """Fit the decision model on synthetic damage of held-out train documents."""
    from restore.engine.decision import DEFAULT_PATH
    from restore.training.rescoring import fit_decision

    started = time.time()
    model = fit_decision(list(corpora), [Path(x) for x in lexicons], output or DEFAULT_PATH, docs_per_list)
    click.echo(json.dumps(model.meta, ensure_ascii=False), err=True)
    click.echo(f"fitted in {time.time() - started:.0f}s", err=True)


@build.command("rescoring")
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
    from restore.io.corpus import check_training_sources
    from restore.models.index import CorpusIndex
    from restore.models.neural import DEFAULT_NEURAL_DIR, load_neural
    from restore.training.rescoring import fit_rescorer

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


@build.command("neural")
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
    from restore.models.neural import DEFAULT_NEURAL_DIR
    from restore.training.neural import train_neural

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


@build.command("qc-buckets")
@click.option("--corpus", "corpora", multiple=True, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--model", "model_dir", type=click.Path(path_type=Path), help="Model directory (default: bundled).")
def lm_qc_buckets(corpora: tuple[Path, ...], model_dir: Path | None) -> None:
    """Perplexity bucket edges for `restore qc` (33rd/67th percentile of held-out train paragraphs)."""
    from restore.io.corpus import check_training_sources
    from restore.models.lm import CharLM
    from restore.training.qc_buckets import perplexity_buckets

    try:
        sources = check_training_sources(corpora)
    except ModelError as exc:
        raise Failure(str(exc)) from None
    try:
        edges = perplexity_buckets(CharLM.load(model_dir), sources)
    except ValueError as exc:  # no held-out paragraphs to measure
        raise Failure(str(exc)) from None
    click.echo(json.dumps(edges))


@build.command("masks")
@corpus_option("Training files or directories (*-dev* files are skipped).")
@click.option("--lexicon", "lexicons", multiple=True, help="Extra filter lists to mask with while fitting.")
@click.option("--docs-per-list", type=int, default=150, show_default=True)
@click.option(
    "--index",
    "index",
    metavar="DIR|none",
    help="Fit for the engine with the built corpus index (default), or 'none' for the engine without one.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Default: the bundled mask-calibration.json (mask-calibration-noindex.json with --index none).",
)
def masks_command(
    corpora: tuple[Path, ...], lexicons: tuple[str, ...], docs_per_list: int, index: str | None, output: Path | None
) -> None:
    """Fit the calibration of mask confidences on held-out train documents masked both ways."""
    from restore.training.masks import fit_mask_calibration

    started = time.time()
    try:
        model = fit_mask_calibration(
            list(corpora), [Path(x) for x in lexicons], output, docs_per_list, use_index=(index or "").lower() != "none"
        )
    except (ModelError, ValueError) as exc:
        raise Failure(str(exc)) from None
    for name, curve in (("known length", model.fixed), ("any length", model.open)):
        click.echo(
            f"{name}: slope {curve.slope:.3f}, margin {curve.margin:.3f}, bias {curve.bias:.3f} from {curve.rows} masks",
            err=True,
        )
    click.echo(f"fitted in {time.time() - started:.0f}s", err=True)
