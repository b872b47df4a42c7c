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
import io
import json
import lzma
import os
import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from .inputs import InputError, looks_binary, read_document
from .outputs import write_atomic
from .pipeline import RecordError, RestoreStep, StepConfig, engine_for, restore_fields

PARTIAL_VERSION = 1
CHUNK_CHARS = 8_000  # work sent to a worker at once: amortises IPC, keeps workers evenly loaded
COMPRESSED = (".gz", ".xz", ".zst", ".bz2")


class BatchError(Exception):
    """The batch cannot run; one line for stderr."""


@dataclass(frozen=True)
class Item:
    index: int  # position in the input, from 0
    where: str  # "line 12" or a file name, for error reports
    record: dict[str, Any] | None
    error: str | None = None


# ---------------------------------------------------------------- formats


def kind_of(path: Path) -> str:
    name = path.name.lower()
    if path.is_dir() or name.endswith("/") or (not path.exists() and "." not in name):
        return "dir"
    base = name
    for suffix in COMPRESSED:
        base = base.removesuffix(suffix)
    if base.endswith(".parquet"):
        return "parquet"
    if base.endswith(".jsonl") or base.endswith(".json") or base.endswith(".ndjson"):
        return "jsonl"
    raise BatchError(f"{path}: unknown format (use .jsonl[.gz|.xz|.zst|.bz2], .parquet, or a directory of .txt)")


class _Counting(io.RawIOBase):
    """Counts the compressed bytes read, for the progress bar."""

    def __init__(self, raw: IO[bytes]):
        self.raw = raw
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        self.read_bytes += n or 0
        return n or 0

    def close(self) -> None:
        self.raw.close()
        super().close()


def _open_binary(path: Path, counter: _Counting) -> IO[bytes]:
    name = path.name.lower()
    stream: IO[bytes] = io.BufferedReader(counter, 1 << 20)
    if name.endswith(".gz"):
        return gzip.GzipFile(fileobj=stream)  # type: ignore[return-value]
    if name.endswith(".xz"):
        return lzma.LZMAFile(stream)  # type: ignore[return-value]
    if name.endswith(".bz2"):
        return bz2.BZ2File(stream)  # type: ignore[return-value]
    if name.endswith(".zst"):
        import zstandard

        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(stream), 1 << 20)  # type: ignore[arg-type]
    return stream


def _jsonl_items(handle: IO[bytes], max_bytes: int) -> Iterator[Item]:
    index = 0
    lineno = 0
    while True:
        line = handle.readline(max_bytes + 2)
        if not line:
            return
        lineno += 1
        if len(line) > max_bytes + 1 and not line.endswith(b"\n"):
            # Too long to be a document: skip to the end of the line without holding it.
            while True:
                rest = handle.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            yield Item(index, f"line {lineno}", None, f"record is more than {max_bytes / 1e6:.0f} MB")
            index += 1
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except UnicodeDecodeError:
            yield Item(index, f"line {lineno}", None, "not UTF-8")
        except json.JSONDecodeError as exc:
            yield Item(index, f"line {lineno}", None, f"invalid JSON ({exc.msg} at column {exc.colno})")
        else:
            if isinstance(record, dict):
                yield Item(index, f"line {lineno}", record)
            else:
                yield Item(index, f"line {lineno}", None, "not a JSON object")
        index += 1


def _parquet_items(path: Path) -> Iterator[Item]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise BatchError("Parquet needs pyarrow: pip install 'restore[parquet]'") from None
    try:
        source = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises its own error types for damaged files
        raise BatchError(f"{path}: not a readable Parquet file ({exc})") from None
    index = 0
    for batch in source.iter_batches(batch_size=256):
        for record in batch.to_pylist():
            yield Item(index, f"row {index + 1}", record)
            index += 1


def _dir_items(path: Path, text_field: str, id_field: str, max_bytes: int) -> Iterator[Item]:
    files = sorted(p for p in path.rglob("*.txt") if p.is_file())
    if not files:
        raise BatchError(f"{path}: no .txt files in this directory")
    for index, f in enumerate(files):
        rel = f.relative_to(path).as_posix()
        try:
            doc = read_document(str(f), None, max_bytes)
        except InputError as exc:
            yield Item(index, rel, None, str(exc).removeprefix(f"{f}: "))
            continue
        yield Item(index, rel, {id_field: rel, text_field: doc.text})


def _check_text(path: Path) -> None:
    """Refuse binary data and name a non-UTF-8 encoding before any record is read."""
    with _open_binary(path, _Counting(path.open("rb"))) as handle:
        try:
            head = handle.read(1 << 16)
        except (OSError, EOFError, lzma.LZMAError) as exc:
            raise BatchError(f"{path}: cannot read (damaged or truncated?): {exc}") from None
    if not head.strip():
        raise BatchError(f"{path}: no records (only whitespace)")
    if looks_binary(head):
        raise BatchError(f"{path}: looks like binary data, not JSONL")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            hint = " (looks like GB18030; convert it: iconv -f gb18030 -t utf-8)" if _decodes_gb(head) else ""
            raise BatchError(f"{path}: not UTF-8 text{hint}") from None


def _decodes_gb(data: bytes) -> bool:
    for cut in range(4):  # the sample may end inside a character
        try:
            data[: len(data) - cut].decode("gb18030")
            return True
        except UnicodeDecodeError:
            continue
    return False


