"""Building the character language models with kenlm's ``lmplz``/``build_binary``,
forward and backward, from the training split (held-out documents left out).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from restore.engine.normalize import lm_tokens
from restore.errors import ModelError
from restore.io.corpus import HELDOUT_MODULUS, check_training_sources, is_heldout, iter_documents
from restore.models.lm import BACKWARD_NAME, BIGRAM_NAME, CARD_NAME, FORWARD_NAME


def find_tool(name: str, kenlm_bin: Path | None = None) -> Path:
    """Locate a kenlm command-line tool (lmplz, build_binary)."""
    candidates: list[Path] = []
    if kenlm_bin is not None:
        candidates.append(kenlm_bin / name)
    if os.environ.get("RESTORE_KENLM_BIN"):
        candidates.append(Path(os.environ["RESTORE_KENLM_BIN"]) / name)
    candidates.append(Path(".kenlm/bin") / name)
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    found = shutil.which(name)
    if found:
        return Path(found)
    raise ModelError(f"kenlm tool '{name}' not found; build it with scripts/build-kenlm-tools.sh and pass --kenlm-bin")


def training_lines(sources: Sequence[Path], reverse: bool) -> Iterator[str]:
    """One line per paragraph, characters separated by spaces, held-out documents skipped."""
    for source in sources:
        for doc_id, text in iter_documents(source):
            if is_heldout(doc_id):
                continue
            for para in text.split("\n"):
                tokens = lm_tokens(para)
                if not tokens:
                    continue
                if reverse:
                    tokens.reverse()
                yield " ".join(tokens)


def count_bigrams(files: Sequence[Path]) -> np.ndarray:
    """Every character bigram of the training text, as sorted uint64 keys."""
    seen: set[int] = set()
    for line in training_lines(files, reverse=False):
        chars = line.split(" ")
        codes = [ord(c) if len(c) == 1 else 0 for c in chars]
        seen.update((a << 21) | b for a, b in zip(codes, codes[1:]) if a and b)
    return np.array(sorted(seen), dtype=np.uint64)


def build_models(
    sources: Sequence[Path],
    out_dir: Path,
    order: int = 6,
    prune: Sequence[int] = (0, 0, 1, 1, 2, 2),
    kenlm_bin: Path | None = None,
    memory: str = "30%",
    log: Iterable[str] | None = None,
) -> dict[str, object]:
    """Estimate both direction models with lmplz and write quantized tries to ``out_dir``."""
    lmplz, build_binary = find_tool("lmplz", kenlm_bin), find_tool("build_binary", kenlm_bin)
    files = check_training_sources(sources)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    stats: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="restore-lm-") as tmp:
        for name, reverse in ((FORWARD_NAME, False), (BACKWARD_NAME, True)):
            arpa = Path(tmp) / "model.arpa"
            cmd = [str(lmplz), "-o", str(order), "-S", memory, "-T", tmp, "--prune", *map(str, prune)]
            with arpa.open("wb") as out:
                proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.PIPE)
                assert proc.stdin is not None
                tokens = 0
                for line in training_lines(files, reverse):
                    proc.stdin.write(line.encode("utf-8") + b"\n")
                    tokens += line.count(" ") + 1
                proc.stdin.close()
                err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
                if proc.wait() != 0:
                    raise ModelError(
                        f"lmplz failed: {err.strip().splitlines()[-1] if err.strip() else proc.returncode}"
                    )
            target = out_dir / name
            subprocess.run(
                [str(build_binary), "-a", "22", "-q", "8", "-b", "8", "trie", str(arpa), str(target)],
                check=True,
                capture_output=True,
            )
            stats[name] = {"bytes": target.stat().st_size, "tokens": tokens}
        keys = count_bigrams(files)
        np.savez_compressed(out_dir / BIGRAM_NAME, keys=keys)
        stats[BIGRAM_NAME] = {"bytes": (out_dir / BIGRAM_NAME).stat().st_size, "bigrams": int(len(keys))}
    card = {
        "version": time.strftime("charlm-%Y%m%d", time.gmtime()),
        "order": order,
        "prune": list(prune),
        "quantization": "trie -a 22 -q 8 -b 8",
        "training_files": [p.name for p in files],
        "heldout": f"documents with blake2b(id) % {HELDOUT_MODULUS} == 0 are withheld for fitting the decision model",
        "models": stats,
        "build_seconds": round(time.time() - started, 1),
    }
    (out_dir / CARD_NAME).write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return card
