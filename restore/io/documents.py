"""Reading user files safely: every way a file can be unusable becomes one clear message."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from restore.errors import InputError

# About 2.7M Chinese characters: a heavily damaged document that size peaks near 1 GB.
MAX_DOCUMENT_BYTES = 8 * 1024 * 1024

__all__ = ["MAX_DOCUMENT_BYTES", "InputError", "SourceDocument", "decode", "looks_binary", "read_document"]


@dataclass(frozen=True)
class SourceDocument:
    name: str  # the path as given, or "-" for stdin
    text: str
    encoding: str


def looks_binary(data: bytes) -> bool:
    if b"\x00" in data[:65536]:
        return True
    sample = data[:65536]
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls > len(sample) * 0.05


def utf16_name(data: bytes) -> str | None:
    """ "UTF-16LE"/"UTF-16BE" for UTF-16 text (by its byte-order mark, or by the zero byte
    every ASCII or Latin character leaves in every other place), else None."""
    if data.startswith(b"\xff\xfe"):
        return "UTF-16LE"
    if data.startswith(b"\xfe\xff"):
        return "UTF-16BE"
    sample = data[:4096]
    if len(sample) < 8 or len(sample) % 2:
        return None
    odd, even = sample[1::2], sample[0::2]
    if odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
        return "UTF-16LE"
    if even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "UTF-16BE"
    return None


def _guess_encoding(data: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - declared dependency
        return None
    best = from_bytes(data[:200_000]).best()
    return best.encoding if best is not None else None


def too_large(size: int, max_bytes: int) -> str:
    """``size`` against the limit, in units that tell them apart (3.2 MB against 8 MB; 2,048 bytes against 100)."""
    if max_bytes >= 1_000_000:
        return f"{size / 1e6:.1f} MB is more than the {max_bytes / 1e6:.0f} MB"
    return f"{size:,} bytes is more than the {max_bytes:,} bytes"


def decode(data: bytes, name: str, encoding: str | None = None, max_bytes: int = MAX_DOCUMENT_BYTES) -> SourceDocument:
    if not data:
        raise InputError(f"{name}: file is empty")
    if len(data) > max_bytes:
        raise InputError(
            f"{name}: {too_large(len(data), max_bytes)} a document may have (split it, or raise --max-bytes)"
        )
    if encoding:
        try:
            return SourceDocument(name, data.decode(encoding), encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputError(f"{name}: cannot decode as {encoding}: {exc}") from None
    utf16 = utf16_name(data)
    if utf16:
        raise InputError(f"{name}: {utf16} text, not UTF-8; re-run with --encoding utf-16")
    if looks_binary(data):
        raise InputError(f"{name}: looks like binary data, not text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        guesses = [g for g in (_guess_encoding(data),) if g]
        # Short Chinese text is ambiguous between GBK and Big5; scraped mainland pages are
        # far more often GBK, whose superset GB18030 is then named first.
        if _decodes(data, "gb18030") and not any(g.lower().replace("_", "") == "gb18030" for g in guesses):
            guesses.insert(0, "gb18030")
        names = " or ".join(g.upper().replace("_", "-") for g in guesses)
        hint = f" (looks like {names})" if guesses else ""
        how = f"; re-run with --encoding {guesses[0]}" if guesses else ""
        raise InputError(f"{name}: not UTF-8 text{hint}{how}") from None
    if text.startswith("\ufeff"):
        # A BOM is kept as part of the original text: offsets count it, output keeps it.
        pass
    if not text.strip():
        raise InputError(f"{name}: file has no text (only whitespace)")
    return SourceDocument(name, text, "utf-8")


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def read_document(name: str, encoding: str | None = None, max_bytes: int = MAX_DOCUMENT_BYTES) -> SourceDocument:
    if name == "-":
        data = sys.stdin.buffer.read(max_bytes + 1)
        return decode(data, "<stdin>", encoding, max_bytes)
    path = Path(name)
    if not path.exists():
        raise InputError(f"{name}: no such file")
    if path.is_dir():
        raise InputError(f"{name}: is a directory (pass the files in it)")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(
                f"{name}: {too_large(size, max_bytes)} a document may have (split it, or raise --max-bytes)"
            )
        data = path.read_bytes()
    except PermissionError:
        raise InputError(f"{name}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None
    return decode(data, name, encoding, max_bytes)
