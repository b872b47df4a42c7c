"""The Ray Data path on a local two-CPU cluster: same restorations as the local runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from restore.batch.step import RestoreStep

from .conftest import run_cli
from .test_batch import _records, _write_jsonl

pytestmark = pytest.mark.integration
ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_restore_dataset_adds_the_columns(local_cluster):
    from restore.batch.ray import restore_dataset

    records = _records(20)
    # A dataset takes its execution options from the context when it is created.
    ray.data.DataContext.get_current().execution_options.preserve_order = True
    ds = ray.data.from_items([{"id": r["id"], "text": r["text"]} for r in records])
    rows = restore_dataset(ds, actors=2).take_all()
    step = RestoreStep()
    assert [r["id"] for r in rows] == [r["id"] for r in records]
    for row, record in zip(rows, records):
        expected = step(record)
        assert row["restored_text"] == expected["restored_text"]
        assert json.loads(row["restorations"]) == expected["restorations"]


def test_cli_engine_ray_matches_local_batch(tmp_path: Path):
    records = _records(30)
    src = tmp_path / "in.jsonl"
    _write_jsonl(src, records, ('{"id": "bad", "text": null}',))
    local, on_ray = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    assert run_cli("batch", str(src), str(local)).returncode == 1
    proc = run_cli("batch", str(src), str(on_ray), "--engine", "ray")
    assert proc.returncode == 1, proc.stderr.decode()[-2000:]
    assert on_ray.read_bytes() == local.read_bytes()
    errors = (tmp_path / "ray.jsonl.errors.jsonl").read_bytes()
    assert errors == (tmp_path / "local.jsonl.errors.jsonl").read_bytes()
