"""The neural character model: run-time scoring with onnxruntime, its place in the engine."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from restore.engine.restorer import Restorer
from restore.errors import ModelError
from restore.models.neural import BOUNDARY, DEFAULT_NEURAL_DIR, UNKNOWN, NeuralLM, encode, load_neural, read_vocab
from restore.training.neural import _stream, build_vocab

from .conftest import run_cli


@pytest.fixture(scope="module")
def neural() -> NeuralLM:
    return load_neural()


def test_vocabulary_round_trip(tmp_path: Path):
    chars = build_vocab(["政府工作报告", "政府", "政"] * 10 + ["罕"])
    assert chars[:3] == ["政", "府", "作"] and "罕" not in chars  # most frequent first; 罕 rarer than MIN_COUNT
    (tmp_path / "vocab.txt").write_text("".join(c + "\n" for c in chars), encoding="utf-8")
    vocab = read_vocab(tmp_path / "vocab.txt")
    assert encode("政 府\n罕", vocab) == [3, 4, BOUNDARY, UNKNOWN]
    stream = _stream(["政府", "府"], vocab)
    assert stream.tolist() == [BOUNDARY, 3, 4, BOUNDARY, 4, BOUNDARY]


def test_gains_are_differences_of_whole_window_scores(neural: NeuralLM):
    left, right, candidates = "我们要坚定不移推进共建一带一", "倡议，扩大高水平对外开放。", ["路", "带", "政府"]
    gains = neural.insertion_gains(left, right, candidates)
    # Scored from scratch: the left context contributes the same to every sequence, so the
    # gain must equal the difference of the full sequence log-probabilities.
    ids = [
        encode(left, neural.vocab) + encode(c, neural.vocab) + encode(right, neural.vocab) for c in ["", *candidates]
    ]
    totals = [float(s.sum()) for s in neural.token_logprobs(ids)]
    assert gains == pytest.approx([t - totals[0] for t in totals[1:]], abs=1e-3)


def test_model_prefers_the_deleted_string(neural: NeuralLM):
    cases = [
        ("坚持以", "为核心的党中央坚强领导", "习近平同志", "人民战争"),
        ("推进共建一带一", "高质量发展", "路", "带"),
        ("持续优化营商", "，激发市场主体活力", "环境", "机场"),
    ]
    for left, right, right_string, wrong in cases:
        good, bad = neural.insertion_gains(left, right, [right_string, wrong])
        assert good > 0 > bad, (left, good, bad)


def test_missing_or_corrupt_model_is_one_line(tmp_path: Path):
    with pytest.raises(ModelError, match="not found"):
        NeuralLM(tmp_path)
    (tmp_path / "charlm.onnx").write_bytes(b"not a graph")
    (tmp_path / "vocab.txt").write_text("政\n", encoding="utf-8")
    with pytest.raises(ModelError, match="cannot load neural model"):
        NeuralLM(tmp_path)
    proc = run_cli("scan", "--neural", str(tmp_path), "-", stdin="营商进一步优化。".encode())
    assert proc.returncode == 1
    err = proc.stderr.decode("utf-8").strip()
    assert err.startswith("restore: error: cannot load neural model") and "\n" not in err


def test_engine_uses_the_bundled_model_when_asked(neural: NeuralLM):
    on = Restorer(use_index=False, use_neural=True)
    assert on.rescorer is not None and on.rescorer.neural is neural and "neural" in on.version
    assert Restorer(use_index=False).rescorer is None  # off by default: it costs speed


def test_neural_model_restores_a_fluent_deletion_the_ngrams_miss():
    # Kept in fixtures/known-failures for the default engine.
    original = "深入推进商事制度改革，进一步降低准入门槛。"
    damaged = original.replace("改革", "")
    assert Restorer(use_index=False).fix(damaged, 0.9).text == damaged
    assert Restorer(use_index=False, use_neural=True).fix(damaged, 0.9).text == original
    cli = run_cli("fix", "--index", "none", "--neural", "on", "-", stdin=damaged.encode())
    assert cli.returncode == 0 and cli.stdout.decode("utf-8") == original


def test_neural_evidence_is_shown_and_never_alters_source(neural: NeuralLM):
    text = "我们坚定以习总重要讲话和批示精神为指导，持续优化营商，推进一带一建设。"
    restorer = Restorer(use_index=False, use_neural=True)
    gaps = restorer.scan(text)
    shown = [e for g in gaps for c in g.candidates for e in c.evidence if e.kind == "neural"]
    assert shown and all(e.value is not None and math.isfinite(e.value) for e in shown)
    fixed = restorer.fix(text, min_confidence=0.5)
    assert fixed.insertions and fixed.original == text
    restored, kept, last = fixed.text, [], 0
    for start, end in fixed.restored_offsets():
        kept.append(restored[last:start])
        last = end
    assert "".join(kept) + restored[last:] == text


def test_bundled_model_card_records_training():
    card = NeuralLM(DEFAULT_NEURAL_DIR).card
    assert card["heldout_nats_per_char"] < math.log(card["vocabulary"])  # better than uniform
    assert all("-dev" not in name for name in card["training_files"])
    assert np.isfinite(card["minutes"])


def test_a_user_model_brings_its_own_rescoring_weights(tmp_path: Path, neural: NeuralLM):
    for name in ("charlm.onnx", "vocab.txt", "neural.json"):
        (tmp_path / name).write_bytes((DEFAULT_NEURAL_DIR / name).read_bytes())
    bundled = Restorer(use_index=False, use_neural=True, neural=tmp_path)
    assert bundled.rescorer is not None
    assert bundled.rescorer.model.weights == load_neural_weights(DEFAULT_NEURAL_DIR.parent / "rescore-neural-only.json")
    own = json.loads((DEFAULT_NEURAL_DIR.parent / "rescore-neural-only.json").read_text(encoding="utf-8"))
    own["weights"] = [w * 2 for w in own["weights"]]
    (tmp_path / "rescore-neural-only.json").write_text(json.dumps(own), encoding="utf-8")
    mine = Restorer(use_index=False, use_neural=True, neural=tmp_path)
    assert mine.rescorer is not None and mine.rescorer.model.weights == own["weights"]


def load_neural_weights(path: Path) -> list[float]:
    return json.loads(path.read_text(encoding="utf-8"))["weights"]


def test_training_on_a_gpu_that_is_not_there_is_one_line(tmp_path: Path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    corpus = tmp_path / "tiny-train.jsonl"
    corpus.write_text(json.dumps({"id": "a", "text": "政府工作报告" * 20}, ensure_ascii=False) + "\n", "utf-8")
    result = run_cli("build", "neural", "--corpus", str(corpus), "-o", str(tmp_path / "m"), "--device", "cuda")
    err = result.stderr.decode()
    assert result.returncode != 0
    assert "no GPU" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    result = run_cli("build", "neural", "--corpus", str(corpus), "-o", str(tmp_path / "m"), "--device", "tpu")
    err = result.stderr.decode()
    assert result.returncode != 0 and "unknown device" in err and "Traceback" not in err
