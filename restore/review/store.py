"""The review workspace: documents, the engine's suggestions, reviewers' decisions and an
append-only audit log, in SQLite (the zero-set-up default) or PostgreSQL.

Two rules shape the schema. A document's original text is written once and never
updated. A gap is decided with optimistic concurrency: a decision names the gap
``version`` it saw, and the update that records it only matches while that version is
current, so two reviewers racing on one gap cannot both apply it, and neither loses the
other's work.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import unicodedata
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, cast, get_args

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    create_engine,
    event,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import QueuePool

from restore.document import Candidate, Evidence, EvidenceKind, Gap, GapKind

SCHEMA_VERSION = 4
DEFAULT_WORKSPACE = "restore.db"

Action = Literal["accept", "reject", "edit", "unknown", "skip"]
ACTIONS: tuple[Action, ...] = get_args(Action)
# Gap status is "open" until decided, then the action's past tense; "stale" marks an open
# gap that a later suggestion run no longer finds (kept, because decisions may cite it).
STATUS_OF = {"accept": "accepted", "reject": "rejected", "edit": "edited", "unknown": "unknown", "skip": "skipped"}
DECIDABLE = ("open", "skipped")


class WorkspaceError(Exception):
    """The workspace cannot be used; the message is one line."""


class Conflict(WorkspaceError):
    """Someone else decided this gap first."""


metadata = MetaData()

schema_info = Table(
    "schema_info",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
)

documents = Table(
    "documents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", Text, nullable=False, unique=True),
    Column("content_hash", String(64), nullable=False, unique=True),
    Column("text", Text, nullable=False),
    Column("source", Text, nullable=False),  # JSON: path, line, title, date, encoding ...
    Column("imported_at", DateTime(timezone=True), nullable=False),
)

runs = Table(
    "suggestion_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("model_version", String(256), nullable=False),
    Column("lexicon_version", String(256), nullable=False),
    Column("settings", Text, nullable=False),
)

gaps = Table(
    "gaps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("document_id", Integer, ForeignKey("documents.id"), nullable=False),
    Column("offset", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("span_start", Integer),
    Column("span_end", Integer),
    Column("run_id", Integer, ForeignKey("suggestion_runs.id"), nullable=False),
    Column("status", String(16), nullable=False, default="open"),
    Column("version", Integer, nullable=False, default=0),
    Column("top_confidence", Float, nullable=False, default=0.0),
    UniqueConstraint("document_id", "offset", "kind", name="uq_gap_site"),
    Index("ix_gaps_queue", "status", "document_id", "offset"),
    Index("ix_gaps_document", "document_id", "offset"),
)

candidates = Table(
    "candidates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("gap_id", Integer, ForeignKey("gaps.id"), nullable=False),
    Column("rank", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("score", Float, nullable=False),
    Column("confidence", Float, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("run_id", Integer, ForeignKey("suggestion_runs.id"), nullable=False),
    Index("ix_candidates_gap", "gap_id", "rank"),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("gap_id", Integer, ForeignKey("gaps.id"), nullable=False),
    Column("action", String(16), nullable=False),
    Column("text", Text),  # what goes into the restored text (accept/edit), else NULL
    Column("candidate_rank", Integer),
    Column("confidence", Float),
    Column("evidence", Text, nullable=False),
    Column("reviewer", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("model_version", String(256), nullable=False),
    Column("lexicon_version", String(256), nullable=False),
    # The original text around the gap, so what reviewers teach can be matched elsewhere.
    Column("left_context", String(16), nullable=False),
    Column("right_context", String(16), nullable=False),
    Column("undone_at", DateTime(timezone=True)),
    Column("mode", String(8), nullable=False, default="single"),  # "single" or "bulk"
    Column("note", Text),  # what the reviewer wrote about this decision, if anything
    Index("ix_decisions_gap", "gap_id"),
    Index("ix_decisions_reviewer", "reviewer", "id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("reviewer", Text, nullable=False),
    Column("event", String(32), nullable=False),
    Column("document_id", Integer),
    Column("gap_id", Integer),
    Column("detail", Text, nullable=False),
)

reviewer_state = Table(
    "reviewer_state",
    metadata,
    Column("reviewer", Text, primary_key=True),
    Column("gap_id", Integer),
    Column("document_id", Integer),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

workspace_lexicon = Table(
    "workspace_lexicon",
    metadata,
    Column("string", String(64), primary_key=True),
    Column("added_by", Text, nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
)

CONTEXT_CHARS = 2


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; they were written in UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def content_hash(text_: str) -> str:
    return hashlib.sha256(text_.encode("utf-8")).hexdigest()


def context_at(text_: str, offset: int) -> tuple[str, str]:
    return text_[max(0, offset - CONTEXT_CHARS) : offset], text_[offset : offset + CONTEXT_CHARS]


# ---------------------------------------------------------------- migrations


def _migrate_1(conn: Connection) -> None:
    metadata.create_all(conn, tables=[t for t in metadata.sorted_tables if t.name != "workspace_lexicon"])


def _migrate_2(conn: Connection) -> None:
    """Typed-in strings become a workspace lexicon; the database itself refuses edits to
    an original text and to the audit log."""
    metadata.create_all(conn, tables=[workspace_lexicon])
    if conn.dialect.name == "sqlite":
        conn.execute(
            text(
                "CREATE TRIGGER IF NOT EXISTS documents_immutable BEFORE UPDATE OF text, content_hash ON documents "
                "BEGIN SELECT RAISE(ABORT, 'the original text is immutable'); END"
            )
        )
        for verb in ("UPDATE", "DELETE"):
            conn.execute(
                text(
                    f"CREATE TRIGGER IF NOT EXISTS audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
                )
            )
    elif conn.dialect.name == "postgresql":
        conn.execute(
            text(
                "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$ LANGUAGE plpgsql"
            )
        )
        conn.execute(
            text(
                "CREATE OR REPLACE FUNCTION documents_immutable() RETURNS trigger AS $$ "
                "BEGIN IF NEW.text IS DISTINCT FROM OLD.text OR NEW.content_hash IS DISTINCT FROM OLD.content_hash "
                "THEN RAISE EXCEPTION 'the original text is immutable'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        conn.execute(text("DROP TRIGGER IF EXISTS documents_immutable ON documents"))
        conn.execute(
            text(
                "CREATE TRIGGER documents_immutable BEFORE UPDATE ON documents "
                "FOR EACH ROW EXECUTE FUNCTION documents_immutable()"
            )
        )
        conn.execute(text("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log"))
        conn.execute(
            text(
                "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
            )
        )


def _migrate_3(conn: Connection) -> None:
    """Document keys and reviewer names of any length, as SQLite always took them (the two
    stores must accept the same workspaces)."""
    if conn.dialect.name != "postgresql":
        return
    for table, column in (
        ("documents", "key"),
        ("decisions", "reviewer"),
        ("audit_log", "reviewer"),
        ("reviewer_state", "reviewer"),
        ("workspace_lexicon", "added_by"),
    ):
        conn.execute(text(f'ALTER TABLE {table} ALTER COLUMN "{column}" TYPE text'))


def _migrate_4(conn: Connection) -> None:
    """A note on each decision (a workspace made from this schema already has the column)."""
    from sqlalchemy import inspect

    if "note" not in {c["name"] for c in inspect(conn).get_columns("decisions")}:
        conn.execute(text("ALTER TABLE decisions ADD COLUMN note TEXT"))


MIGRATIONS = {1: _migrate_1, 2: _migrate_2, 3: _migrate_3, 4: _migrate_4}


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class DocumentRecord:
    id: int
    key: str
    text: str
    source: dict[str, Any]
    content_hash: str


@dataclass(frozen=True)
class GapRecord:
    id: int
    document_id: int
    offset: int
    kind: GapKind
    span: tuple[int, int] | None
    status: str
    version: int
    candidates: tuple[Candidate, ...]

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


@dataclass(frozen=True)
class DecisionRecord:
    id: int
    gap_id: int
    document_id: int
    offset: int
    action: Action
    text: str | None
    candidate_rank: int | None
    confidence: float | None
    evidence: tuple[Evidence, ...]
    reviewer: str
    decided_at: datetime
    model_version: str
    lexicon_version: str
    mode: str = "single"  # "bulk" when accepted with others at a threshold, else "single"
    note: str | None = None  # what the reviewer wrote about it


@dataclass(frozen=True)
class Feedback:
    """What reviewers have taught the workspace so far."""

    accepted: dict[str, int]  # inserted string -> times accepted or typed
    accepted_here: dict[tuple[str, str, str], int]  # (left, string, right) -> times accepted there
    rejected: dict[tuple[str, str, str], int]  # (left, string, right) -> times rejected
    typed: tuple[str, ...]  # strings reviewers typed by hand (the workspace lexicon)
    quiet: frozenset[tuple[str, str]] = frozenset()  # (left, right) characters of rejected empty gaps


def _insert_ignoring_duplicates(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    if conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()
    return insert(table).prefix_with("IGNORE")  # MySQL/MariaDB


def _decision_record(row: Any) -> DecisionRecord:
    """From a decisions row joined with its gap's document_id and offset."""
    return DecisionRecord(
        row.id,
        row.gap_id,
        row.document_id,
        row.offset,
        row.action,
        row.text,
        row.candidate_rank,
        row.confidence,
        _evidence_from(row.evidence),
        row.reviewer,
        _aware(row.decided_at),
        row.model_version,
        row.lexicon_version,
        row.mode,
        row.note,
    )


