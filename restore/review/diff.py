"""Original against restored text, with difflib: inline for people, unified for tools."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from rich.text import Text


def inline_diff(original: str, restored: str, context_lines: int = 1) -> Text:
    """Changed lines with insertions highlighted (and any deletion struck, which restore
    itself never makes); unchanged stretches are elided to ``context_lines``."""
    a_lines = original.splitlines(keepends=True)
    b_lines = restored.splitlines(keepends=True)
    out = Text()
    matcher = difflib.SequenceMatcher(None, a_lines, b_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            head = range(i1, min(i2, i1 + context_lines)) if i1 > 0 else range(0)
            tail = range(max(i1, i2 - context_lines), i2) if i2 < len(a_lines) else range(0)
            shown = sorted(set(head) | set(tail))
            for k, n in enumerate(shown):
                if k and n != shown[k - 1] + 1:
                    out.append("   …\n", style="dim")
                _plain(out, n, a_lines[n])
            continue
        a = "".join(a_lines[i1:i2])
        b = "".join(b_lines[j1:j2])
        out.append(f"{i1 + 1:>5} ", style="dim")
        chars = difflib.SequenceMatcher(None, a, b, autojunk=False)
        for ctag, a1, a2, b1, b2 in chars.get_opcodes():
            if ctag == "equal":
                out.append(a[a1:a2])
            if ctag in ("delete", "replace"):
                out.append(a[a1:a2], style="bold red strike")
            if ctag in ("insert", "replace"):
                out.append("⟦" + b[b1:b2] + "⟧", style="bold green")
        if not b.endswith("\n"):
            out.append("\n")
    return out


def _plain(out: Text, n: int, line: str) -> None:
    out.append(f"{n + 1:>5} ", style="dim")
    out.append(line if line.endswith("\n") else line + "\n", style="dim")


def unified_diff(original: str, restored: str, name: str) -> Iterator[str]:
    return difflib.unified_diff(
        original.splitlines(keepends=True),
        restored.splitlines(keepends=True),
        fromfile=f"{name} (original)",
        tofile=f"{name} (restored)",
    )
