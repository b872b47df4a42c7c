"""Ray Data for clusters (``pip install 'restore[ray]'``).

``restore_dataset(ds)`` adds the restoration columns to a Ray dataset with ``map_batches``
over an actor class, so each actor loads the memory-mapped model once and keeps it::

    import ray
    from restore.batch.ray import restore_dataset

    ray.init(address="auto")                        # an existing cluster
    ds = ray.data.read_json("s3://bucket/scraped/")  # any Ray Data source
    restore_dataset(ds, text_field="text").write_parquet("s3://bucket/restored/")

``restore batch --engine ray`` runs the same step behind the CLI, with the local batch
runner's order, resume and error sidecar.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from restore.batch.runner import BatchError, BatchSummary, Emit, Item, process_item, run_batch
from restore.batch.step import ADDED_FIELDS, RecordError, RestoreStep
from restore.engine.config import EngineConfig

WINDOW = 16384  # records handed to Ray at a time by the CLI runner (bounds driver memory)


class RayRestorer:
    """The actor class: one engine per actor, loaded when the actor starts."""

    def __init__(self, config: RestoreStep):
        self.step = config
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
    engine_config: EngineConfig | None = None,
    actors: int | None = None,
    batch_size: int = 16,
) -> Any:
    """A Ray dataset with ``restored_text`` plus ``restorations``, ``gaps_unfilled`` and
    ``qc`` (JSON text) added to every row. ``actors`` defaults to the cluster's CPUs.
    Rows keep their order only when the dataset was created with
    ``DataContext.get_current().execution_options.preserve_order = True``."""
    import ray

    config = RestoreStep(text_field=text_field, engine_config=engine_config or EngineConfig())
    if min_confidence is not None:
        config = replace(config, min_confidence=min_confidence)
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


def _ray_executor(pending: Iterator[Item], config: RestoreStep, emit: Emit, actors: int | None = None) -> None:
    """Hands records to Ray in windows; results come back in input order (preserve_order)
    and become the same partial-file lines the local runner writes."""
    import ray

    step = config
    for window in _windows(pending, WINDOW):
        lines: dict[int, str] = {}
        good: list[Item] = []
        for item in window:
            try:
                if item.record is None:
                    raise RecordError(item.error or "unreadable")
                step.text_of(item.record)
                good.append(item)
            except RecordError:
                lines[item.index] = process_item(step, item)  # the error line, as the local runner writes it
        if good:
            rows = [{"__index": it.index, config.text_field: (it.record or {})[config.text_field]} for it in good]
            ds = restore_dataset(
                ray.data.from_items(rows),
                text_field=config.text_field,
                min_confidence=config.min_confidence,
                engine_config=config.engine_config,
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
        emit([lines[i] for i in sorted(lines)], window)


def run_batch_on_ray(
    src: Path,
    out: Path,
    config: RestoreStep,
    id_field: str = "id",
    address: str | None = None,
    force: bool = False,
    actors: int | None = None,
    on_progress: Callable[[int, int, int, int], None] | None = None,
) -> BatchSummary:
    """`restore batch --engine ray`: the local runner's order, resume and error sidecar,
    with Ray doing the work."""
    try:
        import ray
    except ImportError:
        raise BatchError("--engine ray needs Ray: pip install 'restore[ray]'") from None
    started_ray = False
    if not ray.is_initialized():
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
            ignore_reinit_error=True,
        )
        started_ray = True
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    try:
        return run_batch(
            src,
            out,
            config,
            id_field,
            on_progress=on_progress,
            force=force,
            executor=partial(_ray_executor, actors=actors),
        )
    finally:
        if started_ray:
            ray.shutdown()