class Reader:
    """Input records in order, streamed; ``position``/``size`` drive the progress bar."""

    def __init__(self, path: Path, text_field: str, id_field: str, max_bytes: int):
        if not path.exists():
            raise BatchError(f"{path}: no such file or directory")
        self.path = path
        self.kind = kind_of(path)
        self.counter: _Counting | None = None
        self.size = path.stat().st_size if path.is_file() else 0
        self._items: Iterator[Item]
        if self.kind == "jsonl":
            if self.size == 0:
                raise BatchError(f"{path}: file is empty")
            try:
                _check_text(path)
                self.counter = _Counting(path.open("rb"))
            except OSError as exc:
                raise BatchError(f"{path}: cannot read: {exc.strerror or exc}") from None
            self._items = _jsonl_items(_open_binary(path, self.counter), max_bytes)
        elif self.kind == "parquet":
            self._items = _parquet_items(path)
        else:
            self._items = _dir_items(path, text_field, id_field, max_bytes)

    @property
    def position(self) -> int:
        return self.counter.read_bytes if self.counter else 0

    def __iter__(self) -> Iterator[Item]:
        try:
            yield from self._items
        except (OSError, EOFError, lzma.LZMAError) as exc:
            raise BatchError(f"{self.path}: cannot read (damaged or truncated?): {exc}") from None


# ---------------------------------------------------------------- work


_WORKER_STEP: RestoreStep | None = None


def _init_worker(config: StepConfig) -> None:
    global _WORKER_STEP
    _WORKER_STEP = RestoreStep(**{**asdict(config), "lexicons": tuple(config.lexicons)})
    _WORKER_STEP.engine()  # load once, before the first record arrives


def process_item(step: RestoreStep, item: Item) -> str:
    """One line of the partial file for one input record."""
    if item.record is None:
        return _dumps({"i": item.index, "error": {"where": item.where, "reason": item.error}})
    try:
        text = step.text_of(item.record)
        out = dict(item.record)
        out.update(restore_fields(engine_for(step.config), text, step.min_confidence))
    except RecordError as exc:
        return _dumps({"i": item.index, "error": {"where": item.where, "reason": str(exc)}, "id": _id(item)})
    return _dumps({"i": item.index, "record": out})


def _id(item: Item) -> Any:
    return None if item.record is None else item.record.get("id")


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


def _header(src: Path, config: StepConfig, id_field: str) -> dict[str, Any]:
    stat = src.stat()
    return {
        "restore_batch": PARTIAL_VERSION,
        "input": str(src.resolve()),
        "input_size": stat.st_size if src.is_file() else None,
        "input_mtime": int(stat.st_mtime),
        "options": {
            **asdict(config),
            "lexicons": list(config.lexicons),
            "exclude": list(config.exclude),
            "id_field": id_field,
        },
    }


def _resume(partial: Path, header: dict[str, Any]) -> int:
    """How many input records ``partial`` already holds; drops a torn last line."""
    with partial.open("rb+") as handle:
        first = handle.readline()
        try:
            saved = json.loads(first)
        except json.JSONDecodeError:
            saved = None
        if saved != header:
            raise BatchError(f"{partial} is from a different input or different options; delete it to start over")
        good_end = handle.tell()
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
Executor = Callable[[Iterator[Item], StepConfig, Emit], None]


def run_batch(
    src: Path,
    out: Path,
    config: StepConfig,
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
    if out.exists() and not partial.exists() and not force:
        raise BatchError(f"{out} already exists and is complete; use --force to redo it")
    if out_kind == "parquet":
        _require_pyarrow()
    reader = Reader(src, config.text_field, id_field, config.max_bytes)
    header = _header(src, config, id_field)
    summary = BatchSummary(output=str(out))
    done = 0
    if partial.exists() and not force:
        done = _resume(partial, header)
        summary.resumed_from = done
    else:
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(_dumps(header) + "\n", encoding="utf-8")

    step = RestoreStep(**{**asdict(config), "lexicons": tuple(config.lexicons)})
    step.engine()  # fail early (missing model, bad lexicon) before touching any record
    started = time.perf_counter()
    pending = (item for item in reader if item.index >= done)
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
    summary.seconds = time.perf_counter() - started
    summary.failed, summary.errors_path = _finish(partial, out, out_kind, config.text_field, id_field)
    return summary


def _run_pool(pending: Iterator[Item], config: StepConfig, jobs: int, emit: Emit) -> None:
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

    if kind == "jsonl":
        _write_jsonl(out, records())
    elif kind == "parquet":
        _write_parquet(out, records())
    else:
        _write_dir(out, records(), text_field, id_field)
    err_path = errors_path(out)
    if errors:
        write_atomic(err_path, "".join(_dumps(e) + "\n" for e in errors))
    elif err_path.exists():
        err_path.unlink()
    partial.unlink()
    return len(errors), str(err_path) if errors else None


def _tmp_for(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _write_jsonl(out: Path, records: Iterator[dict[str, Any]]) -> None:
    tmp = _tmp_for(out)
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
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


NESTED = ("restorations", "gaps_unfilled", "qc")


def _write_parquet(out: Path, records: Iterator[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp = _tmp_for(out)
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
        os.replace(tmp, out)
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)


def safe_name(key: str) -> str:
    name = re.sub(r'[\\:*?"<>|\x00-\x1f]+', "_", key).strip("/ ")
    parts = [p for p in name.split("/") if p not in ("", ".", "..")]
    return "/".join(parts) or "document"


def _write_dir(out: Path, records: Iterator[dict[str, Any]], text_field: str, id_field: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    manifest = []
    for n, record in enumerate(records):
        key = str(record.get(id_field) or f"record-{n:06d}")
        name = safe_name(key)
        if not name.endswith(".txt"):
            name += ".txt"
        write_atomic(out / name, record["restored_text"])
        manifest.append(
            _dumps({k: v for k, v in record.items() if k not in (text_field, "restored_text")} | {"file": name})
        )
    write_atomic(out / "restorations.jsonl", "".join(line + "\n" for line in manifest))
