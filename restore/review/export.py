"""Export a workspace as a clean corpus: plain text, JSONL with standoff edits, or TEI P5.

Only decisions in force are applied (accept and edit insert text; unknown marks a gap),
and every format keeps the original recoverable: JSONL carries it and the edit offsets,
TEI keeps every original character in the body with restorations in ``<supplied>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal
from xml.etree import ElementTree

from restore import __version__
from restore.document import Insertion, Restoration
from restore.io.names import output_names, short_hash
from restore.io.writers import finish_temp, temp_for, write_atomic
from restore.review.store import DecisionRecord, DocumentRecord, Store

Format = Literal["txt", "jsonl", "tei"]
FORMATS: tuple[str, ...] = ("txt", "jsonl", "tei")
TEI_NS = "http://www.tei-c.org/ns/1.0"
XML_NS = "http://www.w3.org/XML/1998/namespace"


@dataclass(frozen=True)
class ExportedDocument:
    document: DocumentRecord
    restoration: Restoration
    applied: tuple[DecisionRecord, ...]  # accept/edit decisions, in text order
    unknown: tuple[DecisionRecord, ...]  # gaps a reviewer marked as missing text of unknown content
    replaced: dict[int, str] = field(default_factory=dict)  # decision id -> the mask it replaces


def restored_document(store: Store, doc_id: int) -> ExportedDocument:
    doc = store.document(doc_id)
    decided = store.decisions_of(doc_id, ("accept", "edit", "unknown"))
    applied = tuple(d for d in decided if d.action in ("accept", "edit") and d.text)
    unknown = tuple(d for d in decided if d.action == "unknown")
    # A site's mask is replaced by what a reviewer put there; a deletion only gains text.
    masks = {g.id: g.span for g in store.gaps_of(doc_id) if g.kind == "mask" and g.span}
    replaced = {d.id: doc.text[masks[d.gap_id][0] : masks[d.gap_id][1]] for d in applied if d.gap_id in masks}
    insertions = tuple(
        Insertion(
            d.offset,
            d.text or "",
            d.confidence or 0.0,
            d.evidence,
            source=f"{d.action}:{d.reviewer}",
            replaced=replaced.get(d.id, ""),
        )
        for d in applied
    )
    return ExportedDocument(doc, Restoration(doc.text, insertions), applied, unknown, replaced)


def decision_mode(d: DecisionRecord) -> str:
    """How a restoration was decided: accepted with others at a threshold (``bulk``), read
    and accepted one by one (``reviewed``), or typed by the reviewer (``typed``)."""
    if d.mode == "bulk":
        return "bulk"
    return "typed" if d.action == "edit" else "reviewed"


# The tool itself, in TEI: bulk accepts are its restorations, which a reviewer let through.
TOOL_ID = "restore"


def cert(confidence: float | None) -> str:
    if confidence is None or confidence >= 0.9:
        return "high"
    return "medium" if confidence >= 0.6 else "low"


def file_stem(key: str) -> str:
    """A safe, flat file name for a document key (keys may be paths or arbitrary ids)."""
    stem = key
    for suffix in (".txt", ".text", ".md"):
        stem = stem.removesuffix(suffix)
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", stem).strip(". ") or "document"


# ---------------------------------------------------------------- JSONL


def jsonl_record(exported: ExportedDocument) -> dict[str, Any]:
    doc = exported.document
    return {
        "id": doc.key,
        "document_id": doc.id,
        "source": doc.source,
        "content_hash": doc.content_hash,
        "original": doc.text,
        "restored": exported.restoration.text,
        "edits": [
            {
                "offset": d.offset,
                "text": d.text,
                **(
                    {"replaced": exported.replaced[d.id], "span": [d.offset, d.offset + len(exported.replaced[d.id])]}
                    if d.id in exported.replaced
                    else {}
                ),
                "decision": d.action,
                "mode": decision_mode(d),
                **({"note": d.note} if d.note else {}),
                "reviewer": d.reviewer,
                "time": d.decided_at.isoformat(),
                "confidence": None if d.confidence is None else round(d.confidence, 4),
                "evidence": [e.to_dict() for e in d.evidence],
                "model_version": d.model_version,
                "lexicon_version": d.lexicon_version,
            }
            for d in exported.applied
        ],
        "unknown_gaps": [
            {"offset": d.offset, "reviewer": d.reviewer, "time": d.decided_at.isoformat()} for d in exported.unknown
        ],
    }


# ---------------------------------------------------------------- TEI P5


def _xml_char(c: str) -> str:
    o = ord(c)
    if c == "&":
        return "&amp;"
    if c == "<":
        return "&lt;"
    if c == ">":
        return "&gt;"
    if c == "\r":
        return "&#13;"  # a literal CR would be normalised away by every XML parser
    if c in "\t\n" or 0x20 <= o <= 0xD7FF or 0xE000 <= o <= 0xFFFD or o >= 0x10000:
        return c
    # Not representable in XML 1.0 at all: kept as a TEI glyph reference so it round-trips.
    return f'<g type="codepoint" n="U+{o:04X}"/>'


def _xml_text(s: str) -> str:
    return "".join(_xml_char(c) for c in s)


def _attr(s: str) -> str:
    return _xml_text(s).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")


def _xml_id(reviewer: str) -> str:
    """A distinct, valid xml:id for every reviewer name: names in any script (张三, 李四)
    keep their letters, and a short hash tells apart names that differ only in the rest."""
    safe = re.sub(r"[^\w.-]", "_", reviewer)
    if safe == reviewer and safe:
        return "reviewer-" + safe
    return f"reviewer-{safe or 'anonymous'}-{short_hash(reviewer)}"


# Source fields that hold where the importing machine kept the file: not for an export.
LOCAL_FIELDS = ("file", "path")


def _public(key: str) -> str:
    """A document key as an export may show it: an absolute path keeps only its file name."""
    return Path(key).name if Path(key).is_absolute() else key


def _source_bits(source: dict[str, Any]) -> list[str]:
    bits = []
    for k, v in sorted(source.items()):
        if k == "title" or v in (None, ""):
            continue
        if k in LOCAL_FIELDS:
            v = Path(str(v)).name  # the file's name is provenance; the machine's folders are not
        bits.append(f"{k}: {v}")
    return bits


def tei_document(exported: ExportedDocument, exported_at: datetime | None = None) -> str:
    doc = exported.document
    when = (exported_at or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    reviewers = sorted({d.reviewer for d in exported.applied + exported.unknown})
    models = sorted({d.model_version for d in exported.applied if d.model_version})
    lexicons = sorted({d.lexicon_version for d in exported.applied if d.lexicon_version})
    title = str(doc.source.get("title") or _public(doc.key))
    source_bits = _source_bits(doc.source)
    source_bits.append(f"sha256 of the original text: {doc.content_hash}")

    head = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<TEI xmlns="{TEI_NS}">',
        "  <teiHeader>",
        "    <fileDesc>",
        "      <titleStmt>",
        f"        <title>{_xml_text(title)}</title>",
    ]
    if any(d.mode == "bulk" for d in exported.applied):
        head += [
            f'        <respStmt xml:id="{TOOL_ID}">',
            "          <resp>restored censored text; accepted in bulk at a confidence threshold</resp>",
            f"          <name>restore {_xml_text(__version__)}</name>",
            "        </respStmt>",
        ]
    for r in reviewers:
        head += [
            f'        <respStmt xml:id="{_attr(_xml_id(r))}">',
            "          <resp>reviewed restorations of censored text</resp>",
            f"          <name>{_xml_text(r)}</name>",
            "        </respStmt>",
        ]
    head += [
        "      </titleStmt>",
        "      <publicationStmt>",
        f"        <p>Exported by restore {__version__} on {when}. Restored text is in supplied elements; "
        "all other text is the scraped original, unchanged.</p>",
        "      </publicationStmt>",
        "      <sourceDesc>",
        f"        <p>{_xml_text(_public(doc.key))}</p>",
    ]
    head += [f"        <p>{_xml_text(bit)}</p>" for bit in source_bits]
    head += [
        "      </sourceDesc>",
        "    </fileDesc>",
        "    <encodingDesc>",
        "      <appInfo>",
        f'        <application ident="restore" version="{_attr(__version__)}">',
        "          <label>restore</label>",
        f"          <desc>language model {_xml_text(', '.join(models) or 'n/a')}; "
        f"filter lists {_xml_text(', '.join(lexicons) or 'n/a')}</desc>",
        "        </application>",
        "      </appInfo>",
        "    </encodingDesc>",
    ]
    head += _revision_desc(exported)
    head += [
        "  </teiHeader>",
        "  <text>",
        "    <body>",
    ]
    marks: list[tuple[int, int, str, int]] = []  # (offset, order, element, end of the original it covers)
    for i, d in enumerate(exported.applied):
        mode = decision_mode(d)
        resp = f"#{TOOL_ID}" if mode == "bulk" else f"#{_xml_id(d.reviewer)}"
        mask = exported.replaced.get(d.id, "")
        reason = "masked" if mask else "censored"
        # Typed text is the reviewer's conjecture, not a scored candidate: no certainty is claimed.
        certainty = 'cert="unknown" evidence="conjecture"' if mode == "typed" else f'cert="{cert(d.confidence)}"'
        supplied = f'<supplied reason="{reason}" {certainty} resp="{_attr(resp)}">{_xml_text(d.text or "")}</supplied>'
        if mask:  # the site's mark and what it stands for, side by side
            supplied = f"<choice><orig>{_xml_text(mask)}</orig>{supplied}</choice>"
        marks.append((d.offset, i, supplied, d.offset + len(mask)))
    for j, d in enumerate(exported.unknown):
        element = f'<gap reason="omitted" resp="#{_attr(_xml_id(d.reviewer))}"/>'
        marks.append((d.offset, len(exported.applied) + j, element, d.offset))
    marks.sort()
    # One <p> per line of the original; restorations never span a line break.
    paragraphs: list[list[str]] = [[]]
    last = 0

    def text_up_to(stop: int) -> None:
        for k, piece in enumerate(doc.text[last:stop].split("\n")):
            if k:
                paragraphs.append([])
            paragraphs[-1].append(_xml_text(piece))

    for offset, _, element, end in marks:
        text_up_to(offset)
        paragraphs[-1].append(element)
        last = end
    text_up_to(len(doc.text))
    body = ['      <p xml:space="preserve">' + "".join(p) + "</p>" for p in paragraphs]
    lines = head + body + ["    </body>", "  </text>", "</TEI>", ""]
    return "\n".join(lines)


def _revision_desc(exported: ExportedDocument) -> list[str]:
    """Every decision in force, oldest first, as a TEI change: who, when, what."""
    decisions = sorted(exported.applied + exported.unknown, key=lambda d: (d.decided_at, d.id))
    if not decisions:
        return []
    out = ["    <revisionDesc>"]
    for d in decisions:
        what = (
            f"marked text missing at {d.offset}"
            if d.action == "unknown"
            else f"{decision_mode(d).replace('reviewed', 'accepted').replace('bulk', 'bulk-accepted')} {d.text} at {d.offset}"
        )
        if d.note:
            what += f" (note: {d.note})"
        out.append(
            f'      <change when="{d.decided_at.isoformat(timespec="seconds")}" who="#{_attr(_xml_id(d.reviewer))}">'
            f"{_xml_text(what)}</change>"
        )
    out.append("    </revisionDesc>")
    return out


def tei_texts(xml: str) -> tuple[str, str]:
    """(original, restored) read back from a TEI export: the round-trip check."""
    root = ElementTree.fromstring(xml)
    body = root.find(f"{{{TEI_NS}}}text/{{{TEI_NS}}}body")
    paragraphs = body.findall(f"{{{TEI_NS}}}p") if body is not None else []
    if not paragraphs:
        raise ValueError("no body paragraph in TEI export")
    originals: list[str] = []
    restoreds: list[str] = []
    for p in paragraphs:
        original: list[str] = [p.text or ""]
        restored: list[str] = [p.text or ""]
        for child in p:
            tag = child.tag.split("}")[-1]
            if tag == "supplied":
                restored.append(child.text or "")
            elif tag == "choice":
                orig = child.find(f"{{{TEI_NS}}}orig")
                supplied = child.find(f"{{{TEI_NS}}}supplied")
                original.append("".join(orig.itertext()) if orig is not None else "")
                restored.append(supplied.text or "" if supplied is not None else "")
            elif tag == "g":
                c = chr(int(str(child.get("n", "U+0")).removeprefix("U+"), 16))
                original.append(c)
                restored.append(c)
            original.append(child.tail or "")
            restored.append(child.tail or "")
        originals.append("".join(original))
        restoreds.append("".join(restored))
    return "\n".join(originals), "\n".join(restoreds)


# ---------------------------------------------------------------- writers


def iter_exports(store: Store, doc_ids: Sequence[int] | None = None) -> Iterator[ExportedDocument]:
    for doc_id in doc_ids if doc_ids is not None else store.document_ids():
        yield restored_document(store, doc_id)


def export(
    store: Store,
    outdir: Path | str,
    fmt: str,
    doc_ids: Sequence[int] | None = None,
    on_doc: Callable[[ExportedDocument], None] | None = None,
) -> list[Path]:
    """Write the export; re-running it rewrites the same files from the decisions in force."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if fmt == "jsonl":
        path = out / "restored.jsonl"
        tmp = temp_for(path)
        try:
            with tmp.open("w", encoding="utf-8", newline="") as handle:
                for exported in iter_exports(store, doc_ids):
                    handle.write(json.dumps(jsonl_record(exported), ensure_ascii=False) + "\n")
                    if on_doc:
                        on_doc(exported)
            finish_temp(tmp, path)  # with the usual file mode, like every other export
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return [path]
    ids = list(doc_ids) if doc_ids is not None else list(store.document_ids())
    keys = [file_stem(store.document(i).key) for i in ids]
    suffix = ".txt" if fmt == "txt" else ".xml"
    # Flat, unique names within 255 bytes: a long or repeated key never stops an export.
    names = output_names([k.replace("/", "_") for k in keys], suffix)
    for name, exported in zip(names, iter_exports(store, ids)):
        path = out / name
        if fmt == "txt":
            write_atomic(path, exported.restoration.text)
        else:
            write_atomic(path, tei_document(exported))
        written.append(path)
        if on_doc:
            on_doc(exported)
    return written
