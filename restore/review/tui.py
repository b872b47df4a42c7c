"""The keyboard-driven review screen (rich), over :class:`ReviewSession`."""

from __future__ import annotations

import math
from collections.abc import Callable

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from restore.document import Evidence
from restore.review.session import GapView, ReviewSession

HELP = (
    "a/enter accept · 1-9 pick · r reject · R reject all like this · e edit · u unknown · s skip · z undo · "
    "←→ cursor, m move gap, + add gap · w wider · o whole doc · i evidence · / find · g go to doc · "
    "A accept doc ≥ · n next doc · d diff · ? help · q quit"
)
HELP_LONG = """\
a, Enter  accept the top candidate          1-9  accept candidate N
r         reject: nothing is missing here    e    edit: type the text that is missing
u         text is missing but unknown        s    skip for now (revisit with --skipped)
z         undo your last step (a bulk accept is one step)
A         accept every suggestion in this document at or above a confidence, after a preview
R         reject this gap and every open gap like it in the workspace (a name flagged again and again)
← →       move a cursor through the text (or < >); then m moves this gap to the cursor, + adds a gap
          there, Esc goes back; the engine ranks candidates for the new place
w         widen the context (again: wider still)   o    the whole document at this gap, paged
i         every item of evidence with its figures, or back to words
/         find the next gap with some text near it   g    go to a document (key or id)
N         write a note on your last decision (it goes into the exports)
n         jump to the next document          d    show this document's restorations so far (diff)
?         this help                          q    quit (every decision is already saved)"""


def shown(confidence: float) -> str:
    """A confidence to two decimals, rounded down: a bar of 0.99 takes exactly what shows 0.99.

    >>> shown(0.985), shown(0.99), shown(1.0)
    ('0.98', '0.99', '1.00')
    """
    return f"{math.floor(confidence * 100 + 1e-9) / 100:.2f}"


def _visible(s: str) -> str:
    return s.replace("\r\n", "⏎").replace("\n", "⏎").replace("\r", "⏎").replace("\t", " ")


def evidence_summary(evidence: tuple[Evidence, ...], limit: int = 4, raw: bool = False) -> str:
    """The evidence for a candidate in words ("reads better with it, both ways"); with
    ``raw``, every item as the engine recorded it, figures included."""
    if raw:
        return " · ".join(
            f"{e.kind}: {e.detail}" + (f" ({e.value:+.2f})" if e.value is not None else "") for e in evidence
        )
    parts = []
    lm = [e.value for e in evidence if e.kind == "lm" and e.value is not None]
    if len(lm) == 2:
        forward, backward = lm
        if forward > 0 and backward > 0:
            parts.append("reads better with it, both ways")
        elif forward <= 0 and backward <= 0:
            parts.append("reads no better with it")
        else:
            parts.append(f"reads better with it {'left to right' if forward > 0 else 'right to left'} only")
    for e in evidence:
        if e.kind in ("threshold", "lm"):
            continue
        if e.kind == "lexicon":
            parts.append("on " + e.detail.replace("filter list ", "the list "))
        elif e.kind == "index" and e.value is not None:
            parts.append(
                "the reference text runs on across the gap with it"
                if e.value > 0
                else "the reference text does not help"
            )
        elif e.kind == "neural" and e.value is not None:
            parts.append("the neural model prefers it" if e.value > 0 else "the neural model prefers the gap as it is")
        else:
            parts.append(e.detail)
    more = len(parts) - limit
    return " · ".join(parts[:limit]) + (f" · … {more} more (i shows all)" if more > 0 else "")


