"""`restore batch` and the pipeline step: equivalence with `fix`, determinism across
workers, crash and resume, bad records, and every input/output format."""

from __future__ import annotations

import gzip
import json
import lzma
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from restore.batch.step import RestoreStep
from restore.evaluation.simulate import damage
from restore.models.lexicon import default_filter_list

from .conftest import SEED, run_cli

CLEAN = [
    "坚持以改革开放为动力，优化营商环境，在机场、铁路、公路等口岸设置防控站。",
    "全市上下深入学习贯彻习近平总书记重要讲话精神，推动一带一路建设走深走实。",
    "加强生态环境保护督察整改工作，确保群众生活安全。",
    "今年完成地区生产总值增长百分之六。",
]


def _records(n: int) -> list[dict]:
    entries = default_filter_list().entries
    seed_lines = [line for line in SEED.read_text("utf-8").splitlines() if len(line) > 40]
    out = []
    for i in range(n):
        if i % 3 == 0:
            text = seed_lines[i % len(seed_lines)]
        else:
            text = damage(CLEAN[i % len(CLEAN)] * (1 + i % 3), entries)[0]
        out.append({"id": f"r{i:04d}", "meta": {"n": i}, "text": text})
    return out


def _write_jsonl(path: Path, records: list[dict], extra_lines: tuple[str, ...] = ()) -> None:
    lines = [json.dumps(r, ensure_ascii=False) for r in records] + list(extra_lines)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.name.endswith(".gz") else lzma.open if path.name.endswith(".xz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def test_step_matches_fix_and_pickles(restorer):
    step = RestoreStep(min_confidence=0.9)
    step = pickle.loads(pickle.dumps(step))
    for record in _records(9):
        out = step(record)
        assert out["restored_text"] == restorer.fix(record["text"], 0.9).text
        assert out["id"] == record["id"] and out["meta"] == record["meta"] and out["text"] == record["text"]
        assert out["qc"]["characters"] == len(record["text"])
        restored = out["text"]
        for edit in sorted(out["restorations"], key=lambda e: -e["offset"]):
            assert edit["confidence"] >= 0.9 and edit["evidence"]
            restored = restored[: edit["offset"]] + edit["text"] + restored[edit["offset"] :]
        assert restored == out["restored_text"]
    batch = {"id": ["a", "b"], "text": [CLEAN[0], damage(CLEAN[1], default_filter_list().entries)[0]]}
    columns = step.map_batch(batch)
    assert columns["restored_text"] == [step({"text": t})["restored_text"] for t in batch["text"]]
    assert columns["id"] == ["a", "b"]


def test_batch_equals_fix_and_is_identical_across_jobs(tmp_path: Path):
    records = _records(40)
    src = tmp_path / "in.jsonl"
    _write_jsonl(src, records)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert run_cli("batch", str(src), str(one), "-j", "1").returncode == 0
    assert run_cli("batch", str(src), str(two), "-j", "2").returncode == 0
    assert one.read_bytes() == two.read_bytes()
    out = _read_jsonl(one)
    assert [r["id"] for r in out] == [r["id"] for r in records]
    # Same text as `restore fix` on each document, through the CLI.
    for record, restored in list(zip(records, out))[:6]:
        fixed = run_cli("fix", "-", "--min-confidence", "0.9", stdin=record["text"].encode())
        assert fixed.stdout.decode("utf-8") == restored["restored_text"]
    again = run_cli("batch", str(src), str(one))
    assert again.returncode == 1 and b"already exists" in again.stderr


def test_kill_and_resume_gives_the_uninterrupted_output(tmp_path: Path):
    records = _records(600)
    src = tmp_path / "in.jsonl"
    _write_jsonl(src, records)
    full = tmp_path / "full.jsonl"
    assert run_cli("batch", str(src), str(full), "-j", "2").returncode == 0

    out = tmp_path / "crash.jsonl"
    partial = tmp_path / "crash.jsonl.partial"
    proc = subprocess.Popen(
        [sys.executable, "-m", "restore", "batch", str(src), str(out), "-j", "2"],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        if partial.exists() and partial.read_bytes().count(b"\n") > 100:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    written = partial.read_bytes().count(b"\n") - 1
    assert 0 < written < len(records), "the kill should land halfway"
    assert not out.exists()
    # A torn last line, as a kill in the middle of a write would leave.
    with partial.open("ab") as handle:
        handle.write(b'{"i": 99999, "record": {"id": "tor')
    resumed = run_cli("batch", str(src), str(out), "-j", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert b"resumed after" in resumed.stderr
    assert out.read_bytes() == full.read_bytes()
    ids = [r["id"] for r in _read_jsonl(out)]
    assert ids == [r["id"] for r in records] and len(set(ids)) == len(ids)
    assert not partial.exists()


def test_bad_records_go_to_the_sidecar(tmp_path: Path):
    src = tmp_path / "in.jsonl"
    huge = json.dumps({"id": "huge", "text": "路" * (17 * 1024 * 1024)}, ensure_ascii=False)  # 51 MB of UTF-8
    _write_jsonl(
        src,
        _records(3),
        ('{"id": "n", "text": 5}', "{not json", '{"id": "m"}', "[1, 2]", huge, json.dumps({"id": "ok", "text": "好"})),
    )
    out = tmp_path / "out.jsonl"
    proc = run_cli("batch", str(src), str(out))
    assert proc.returncode == 5, proc.stderr
    assert b"5 record(s) failed" in proc.stderr and b"Traceback" not in proc.stderr
    assert [r["id"] for r in _read_jsonl(out)] == ["r0000", "r0001", "r0002", "ok"]
    errors = _read_jsonl(tmp_path / "out.jsonl.errors.jsonl")
    assert [e["where"] for e in errors] == ["line 4", "line 5", "line 6", "line 7", "line 8"]
    reasons = " | ".join(e["reason"] for e in errors)
    for expected in ("is int, not a string", "invalid JSON", "no field 'text'", "not a JSON object", "more than"):
        assert expected in reasons


@pytest.mark.parametrize("suffix", [".jsonl.gz", ".jsonl.xz", ".jsonl.zst", ".parquet"])
def test_formats_round_trip(tmp_path: Path, suffix: str):
    records = _records(12)
    src = tmp_path / "in.jsonl"
    _write_jsonl(src, records)
    plain = tmp_path / "plain.jsonl"
    assert run_cli("batch", str(src), str(plain)).returncode == 0
    expected = _read_jsonl(plain)
    out = tmp_path / f"out{suffix}"
    proc = run_cli("batch", str(src), str(out))
    assert proc.returncode == 0, proc.stderr
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        rows = pq.read_table(out).to_pylist()
        assert [r["restored_text"] for r in rows] == [r["restored_text"] for r in expected]
        assert json.loads(rows[0]["qc"]) == expected[0]["qc"]
        # Parquet in, JSONL out: the same restorations.
        back = tmp_path / "back.jsonl"
        assert run_cli("batch", str(out), str(back), "--force").returncode == 0
        assert [r["restored_text"] for r in _read_jsonl(back)] == [r["restored_text"] for r in expected]
    elif suffix == ".jsonl.zst":
        import zstandard

        with zstandard.open(out, "rt", encoding="utf-8") as handle:
            assert [json.loads(line) for line in handle] == expected
        again = tmp_path / "again.jsonl"
        assert run_cli("batch", str(out), str(again)).returncode == 0
        assert _read_jsonl(again) == [dict(r) for r in expected]  # compressed input reads back the same
    else:
        assert _read_jsonl(out) == expected


def test_directory_in_and_out(tmp_path: Path):
    src = tmp_path / "pages"
    (src / "a").mkdir(parents=True)
    records = _records(4)
    for r in records:
        (src / "a" / f"{r['id']}.txt").write_text(r["text"], encoding="utf-8")
    (src / "bad.txt").write_bytes("铁、公".encode("gbk"))
    out = tmp_path / "restored"
    proc = run_cli("batch", str(src), str(out))
    assert proc.returncode == 1 and b"1 record(s) failed" in proc.stderr
    step = RestoreStep()
    for r in records:
        assert (out / "a" / f"{r['id']}.txt").read_text("utf-8") == step(r)["restored_text"]
    manifest = _read_jsonl(out / "restorations.jsonl")
    assert [m["file"] for m in manifest] == [f"a/{r['id']}.txt" for r in records]
    assert "GB18030" in (tmp_path / "restored.errors.jsonl").read_text("utf-8")


def test_huggingface_datasets_map(tmp_path: Path):
    datasets = pytest.importorskip("datasets")
    records = _records(8)
    ds = datasets.Dataset.from_list([{"id": r["id"], "text": r["text"]} for r in records])
    step = RestoreStep()
    features = step.features(ds.features)
    mapped = ds.map(step, num_proc=2, features=features, load_from_cache_file=False)
    assert mapped["restored_text"] == [step(r)["restored_text"] for r in records]
    assert mapped[0]["qc"]["characters"] == len(records[0]["text"])
    batched = ds.map(step.map_batch, batched=True, batch_size=3, features=features, load_from_cache_file=False)
    assert batched["restored_text"] == mapped["restored_text"]


def test_unusable_inputs_fail_with_one_line_and_leave_nothing(tmp_path: Path):
    cases = {
        "empty.jsonl": b"",
        "gbk.jsonl": json.dumps({"id": "a", "text": "铁、公等口岸"}, ensure_ascii=False).encode("gbk") + b"\n",
        "junk.jsonl": bytes(range(256)) * 64,
        "blank.jsonl.gz": gzip.compress(b"\n\n  \n"),
    }
    expected = {
        "empty.jsonl": "file is empty",
        "gbk.jsonl": "GB18030",
        "junk.jsonl": "binary data",
        "blank.jsonl.gz": "no records",
    }
    for name, data in cases.items():
        src = tmp_path / name
        src.write_bytes(data)
        out = tmp_path / f"out-{name.split('.')[0]}.jsonl"
        proc = run_cli("batch", str(src), str(out))
        err = proc.stderr.decode()
        assert proc.returncode == 1 and err.count("\n") == 1 and expected[name] in err, (name, err)
        assert not out.exists() and not Path(str(out) + ".partial").exists()
    missing = run_cli("batch", str(tmp_path / "nope.jsonl"), str(tmp_path / "o.jsonl"))
    assert missing.returncode == 1 and b"no such file" in missing.stderr
