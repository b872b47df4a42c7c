"""Reading clean corpora: JSONL (optionally .xz/.gz/.bz2/.zst) with a ``text`` field, or .txt."""

from __future__ import annotations

import hashlib
import json
import lzma
from collections.abc import Iterator, Sequence
from pathlib import Path

from restore.errors import CorpusError, ModelError, TruncatedInput
from restore.io.compression import damage_message, open_text
from restore.io.records import collection_files, is_jsonl

__all__ = ["CorpusError", "corpus_files", "is_jsonl", "iter_documents", "iter_paragraphs"]


def corpus_files(source: Path) -> list[Path]:
    """Expand a file or directory into the corpus files it holds (the one directory rule,
    :func:`restore.io.records.collection_files`), sorted for determinism."""
    if source.is_dir():
        return collection_files(source)
    return [source]


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
        except (TruncatedInput, EOFError, lzma.LZMAError) as exc:
            raise CorpusError(damage_message(path, exc)) from None
        except OSError as exc:
            raise CorpusError(f"{path}: cannot read: {exc}") from None


def iter_paragraphs(source: Path) -> Iterator[str]:
    for _, text in iter_documents(source):
        for para in text.split("\n"):
            if para.strip():
                yield para


# Documents whose id hashes into this bucket are withheld from the LM so the decision
# model can be fitted on text the LM has not memorised (still train split, never dev).
HELDOUT_MODULUS = 50


def is_heldout(doc_id: str) -> bool:
    digest = hashlib.blake2b(doc_id.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "little") % HELDOUT_MODULUS == 0


def check_training_sources(sources: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for source in sources:
        for path in corpus_files(source):
            if "-dev" in path.name or "holdout" in path.parts:
                continue  # evaluation data never trains a model
            files.append(path)
    if not files:
        raise ModelError("no training files found (files named *-dev* are never used for training)")
    return files
