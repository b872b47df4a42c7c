"""Collections read record by record: JSONL (also .gz/.xz/.zst/.bz2), Parquet, or a
directory of pages. Every command that takes a collection reads it here, so a directory
or a damaged file means the same thing to all of them.

A record that cannot be used becomes an :class:`Item` with an ``error`` (and its id when
one can be read), and reading goes on; damage to the file itself (truncation, corrupt
compressed data) raises :class:`CollectionError` naming it, so a cut file is never taken
for a complete one.
"""

from __future__ import annotations

import io
import json
import lzma
import random
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from restore.errors import CollectionError, InputError
from restore.io.compression import damage_message, open_binary, strip_compression
from restore.io.documents import looks_binary, read_document, too_large

TEXT_SUFFIXES = (".txt", ".text", ".md")
T = TypeVar("T")
# JSON escapes (\u4e00 is six bytes for three of UTF-8) can make a line several times
# longer than its text; a line past this is skipped unread.
ESCAPE_ALLOWANCE = 6


@dataclass(frozen=True)
class Item:
    index: int  # position in the collection, from 0
    where: str  # "line 12", "row 3", or a file name, for error reports
    record: dict[str, Any] | None
    error: str | None = None
    id: Any = None  # the record's id where it could be read, for the errors file


def is_jsonl(path: Path) -> bool:
    base = strip_compression(path.name).lower()
    return base.endswith((".jsonl", ".json", ".ndjson"))


def is_document_file(path: Path) -> bool:
    return path.suffix.lower() in TEXT_SUFFIXES or is_jsonl(path)


def collection_files(root: Path) -> list[Path]:
    """The one rule for a directory: its text and JSONL files at any depth, hidden files
    and folders left out, in sorted order so every run sees the same sequence."""
    found = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).parts
        if p.is_file() and not any(part.startswith(".") for part in rel) and is_document_file(p):
            found.append(p)
    return found


def kind_of(path: Path) -> str:
    """ "jsonl", "parquet" or "dir" (a directory, or a name without an extension)."""
    name = path.name.lower()
    if path.is_dir() or name.endswith("/") or (not path.exists() and "." not in name):
        return "dir"
    base = strip_compression(name)
    if base.endswith(".parquet"):
        return "parquet"
    if base.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    raise CollectionError(f"{path}: unknown format (use .jsonl[.gz|.xz|.zst|.bz2], .parquet, or a directory of .txt)")


