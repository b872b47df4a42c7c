"""A length-preserving view of text for the language model.

Scraped pages mix half-width and full-width punctuation (the seed writes ``,`` where the
corpus writes ``，``). The model is trained and queried on one canonical form. The map is
strictly one code point to one code point, so an offset into the view is an offset into
the original and no source character is ever rewritten.
"""

from __future__ import annotations

_HALF_TO_FULL = {
    ",": "，",
    ":": "：",
    ";": "；",
    "!": "！",
    "?": "？",
    "(": "（",
    ")": "）",
}

# Whitespace is not a token for the model; it maps to a placeholder that scoring skips.
SKIP = "\u0000"


def _build_table() -> dict[int, str]:
    table: dict[int, str] = {ord(k): v for k, v in _HALF_TO_FULL.items()}
    # Full-width digits and Latin letters fold to ASCII, as in the training text.
    for cp in range(0xFF10, 0xFF1A):
        table[cp] = chr(cp - 0xFEE0)
    for cp in list(range(0xFF21, 0xFF3B)) + list(range(0xFF41, 0xFF5B)):
        table[cp] = chr(cp - 0xFEE0)
    for ws in " \t\r\n\u3000\u00a0\u2002\u2003\u200b\ufeff":
        table[ord(ws)] = SKIP
    return table


_TABLE = _build_table()


def lm_view(text: str) -> str:
    """Return ``text`` with the same length, in the model's canonical character set."""
    return text.translate(_TABLE)


def lm_tokens(text: str) -> list[str]:
    """Characters the model scores, whitespace dropped (used for training text)."""
    return [c for c in lm_view(text) if c != SKIP]
