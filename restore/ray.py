"""Ray Data for clusters (``pip install 'restore[ray]'``).

``restore_dataset(ds)`` adds the restoration columns to a Ray dataset with ``map_batches``
over an actor class, so each actor loads the memory-mapped model once and keeps it::

    import ray
    from restore.ray import restore_dataset

    ray.init(address="auto")                        # an existing cluster
    ds = ray.data.read_json("s3://bucket/scraped/")  # any Ray Data source
    restore_dataset(ds, text_field="text").write_parquet("s3://bucket/restored/")

``restore batch --engine ray`` runs the same step behind the CLI, with the local batch
runner's order, resume and error sidecar.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .batch import (
    BatchError,
    BatchSummary,
    Item,
    Reader,
    _finish,
    _header,
    _resume,
    kind_of,
    partial_path,
)
from .pipeline import ADDED_FIELDS, RecordError, RestoreStep, StepConfig

WINDOW = 16384  # records handed to Ray at a time by the CLI runner (bounds driver memory)


class RayRestorer:
    """The actor class: one engine per actor, loaded when the actor starts."""

    def __init__(self, config: StepConfig):
        self.step = RestoreStep(**{**asdict(config), "lexicons": tuple(config.lexicons)})
        self.step.engine()

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        columns = self.step.map_batch(batch)
        # Evidence varies in shape from record to record; as JSON text it fits one Arrow type.
        for name in ADDED_FIELDS[1:]:
            columns[name] = [json.dumps(v, ensure_ascii=False) for v in columns[name]]
        return columns


def restore_dataset(
    ds: Any,
    text_field: str = "text",
    min_confidence: float | None = None,
    model_dir: str | None = None,
    lexicons: tuple[str, ...] = (),
    replace_lexicon: bool = False,
    actors: int | None = None,
    batch_size: int = 16,
) -> Any:
    """A Ray dataset with ``restored_text`` plus ``restorations``, ``gaps_unfilled`` and
    ``qc`` (JSON text) added to every row. ``actors`` defaults to the cluster's CPUs."""
    import ray

    config = StepConfig(text_field=text_field, model_dir=model_dir, lexicons=lexicons, replace_lexicon=replace_lexicon)
    if min_confidence is not None:
        config = StepConfig(**{**asdict(config), "min_confidence": min_confidence})
    size = actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
    return ds.map_batches(
        RayRestorer,
        fn_constructor_kwargs={"config": config},
        batch_size=batch_size,
        batch_format="numpy",
        concurrency=size,
        num_cpus=1,
    )


def _windows(items: Iterator[Item], size: int) -> Iterator[list[Item]]:
    window: list[Item] = []
    for item in items:
        window.append(item)
        if len(window) >= size:
            yield window
            window = []
    if window:
        yield window


def run_batch_on_ray(
    src: Path,
    out: Path,
    config: StepConfig,
    id_field: str = "id",
    address: str | None = None,
    force: bool = False,
    actors: int | None = None,
) -> BatchSummary:
    """`restore batch --engine ray`: the same output, order, resume and sidecar as the
    local runner; records go to Ray in windows and come back in input order."""
    try:
        import ray
    except ImportError:
        raise BatchError("--engine ray needs Ray: pip install 'restore[ray]'") from None
    out_kind = kind_of(out)
    partial = partial_path(out)
    if out.exists() and not partial.exists() and not force:
        raise BatchError(f"{out} already exists and is complete; use --force to redo it")
    reader = Reader(src, config.text_field, id_field, config.max_bytes)
    header = _header(src, config, id_field)
    summary = BatchSummary(output=str(out))
    done = 0
    if partial.exists() and not force:
        done = summary.resumed_from = _resume(partial, header)
    else:
        partial.write_text(json.dumps(header, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    step = RestoreStep(**{**asdict(config), "lexicons": tuple(config.lexicons)})
    started_ray = False
    if not ray.is_initialized():
        os.environ.setdefault("RAY_DEDUP_LOGS", "0")
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
            ignore_reinit_error=True,
        )
        started_ray = True
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = False
    started = time.perf_counter()
    try:
        with partial.open("a", encoding="utf-8") as sink:
            pending = (item for item in reader if item.index >= done)
            for window in _windows(pending, WINDOW):
                lines: dict[int, str] = {}
                good: list[Item] = []
                for item in window:
                    if item.record is None:
                        lines[item.index] = _error_line(item, item.error or "unreadable")
                        continue
                    try:
                        step.text_of(item.record)
                    except RecordError as exc:
                        lines[item.index] = _error_line(item, str(exc))
                        continue
                    good.append(item)
                if good:
                    rows = [{"__index": it.index, config.text_field: it.record[config.text_field]} for it in good]  # type: ignore[index]
                    ds = restore_dataset(
                        ray.data.from_items(rows),
                        text_field=config.text_field,
                        min_confidence=config.min_confidence,
                        model_dir=config.model_dir,
                        lexicons=config.lexicons,
                        replace_lexicon=config.replace_lexicon,
                        actors=actors,
                    )
                    by_index = {it.index: it for it in good}
                    for row in ds.iter_rows():
                        index = int(row["__index"])
                        record = dict(by_index[index].record or {})
                        record["restored_text"] = row["restored_text"]
                        for name in ADDED_FIELDS[1:]:
                            record[name] = json.loads(row[name])
                        lines[index] = json.dumps({"i": index, "record": record}, ensure_ascii=False, default=str)
                        summary.characters += len(record[config.text_field])
                for index in sorted(lines):
                    sink.write(lines[index] + "\n")
                sink.flush()
                summary.records += len(window)
    finally:
        if started_ray:
            ray.shutdown()
    summary.seconds = time.perf_counter() - started
    summary.failed, summary.errors_path = _finish(partial, out, out_kind, config.text_field, id_field)
    return summary


def _error_line(item: Item, reason: str) -> str:
    record_id = item.record.get("id") if item.record else None
    entry = {"i": item.index, "error": {"where": item.where, "reason": reason}, "id": record_id}
    return json.dumps(entry, ensure_ascii=False, default=str)
