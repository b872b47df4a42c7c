"""The review loop's logic, without a terminal: where the reviewer is, and what each key
does to the workspace. Every decision is committed by the store before a method returns,
and the position is saved after every move, so a killed session resumes where it was."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from restore.document import Candidate
from restore.review.store import Action, Conflict, DocumentRecord, GapRecord, QueueFilter, Store, WorkspaceError

CONTEXT = 40
MAX_CONTEXT = 640


@dataclass(frozen=True)
class GapView:
    document: DocumentRecord
    gap: GapRecord
    document_position: tuple[int, int]  # (n, of)
    gap_position: tuple[int, int]  # (n, of) among this document's gaps
    remaining: int  # undecided gaps in the workspace
    decided: int
    skipped: int
    left: str
    right: str
    masked: str  # the placeholder characters of a mask gap
    cursor: int | None = None  # where the reviewer pointed with the arrow keys, if anywhere


class ReviewSession:
    def __init__(
        self,
        store: Store,
        reviewer: str,
        statuses: tuple[str, ...] = ("open",),
        start_document: int | None = None,
        queue: QueueFilter | None = None,
        suggest: Callable[[str, int], tuple[Candidate, ...]] | None = None,
    ):
        self.store = store
        self.reviewer = reviewer
        self.statuses = statuses
        self.queue = queue or QueueFilter()
        # The engine's candidates for a place the reviewer points at (move or add a gap).
        self.suggest = suggest
        self.cursor: int | None = None
        self.context = CONTEXT  # characters either side; w widens it
        self.gap: GapRecord | None = None
        self.message = ""
        self._doc: DocumentRecord | None = None
        self._resume(start_document)

    # ------------------------------------------------------------ position

    def _resume(self, start_document: int | None) -> None:
        if start_document is not None:
            self._go(self.store.first_gap_from_document(start_document, self.statuses, self.queue))
            return
        gap_id, _ = self.store.position(self.reviewer)
        if gap_id is not None:
            try:
                gap = self.store.gap(gap_id)
            except WorkspaceError:
                gap = None
            if gap is not None:
                if (
                    gap.status in self.statuses
                    and self.store.next_gap((gap.document_id, gap.offset, gap.id - 1), self.statuses, queue=self.queue)
                    == gap.id
                ):
                    self._go(gap.id)
                    return
                self._go(self._after(gap))
                return
        self._go(self.store.next_gap(None, self.statuses, queue=self.queue))

    def _after(self, gap: GapRecord) -> int | None:
        found = self.store.next_gap((gap.document_id, gap.offset, gap.id), self.statuses, queue=self.queue)
        if found is None:  # wrap round to what is still undecided earlier in the queue
            found = self.store.next_gap(None, self.statuses, queue=self.queue)
        return found

    # ------------------------------------------------------------ what is around the gap

    def widen(self) -> None:
        self.context = min(self.context * 2, MAX_CONTEXT)
        self.message = f"context: {self.context} characters either side"

    def _restored(self, text: str, start: int, end: int, doc_id: int) -> str:
        """``text[start:end]`` with the restorations already accepted in it, as ⟦…⟧."""
        parts = []
        last = start
        for d in self.store.decisions_of(doc_id, ("accept", "edit")):
            if start <= d.offset < end and d.text:
                parts.append(text[last : d.offset])
                parts.append(f"⟦{d.text}⟧")
                last = d.offset
        parts.append(text[last:end])
        return "".join(parts)

    def whole_document(self) -> str:
        """The document with what is accepted so far as ⟦…⟧ and this gap as ⟦?⟧ (for a pager)."""
        if self.gap is None or self._doc is None:
            return ""
        text = self._doc.text
        at = self.gap.offset
        return self._restored(text, 0, at, self._doc.id) + "⟦?⟧" + self._restored(text, at, len(text), self._doc.id)

    def find(self, needle: str, limit: int = 20000) -> None:
        """Go to the next gap in the queue (wrapping round) with ``needle`` in its context."""
        if self.gap is None or not needle:
            return
        texts: dict[int, str] = {}
        at: tuple[int, int, int] | None = (self.gap.document_id, self.gap.offset, self.gap.id)
        for _ in range(limit):
            found = self.store.next_gap(at, self.statuses, queue=self.queue)
            if found is None:
                if at is None:
                    break
                at = None  # wrap round once
                continue
            gap = self.store.gap(found)
            if gap.id == self.gap.id:
                break
            text = texts.setdefault(gap.document_id, self.store.document(gap.document_id).text)
            if needle in text[max(0, gap.offset - self.context) : gap.offset + self.context]:
                self._go(gap.id)
                self.message = f"found {needle!r}"
                return
            at = (gap.document_id, gap.offset, gap.id)
        self.message = f"no other gap has {needle!r} near it"

    def go_to_document(self, ref: str) -> None:
        """Go to the first gap in the queue of a document (its key or id)."""
        try:
            doc_id = self.store.resolve_document(ref)
        except WorkspaceError as exc:
            self.message = str(exc)
            return
        found = self.store.first_gap_from_document(doc_id, self.statuses, self.queue)
        if found is None or self.store.gap(found).document_id != doc_id:
            self.message = f"document {ref!r} has no gap in this queue"
            return
        self._go(found)

    # ------------------------------------------------------------ placing gaps

    def move_cursor(self, delta: int) -> None:
        """Move the cursor (where a gap could be) ``delta`` characters from where it is."""
        if self.gap is None or self._doc is None:
            return
        start = self.cursor if self.cursor is not None else self.gap.offset
        self.cursor = max(0, min(len(self._doc.text), start + delta))
        self.message = "m: move this gap here · +: add a gap here · Esc: back to the gap"

    def cancel_cursor(self) -> None:
        self.cursor = None

    def _place(self) -> int | None:
        if self.gap is None or self._doc is None or self.cursor is None:
            self.message = "move the cursor with the arrow keys first"
            return None
        found = self.suggest(self._doc.text, self.cursor) if self.suggest is not None else ()
        try:
            return self.store.place_gap(self._doc.id, self.cursor, found, self.reviewer)
        except (Conflict, WorkspaceError) as exc:
            self.message = str(exc)
            return None

    def move_gap(self) -> None:
        """Text is missing at the cursor, not here: this gap is rejected, and one at the
        cursor, with the engine's candidates for that place, takes its turn."""
        if self.gap is None:
            return
        old = self.gap
        placed = self._place()
        if placed is None:
            return
        try:
            self.store.decide(old.id, "reject", self.reviewer, expected_version=old.version)
        except Conflict:
            pass  # someone decided it meanwhile; the placed gap stands on its own
        self.cursor = None
        self._go(placed)
        self.message = f"moved the gap from {old.offset} to {self.gap.offset if self.gap else '?'}"

    def add_gap(self) -> None:
        """Text is missing at the cursor too: a gap there, with the engine's candidates,
        before coming back to this one."""
        placed = self._place()
        if placed is None:
            return
        self.cursor = None
        self._go(placed)
        self.message = f"added a gap at {self.gap.offset if self.gap else '?'}"

    def _go(self, gap_id: int | None) -> None:
        self.gap = self.store.gap(gap_id) if gap_id is not None else None
        if self.gap is not None and (self._doc is None or self._doc.id != self.gap.document_id):
            self._doc = self.store.document(self.gap.document_id)
        self.store.set_position(
            self.reviewer, gap_id, self.gap.document_id if self.gap else (self._doc.id if self._doc else None)
        )

    def _advance(self) -> None:
        if self.gap is not None:
            self._go(self._after(self.gap))

    @property
    def done(self) -> bool:
        return self.gap is None

    # ------------------------------------------------------------ decisions

    def _decide(self, action: Action, rank: int | None = None, typed: str | None = None) -> None:
        if self.gap is None:
            return
        try:
            self.store.decide(
                self.gap.id, action, self.reviewer, expected_version=self.gap.version, candidate_rank=rank, typed=typed
            )
            label = {"accept": "accepted", "edit": "inserted", "reject": "rejected", "unknown": "marked unknown"}
            what = typed if action == "edit" else (self._candidate_text(rank) if action == "accept" else "")
            self.message = f"{label.get(action, 'skipped')} {what}".rstrip()
        except Conflict:
            self.message = "another reviewer decided this gap first; moved on"
        self._advance()

    def _candidate_text(self, rank: int | None) -> str:
        if self.gap is None:
            return ""
        i = (rank or 1) - 1
        return self.gap.candidates[i].text if 0 <= i < len(self.gap.candidates) else ""

    def accept(self, rank: int = 1) -> None:
        if self.gap is None:
            return
        if not 1 <= rank <= len(self.gap.candidates):
            self.message = f"no candidate {rank} here"
            return
        self._decide("accept", rank=rank)

    def reject(self) -> None:
        self._decide("reject")

    def empty_message(self) -> str:
        """What to say when this queue is empty: a --skipped queue is not the workspace."""
        if self.statuses == ("open",):
            return ""
        still_open = self.store.status_counts().get("open", 0)
        shown = "/".join(self.statuses)
        more = f"; {still_open} gap(s) are still open (run restore review without --skipped)" if still_open else ""
        return f"No {shown} gaps left{more}. Press q to quit, z to undo."

    def edit(self, typed: str) -> None:
        if not typed:
            self.message = "nothing typed; gap left as it was"
            return
        bad = control_characters(typed)
        if bad:
            self.message = f"not inserted: the text holds control characters ({bad}); type it again"
            return
        self._decide("edit", typed=typed)

    def note(self, text: str) -> None:
        """A note on the reviewer's last decision (why 政府 and not 人大; a source to check)."""
        if not text:
            self.message = "no note written"
            return
        bad = control_characters(text)
        if bad:
            self.message = f"note not written: it holds control characters ({bad})"
            return
        noted = self.store.annotate_last(self.reviewer, text)
        self.message = "nothing decided yet to write a note on" if noted is None else f"note written on {noted.action}"

    def mark_unknown(self) -> None:
        self._decide("unknown")

    def skip(self) -> None:
        self._decide("skip")

    def undo(self) -> None:
        try:
            step = self.store.undo_last_step(self.reviewer)
        except Conflict as exc:
            self.message = str(exc)
            return
        if not step:
            self.message = "nothing to undo"
            return
        first = step[0]
        if len(step) > 1:
            self.message = f"undid a bulk accept of {len(step)} suggestion(s)"
        else:
            self.message = f"undid {first.action} {first.text or ''}".rstrip()
        self._go(first.gap_id)

    def bulk_preview(self, min_confidence: float) -> list[tuple[str, str]]:
        """What a bulk accept at ``min_confidence`` in this document would insert, before it
        does: (context, string) for each gap, in text order."""
        if self.gap is None or self._doc is None:
            return []
        text = self._doc.text
        out = []
        for gap_id, _ in self.store.open_gaps_at_or_above(min_confidence, self.gap.document_id):
            gap = self.store.gap(gap_id)
            end = gap.span[1] if gap.span else gap.offset
            out.append(
                (
                    f"{text[max(0, gap.offset - 6) : gap.offset]}⟦{gap.best.text if gap.best else ''}⟧{text[end : end + 6]}",
                    gap.best.text if gap.best else "",
                )
            )
        return out

    def accept_document(self, min_confidence: float) -> None:
        """Accept every undecided suggestion in this document at or above the bar (as shown,
        to two decimals): one step, recorded as bulk, undone whole by ``undo``."""
        if self.gap is None:
            return
        decided = 0
        at = datetime.now(timezone.utc)
        for gap_id, version in self.store.open_gaps_at_or_above(min_confidence, self.gap.document_id):
            try:
                self.store.decide(
                    gap_id, "accept", self.reviewer, expected_version=version, candidate_rank=1, bulk=True, at=at
                )
                decided += 1
            except Conflict:
                continue
        self.message = f"accepted {decided} suggestion(s) at or above {min_confidence:g} in this document"
        current = self.store.gap(self.gap.id)
        if current.status in self.statuses:
            self.gap = current
        else:
            self._go(self._after(current))

    def like_this(self) -> int:
        """How many open gaps in the workspace are like this one (``reject_like_this``)."""
        return len(self.store.open_gaps_like(self.gap.id)) if self.gap is not None else 0

    def reject_like_this(self) -> None:
        """Reject this gap and every open gap like it in the workspace (the same best
        candidate between the same characters: a name flagged again and again)."""
        if self.gap is None:
            return
        rejected = 0
        for gap_id, version in self.store.open_gaps_like(self.gap.id):
            try:
                self.store.decide(gap_id, "reject", self.reviewer, expected_version=version)
                rejected += 1
            except Conflict:
                continue
        self.message = f"rejected {rejected} gap(s) like this one"
        self._advance()

    def next_document(self) -> None:
        if self.gap is None:
            return
        found = self.store.first_gap_from_document(self.gap.document_id + 1, self.statuses, self.queue)
        if found is None:
            self.message = "no later document has undecided gaps"
            return
        self._go(found)

    # ------------------------------------------------------------ what the screen shows

    def view(self) -> GapView | None:
        if self.gap is None or self._doc is None:
            return None
        gap, doc = self.gap, self._doc
        text = doc.text
        masked = text[gap.span[0] : gap.span[1]] if gap.span else ""
        right_from = gap.span[1] if gap.span else gap.offset
        ids = self.store.gap_ids_of(doc.id)
        counts = self.store.status_counts()
        remaining = sum(counts.get(s, 0) for s in self.statuses)
        decided = sum(v for k, v in counts.items() if k not in ("open", "stale", "skipped", "documents"))
        return GapView(
            document=doc,
            gap=gap,
            document_position=self.store.queue_position(doc.id),
            gap_position=(ids.index(gap.id) + 1 if gap.id in ids else 0, len(ids)),
            remaining=remaining,
            decided=decided,
            skipped=counts.get("skipped", 0),
            left=self._restored(text, max(0, gap.offset - self.context), gap.offset, doc.id),
            right=self._restored(text, right_from, right_from + self.context, doc.id),
            masked=masked,
            cursor=self.cursor,
        )


def control_characters(text: str) -> str:
    """The control characters in ``text``, shown as code points ("" if none): an arrow key
    read by a bare terminal arrives as ESC [ D, which is not text."""
    found = sorted({c for c in text if unicodedata.category(c) in ("Cc", "Cf") and c not in "\u200d"})
    return ", ".join(f"U+{ord(c):04X}" for c in found)
