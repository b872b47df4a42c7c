"""File names for documents whose names are ids: safe on every file system, unique, and
cut to 255 bytes, so two ids never share one output file and no id stops a run."""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import PurePath

MAX_COMPONENT_BYTES = 255
_UNSAFE = re.compile(r'[\\:*?"<>|\x00-\x1f\x7f]+')


def short_hash(key: str) -> str:
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=4).hexdigest()


def cut_bytes(text: str, limit: int) -> str:
    """The longest prefix of ``text`` that is at most ``limit`` bytes in UTF-8."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def _parts(key: str) -> list[str]:
    name = _UNSAFE.sub("_", key).strip("/ ")
    return [p for p in name.split("/") if p not in ("", ".", "..")] or ["document"]


def _fit(parts: list[str], suffix: str, tag: str | None) -> str:
    """Join ``parts`` with ``suffix`` (and ``-tag`` before it), each component within 255 bytes."""
    *dirs, last = parts
    dirs = [cut_bytes(d, MAX_COMPONENT_BYTES) for d in dirs]
    stem = last[: -len(suffix)] if suffix and last.endswith(suffix) else last
    end = (f"-{tag}" if tag else "") + suffix
    room = MAX_COMPONENT_BYTES - len(end.encode("utf-8"))
    if len(stem.encode("utf-8", "surrogatepass")) > room:
        if tag is None:  # a cut name could meet another cut name: tag it with the full key's hash
            return ""
        stem = cut_bytes(stem, room)
    return "/".join([*dirs, stem + end])


def output_names(keys: Sequence[str], suffix: str = ".txt") -> list[str]:
    """One relative file name per key, in order: unique, safe, and within 255 bytes a part.

    A key that is already a safe name ending in ``suffix`` keeps it; a key that had to be
    changed to fit (unsafe characters, too long) or that meets another key's name gets a
    short hash of itself; repeated keys are numbered.

    >>> output_names(["a:b", "a*b", "x", "x.txt"])
    ['a_b-78d6dbab.txt', 'a_b-1042438a.txt', 'x-b1ba07e5.txt', 'x.txt']
    """
    names: list[str] = []
    for key in keys:
        parts = _parts(key)
        plain = _fit(parts, suffix, None)
        exact = "/".join(parts) == key.strip("/") and key.endswith(suffix)
        names.append(plain if plain and (exact or "/".join(parts) == key) else _fit(parts, suffix, short_hash(key)))
    exact_keys = {i for i, key in enumerate(keys) if names[i] == key}
    for _ in range(4):
        counts = Counter(names)
        dirs = {"/".join(n.split("/")[:k]) for n in names for k in range(1, n.count("/") + 1)}
        clash = [i for i, n in enumerate(names) if (counts[n] > 1 and i not in exact_keys) or n in dirs]
        if not clash:
            break
        for i in clash:
            names[i] = _fit(_parts(keys[i]), suffix, short_hash(keys[i]))
    seen: Counter[str] = Counter()
    for i, name in enumerate(names):
        seen[name] += 1
        if seen[name] > 1:  # the same key twice: number the later ones
            names[i] = _fit(_parts(keys[i]), suffix, f"{short_hash(keys[i])}-{seen[name]}")
    return names


def distinct_names(paths: Sequence[str]) -> list[str]:
    """Output names for input files written into one directory: their base names when
    those differ, else their paths below the folder they share (a/page.txt and
    b/page.txt stay apart as a/page.txt and b/page.txt).

    >>> distinct_names(["x/a.txt", "y/b.txt"])
    ['a.txt', 'b.txt']
    >>> distinct_names(["/d/a/page.txt", "/d/b/page.txt"])
    ['a/page.txt', 'b/page.txt']
    """
    bases = [PurePath(p).name for p in paths]
    if len(set(bases)) == len(bases):
        return bases
    full = [os.path.abspath(p) for p in paths]
    common = os.path.commonpath([os.path.dirname(f) for f in full])
    return output_names([os.path.relpath(f, common).replace(os.sep, "/") for f in full], suffix="")
