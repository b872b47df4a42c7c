"""`restore batch IN OUT`: stream records through the restoration step, in parallel,
resumably, with bad records sent to an error sidecar.

How a run survives a crash: every input record, restored or failed, becomes one line of
``OUT.partial`` (appended whole and flushed, in input order). A re-run reads that file,
drops a torn last line, and skips the input records it already holds. Only when every
record is done is ``OUT`` written (to a temporary name, then renamed), together with
``OUT.errors.jsonl``; so ``OUT`` is never truncated, and a finished run is byte-identical
to an uninterrupted one.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from restore.batch.step import RecordError, RestoreStep, restore_fields
from restore.errors import CollectionError
from restore.io.names import output_names
from restore.io.records import Item, Reader, kind_of
from restore.io.writers import check_outputs, finish_temp, is_special, temp_for, write_atomic

PARTIAL_VERSION = 2  # 2: options are the step's settings, engine settings nested
CHUNK_CHARS = 8_000  # work sent to a worker at once: amortises IPC, keeps workers evenly loaded


# One error type for every run over a collection: reading it, resuming it, writing it.
BatchError = CollectionError


# ---------------------------------------------------------------- work


_WORKER_STEP: RestoreStep | None = None


def _init_worker(step: RestoreStep) -> None:
    global _WORKER_STEP
    _WORKER_STEP = step
    _WORKER_STEP.engine()  # load once, before the first record arrives


def process_item(step: RestoreStep, item: Item) -> str:
    """One line of the partial file for one input record."""
    if item.record is None:
        return _dumps({"i": item.index, "error": {"where": item.where, "reason": item.error}, "id": item.id})
    try:
        text = step.text_of(item.record)
        out = dict(item.record)
        out.update(restore_fields(step.engine_for(item.record), text, step.min_confidence))
    except RecordError as exc:
        return _dumps({"i": item.index, "error": {"where": item.where, "reason": str(exc)}, "id": item.id})
    return _dumps({"i": item.index, "record": out})


def _work_chunk(items: list[Item]) -> list[str]:
    assert _WORKER_STEP is not None
    return [process_item(_WORKER_STEP, item) for item in items]


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)


def _chunks(items: Iterator[Item], text_field: str) -> Iterator[list[Item]]:
    chunk: list[Item] = []
    size = 0
    for item in items:
        chunk.append(item)
        text = item.record.get(text_field) if item.record else None
        size += len(text) if isinstance(text, str) else 1
        if size >= CHUNK_CHARS:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


# ---------------------------------------------------------------- the run


@dataclass
class BatchSummary:
    records: int = 0
    resumed_from: int = 0
    failed: int = 0
    characters: int = 0
    seconds: float = 0.0
    output: str = ""
    errors_path: str | None = None


def partial_path(out: Path) -> Path:
    return out.with_name(out.name.rstrip("/") + ".partial")


def errors_path(out: Path) -> Path:
    return out.with_name(out.name.rstrip("/") + ".errors.jsonl")


def _header(src: Path, config: RestoreStep, id_field: str) -> dict[str, Any]:
    stat = src.stat()
    return {
        "restore_batch": PARTIAL_VERSION,
        "input": str(src.resolve()),
        "input_size": stat.st_size if src.is_file() else None,
        "input_mtime": int(stat.st_mtime),
        "options": {**json.loads(json.dumps(config.settings())), "id_field": id_field},
    }


def _resume(partial: Path, header: dict[str, Any]) -> int | None:
    """How many input records ``partial`` already holds; drops a torn last line. None: it
    holds no record (a run that failed to start), so starting over loses nothing."""
    with partial.open("rb+") as handle:
        first = handle.readline()
        try:
            saved = json.loads(first)
        except json.JSONDecodeError:
            saved = None
        good_end = handle.tell()
        if not handle.read(1):
            return None
        handle.seek(good_end)
        if saved != header:
            raise BatchError(f"{partial} is from a different input or different options; delete it to start over")
        done = 0
        for line in iter(handle.readline, b""):
            if not line.endswith(b"\n"):
                break
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                break
            if entry.get("i") != done:
                raise BatchError(f"{partial} is out of order at record {done}; delete it to start over")
            done += 1
            good_end = handle.tell()
        handle.truncate(good_end)
    return done


Emit = Callable[[list[str], list[Item]], None]
# Runs the step over the pending items and emits their partial-file lines, in input order.
Executor = Callable[[Iterator[Item], RestoreStep, Emit], None]


def run_batch(
    src: Path,
    out: Path,
    config: RestoreStep,
    id_field: str = "id",
    jobs: int = 1,
    on_progress: Callable[[int, int, int, int], None] | None = None,
    force: bool = False,
    executor: Executor | None = None,
) -> BatchSummary:
    """Restore every record of ``src`` into ``out``; see the module docstring. The work
    runs in this process (``jobs`` 1), a local worker pool, or a given ``executor``."""
    out_kind = kind_of(out)
    partial = partial_path(out)
    try:
        check_outputs([out, partial, errors_path(out)], [src])
    except OSError as exc:
        raise BatchError(str(exc)) from None
    if src.is_dir() and out_kind == "dir" and _inside(out, src):
        raise BatchError(f"refusing to write {out}: it is inside the input directory {src}")
    special = out.exists() and not out.is_dir() and is_special(out)
    if out.exists() and not special and not partial.exists() and not force:
        raise BatchError(f"{out} already exists and is complete; use --force to redo it")
    if out_kind == "parquet":
        _require_pyarrow()
    reader = Reader(src, config.text_field, id_field, config.max_bytes)
    header = _header(src, config, id_field)
    summary = BatchSummary(output=str(out))
    step = config
    step.engine()  # fail early (missing model, bad lexicon) before any file is made
    done: int | None = None
    if partial.exists() and not force:
        done = _resume(partial, header)
    if done is None:
        done = 0
        try:
            partial.parent.mkdir(parents=True, exist_ok=True)
            partial.write_text(_dumps(header) + "\n", encoding="utf-8")
        except OSError as exc:
            raise BatchError(f"cannot write {partial}: {exc.strerror or exc}") from None
    summary.resumed_from = done
    started = time.perf_counter()
    pending = (item for item in reader if item.index >= done)
    try:
        with partial.open("a", encoding="utf-8") as sink:

            def emit(lines: list[str], items: list[Item]) -> None:
                sink.write("".join(line + "\n" for line in lines))
                sink.flush()
                summary.records += len(items)
                for item in items:
                    text = item.record.get(config.text_field) if item.record else None
                    summary.characters += len(text) if isinstance(text, str) else 0
                if on_progress:
                    on_progress(done + summary.records, summary.characters, reader.position, reader.size)

            if executor is not None:
                executor(pending, config, emit)
            elif jobs <= 1:
                for chunk in _chunks(pending, config.text_field):
                    emit([process_item(step, item) for item in chunk], chunk)
            else:
                _run_pool(pending, config, jobs, emit)
    except OSError as exc:
        # What was written so far stays in the partial file: a re-run resumes from it.
        raise BatchError(f"cannot write {partial}: {exc.strerror or exc}") from None
    summary.seconds = time.perf_counter() - started
    summary.failed, summary.errors_path = _finish(partial, out, out_kind, config.text_field, id_field)
    return summary


def _inside(path: Path, directory: Path) -> bool:
    try:
        Path(os.path.realpath(path)).relative_to(os.path.realpath(directory))
    except ValueError:
        return False
    return True


def _run_pool(pending: Iterator[Item], config: RestoreStep, jobs: int, emit: Emit) -> None:
    import multiprocessing

    # fork: workers inherit the loaded modules; each maps the model files itself, so the
    # kernel shares their pages. A bounded window of chunks in flight keeps memory flat on
    # inputs of any size, and results are written in input order.
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(jobs, initializer=_init_worker, initargs=(config,)) as pool:
        window: deque[tuple[Any, list[Item]]] = deque()
        for chunk in _chunks(pending, config.text_field):
            window.append((pool.apply_async(_work_chunk, (chunk,)), chunk))
            if len(window) >= 2 * jobs:
                result, items = window.popleft()
                emit(result.get(), items)
        while window:
            result, items = window.popleft()
            emit(result.get(), items)


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise BatchError("Parquet needs pyarrow: pip install 'restore[parquet]'") from None


def _partial_entries(partial: Path) -> Iterator[dict[str, Any]]:
    with partial.open("r", encoding="utf-8") as handle:
        handle.readline()  # header
        for line in handle:
            yield json.loads(line)


def _finish(partial: Path, out: Path, kind: str, text_field: str, id_field: str) -> tuple[int, str | None]:
    errors: list[dict[str, Any]] = []

    def records() -> Iterator[dict[str, Any]]:
        for entry in _partial_entries(partial):
            if "error" in entry:
                errors.append({"index": entry["i"], **entry["error"], "id": entry.get("id")})
            else:
                yield entry["record"]

    try:
        if kind == "jsonl":
            _write_jsonl(out, records())
        elif kind == "parquet":
            _write_parquet(out, records())
        else:
            _write_dir(out, records(), text_field, id_field, _record_keys(partial, id_field))
    except OSError as exc:
        # The partial file is kept: a re-run after freeing space or fixing rights resumes.
        raise BatchError(f"cannot write {out}: {exc.strerror or exc}") from None
    err_path = errors_path(out)
    if errors:
        write_atomic(err_path, "".join(_dumps(e) + "\n" for e in errors))
    elif err_path.exists():
        err_path.unlink()
    partial.unlink()
    return len(errors), str(err_path) if errors else None


def _write_jsonl(out: Path, records: Iterator[dict[str, Any]]) -> None:
    tmp = temp_for(out)
    name = out.name.lower()
    try:
        raw: IO[bytes]
        if name.endswith(".gz"):
            # mtime=0: the same records always give the same bytes.
            raw = gzip.GzipFile(filename="", fileobj=tmp.open("wb"), mode="wb", mtime=0)  # type: ignore[assignment]
        elif name.endswith(".xz"):
            raw = lzma.open(tmp, "wb")  # type: ignore[assignment]
        elif name.endswith(".bz2"):
            raw = bz2.open(tmp, "wb")  # type: ignore[assignment]
        elif name.endswith(".zst"):
            import zstandard

            raw = zstandard.ZstdCompressor().stream_writer(tmp.open("wb"))  # type: ignore[assignment]
        else:
            raw = tmp.open("wb")
        with raw:
            for record in records:
                raw.write((_dumps(record) + "\n").encode("utf-8"))
        finish_temp(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


NESTED = ("restorations", "gaps_unfilled", "qc")


def _write_parquet(out: Path, records: Iterator[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp = temp_for(out)
    writer = None
    try:
        batch: list[dict[str, Any]] = []

        def flush() -> None:
            nonlocal writer
            if not batch:
                return
            # Nested evidence is stored as JSON text: its shape varies from record to record.
            rows = [{k: (_dumps(v) if k in NESTED else v) for k, v in r.items()} for r in batch]
            table = pa.Table.from_pylist(rows, schema=writer.schema if writer else None)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table)
            batch.clear()

        for record in records:
            batch.append(record)
            if len(batch) >= 512:
                flush()
        flush()
        if writer is None:
            pq.write_table(pa.table({}), tmp)
        else:
            writer.close()
            writer = None
        finish_temp(tmp, out)
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)


def _record_keys(partial: Path, id_field: str) -> list[str]:
    """The output name key of every restored record, in order (a first pass over the
    partial file, so names can be made unique before any is written)."""
    keys: list[str] = []
    for entry in _partial_entries(partial):
        if "record" in entry:
            n = len(keys)
            keys.append(str(entry["record"].get(id_field) or f"record-{n:06d}"))
    return keys


def _write_dir(out: Path, records: Iterator[dict[str, Any]], text_field: str, id_field: str, keys: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    names = output_names(keys)
    manifest = []
    # Every record is drawn (zip would stop at the last name, before error entries after it).
    for n, record in enumerate(records):
        name = names[n]
        write_atomic(out / name, record["restored_text"])
        manifest.append(
            _dumps({k: v for k, v in record.items() if k not in (text_field, "restored_text")} | {"file": name})
        )
    write_atomic(out / "restorations.jsonl", "".join(line + "\n" for line in manifest))