def render(view: GapView | None, message: str, show_help: bool = False, empty: str = "", raw: bool = False) -> Group:
    parts: list[Panel | Table | Text] = []
    if view is None:
        parts.append(
            Text(empty or "No undecided gaps left in this workspace. Press q to quit, z to undo.", style="bold green")
        )
    else:
        gap = view.gap
        doc_n, doc_of = view.document_position
        gap_n, gap_of = view.gap_position
        header = Text()
        header.append(f"document {doc_n}/{doc_of} ", style="bold")
        header.append(view.document.key, style="cyan")
        header.append(f"  ·  gap {gap_n}/{gap_of} at offset {gap.offset} ({gap.kind}, {gap.status})")
        skipped = f", {view.skipped} skipped" if view.skipped else ""
        header.append(f"  ·  {view.decided} decided{skipped}, {view.remaining} to go", style="dim")
        parts.append(header)

        context = Text("…" + _visible(view.left))
        if gap.kind == "mask":
            context.append("⟦?⟧", style="bold magenta reverse")
            context.append(_visible(view.masked), style="magenta")
        else:
            context.append("⟦?⟧", style="bold yellow reverse")
        context.append(_visible(view.right) + "…")
        parts.append(Panel(context, title="context", title_align="left"))
        if view.cursor is not None:
            text = view.document.text
            at = Text("…" + _visible(text[max(0, view.cursor - 20) : view.cursor]))
            at.append("‸", style="bold cyan reverse")
            at.append(_visible(text[view.cursor : view.cursor + 20]) + "…")
            at.append(f"   cursor at {view.cursor}", style="dim")
            parts.append(at)

        if gap.candidates:
            table = Table(show_header=True, header_style="bold", box=None, padding=(0, 1))
            table.add_column("#", justify="right")
            table.add_column("insert")
            table.add_column("confidence", justify="right")
            table.add_column("evidence", overflow="fold")
            for i, c in enumerate(gap.candidates[:9], 1):
                style = "bold green" if c.confidence >= 0.9 else ("yellow" if c.confidence >= 0.5 else "")
                table.add_row(
                    str(i), Text(c.text, style=style), shown(c.confidence), evidence_summary(c.evidence, raw=raw)
                )
            parts.append(table)
            best = gap.candidates[0]
            preview = Text("accept → …" + _visible(view.left[-20:]))
            preview.append(best.text, style="bold green underline")  # a mask's mark is replaced
            preview.append(_visible(view.right[:20]) + "…")
            parts.append(preview)
        else:
            parts.append(Text("no candidate: type the missing text with e, or mark it unknown with u", style="yellow"))
    if message:
        parts.append(Text(message, style="bold"))
    parts.append(Text(HELP_LONG if show_help else HELP, style="dim"))
    return Group(*parts)


PREVIEW = 20  # suggestions listed before a bulk accept


def run_loop(
    session: ReviewSession,
    console: Console,
    getkey: Callable[[], str],
    prompt: Callable[[str, str], str],
    show_diff: Callable[[int], None],
) -> None:
    show_help = False
    show_raw = False  # evidence in words, or every item with its figures (i)
    while True:
        console.clear()
        console.print(render(session.view(), session.message, show_help, session.empty_message(), show_raw))
        session.message = ""
        show_help = False
        key = getkey()
        if key in ("q", "\x03", "\x04"):
            return
        if key == "?" or key == "h":
            show_help = True
        elif key == "z":
            session.undo()
        elif key == "i":
            show_raw = not show_raw
        elif key == "N":
            session.note(prompt("note on your last decision", "").strip())
        elif key == "/":
            session.find(prompt("find the next gap with this text near it", "").strip())
        elif key == "g":
            session.go_to_document(prompt("go to document (key or id)", "").strip())
        elif key == "w":
            session.widen()
        elif key == "o" and session.gap is not None:
            console.clear()
            with console.pager(styles=True):
                console.print(session.whole_document())
            console.print("[dim]press any key to go back[/]")
            getkey()
        elif session.done:
            session.message = f"unknown key {key!r} here; press ? for help" if key not in "\r\n" else ""
        elif key in ("a", "\r", "\n"):
            session.accept(1)
        elif key.isdigit() and key != "0":
            session.accept(int(key))
        elif key == "r":
            session.reject()
        elif key == "e":
            typed = prompt("text to insert here (empty to cancel)", "")
            session.edit(typed.strip())
        elif key == "u":
            session.mark_unknown()
        elif key == "s":
            session.skip()
        elif key == "A":
            raw = prompt("accept every suggestion in this document at or above confidence", "0.9")
            try:
                bar = float(raw)
                if not 0.0 <= bar <= 1.0:
                    raise ValueError
            except ValueError:
                session.message = f"not a confidence between 0 and 1: {raw!r}"
                continue
            preview = session.bulk_preview(bar)
            if not preview:
                session.message = f"nothing in this document at or above {bar:g}"
                continue
            console.print(Text(f"{len(preview)} suggestion(s) at or above {bar:g} would be accepted:", style="bold"))
            for context, _ in preview[:PREVIEW]:
                console.print(f"  {context}")
            if len(preview) > PREVIEW:
                console.print(f"  … and {len(preview) - PREVIEW} more")
            if prompt(f"accept all {len(preview)}? (y/N; z undoes them in one step)", "").strip().lower() == "y":
                session.accept_document(bar)
            else:
                session.message = "bulk accept cancelled"
        elif key in ("\x1b[D", "<"):
            session.move_cursor(-1)
        elif key in ("\x1b[C", ">"):
            session.move_cursor(1)
        elif key == "\x1b":
            session.cancel_cursor()
        elif key == "m":
            session.move_gap()
        elif key == "+":
            session.add_gap()
        elif key == "R":
            n = session.like_this()
            if prompt(f"reject this gap and the {n - 1} other open gap(s) like it? (y/N)", "").strip().lower() == "y":
                session.reject_like_this()
            else:
                session.message = "nothing rejected"
        elif key == "n":
            session.next_document()
        elif key == "d":
            if session.gap is not None:
                console.clear()
                show_diff(session.gap.document_id)  # paged when longer than the screen
                console.print("[dim]press any key to go back[/]")
                getkey()
        else:
            session.message = f"unknown key {key!r}; press ? for help"
