"""A small neural character model that rescores shortlisted junctions, run with onnxruntime.

The n-gram models see six characters; this one reads the whole window around a junction
(``LEFT`` characters before it, ``RIGHT`` after) and gives the log-probability of the text
to the right of the junction with and without a candidate. Because the model is causal,
the difference of those two numbers is the log likelihood ratio of the two originals on
that window, which is what decides an insertion when a filter deletes every occurrence.

Training needs PyTorch (``restore/train_neural.py``, extra ``restore[train]``); running
needs only onnxruntime and numpy (extra ``restore[neural]``). The exported graph takes
token ids and returns, for every position after the first, the log-probability of that
token given the ones before it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from restore.engine.normalize import SKIP, lm_view
from restore.errors import ModelError
from restore.paths import DATA_DIR

DEFAULT_NEURAL_DIR = DATA_DIR / "neural"
GRAPH_NAME = "charlm.onnx"
VOCAB_NAME = "vocab.txt"
CARD_NAME = "neural.json"

PAD, UNKNOWN, BOUNDARY = 0, 1, 2  # ids reserved before the characters in vocab.txt
LEFT = 32  # characters of left context the rescorer gives the model
RIGHT = 16  # characters after the junction that must absorb an insertion


def encode(text: str, vocab: dict[str, int]) -> list[int]:
    """Ids of the characters the model reads; whitespace is skipped, a line edge is BOUNDARY."""
    ids = []
    # The line break is read before the model's view folds it into whitespace.
    for raw, ch in zip(text, lm_view(text)):
        if raw == "\n":
            ids.append(BOUNDARY)
        elif ch != SKIP:
            ids.append(vocab.get(ch, UNKNOWN))
    return ids


def read_vocab(path: Path) -> dict[str, int]:
    chars = path.read_text(encoding="utf-8").split("\n")
    # Line k holds the character with id k + 3; the file ends with a newline.
    return {ch: k + 3 for k, ch in enumerate(chars) if ch}


class NeuralLM:
    """The exported character model with its vocabulary, loaded once per process."""

    def __init__(self, model_dir: Path = DEFAULT_NEURAL_DIR, threads: int = 1):
        self.directory = model_dir
        graph = model_dir / GRAPH_NAME
        vocab = model_dir / VOCAB_NAME
        if not graph.is_file() or not vocab.is_file():
            raise ModelError(
                f"neural model not found in {model_dir}; train it with 'restore build neural' or pass --neural none"
            )
        try:
            import onnxruntime as ort
        except ImportError:
            raise ModelError("the neural model needs onnxruntime: pip install 'restore[neural]'") from None
        options = ort.SessionOptions()
        # One thread per process: batch and Ray already run one process per core.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(f"cannot load neural model {graph}: {str(exc).splitlines()[0]}") from None
        self.vocab = read_vocab(vocab)
        card = model_dir / CARD_NAME
        self.card: dict[str, Any] = json.loads(card.read_text(encoding="utf-8")) if card.is_file() else {}
        self.version = str(self.card.get("version", "unversioned"))
        # Positions the model was trained on; the graph reads one more id than it scores.
        self.context = int(self.card.get("context", 80))
        self.input_name = self.session.get_inputs()[0].name

    def token_logprobs(self, sequences: Sequence[Sequence[int]]) -> list[np.ndarray]:
        """log P(token t | tokens < t) for t >= 1 of each sequence, in one padded batch."""
        width = max(len(s) for s in sequences)
        batch = np.full((len(sequences), width), PAD, dtype=np.int64)
        for row, seq in enumerate(sequences):
            batch[row, : len(seq)] = seq
        (out,) = self.session.run(None, {self.input_name: batch})
        return [out[row, : len(seq) - 1] for row, seq in enumerate(sequences)]

    def insertion_gains(self, left: str, right: str, candidates: Sequence[str]) -> list[float]:
        """Natural-log gain of each candidate inserted between ``left`` and ``right``.

        The gain is log P(candidate + right | left) - log P(right | left): the left context
        scores the same either way, so only what follows the junction is compared.
        """
        right_ids = encode(right[:RIGHT], self.vocab)
        inserted = [encode(c, self.vocab) for c in candidates]
        room = self.context + 1 - len(right_ids) - max((len(c) for c in inserted), default=0)
        left_ids = encode(left[-LEFT:], self.vocab)[-max(1, room) :] or [BOUNDARY]
        seqs = [left_ids + right_ids] + [left_ids + c + right_ids for c in inserted]
        scores = self.token_logprobs(seqs)
        start = len(left_ids) - 1  # position of the first token after the left context
        totals = [float(s[start:].sum()) for s in scores]
        return [t - totals[0] for t in totals[1:]]


@lru_cache(maxsize=4)
def load_neural(model_dir: Path = DEFAULT_NEURAL_DIR) -> NeuralLM:
    return NeuralLM(model_dir)