def _evidence_json(evidence: Sequence[Evidence]) -> str:
    return json.dumps([e.to_dict() for e in evidence], ensure_ascii=False)


def _evidence_from(raw: str) -> tuple[Evidence, ...]:
    items = json.loads(raw) if raw else []
    return tuple(Evidence(cast(EvidenceKind, str(e["kind"])), str(e["detail"]), e.get("value")) for e in items)


def database_url(db: str) -> str:
    """A path means a SQLite file; anything with ``://`` is a SQLAlchemy URL."""
    if "://" not in db:
        return f"sqlite:///{Path(db).expanduser()}"
    if db.startswith("postgresql://") or db.startswith("postgres://"):
        return "postgresql+psycopg://" + db.split("://", 1)[1]
    return db


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _is_read_only(path: Path) -> bool:
    # Mode bits are honoured even for root, so `chmod a-w` freezes a workspace for everyone.
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(path, os.W_OK)


@dataclass(frozen=True)
class QueueFilter:
    """Which undecided gaps the review queue shows.

    By default every kind with at least one candidate: a gap with nothing to propose is
    mostly a false alarm (a name, a number), shown only when asked (``with_candidates=False``).
    """

    kinds: tuple[GapKind, ...] = ("deletion", "mask", "unknown")
    min_confidence: float = 0.0
    string: str | None = None  # only gaps whose best candidate is this string
    with_candidates: bool = True

    def conditions(self) -> list[Any]:
        conds: list[Any] = [gaps.c.kind.in_(list(self.kinds))]
        if self.min_confidence > 0:
            conds.append(gaps.c.top_confidence >= self.min_confidence)
        if self.with_candidates:
            conds.append(exists(select(candidates.c.id).where(candidates.c.gap_id == gaps.c.id)))
        if self.string:
            conds.append(
                exists(
                    select(candidates.c.id).where(
                        candidates.c.gap_id == gaps.c.id, candidates.c.rank == 1, candidates.c.text == self.string
                    )
                )
            )
        return conds


