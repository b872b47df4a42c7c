"""Nothing lost, whatever the input: outputs never overwrite inputs or special files,
names never collide, damaged input is named, and every bad record is reported while the
good ones go on. One test per class of failure that probing found."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from restore.cli import main
from restore.io.names import MAX_COMPONENT_BYTES, distinct_names, output_names
from restore.io.writers import write_atomic

from .conftest import run_cli

DAMAGED = "推进铁、公建设，优化营商。\n"


def invoke(*args: str, stdin: str | None = None):
    return CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)


def one_line(result_or_proc) -> str:
    err = result_or_proc.stderr if isinstance(result_or_proc.stderr, str) else result_or_proc.stderr.decode()
    lines = [x for x in err.splitlines() if x.startswith("restore: error:")]
    assert lines and "Traceback" not in err, err
    return lines[0]


# ---------------------------------------------------------------- outputs


def test_an_output_that_is_the_input_is_refused_and_the_input_kept(tmp_path: Path):
    src = tmp_path / "a.txt"
    src.write_text(DAMAGED, "utf-8")
    for args in (["fix", str(src), "-o", str(src)], ["fix", str(src), "--changes", str(src)]):
        result = invoke(*args)
        assert result.exit_code != 0 and "it is the input" in one_line(result)
        assert src.read_text("utf-8") == DAMAGED
    os.symlink(src, tmp_path / "link.txt")  # the same file under another name
    result = invoke("fix", str(src), "-o", str(tmp_path / "link.txt"))
    assert result.exit_code != 0 and src.read_text("utf-8") == DAMAGED
    result = invoke("qc", str(src), "--strip-boilerplate", str(tmp_path))
    assert result.exit_code != 0 and src.read_text("utf-8") == DAMAGED


def test_two_inputs_with_one_base_name_both_survive(tmp_path: Path):
    for sub, text in (("a", DAMAGED), ("b", "群活改善，一带一建设。\n")):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "page.txt").write_text(text, "utf-8")
    out = tmp_path / "out"
    result = invoke("fix", str(tmp_path / "a/page.txt"), str(tmp_path / "b/page.txt"), "-o", str(out) + "/")
    assert result.exit_code == 0, result.output
    assert "铁路" in (out / "a/page.txt").read_text("utf-8")
    assert "一带一" in (out / "b/page.txt").read_text("utf-8")
    stripped = tmp_path / "stripped"
    result = invoke(
        "qc", str(tmp_path / "a/page.txt"), str(tmp_path / "b/page.txt"), "--strip-boilerplate", str(stripped)
    )
    assert result.exit_code == 0 and sorted(p.name for p in stripped.rglob("*.txt")) == ["page.txt", "page.txt"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_output_stays_a_fifo_and_gets_the_text(tmp_path: Path):
    src = tmp_path / "a.txt"
    src.write_text(DAMAGED, "utf-8")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    proc = run_cli("fix", str(src), "-o", str(fifo))
    reader.join(timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert got and "铁路" in got[0].decode("utf-8")


def test_a_symlink_output_stays_a_link_and_its_target_gets_the_text(tmp_path: Path):
    target = tmp_path / "real.txt"
    target.write_text("old", "utf-8")
    link = tmp_path / "link.txt"
    os.symlink(target, link)
    write_atomic(link, "新")
    assert link.is_symlink() and target.read_text("utf-8") == "新"


def test_a_character_device_is_written_in_place(tmp_path: Path):
    # /dev/null itself is never renamed over: written through, it stays a device.
    before = os.stat("/dev/null")
    write_atomic(Path("/dev/null"), "文字")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino


def test_temporaries_of_a_killed_writer_are_swept(tmp_path: Path):
    out = tmp_path / "out.txt"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".out.txt.{dead.stdout.strip()}.1.tmp"
    stale.write_bytes(b"x" * 1000)
    write_atomic(out, "好")
    assert not stale.exists() and out.read_text("utf-8") == "好"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


@pytest.mark.integration
def test_a_killed_fix_never_leaves_half_an_output(tmp_path: Path):
    """Kill ``fix`` at many points: the output is either absent, the old text, or whole."""
    import signal
    import time

    src = tmp_path / "big.txt"
    src.write_text(DAMAGED * 2000, "utf-8")
    out = tmp_path / "out.txt"
    out.write_text("old", "utf-8")
    whole = None
    for delay in (0.3, 0.7, 1.2, 1.8, 2.5, 3.5):
        proc = subprocess.Popen(
            [sys.executable, "-m", "restore", "fix", str(src), "-o", str(out)], stderr=subprocess.PIPE
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        text = out.read_text("utf-8")
        if text != "old":
            whole = whole or run_cli("fix", str(src)).stdout.decode("utf-8")
            assert text == whole
    assert src.read_text("utf-8") == DAMAGED * 2000


def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir()
    if os.geteuid() != 0:
        return False
    return (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
        ).returncode
        == 0
    )


@pytest.mark.integration
def test_a_full_disk_is_one_line_and_leaves_nothing_half_written(tmp_path: Path):
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "64k"):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        src = tmp_path / "big.txt"
        src.write_text(DAMAGED * 1800, "utf-8")  # over 64k restored
        proc = run_cli("fix", str(src), "-o", str(disk / "out.txt"))
        assert proc.returncode != 0 and "No space left" in one_line(proc)
        assert list(disk.iterdir()) == []
        records = tmp_path / "in.jsonl"
        records.write_text("".join(json.dumps({"id": i, "text": DAMAGED * 20}) + "\n" for i in range(60)), "utf-8")
        proc = run_cli("batch", str(records), str(disk / "out.jsonl"))
        assert proc.returncode != 0 and "No space left" in one_line(proc)
        assert not (disk / "out.jsonl").exists()  # the partial run stays for a resume, never taken as output
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def test_a_read_only_target_is_one_line(tmp_path: Path):
    if os.geteuid() == 0:
        pytest.skip("root writes through read-only modes")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    src = tmp_path / "a.txt"
    src.write_text(DAMAGED, "utf-8")
    result = invoke("fix", str(src), "-o", str(ro / "out.txt"))
    assert result.exit_code != 0 and "cannot write" in one_line(result)


# ---------------------------------------------------------------- names


def test_output_names_are_unique_safe_and_within_255_bytes():
    keys = ["a:b", "a*b", "x", "x.txt", "a", "a.txt/b", "中" * 150, "中" * 150 + "x", "../../etc/passwd", "z", "z"]
    names = output_names(keys)
    assert len(set(names)) == len(keys)
    for name in names:
        assert all(len(part.encode("utf-8")) <= MAX_COMPONENT_BYTES for part in name.split("/"))
        assert ".." not in name.split("/") and not name.startswith("/")
    files = set(names)
    assert not any(n.startswith(f + "/") for n in names for f in files)  # no file is also a folder
    assert output_names(keys) == names  # deterministic
    assert distinct_names(["/d/a/page.txt", "/d/b/page.txt"]) == ["a/page.txt", "b/page.txt"]


def test_batch_ids_that_meet_in_one_name_give_one_file_each(tmp_path: Path):
    ids = ["a:b", "a*b", "x", "x.txt", "a", "a.txt/b", "中" * 90]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": DAMAGED}, ensure_ascii=False) + "\n" for i in ids), "utf-8")
    out = tmp_path / "out"
    proc = run_cli("batch", str(src), str(out))
    assert proc.returncode == 0, proc.stderr.decode()
    files = sorted(p for p in out.rglob("*.txt") if p.is_file())
    assert len(files) == len(ids)
    manifest = [json.loads(x) for x in (out / "restorations.jsonl").read_text("utf-8").splitlines()]
    assert [m["id"] for m in manifest] == ids and len({m["file"] for m in manifest}) == len(ids)


# ---------------------------------------------------------------- damaged input


def _zst_in_blocks(data: bytes, blocks: int = 4) -> bytes:
    import zstandard

    buf = io.BytesIO()
    writer = zstandard.ZstdCompressor().stream_writer(buf, closefd=False)
    step = len(data) // blocks + 1
    for i in range(0, len(data), step):
        writer.write(data[i : i + step])
        writer.flush(zstandard.FLUSH_BLOCK)
    writer.flush(zstandard.FLUSH_FRAME)
    return buf.getvalue()


@pytest.mark.parametrize("where", ["block boundary", "mid-block"])
def test_a_truncated_zst_is_named_by_batch_and_import(tmp_path: Path, where: str):
    records = [{"id": f"r{i}", "text": DAMAGED * 2} for i in range(300)]
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    whole = _zst_in_blocks(data)
    cut = len(whole) // 2 if where == "mid-block" else len(whole) - 3  # the frame's end is lost
    src = tmp_path / "in.jsonl.zst"
    src.write_bytes(whole[:cut])
    proc = run_cli("batch", str(src), str(tmp_path / "out.jsonl"))
    assert proc.returncode != 0 and "truncated" in one_line(proc)
    assert not (tmp_path / "out.jsonl").exists()
    proc = run_cli("review", "import", "--db", str(tmp_path / "ws.db"), str(src))
    assert proc.returncode != 0 and "truncated" in proc.stderr.decode()


def test_a_surrogate_record_goes_to_the_errors_file_and_the_rest_is_written(tmp_path: Path):
    src = tmp_path / "in.jsonl"
    lines = ['{"id": "bad", "text": "a\\ud800b"}', json.dumps({"id": "good", "text": DAMAGED}, ensure_ascii=False)]
    src.write_text("\n".join(lines) + "\n", "utf-8")
    out = tmp_path / "out.jsonl"
    for jobs in ("1", "2"):
        out.unlink(missing_ok=True)
        proc = run_cli("batch", str(src), str(out), "-j", jobs)
        assert proc.returncode == 1 and b"Traceback" not in proc.stderr, proc.stderr.decode()
        written = [json.loads(x) for x in out.read_text("utf-8").splitlines()]
        assert [r["id"] for r in written] == ["good"] and "铁路" in written[0]["restored_text"]
        errors = [json.loads(x) for x in (tmp_path / "out.jsonl.errors.jsonl").read_text("utf-8").splitlines()]
        assert errors[0]["id"] == "bad" and "surrogate" in errors[0]["reason"]
    proc = run_cli("review", "import", "--db", str(tmp_path / "ws.db"), str(src))
    assert proc.returncode == 1 and b"imported 1 document(s)" in proc.stderr and b"surrogate" in proc.stderr


def test_max_bytes_measures_the_text_and_names_the_record(tmp_path: Path):
    src = tmp_path / "in.jsonl"
    # 30 characters: 90 bytes of UTF-8, 180 of JSON escapes.
    src.write_text(
        json.dumps({"id": "long", "text": "中" * 30}) + "\n" + json.dumps({"id": "ok", "text": "中" * 20}) + "\n"
    )
    proc = run_cli("batch", str(src), str(tmp_path / "out.jsonl"), "--max-bytes", "70")
    errors = [json.loads(x) for x in (tmp_path / "out.jsonl.errors.jsonl").read_text("utf-8").splitlines()]
    assert proc.returncode == 1 and [e["id"] for e in errors] == ["long"]


def test_utf16_is_named_not_called_binary(tmp_path: Path):
    src = tmp_path / "u16.txt"
    src.write_bytes(DAMAGED.encode("utf-16"))
    result = invoke("scan", str(src))
    assert result.exit_code != 0 and "UTF-16" in one_line(result)
    assert invoke("scan", "--encoding", "utf-16", str(src)).exit_code == 0


def test_a_batch_that_fails_to_start_does_not_block_the_next(tmp_path: Path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "text": DAMAGED}, ensure_ascii=False) + "\n", "utf-8")
    out = tmp_path / "out.jsonl"
    proc = run_cli("batch", str(src), str(out), "--lexicon", str(tmp_path / "missing.txt"))
    assert proc.returncode != 0
    assert not (tmp_path / "out.jsonl.partial").exists()
    (tmp_path / "out.jsonl.partial").write_text('{"restore_batch": 1, "input": "elsewhere"}\n')  # header only
    proc = run_cli("batch", str(src), str(out))
    assert proc.returncode == 0, proc.stderr.decode()


@pytest.mark.parametrize("out", ["/proc/x.jsonl", "FILE/x.jsonl"])
def test_an_unwritable_batch_output_is_one_line(tmp_path: Path, out: str):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "text": DAMAGED}, ensure_ascii=False) + "\n", "utf-8")
    (tmp_path / "FILE").write_text("a file, not a folder")
    proc = run_cli("batch", str(src), out.replace("FILE", str(tmp_path / "FILE")))
    assert proc.returncode != 0 and "cannot write" in one_line(proc)
    assert len(proc.stderr.decode().strip().splitlines()) == 1


def test_a_long_cjk_key_exports_in_every_format(tmp_path: Path):
    from restore.review.export import export
    from restore.review.store import Store

    with Store(str(tmp_path / "ws.db")) as store:
        for n in range(16):
            store.add_document("中" * 150 + str(n), DAMAGED + str(n), {}, [], {"model": "m", "lexicon": "l"}, "a")
        for fmt in ("txt", "tei", "jsonl"):
            written = export(store, tmp_path / fmt, fmt)
            assert len(written) == (1 if fmt == "jsonl" else 16)
    assert stat.S_IMODE((tmp_path / "jsonl" / "restored.jsonl").stat().st_mode) == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---------------------------------------------------------------- provenance and workspaces


def test_reviewers_in_any_script_get_distinct_ids_and_no_local_path_is_exported(tmp_path: Path):
    from restore.document import Candidate, Gap
    from restore.review.export import restored_document, tei_document
    from restore.review.store import Store

    text = "推进铁、公建设"
    gaps = [
        Gap(text.index("、"), "deletion", (Candidate("路", 3.0, 0.97, ()),)),
        Gap(text.index("建"), "deletion", (Candidate("路", 3.0, 0.96, ()),)),
    ]
    with Store(str(tmp_path / "ws.db")) as store:
        source = {"file": str(tmp_path / "secret" / "page.txt"), "encoding": "utf-8"}
        doc, _ = store.add_document(
            str(tmp_path / "secret" / "page.txt"), text, source, gaps, {"model": "m", "lexicon": "l"}, "x"
        )
        first, second = store.gaps_of(doc)
        store.decide(first.id, "accept", "张三", expected_version=first.version)
        store.decide(second.id, "accept", "李四", expected_version=second.version)
        xml = tei_document(restored_document(store, doc))
    import re

    ids = re.findall(r'xml:id="([^"]+)"', xml)
    assert len(ids) == 2 and len(set(ids)) == 2
    for rid in ids:
        assert f'resp="#{rid}"' in xml
    assert str(tmp_path) not in xml and "page.txt" in xml


@pytest.mark.parametrize("name", ["ro#x.db", "w%41.db", "q?mode=rw.db"])
def test_a_workspace_path_is_a_path_not_a_url(tmp_path: Path, name: str):
    from restore.review.store import Store

    path = tmp_path / name
    with Store(str(path)) as store:
        store.add_document("a", DAMAGED, {}, [], {"model": "m", "lexicon": "l"}, "a")
    path.chmod(0o444)  # read-only: opened through a URI, where these characters mean something
    try:
        with Store(str(path)) as store:
            assert store.read_only and store.status_counts()["documents"] == 1
    finally:
        path.chmod(0o644)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))) == [name]


def test_both_stores_take_long_keys_and_names_and_refuse_nul_alike(workspace_url, tmp_path: Path):
    from restore.engine.config import EngineConfig
    from restore.review.sources import SourceItem
    from restore.review.store import Store
    from restore.review.workspace import Workspace

    long_key = "键" * 600
    with Store(workspace_url) as store:
        doc, created = store.add_document(long_key, DAMAGED, {}, [], {"model": "m", "lexicon": "l"}, "a" * 300)
        assert created and store.document(doc).key == long_key
    ws = Workspace(workspace_url, "评审员" * 60, EngineConfig(use_index=False))
    summary = ws.import_items([SourceItem("nul", "a\x00b"), SourceItem("after", DAMAGED + "。")])
    ws.close()
    assert summary.imported == 1 and len(summary.problems) == 1 and "NUL" in summary.problems[0].message
    with Store(workspace_url) as store:
        gaps = [g for d in store.document_ids() for g in store.gaps_of(d)]
        assert gaps
        store.decide(gaps[0].id, "reject", "评审员" * 60, expected_version=gaps[0].version)
