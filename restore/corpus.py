"""Reading clean corpora: JSONL (optionally .xz/.gz/.bz2/.zst) with a ``text`` field, or .txt."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def open_text(path: Path) -> IO[str]:
    """Open a possibly compressed text file for reading as UTF-8."""
    name = path.name
    if name.endswith(".xz"):
        return io.TextIOWrapper(lzma.open(path, "rb"), encoding="utf-8")
    if name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    if name.endswith(".bz2"):
        return io.TextIOWrapper(bz2.open(path, "rb"), encoding="utf-8")
    if name.endswith(".zst"):
        import zstandard

        raw = zstandard.ZstdDecompressor().stream_reader(path.open("rb"))
        return io.TextIOWrapper(raw, encoding="utf-8")
    return path.open("r", encoding="utf-8")


def is_jsonl(path: Path) -> bool:
    stem = path.name
    for suffix in (".xz", ".gz", ".bz2", ".zst"):
        stem = stem.removesuffix(suffix)
    return stem.endswith(".jsonl") or stem.endswith(".json")


def corpus_files(source: Path) -> list[Path]:
    """Expand a file or directory into the corpus files it holds, sorted for determinism."""
    if source.is_dir():
        return sorted(p for p in source.iterdir() if p.is_file() and (is_jsonl(p) or p.suffix == ".txt"))
    return [source]


class CorpusError(ValueError):
    """A corpus file cannot be read: one line that names it and says why."""


def iter_documents(source: Path, text_field: str = "text", id_field: str = "id") -> Iterator[tuple[str, str]]:
    """Yield ``(doc_id, text)`` from each corpus file under ``source``."""
    for path in corpus_files(source):
        lineno = 0
        try:
            if is_jsonl(path):
                with open_text(path) as fh:
                    for lineno, line in enumerate(fh, 1):
                        if not line.strip():
                            continue
                        record = json.loads(line)
                        if not isinstance(record, dict):
                            raise CorpusError(f"{path}: line {lineno}: not a JSON object")
                        text = record.get(text_field)
                        if isinstance(text, str):
                            yield str(record.get(id_field, f"{path.name}:{lineno}")), text
            else:
                with open_text(path) as fh:
                    yield path.name, fh.read()
        except UnicodeDecodeError:
            where = f"line {lineno + 1}: " if lineno else ""
            raise CorpusError(
                f"{path}: {where}not UTF-8 text (corpus files must be UTF-8; a GBK/GB18030 file?)"
            ) from None
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{path}: line {lineno}: invalid JSON ({exc.msg})") from None
        except (OSError, EOFError, lzma.LZMAError) as exc:
            raise CorpusError(f"{path}: cannot read: {exc}") from None


def iter_paragraphs(source: Path) -> Iterator[str]:
    for _, text in iter_documents(source):
        for para in text.split("\n"):
            if para.strip():
                yield para
