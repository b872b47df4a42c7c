"""What `restore review import` accepts: text files, directories of them, and JSONL
collections. Each unusable file or line becomes one problem message; the rest goes on."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from restore.errors import CollectionError
from restore.io.documents import MAX_DOCUMENT_BYTES, InputError, read_document
from restore.io.records import Reader, collection_files, is_jsonl


@dataclass(frozen=True)
class SourceItem:
    key: str  # the document's name in the workspace (relative path, or the JSONL id)
    text: str
    source: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceProblem:
    where: str
    message: str


def _jsonl_items(
    path: Path, label: str, text_field: str, id_field: str, max_bytes: int
) -> Iterator[SourceItem | SourceProblem]:
    """Records of a JSONL collection, read by the batch runner's streaming reader (so
    compressed files, binary data, other encodings and oversized lines are handled the
    same way in both places)."""
    try:
        reader = Reader(path, text_field, id_field, max_bytes)
        for item in reader:
            lineno = item.where.removeprefix("line ").rsplit(":", 1)[-1]
            if item.record is None:
                yield SourceProblem(f"{label}:{lineno}", item.error or "unreadable")
                continue
            body = item.record.get(text_field)
            if not isinstance(body, str) or not body.strip():
                yield SourceProblem(f"{label}:{lineno}", f"no text in field {text_field!r}")
                continue
            ident = item.record.get(id_field)
            key = str(ident) if ident not in (None, "") else f"{label}:{lineno}"
            meta = {k: v for k, v in item.record.items() if k != text_field}
            meta.update({"file": label, "line": int(lineno)})
            yield SourceItem(key, body, meta)
    except CollectionError as exc:
        yield SourceProblem(label, str(exc).removeprefix(f"{path}: "))


def iter_sources(
    paths: Sequence[str],
    text_field: str = "text",
    id_field: str = "id",
    encoding: str | None = None,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> Iterator[SourceItem | SourceProblem]:
    """Documents in the order given; directories are walked in sorted order."""
    for name in paths:
        path = Path(name)
        if name != "-" and not path.exists():
            yield SourceProblem(name, "no such file or directory")
            continue
        if path.is_dir():
            files = collection_files(path)
            if not files:
                yield SourceProblem(name, "directory holds no .txt or .jsonl files")
            for f in files:
                label = str(f)
                rel = f.relative_to(path).as_posix()
                yield from _one_file(f, label, rel, text_field, id_field, encoding, max_bytes)
        else:
            yield from _one_file(path, name, path.name, text_field, id_field, encoding, max_bytes)


def _one_file(
    path: Path,
    label: str,
    key: str,
    text_field: str,
    id_field: str,
    encoding: str | None,
    max_bytes: int,
) -> Iterator[SourceItem | SourceProblem]:
    if label != "-" and is_jsonl(path):
        yield from _jsonl_items(path, label, text_field, id_field, max_bytes)
        return
    try:
        doc = read_document(label, encoding, max_bytes)
    except InputError as exc:
        yield SourceProblem(label, str(exc).removeprefix(f"{label}: "))
        return
    yield SourceItem(key if label != "-" else "stdin", doc.text, {"file": label, "encoding": doc.encoding})
