"""What reviewers teach a workspace: later suggestions move by it, and say so.

The engine's confidence is a calibrated probability; feedback shifts it in log-odds, so
one rejection in a context outweighs a modest confidence but never pins it to 0 or 1,
and each shift is recorded as evidence next to the LM and lexicon evidence.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace

from restore.document import Candidate, Evidence, Gap
from restore.review.store import Feedback, context_at

# Log-odds per decision on the same string in the same context (two characters each
# side), and the cap. One such decision outweighs all but the surest engine verdicts.
IN_CONTEXT = 4.0
MAX_IN_CONTEXT = 8.0
# Log-odds per doubling of how often reviewers accepted the string anywhere, and the cap.
PROMOTE = 0.5
MAX_PROMOTE = 2.0


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def adjust_candidate(text: str, offset: int, candidate: Candidate, feedback: Feedback) -> Candidate:
    left, right = context_at(text, offset)
    rejected = feedback.rejected.get((left, candidate.text, right), 0)
    here = feedback.accepted_here.get((left, candidate.text, right), 0)
    accepted = feedback.accepted.get(candidate.text, 0)
    if not rejected and not accepted:
        return candidate
    shift = 0.0
    notes = []
    if accepted:
        up = min(PROMOTE * math.log2(1 + accepted), MAX_PROMOTE)
        notes.append(Evidence("workspace", f"accepted {accepted}x by reviewers in this workspace", up))
        shift += up
    if here:
        up = min(IN_CONTEXT * here, MAX_IN_CONTEXT)
        notes.append(Evidence("workspace", f"accepted {here}x by reviewers in this context {left}_{right}", up))
        shift += up
    if rejected:
        down = min(IN_CONTEXT * rejected, MAX_IN_CONTEXT)
        notes.append(Evidence("workspace", f"rejected {rejected}x by reviewers in this context {left}_{right}", -down))
        shift -= down
    confidence = _sigmoid(_logit(candidate.confidence) + shift)
    return replace(candidate, confidence=confidence, evidence=candidate.evidence + tuple(notes))


def apply_feedback(text: str, gaps: Sequence[Gap], feedback: Feedback) -> list[Gap]:
    """Re-rank each gap's candidates by what reviewers accepted and rejected; a gap with
    nothing to propose, between two characters where reviewers rejected one before (a
    name: 陈|璐), is not raised again."""
    if not feedback.accepted and not feedback.rejected and not feedback.quiet:
        return list(gaps)
    out = []
    for gap in gaps:
        if not gap.candidates:
            if (text[gap.offset - 1 : gap.offset], text[gap.offset : gap.offset + 1]) not in feedback.quiet:
                out.append(gap)
            continue
        moved = [adjust_candidate(text, gap.offset, c, feedback) for c in gap.candidates]
        moved.sort(key=lambda c: -c.confidence)
        out.append(replace(gap, candidates=tuple(moved)))
    return out


def taught_gaps(
    text: str,
    gaps: Sequence[Gap],
    feedback: Feedback,
    suggest: Callable[[str, int], tuple[Candidate, ...]],
) -> list[Gap]:
    """``gaps`` plus a gap wherever this text shows the very junction a reviewer restored
    before (the same two characters either side, the string missing): what reviewers put
    back on a site is evidence for its other pages, even where the engine saw nothing.
    The candidates are the engine's for that place, moved by the feedback like any other."""
    taken = {g.offset for g in gaps}
    added: list[Gap] = []
    for (left, string, right), _ in sorted(feedback.accepted_here.items()):
        if not left or not right:
            continue
        start = text.find(left + right)
        while start != -1:
            offset = start + len(left)
            if offset not in taken:
                found = [adjust_candidate(text, offset, c, feedback) for c in suggest(text, offset)]
                found.sort(key=lambda c: -c.confidence)
                if found and found[0].text == string:
                    added.append(Gap(offset, "deletion", tuple(found)))
                    taken.add(offset)
            start = text.find(left + right, start + 1)
    return sorted([*gaps, *added], key=lambda g: g.offset)
