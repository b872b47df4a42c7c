from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SHARED = ROOT.parent / "shared"
# The real damaged seed page ships with the tests, so they run in a clone with nothing beside it.
SEED = FIXTURES / "in-the-wild" / "chengdu-2020-work-report.scraped.txt"


def pytest_collection_modifyitems(config, items):
    """Integration tests (a PostgreSQL server, Chromium, a Ray cluster, mounting a small
    disk, killing processes) run in CI and with RESTORE_INTEGRATION=1; elsewhere they skip
    with that reason, so the default suite stays quick."""
    if os.environ.get("CI") or os.environ.get("RESTORE_INTEGRATION"):
        return
    skip = pytest.mark.skip(reason="integration test: set RESTORE_INTEGRATION=1 to run it (CI does)")
    for item in items:
        if "integration" in item.keywords:
            item.add_marker(skip)


def needs_shared(*parts: str) -> Path:
    """A path under ../shared (the project's corpus and filter lists), or a skip with a reason.

    CI has ../shared beside the clone and runs these tests; a fresh clone skips them."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI needs {path}")
        pytest.skip(f"needs ../shared/{'/'.join(parts)} beside the clone (the project's data)")
    return path


@pytest.fixture(scope="session")
def restorer():
    from restore import Restorer

    return Restorer()


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass
class CliResult:
    """What a command line run left: its exit status and its two streams, as bytes."""

    returncode: int
    stdout: bytes
    stderr: bytes


def run_cli(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> CliResult:
    """Run ``restore ARGS`` in this process (click's CliRunner), as a user would see it.

    An exception that escapes a command shows up in ``stderr`` as a traceback, so tests
    that assert "one line, no traceback" see it fail."""
    from click.testing import CliRunner

    from restore.cli import main

    with contextlib.chdir(cwd or Path.cwd()):
        result = CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=True)
    stderr = result.stderr_bytes or b""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        assert result.exc_info is not None
        stderr += (
            "Traceback (most recent call last):\n" + "".join(traceback.format_exception(*result.exc_info))
        ).encode()
    return CliResult(result.exit_code, result.stdout_bytes, stderr)


def run_process(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """``python -m restore ARGS`` in a process of its own: for what only a real process shows
    (being killed, writing to a FIFO another process reads, the entry point itself)."""
    return subprocess.run(
        [sys.executable, "-m", "restore", *args], input=stdin, capture_output=True, cwd=cwd, timeout=300
    )


# ---------------------------------------------------------------- review workspaces


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """A PostgreSQL server URL: the one .ci/run started (RESTORE_TEST_POSTGRES), or a
    throwaway cluster started here from Debian's binaries."""
    import os
    import shutil

    url = os.environ.get("RESTORE_TEST_POSTGRES")
    if url:
        yield url
        return
    bindir = _postgres_bin()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs PostgreSQL; .ci/run installs and starts it")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    import tempfile

    # Not under pytest's private temp dir: the server runs as the postgres user.
    run = Path(tempfile.mkdtemp(prefix="restore-test-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(run, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = "54331"
    subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", str(run / "data"), "-U", "postgres", "-A", "trust"],
        check=True,
        capture_output=True,
    )
    opts = f"-k {run} -c listen_addresses='' -p {port}"
    subprocess.run(
        [*as_user, str(bindir / "pg_ctl"), "-D", str(run / "data"), "-o", opts, "-w", "-l", str(run / "log"), "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@/postgres?host={run}&port={port}"
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(run / "data"), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(run, ignore_errors=True)


_db_counter = [0]


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty database on the test server for one test."""
    import psycopg

    _db_counter[0] += 1
    name = f"restore_test_{os.getpid()}_{_db_counter[0]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    from sqlalchemy.engine import make_url

    yield make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def workspace_url(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "restore.db")
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory):
    """The corpus index: the one `restore build index` made, else one built here from
    ../shared/corpus (about 10 s), else a skip with the reason."""
    from restore.models.index import CorpusIndex

    found = CorpusIndex.find()
    if found is not None:
        return found
    pytest.importorskip("pydivsufsort")
    corpus = needs_shared("corpus")
    from restore.training.index import build_index

    out = tmp_path_factory.mktemp("corpus-index")
    build_index([corpus], out)
    return CorpusIndex.load(out)