def lone_surrogate(value: Any) -> str | None:
    """The first lone surrogate in any string of ``value`` (JSON lets "\\ud800" through;
    it is not a character and cannot be written as UTF-8)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"\\u{ord(value[exc.start]):04x}"
        return None
    if isinstance(value, dict):
        for k, v in value.items():
            found = lone_surrogate(k) or lone_surrogate(v)
            if found:
                return found
    elif isinstance(value, list):
        for v in value:
            found = lone_surrogate(v)
            if found:
                return found
    return None


def _clean_id(value: Any) -> Any:
    return None if lone_surrogate(value) else value


def check_record(record: dict[str, Any], text_field: str, max_bytes: int) -> str | None:
    """Why a parsed record cannot be restored, or None."""
    bad = lone_surrogate(record)
    if bad:
        return f"holds a lone surrogate ({bad}), which is not a character (the source is damaged)"
    text = record.get(text_field)
    if isinstance(text, str):
        size = len(text.encode("utf-8"))
        if size > max_bytes:
            return f"text: {too_large(size, max_bytes)} a document may have"
    return None


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


def jsonl_items(
    handle: IO[bytes], text_field: str, id_field: str, max_bytes: int, start: int = 0, label: str = ""
) -> Iterator[Item]:
    """Records of a JSONL stream; ``label`` prefixes ``where`` (a file inside a directory)."""
    index = start
    lineno = 0
    cap = ESCAPE_ALLOWANCE * max_bytes + 4096
    prefix = f"{label}:" if label else "line "
    while True:
        line = handle.readline(cap + 2)
        if not line:
            return
        lineno += 1
        where = f"{prefix}{lineno}"
        if len(line) > cap + 1 and not line.endswith(b"\n"):
            # Too long to be a document even escaped: skip to the end of the line unheld.
            while True:
                rest = handle.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            yield Item(index, where, None, f"record is more than {cap / 1e6:.0f} MB")
            index += 1
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except UnicodeDecodeError:
            yield Item(index, where, None, "not UTF-8")
        except json.JSONDecodeError as exc:
            torn = not line.endswith(b"\n") and exc.msg.startswith(("Unterminated", "Expecting"))
            reason = "torn last line (was the file cut short?)" if torn else f"invalid JSON ({exc.msg})"
            yield Item(index, where, None, f"{reason} at column {exc.colno}")
        else:
            if not isinstance(record, dict):
                yield Item(index, where, None, "not a JSON object")
            else:
                problem = check_record(record, text_field, max_bytes)
                ident = _clean_id(record.get(id_field))
                if problem:
                    yield Item(index, where, None, problem, ident)
                else:
                    yield Item(index, where, record, None, ident)
        index += 1


def _parquet_items(path: Path, text_field: str, id_field: str, max_bytes: int) -> Iterator[Item]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise CollectionError("Parquet needs pyarrow: pip install 'restore[parquet]'") from None
    try:
        source = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises its own error types for damaged files
        raise CollectionError(f"{path}: not a readable Parquet file ({exc})") from None
    index = 0
    for batch in source.iter_batches(batch_size=256):
        for record in batch.to_pylist():
            problem = check_record(record, text_field, max_bytes)
            ident = _clean_id(record.get(id_field))
            yield Item(index, f"row {index + 1}", None if problem else record, problem, ident)
            index += 1


def _dir_items(path: Path, text_field: str, id_field: str, max_bytes: int) -> Iterator[Item]:
    files = collection_files(path)
    if not files:
        raise CollectionError(f"{path}: no .txt or .jsonl files in this directory")
    index = 0
    for f in files:
        rel = f.relative_to(path).as_posix()
        if is_jsonl(f):
            start = index
            for item in _read_jsonl_file(f, text_field, id_field, max_bytes, start, rel):
                index = item.index + 1
                yield item
            continue
        try:
            doc = read_document(str(f), None, max_bytes)
        except InputError as exc:
            yield Item(index, rel, None, str(exc).removeprefix(f"{f}: "), rel)
        else:
            yield Item(index, rel, {id_field: rel, text_field: doc.text}, None, rel)
        index += 1


def _read_jsonl_file(
    path: Path, text_field: str, id_field: str, max_bytes: int, start: int = 0, label: str = ""
) -> Iterator[Item]:
    check_text(path)
    with open_binary(path) as handle:
        try:
            yield from jsonl_items(handle, text_field, id_field, max_bytes, start, label)
        except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
            raise CollectionError(damage_message(path, exc)) from None


def check_text(path: Path) -> None:
    """Refuse binary data and name a non-UTF-8 encoding before any record is read."""
    try:
        with open_binary(path) as handle:
            head = handle.read(1 << 16)
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
        raise CollectionError(damage_message(path, exc)) from None
    if not head.strip():
        raise CollectionError(f"{path}: no records (only whitespace)")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CollectionError(f"{path}: UTF-16 text; convert it to UTF-8: iconv -f utf-16 -t utf-8")
    if looks_binary(head):
        raise CollectionError(f"{path}: looks like binary data, not JSONL")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            hint = " (looks like GB18030; convert it: iconv -f gb18030 -t utf-8)" if _decodes_gb(head) else ""
            raise CollectionError(f"{path}: not UTF-8 text{hint}") from None


def _decodes_gb(data: bytes) -> bool:
    for cut in range(4):  # the sample may end inside a character
        try:
            data[: len(data) - cut].decode("gb18030")
            return True
        except UnicodeDecodeError:
            continue
    return False


class Reader:
    """A collection's records in order, streamed; ``position``/``size`` drive a progress bar.

    >>> import tempfile, pathlib
    >>> src = pathlib.Path(tempfile.mkdtemp()) / "pages.jsonl"
    >>> _ = src.write_text('{"id": "a", "text": "铁、公"}\\n{"id": "b", "text": "x\\\\ud800"}\\n', "utf-8")
    >>> [(i.id, i.error is None) for i in Reader(src)]
    [('a', True), ('b', False)]
    """

    def __init__(self, path: Path, text_field: str = "text", id_field: str = "id", max_bytes: int = 8 << 20):
        if not path.exists():
            raise CollectionError(f"{path}: no such file or directory")
        self.path = path
        self.kind = kind_of(path)
        self.counter: _Counting | None = None
        self.size = path.stat().st_size if path.is_file() else 0
        self._items: Iterator[Item]
        if self.kind == "jsonl":
            if self.size == 0:
                raise CollectionError(f"{path}: file is empty")
            try:
                check_text(path)
                self.counter = _Counting(path.open("rb"))
            except OSError as exc:
                raise CollectionError(f"{path}: cannot read: {exc.strerror or exc}") from None
            self._items = jsonl_items(open_binary(path, self.counter), text_field, id_field, max_bytes)  # type: ignore[arg-type]
        elif self.kind == "parquet":
            self._items = _parquet_items(path, text_field, id_field, max_bytes)
        else:
            self._items = _dir_items(path, text_field, id_field, max_bytes)

    @property
    def position(self) -> int:
        return self.counter.read_bytes if self.counter else 0

    def __iter__(self) -> Iterator[Item]:
        try:
            yield from self._items
        except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
            raise CollectionError(damage_message(self.path, exc)) from None


class Reservoir(Generic[T]):
    """A uniform sample of at most ``size`` items (all of them when ``size`` is 0) of a
    stream read once: reservoir sampling with a fixed seed, so a crawl of millions of pages
    fits in memory and the same crawl always gives the same sample."""

    def __init__(self, size: int, seed: int = 0):
        self.size = size
        self.sample: list[T] = []
        self.seen = 0
        self._rng = random.Random(seed)

    def add(self, item: T) -> None:
        self.seen += 1
        if not self.size or len(self.sample) < self.size:
            self.sample.append(item)
        elif (slot := self._rng.randrange(self.seen)) < self.size:
            self.sample[slot] = item


def reservoir(items: Iterable[T], size: int, seed: int = 0) -> tuple[list[T], int]:
    """The :class:`Reservoir` sample of ``items``, and how many there were.

    >>> reservoir(range(10), 3)
    ([5, 1, 6], 10)
    """
    kept: Reservoir[T] = Reservoir(size, seed)
    for item in items:
        kept.add(item)
    return kept.sample, kept.seen