class Store:
    """One workspace. Every write method commits before it returns."""

    def __init__(self, db: str = DEFAULT_WORKSPACE, create: bool = True):
        self.url = database_url(db)
        # Never echo a password in messages.
        self.label = db if "://" not in db else _safe_label(self.url)
        # A plain path is used as it is: '#', '%' and '?' are file-name characters there,
        # not URL syntax (ro#x.db must open ro#x.db, not ro).
        path = Path(db).expanduser() if "://" not in db else _sqlite_path(self.url)
        self.read_only = False
        if path is not None:
            if path.is_dir():
                raise WorkspaceError(f"{db}: is a directory, not a workspace file")
            if not path.exists():
                if not create:
                    raise WorkspaceError(f"{db}: no such workspace (import documents first)")
                if not path.parent.is_dir():
                    raise WorkspaceError(f"{db}: directory {path.parent} does not exist")
            self.read_only = path.exists() and _is_read_only(path)
        self.engine = self._connect(path)
        try:
            self._prepare(create)
        except (DatabaseError, OperationalError) as exc:
            self.engine.dispose()
            raise WorkspaceError(f"{db}: not a usable restore workspace ({_reason(exc)})") from None

    def _connect(self, path: Path | None) -> Engine:
        try:
            if path is not None:
                read_only = self.read_only
                target = str(path)

                def _sqlite_connect() -> sqlite3.Connection:
                    if read_only:  # a URI, so every special character of the path is escaped
                        uri = f"file:{urllib.parse.quote(os.path.abspath(target))}?mode=ro"
                        return sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)
                    return sqlite3.connect(target, timeout=30, check_same_thread=False)

                engine = create_engine("sqlite://", creator=_sqlite_connect, poolclass=QueuePool)

                @event.listens_for(engine, "connect")
                def _pragmas(dbapi_conn: Any, _record: Any) -> None:
                    cur = dbapi_conn.cursor()
                    if not read_only:
                        cur.execute("PRAGMA journal_mode=WAL")
                    cur.execute("PRAGMA foreign_keys=ON")
                    cur.execute("PRAGMA busy_timeout=30000")
                    cur.close()

                return engine
            return create_engine(self.url, pool_pre_ping=True)
        except (ArgumentError, ImportError) as exc:
            raise WorkspaceError(f"{self.label}: cannot open workspace: {exc}") from None

    def _prepare(self, create: bool) -> None:
        try:
            with self.engine.connect() as conn:
                tables = set(self.engine.dialect.get_table_names(conn))
        except OperationalError as exc:
            raise WorkspaceError(f"{self.label}: cannot open workspace ({_reason(exc)})") from None
        if "schema_info" not in tables:
            if tables:
                raise WorkspaceError(f"{self.label}: a database, but not a restore workspace")
            if self.read_only or not create:
                raise WorkspaceError(f"{self.label}: empty database, not a restore workspace")
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise WorkspaceError(
                f"{self.label}: workspace schema {version} is newer than this restore understands "
                f"({SCHEMA_VERSION}); upgrade restore"
            )
        if version < SCHEMA_VERSION:
            if self.read_only:
                raise WorkspaceError(f"{self.label}: read-only workspace needs a schema upgrade to {SCHEMA_VERSION}")
            self.migrate()

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            if not self.engine.dialect.has_table(conn, "schema_info"):
                return 0
            value = conn.execute(select(schema_info.c.value).where(schema_info.c.key == "schema_version")).scalar()
        return int(value or 0)

    def migrate(self) -> None:
        """Apply each pending migration in its own transaction."""
        with self._write() as conn:
            if conn.dialect.name == "postgresql":
                # Two processes opening a new workspace at once must not both migrate it.
                conn.execute(text("SELECT pg_advisory_xact_lock(7262737)"))
            metadata.create_all(conn, tables=[schema_info])
            current = int(
                conn.execute(select(schema_info.c.value).where(schema_info.c.key == "schema_version")).scalar() or 0
            )
            for version in sorted(MIGRATIONS):
                if version <= current:
                    continue
                MIGRATIONS[version](conn)
                if current == 0:
                    conn.execute(insert(schema_info).values(key="schema_version", value=str(version)))
                else:
                    conn.execute(
                        update(schema_info).where(schema_info.c.key == "schema_version").values(value=str(version))
                    )
                current = version

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        if self.read_only:
            raise WorkspaceError(f"{self.label}: workspace is read-only; nothing was changed")
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            if "readonly" in str(exc).lower() or "read-only" in str(exc).lower():
                raise WorkspaceError(f"{self.label}: workspace is read-only; nothing was changed") from None
            raise WorkspaceError(f"{self.label}: {_reason(exc)}") from None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except (DatabaseError, OperationalError) as exc:
            raise WorkspaceError(f"{self.label}: {_reason(exc)}") from None

    def _audit(
        self, conn: Connection, reviewer: str, event_: str, document_id: int | None, gap_id: int | None, **detail: Any
    ) -> None:
        conn.execute(
            insert(audit_log).values(
                at=_now(),
                reviewer=reviewer,
                event=event_,
                document_id=document_id,
                gap_id=gap_id,
                detail=json.dumps(detail, ensure_ascii=False, default=str),
            )
        )

    # ------------------------------------------------------------ documents and suggestions

    def find_document_by_hash(self, digest: str) -> int | None:
        with self._read() as conn:
            return conn.execute(select(documents.c.id).where(documents.c.content_hash == digest)).scalar()

    def add_document(
        self,
        key: str,
        text_: str,
        source: dict[str, Any],
        found: Sequence[Gap],
        versions: dict[str, str],
        reviewer: str,
    ) -> tuple[int, bool]:
        """Store a document and its suggestions; returns (id, created). Idempotent on content."""
        digest = content_hash(text_)
        with self._write() as conn:
            existing = conn.execute(select(documents.c.id).where(documents.c.content_hash == digest)).scalar()
            if existing is not None:
                return int(existing), False
            unique_key = key
            n = 1
            while conn.execute(select(documents.c.id).where(documents.c.key == unique_key)).scalar() is not None:
                n += 1
                unique_key = f"{key}~{n}"
            doc_id = conn.execute(
                insert(documents)
                .values(
                    key=unique_key,
                    content_hash=digest,
                    text=text_,
                    source=json.dumps(source, ensure_ascii=False),
                    imported_at=_now(),
                )
                .returning(documents.c.id)
            ).scalar_one()
            run_id = self._new_run(conn, versions)
            self._insert_gaps(conn, int(doc_id), run_id, found)
            self._audit(conn, reviewer, "import", int(doc_id), None, key=unique_key, gaps=len(found), **versions)
        return int(doc_id), True

    def _new_run(self, conn: Connection, versions: dict[str, str]) -> int:
        return int(
            conn.execute(
                insert(runs)
                .values(
                    started_at=_now(),
                    model_version=versions.get("model", ""),
                    lexicon_version=versions.get("lexicon", ""),
                    settings=json.dumps(versions, ensure_ascii=False),
                )
                .returning(runs.c.id)
            ).scalar_one()
        )

    def _insert_gaps(self, conn: Connection, doc_id: int, run_id: int, found: Sequence[Gap]) -> None:
        for gap in found:
            gap_id = conn.execute(
                insert(gaps)
                .values(
                    document_id=doc_id,
                    offset=gap.offset,
                    kind=gap.kind,
                    span_start=gap.span[0] if gap.span else None,
                    span_end=gap.span[1] if gap.span else None,
                    run_id=run_id,
                    status="open",
                    version=0,
                    top_confidence=gap.best.confidence if gap.best else 0.0,
                )
                .returning(gaps.c.id)
            ).scalar_one()
            self._insert_candidates(conn, int(gap_id), run_id, gap.candidates)

    @staticmethod
    def _insert_candidates(conn: Connection, gap_id: int, run_id: int, found: Sequence[Candidate]) -> None:
        if found:
            conn.execute(
                insert(candidates),
                [
                    {
                        "gap_id": gap_id,
                        "rank": rank,
                        "text": c.text,
                        "score": c.score,
                        "confidence": c.confidence,
                        "evidence": _evidence_json(c.evidence),
                        "run_id": run_id,
                    }
                    for rank, c in enumerate(found, 1)
                ],
            )

    def place_gap(self, doc_id: int, offset: int, found: Sequence[Candidate], reviewer: str) -> int:
        """A gap a reviewer placed ("text is missing here"), with the engine's candidates for
        that place; an open gap already there is reused. Returns its id."""
        with self._write() as conn:
            text_ = conn.execute(select(documents.c.text).where(documents.c.id == doc_id)).scalar()
            if text_ is None or not 0 <= offset <= len(text_):
                raise WorkspaceError(f"no place {offset} in document {doc_id}")
            existing = conn.execute(
                select(gaps.c.id, gaps.c.status).where(
                    gaps.c.document_id == doc_id, gaps.c.offset == offset, gaps.c.kind == "deletion"
                )
            ).first()
            if existing is not None:
                if existing.status != "open":
                    raise Conflict(f"the gap at {offset} is already decided")
                return int(existing.id)
            run_id = conn.execute(
                select(gaps.c.run_id).where(gaps.c.document_id == doc_id).order_by(gaps.c.id.desc()).limit(1)
            ).scalar()
            if run_id is None:
                run_id = self._new_run(conn, {"model": "reviewer", "lexicon": "reviewer"})
            gap = Gap(offset, "deletion", tuple(found))
            self._insert_gaps(conn, doc_id, int(run_id), [gap])
            gap_id = int(
                conn.execute(
                    select(gaps.c.id).where(
                        gaps.c.document_id == doc_id, gaps.c.offset == offset, gaps.c.kind == "deletion"
                    )
                ).scalar_one()
            )
            self._audit(conn, reviewer, "place", doc_id, gap_id, offset=offset)
        return gap_id

    def replace_suggestions(
        self, doc_id: int, found: Sequence[Gap], versions: dict[str, str], reviewer: str
    ) -> dict[str, int]:
        """A new suggestion run for one document. Decided gaps and their decisions are kept
        as they are; open gaps get the new candidates; open gaps the run no longer finds
        become ``stale``."""
        counts = {"updated": 0, "added": 0, "stale": 0, "kept": 0}
        with self._write() as conn:
            run_id = self._new_run(conn, versions)
            rows = conn.execute(
                select(gaps.c.id, gaps.c.offset, gaps.c.kind, gaps.c.status).where(gaps.c.document_id == doc_id)
            ).all()
            by_site = {(r.offset, r.kind): r for r in rows}
            seen = set()
            new = []
            for gap in found:
                row = by_site.get((gap.offset, gap.kind))
                seen.add((gap.offset, gap.kind))
                if row is None:
                    new.append(gap)
                elif row.status in ("open", "stale"):
                    conn.execute(candidates.delete().where(candidates.c.gap_id == row.id))
                    self._insert_candidates(conn, row.id, run_id, gap.candidates)
                    conn.execute(
                        update(gaps)
                        .where(gaps.c.id == row.id)
                        .values(
                            status="open",
                            run_id=run_id,
                            version=gaps.c.version + 1,
                            top_confidence=gap.best.confidence if gap.best else 0.0,
                        )
                    )
                    counts["updated"] += 1
                else:
                    counts["kept"] += 1
            for row in rows:
                if (row.offset, row.kind) not in seen and row.status == "open":
                    conn.execute(
                        update(gaps).where(gaps.c.id == row.id).values(status="stale", version=gaps.c.version + 1)
                    )
                    counts["stale"] += 1
            self._insert_gaps(conn, doc_id, run_id, new)
            counts["added"] = len(new)
            self._audit(conn, reviewer, "resuggest", doc_id, None, **counts, **versions)
        return counts

    def document_ids(self) -> list[int]:
        with self._read() as conn:
            return [int(x) for x in conn.execute(select(documents.c.id).order_by(documents.c.id)).scalars()]

    def document(self, doc_id: int) -> DocumentRecord:
        with self._read() as conn:
            row = conn.execute(select(documents).where(documents.c.id == doc_id)).first()
        if row is None:
            raise WorkspaceError(f"no document with id {doc_id}")
        return DocumentRecord(row.id, row.key, row.text, json.loads(row.source), row.content_hash)

    def resolve_document(self, ref: str) -> int:
        """A document by key, or by numeric id."""
        with self._read() as conn:
            found = conn.execute(select(documents.c.id).where(documents.c.key == ref)).scalar()
            if found is None and ref.isdigit():
                found = conn.execute(select(documents.c.id).where(documents.c.id == int(ref))).scalar()
        if found is None:
            raise WorkspaceError(f"no document {ref!r} in {self.label} (see `restore review status --by-document`)")
        return int(found)

    # ------------------------------------------------------------ gaps

    def _gap_records(self, conn: Connection, rows: Sequence[Any]) -> list[GapRecord]:
        ids = [r.id for r in rows]
        found: dict[int, list[Candidate]] = {i: [] for i in ids}
        if ids:
            for c in conn.execute(
                select(candidates).where(candidates.c.gap_id.in_(ids)).order_by(candidates.c.gap_id, candidates.c.rank)
            ):
                found[c.gap_id].append(Candidate(c.text, c.score, c.confidence, _evidence_from(c.evidence)))
        return [
            GapRecord(
                r.id,
                r.document_id,
                r.offset,
                r.kind,
                (r.span_start, r.span_end) if r.span_start is not None else None,
                r.status,
                r.version,
                tuple(found[r.id]),
            )
            for r in rows
        ]

    def gap(self, gap_id: int) -> GapRecord:
        with self._read() as conn:
            rows = conn.execute(select(gaps).where(gaps.c.id == gap_id)).all()
            records = self._gap_records(conn, rows)
        if not records:
            raise WorkspaceError(f"no gap with id {gap_id}")
        return records[0]

    def gaps_of(self, doc_id: int, statuses: Sequence[str] | None = None) -> list[GapRecord]:
        query = select(gaps).where(gaps.c.document_id == doc_id)
        if statuses is not None:
            query = query.where(gaps.c.status.in_(list(statuses)))
        with self._read() as conn:
            rows = conn.execute(query.order_by(gaps.c.offset, gaps.c.id)).all()
            return self._gap_records(conn, rows)

    def gap_ids_of(self, doc_id: int) -> list[int]:
        query = select(gaps.c.id).where(gaps.c.document_id == doc_id).order_by(gaps.c.offset, gaps.c.id)
        with self._read() as conn:
            return [int(x) for x in conn.execute(query).scalars()]

    def next_gap(
        self,
        after: tuple[int, int, int] | None,
        statuses: Sequence[str] = ("open",),
        same_document: bool = False,
        queue: QueueFilter | None = None,
    ) -> int | None:
        """The first gap in queue order (document, offset, id) strictly after ``after``."""
        query = select(gaps.c.id).where(gaps.c.status.in_(list(statuses)), *(queue or QueueFilter()).conditions())
        if after is not None:
            d, o, i = after
            if same_document:
                query = query.where(gaps.c.document_id == d)
            query = query.where(
                or_(
                    gaps.c.document_id > d,
                    and_(gaps.c.document_id == d, gaps.c.offset > o),
                    and_(gaps.c.document_id == d, gaps.c.offset == o, gaps.c.id > i),
                )
            )
        query = query.order_by(gaps.c.document_id, gaps.c.offset, gaps.c.id).limit(1)
        with self._read() as conn:
            found = conn.execute(query).scalar()
        return int(found) if found is not None else None

    def first_gap_from_document(
        self, doc_id: int, statuses: Sequence[str] = ("open",), queue: QueueFilter | None = None
    ) -> int | None:
        query = (
            select(gaps.c.id)
            .where(
                gaps.c.status.in_(list(statuses)), gaps.c.document_id >= doc_id, *(queue or QueueFilter()).conditions()
            )
            .order_by(gaps.c.document_id, gaps.c.offset, gaps.c.id)
            .limit(1)
        )
        with self._read() as conn:
            found = conn.execute(query).scalar()
        return int(found) if found is not None else None

    # ------------------------------------------------------------ decisions

    def decide(
        self,
        gap_id: int,
        action: Action,
        reviewer: str,
        expected_version: int | None = None,
        candidate_rank: int | None = None,
        typed: str | None = None,
        bulk: bool = False,
        at: datetime | None = None,
    ) -> DecisionRecord:
        """Record one decision and commit it. Raises :class:`Conflict` if the gap changed
        since ``expected_version`` or is already decided."""
        if action not in ACTIONS:
            raise WorkspaceError(f"unknown action {action!r}")
        with self._write() as conn:
            row = conn.execute(select(gaps).where(gaps.c.id == gap_id)).first()
            if row is None:
                raise WorkspaceError(f"no gap with id {gap_id}")
            version = row.version if expected_version is None else expected_version
            chosen: Candidate | None = None
            insert_text: str | None = None
            if action == "accept":
                rank = candidate_rank or 1
                c = conn.execute(
                    select(candidates).where(candidates.c.gap_id == gap_id, candidates.c.rank == rank)
                ).first()
                if c is None:
                    raise WorkspaceError(f"gap {gap_id} has no candidate {rank}")
                chosen = Candidate(c.text, c.score, c.confidence, _evidence_from(c.evidence))
                insert_text = c.text
                candidate_rank = rank
            elif action == "edit":
                if not typed:
                    raise WorkspaceError("an edit needs the text to insert")
                if any(unicodedata.category(c) == "Cc" for c in typed):
                    raise WorkspaceError("typed text holds control characters; they are not text")
                insert_text = typed
                candidate_rank = None
            else:
                candidate_rank = None
            claimed = conn.execute(
                update(gaps)
                .where(gaps.c.id == gap_id, gaps.c.version == version, gaps.c.status.in_(DECIDABLE))
                .values(status=STATUS_OF[action], version=version + 1)
            ).rowcount
            if claimed != 1:
                raise Conflict(f"gap {gap_id} was already decided (status {row.status})")
            doc_text = conn.execute(select(documents.c.text).where(documents.c.id == row.document_id)).scalar_one()
            left, right = context_at(doc_text, row.offset)
            run = conn.execute(select(runs).where(runs.c.id == row.run_id)).first()
            evidence: tuple[Evidence, ...] = chosen.evidence if chosen else ()
            if action == "edit":
                evidence = (Evidence("reviewer", f"typed by {reviewer}"),)
            now = at or _now()  # one bulk step shares one time: undo takes it back whole
            values = {
                "gap_id": gap_id,
                "action": action,
                "text": insert_text,
                "candidate_rank": candidate_rank,
                "confidence": chosen.confidence if chosen else (1.0 if action == "edit" else None),
                "evidence": _evidence_json(evidence),
                "reviewer": reviewer,
                "decided_at": now,
                "model_version": run.model_version if run else "",
                "lexicon_version": run.lexicon_version if run else "",
                "left_context": left,
                "right_context": right,
                "mode": "bulk" if bulk else "single",
            }
            decision_id = conn.execute(insert(decisions).values(**values).returning(decisions.c.id)).scalar_one()
            if action == "edit" and insert_text and len(insert_text) <= 64:
                # Two reviewers may type the same string at once: the second insert is a no-op.
                conn.execute(
                    _insert_ignoring_duplicates(conn, workspace_lexicon).values(
                        string=insert_text, added_by=reviewer, added_at=now
                    )
                )
            self._audit(
                conn, reviewer, "decide", row.document_id, gap_id, action=action, text=insert_text, rank=candidate_rank
            )
        return DecisionRecord(
            int(decision_id),
            gap_id,
            row.document_id,
            row.offset,
            action,
            insert_text,
            candidate_rank,
            values["confidence"],  # type: ignore[arg-type]
            evidence,
            reviewer,
            now,
            str(values["model_version"]),
            str(values["lexicon_version"]),
        )

    def undo_last(self, reviewer: str) -> DecisionRecord | None:
        """Take back this reviewer's latest step still in force: one decision, or every
        decision of one bulk accept. Returns the first decision taken back."""
        undone = self.undo_last_step(reviewer)
        return undone[0] if undone else None

    def undo_last_step(self, reviewer: str) -> list[DecisionRecord]:
        with self._write() as conn:
            query = (
                select(decisions, gaps.c.document_id, gaps.c.offset, gaps.c.version, gaps.c.status)
                .join(gaps, gaps.c.id == decisions.c.gap_id)
                .where(decisions.c.reviewer == reviewer, decisions.c.undone_at.is_(None))
            )
            last = conn.execute(query.order_by(decisions.c.id.desc()).limit(1)).first()
            if last is None:
                return []
            rows = [last]
            if last.mode == "bulk":
                rows = list(
                    conn.execute(
                        query.where(decisions.c.mode == "bulk", decisions.c.decided_at == last.decided_at).order_by(
                            decisions.c.id
                        )
                    )
                )
            for row in rows:
                if row.status != STATUS_OF[row.action]:
                    raise Conflict(f"gap {row.gap_id} was changed by someone else since; not undone")
            stamp = _now()
            for row in rows:
                reopened = conn.execute(
                    update(gaps)
                    .where(gaps.c.id == row.gap_id, gaps.c.version == row.version)
                    .values(status="open", version=row.version + 1)
                ).rowcount
                if reopened != 1:
                    raise Conflict(f"gap {row.gap_id} was changed by someone else since; not undone")
                conn.execute(update(decisions).where(decisions.c.id == row.id).values(undone_at=stamp))
                if row.action == "edit" and row.text:
                    # A typed string leaves the workspace lexicon with the last edit that typed it.
                    still_typed = conn.execute(
                        select(decisions.c.id).where(
                            decisions.c.action == "edit", decisions.c.text == row.text, decisions.c.undone_at.is_(None)
                        )
                    ).first()
                    if still_typed is None:
                        conn.execute(workspace_lexicon.delete().where(workspace_lexicon.c.string == row.text))
                self._audit(conn, reviewer, "undo", row.document_id, row.gap_id, decision=row.id, action=row.action)
        return [_decision_record(row) for row in rows]

    def annotate_last(self, reviewer: str, note: str) -> DecisionRecord | None:
        """Write ``note`` on this reviewer's latest decision in force (None if there is none)."""
        with self._write() as conn:
            row = conn.execute(
                select(decisions, gaps.c.document_id, gaps.c.offset)
                .join(gaps, gaps.c.id == decisions.c.gap_id)
                .where(decisions.c.reviewer == reviewer, decisions.c.undone_at.is_(None))
                .order_by(decisions.c.id.desc())
                .limit(1)
            ).first()
            if row is None:
                return None
            conn.execute(update(decisions).where(decisions.c.id == row.id).values(note=note))
            self._audit(conn, reviewer, "note", row.document_id, row.gap_id, decision=row.id, note=note)
        return replace(_decision_record(row), note=note)

    def decisions_of(self, doc_id: int, actions: Sequence[Action] = ACTIONS) -> list[DecisionRecord]:
        """Decisions in force for one document, in text order."""
        query = (
            select(decisions, gaps.c.document_id, gaps.c.offset)
            .join(gaps, gaps.c.id == decisions.c.gap_id)
            .where(
                gaps.c.document_id == doc_id,
                decisions.c.undone_at.is_(None),
                decisions.c.action.in_(list(actions)),
            )
            .order_by(gaps.c.offset, gaps.c.id, decisions.c.id)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [_decision_record(r) for r in rows]

    def open_gaps_at_or_above(self, min_confidence: float, doc_id: int | None = None) -> list[tuple[int, int]]:
        """(gap id, version) of open deletion and mask gaps whose best candidate clears the
        bar, exactly as ``restore fix --min-confidence`` applies it (the review screen shows
        confidences rounded down, so what it shows at 0.99 is at 0.99)."""
        query = select(gaps.c.id, gaps.c.version).where(
            gaps.c.status == "open",
            gaps.c.kind.in_(["deletion", "mask"]),
            gaps.c.top_confidence >= min_confidence,
        )
        if doc_id is not None:
            query = query.where(gaps.c.document_id == doc_id)
        with self._read() as conn:
            return [(r.id, r.version) for r in conn.execute(query.order_by(gaps.c.document_id, gaps.c.offset))]

    def open_gaps_like(self, gap_id: int, width: int = 2) -> list[tuple[int, int]]:
        """(gap id, version) of the open gaps like this one anywhere in the workspace: the
        same kind and best candidate, between the same ``width`` characters either side
        (a repeated name, a repeated phrase); this gap first."""
        with self._read() as conn:
            me = conn.execute(select(gaps).where(gaps.c.id == gap_id)).first()
            if me is None:
                raise WorkspaceError(f"no gap {gap_id}")
            best = select(candidates.c.text).where(candidates.c.gap_id == gaps.c.id, candidates.c.rank == 1)
            mine = conn.execute(
                select(candidates.c.text).where(candidates.c.gap_id == gap_id, candidates.c.rank == 1)
            ).scalar()
            same = conn.execute(
                select(gaps.c.id, gaps.c.version, gaps.c.document_id, gaps.c.offset, gaps.c.span_end)
                .where(
                    gaps.c.status == "open",
                    gaps.c.kind == me.kind,
                    best.scalar_subquery() == mine if mine is not None else ~exists(best),
                )
                .order_by(gaps.c.document_id, gaps.c.offset)
            ).all()
            # Each document's text once, however many of its gaps are alike.
            texts = dict(
                conn.execute(
                    select(documents.c.id, documents.c.text).where(documents.c.id.in_({r.document_id for r in same}))
                ).all()
            )

        def around(r: Any) -> tuple[str, str]:
            text_ = texts[r.document_id]
            end = r.span_end if r.span_end is not None else r.offset
            return text_[max(0, r.offset - width) : r.offset], text_[end : end + width]

        key = next((around(r) for r in same if r.id == gap_id), None)
        found = [(r.id, r.version) for r in same if around(r) == key]
        found.sort(key=lambda g: g[0] != gap_id)
        return found

    def open_gaps_below(self, max_confidence: float, doc_id: int | None = None) -> list[tuple[int, int]]:
        query = select(gaps.c.id, gaps.c.version).where(gaps.c.status == "open", gaps.c.top_confidence < max_confidence)
        if doc_id is not None:
            query = query.where(gaps.c.document_id == doc_id)
        with self._read() as conn:
            return [(r.id, r.version) for r in conn.execute(query.order_by(gaps.c.document_id, gaps.c.offset))]

    # ------------------------------------------------------------ what reviewers taught

    def feedback(self) -> Feedback:
        """Counts over the decisions in force that a person made gap by gap; bulk
        accepts are left out, or the engine would teach itself its own guesses."""
        considered = and_(decisions.c.undone_at.is_(None), decisions.c.mode == "single")
        accepted: dict[str, int] = {}
        accepted_here: dict[tuple[str, str, str], int] = {}
        rejected: dict[tuple[str, str, str], int] = {}
        with self._read() as conn:
            for r in conn.execute(
                select(decisions.c.text, decisions.c.left_context, decisions.c.right_context).where(
                    considered, decisions.c.action.in_(["accept", "edit"])
                )
            ):
                accepted[r.text] = accepted.get(r.text, 0) + 1
                key = (r.left_context, r.text, r.right_context)
                accepted_here[key] = accepted_here.get(key, 0) + 1
            # Candidates the reviewer saw ranked above the choice, or turned down, are
            # rejected in that context.
            for row in conn.execute(
                select(
                    decisions.c.action,
                    decisions.c.text.label("chosen"),
                    decisions.c.candidate_rank,
                    decisions.c.left_context,
                    decisions.c.right_context,
                    candidates.c.text,
                    candidates.c.rank,
                )
                .join(candidates, candidates.c.gap_id == decisions.c.gap_id)
                .where(considered, decisions.c.action.in_(["accept", "edit", "reject"]), candidates.c.rank <= 3)
            ):
                if row.action == "accept" and row.rank >= (row.candidate_rank or 1):
                    continue
                if row.action == "edit" and row.text == row.chosen:
                    continue
                key = (row.left_context, row.text, row.right_context)
                rejected[key] = rejected.get(key, 0) + 1
            typed = tuple(
                conn.execute(select(workspace_lexicon.c.string).order_by(workspace_lexicon.c.string)).scalars()
            )
            # Gaps with nothing to propose that a reviewer turned down: the characters either
            # side (a name's, mostly) are no place to flag again.
            quiet = frozenset(
                (r.left_context[-1:], r.right_context[:1])
                for r in conn.execute(
                    select(decisions.c.left_context, decisions.c.right_context).where(
                        considered,
                        decisions.c.action == "reject",
                        ~exists(select(candidates.c.id).where(candidates.c.gap_id == decisions.c.gap_id)),
                    )
                )
                if r.left_context and r.right_context
            )
        return Feedback(accepted, accepted_here, rejected, typed, quiet)

    # ------------------------------------------------------------ reviewer position

    def position(self, reviewer: str) -> tuple[int | None, int | None]:
        with self._read() as conn:
            row = conn.execute(select(reviewer_state).where(reviewer_state.c.reviewer == reviewer)).first()
        return (row.gap_id, row.document_id) if row else (None, None)

    def set_position(self, reviewer: str, gap_id: int | None, document_id: int | None) -> None:
        with self._write() as conn:
            done = conn.execute(
                update(reviewer_state)
                .where(reviewer_state.c.reviewer == reviewer)
                .values(gap_id=gap_id, document_id=document_id, updated_at=_now())
            ).rowcount
            if not done:  # first move of this reviewer; a concurrent first move is harmless
                conn.execute(
                    _insert_ignoring_duplicates(conn, reviewer_state).values(
                        reviewer=reviewer, gap_id=gap_id, document_id=document_id, updated_at=_now()
                    )
                )

    # ------------------------------------------------------------ summaries

    def status_counts(self) -> dict[str, int]:
        with self._read() as conn:
            counts = {
                str(r.status): int(r.n)
                for r in conn.execute(select(gaps.c.status, func.count().label("n")).group_by(gaps.c.status))
            }
            counts["documents"] = int(conn.execute(select(func.count()).select_from(documents)).scalar() or 0)
        return counts

    def document_summaries(self) -> list[dict[str, Any]]:
        with self._read() as conn:
            per: dict[int, dict[str, Any]] = {}
            for r in conn.execute(select(documents.c.id, documents.c.key).order_by(documents.c.id)):
                per[r.id] = {"id": r.id, "key": r.key, "gaps": 0, "open": 0, "decided": 0}
            for r in conn.execute(
                select(gaps.c.document_id, gaps.c.status, func.count().label("n")).group_by(
                    gaps.c.document_id, gaps.c.status
                )
            ):
                entry = per[r.document_id]
                entry["gaps"] += r.n
                if r.status == "open":
                    entry["open"] += r.n
                elif r.status != "stale":
                    entry["decided"] += r.n
        return list(per.values())

    def queue_position(self, doc_id: int) -> tuple[int, int]:
        """(1-based position of the document, number of documents)."""
        with self._read() as conn:
            before = conn.execute(select(func.count()).select_from(documents).where(documents.c.id <= doc_id)).scalar()
            total = conn.execute(select(func.count()).select_from(documents)).scalar()
        return int(before or 0), int(total or 0)

    def audit_entries(self, limit: int = 100) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute(select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)).all()
        return [
            {
                "id": r.id,
                "at": r.at,
                "reviewer": r.reviewer,
                "event": r.event,
                "document_id": r.document_id,
                "gap_id": r.gap_id,
                "detail": json.loads(r.detail),
            }
            for r in rows
        ]


def _safe_label(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("://", 1)[0] + "://…"


def _reason(exc: Exception) -> str:
    orig = getattr(exc, "orig", None)
    message = str(orig if orig is not None else exc).strip().splitlines()
    return message[0] if message else type(exc).__name__


__all__ = [
    "ACTIONS",
    "Conflict",
    "DEFAULT_WORKSPACE",
    "DecisionRecord",
    "DocumentRecord",
    "Feedback",
    "GapRecord",
    "QueueFilter",
    "SCHEMA_VERSION",
    "SQLAlchemyError",
    "Store",
    "WorkspaceError",
    "content_hash",
    "context_at",
    "database_url",
]
