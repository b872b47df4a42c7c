"""The command line as users run it, including every kind of bad input."""

from __future__ import annotations

import json

import pytest

from .conftest import SEED, run_cli

DAMAGED = "我们要深度融入一带一建设，持续优化营商。\n加快推进铁、公建设。\n"


def one_line_error(proc) -> str:
    err = proc.stderr.decode("utf-8")
    assert proc.returncode != 0
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_fix_reads_stdin_and_writes_stdout():
    proc = run_cli("fix", "-", stdin=DAMAGED.encode())
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert "一带一路" in out and "铁路、公路" in out
    assert out.count("\n") == DAMAGED.count("\n")


def test_fix_writes_changes_as_standoff_edits(tmp_path):
    src = tmp_path / "page.txt"
    src.write_text(DAMAGED, encoding="utf-8")
    out, changes = tmp_path / "out.txt", tmp_path / "changes.jsonl"
    proc = run_cli("fix", str(src), "-o", str(out), "--changes", str(changes))
    assert proc.returncode == 0, proc.stderr
    edits = [json.loads(line) for line in changes.read_text(encoding="utf-8").splitlines()]
    assert edits and all({"offset", "text", "confidence", "evidence", "model"} <= set(e) for e in edits)
    rebuilt = DAMAGED
    for e in sorted(edits, key=lambda e: e["offset"], reverse=True):
        rebuilt = rebuilt[: e["offset"]] + e["text"] + rebuilt[e["offset"] :]
    assert rebuilt == out.read_text(encoding="utf-8")
    assert src.read_text(encoding="utf-8") == DAMAGED


def test_min_confidence_one_applies_nothing(tmp_path):
    proc = run_cli("fix", "-", "--min-confidence", "1.0", stdin=DAMAGED.encode())
    assert proc.stdout.decode() == DAMAGED


def test_in_place_copy_never_touches_the_input(tmp_path):
    src = tmp_path / "page.txt"
    src.write_text(DAMAGED, encoding="utf-8")
    proc = run_cli("fix", "--in-place-copy", str(src))
    assert proc.returncode == 0, proc.stderr
    assert src.read_text(encoding="utf-8") == DAMAGED
    assert "一带一路" in (tmp_path / "page.restored.txt").read_text(encoding="utf-8")


def test_scan_jsonl_has_one_object_per_gap():
    proc = run_cli("scan", "--format", "jsonl", str(SEED))
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert len(records) > 20
    for r in records:
        assert {"file", "offset", "candidates", "kind"} <= set(r)
        for c in r["candidates"]:
            assert {"text", "confidence", "evidence"} <= set(c)


def test_scan_for_people_shows_context_and_candidates():
    proc = run_cli("scan", "-", stdin=DAMAGED.encode())
    out = proc.stdout.decode()
    assert proc.returncode == 0
    assert "⟦路⟧" in out and "一带一" in out


@pytest.mark.parametrize(
    "name,data,needle",
    [
        ("empty.txt", b"", "empty"),
        ("blank.txt", b"  \n\n", "no text"),
        ("gbk.txt", "我们要深度融入一带一建设，持续优化营商环境和政务服务。".encode("gb18030") * 20, "not UTF-8"),
        ("binary.bin", bytes(range(256)) * 50, "binary"),
    ],
)
def test_bad_files_give_one_clear_line(tmp_path, name, data, needle):
    path = tmp_path / name
    path.write_bytes(data)
    for command in ("scan", "fix"):
        assert needle in one_line_error(run_cli(command, str(path)))


def test_gbk_error_names_the_encoding_and_the_flag_decodes_it(tmp_path):
    path = tmp_path / "gbk.txt"
    path.write_bytes("我们要深度融入一带一建设，持续优化营商环境。\n".encode("gb18030") * 20)
    line = one_line_error(run_cli("fix", str(path)))
    assert "GB" in line.upper() and "--encoding" in line
    proc = run_cli("fix", "--encoding", "gb18030", str(path))
    assert proc.returncode == 0 and "一带一路" in proc.stdout.decode()


def test_missing_path_and_directory(tmp_path):
    assert "no such file" in one_line_error(run_cli("scan", str(tmp_path / "missing.txt")))
    assert "directory" in one_line_error(run_cli("fix", str(tmp_path)))


def test_a_50mb_single_line_is_refused_clearly(tmp_path):
    path = tmp_path / "huge.txt"
    with path.open("wb") as fh:
        fh.write(("营商" * 1000).encode() * 9000)
    assert "MB" in one_line_error(run_cli("scan", str(path)))


def test_missing_and_corrupt_models(tmp_path):
    assert "not found" in one_line_error(
        run_cli("fix", "--model", str(tmp_path / "nomodel"), "-", stdin=DAMAGED.encode())
    )
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "forward.bin").write_bytes(b"not a model" * 100)
    (bad / "backward.bin").write_bytes(b"not a model" * 100)
    assert "cannot read" in one_line_error(run_cli("fix", "--model", str(bad), "-", stdin=DAMAGED.encode()))


@pytest.mark.parametrize(
    "command",
    [
        ("build", "decision", "-o", "decision.json"),
        ("build", "rescoring", "-o", "out"),
        ("build", "phrases", "-o", "phrases.tsv"),
        ("build", "qc-buckets"),
    ],
)
def test_building_from_a_corpus_without_training_files_is_one_line(tmp_path, command):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "news-dev.jsonl").write_text('{"id": "1", "text": "开发集文本。"}\n', "utf-8")
    proc = run_cli(*command, "--corpus", str(corpus), cwd=tmp_path)
    line = one_line_error(proc)
    assert "no training files" in line or "no held-out" in line, line


def test_missing_lexicon(tmp_path):
    assert "lexicon not found" in one_line_error(run_cli("scan", "--lexicon", str(tmp_path / "x.txt"), str(SEED)))


def test_eval_on_own_clean_text(tmp_path):
    clean = tmp_path / "clean.txt"
    clean.write_text("我们要深度融入一带一路建设，持续优化营商环境。\n加快推进铁路、公路建设。\n", encoding="utf-8")
    proc = run_cli("eval", "--clean", str(clean), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["gold_gaps"] == 4 and report["damage"] == 0


def test_a_short_gbk_file_is_named_gb18030(tmp_path):
    path = tmp_path / "short.txt"
    path.write_bytes("营商环境".encode("gbk"))
    line = one_line_error(run_cli("scan", str(path)))
    assert "GB18030" in line and "--encoding gb18030" in line


def test_outputs_get_the_usual_file_mode(tmp_path):
    import os

    src = tmp_path / "page.txt"
    src.write_text(DAMAGED, encoding="utf-8")
    out = tmp_path / "out.txt"
    assert run_cli("fix", str(src), "-o", str(out)).returncode == 0
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask


def test_a_directory_means_its_pages_to_every_command(tmp_path):
    pages = tmp_path / "pages"
    (pages / "sub").mkdir(parents=True)
    (pages / "a.txt").write_text(DAMAGED, "utf-8")
    (pages / "sub" / "b.txt").write_text(DAMAGED, "utf-8")
    (pages / ".hidden.txt").write_text(DAMAGED, "utf-8")
    proc = run_cli("qc", str(pages), "--html", str(tmp_path / "report.html"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "report.html").exists() and proc.stdout.decode().count(": clean") + proc.stdout.decode().count(
        ": damaged"
    ) == 2
    out = tmp_path / "out"
    assert run_cli("fix", str(pages), "-o", str(out)).returncode == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.txt")) == ["a.txt", "b.txt"]
