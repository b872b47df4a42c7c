"""One way to open a possibly compressed file: gzip, xz, bzip2 or zstd, by file name.

Every stream is read to its verified end. Python's gzip, lzma and bz2 readers already
raise at a missing end marker; zstd's stream reader does not (a file cut at a block
boundary reads as a shorter, complete one), so its frames are checked here.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from pathlib import Path
from typing import IO, Any

from restore.errors import TruncatedInput

COMPRESSED = (".gz", ".xz", ".zst", ".bz2")


def strip_compression(name: str) -> str:
    """``a.jsonl.zst`` -> ``a.jsonl``: the name the format is read from."""
    for suffix in COMPRESSED:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


class _VerifiedZstd(io.RawIOBase):
    """zstd frames decoded one after another; a frame left open at the end of the input
    raises :class:`TruncatedInput` instead of passing for the end of the data."""

    def __init__(self, raw: IO[bytes], name: str):
        import zstandard

        self._raw = raw
        self._name = name
        self._dctx = zstandard.ZstdDecompressor()
        self._dobj: Any = None  # the frame being decoded, None between frames
        self._pending = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self._pending and not self._done:
            self._fill()
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _fill(self) -> None:
        chunk = self._raw.read(1 << 17)
        if not chunk:
            if self._dobj is not None:
                raise TruncatedInput(f"{self._name}: truncated: the zstd data ends inside a frame")
            self._done = True
            return
        out = []
        while chunk:
            if self._dobj is None:
                self._dobj = self._dctx.decompressobj()
            out.append(self._dobj.decompress(chunk))
            if self._dobj.eof:
                chunk = self._dobj.unused_data
                self._dobj = None
            else:
                chunk = b""
        self._pending = b"".join(out)

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_binary(path: Path, raw: IO[bytes] | None = None) -> IO[bytes]:
    """The decompressed bytes of ``path`` (``raw``: its already opened bytes, e.g. counted)."""
    # A raw stream (a counter) is buffered here: readline on an unbuffered one reads byte by byte.
    source: IO[bytes] = io.BufferedReader(raw, 1 << 20) if raw is not None else path.open("rb")  # type: ignore[arg-type,type-var]
    name = path.name.lower()
    stream: IO[bytes]
    if name.endswith(".gz"):
        stream = gzip.GzipFile(fileobj=source)  # type: ignore[assignment]
    elif name.endswith(".xz"):
        stream = lzma.LZMAFile(source)  # type: ignore[assignment]
    elif name.endswith(".bz2"):
        stream = bz2.BZ2File(source)  # type: ignore[assignment]
    elif name.endswith(".zst"):
        stream = _VerifiedZstd(source, str(path))  # type: ignore[assignment]
    else:
        return source
    return io.BufferedReader(stream, 1 << 20)  # type: ignore[arg-type,type-var]


def open_text(path: Path) -> IO[str]:
    """Open a possibly compressed file for reading as UTF-8 text."""
    return io.TextIOWrapper(open_binary(path), encoding="utf-8")


def damage_message(path: Path | str, exc: BaseException) -> str:
    """One line for a stream that broke while being read: truncation is named as such."""
    text = str(exc)
    if isinstance(exc, TruncatedInput):
        return text
    if isinstance(exc, EOFError) or "end-of-stream" in text or "ended before" in text:
        return f"{path}: truncated: the compressed data ends before its end marker"
    return f"{path}: cannot read (damaged compressed data?): {text}"
