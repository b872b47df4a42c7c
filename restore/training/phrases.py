"""Mining the phrase dictionary: set phrases that hold a filter-list string, whose
signatures (营商政策 for 营商环境政策) raise junctions for detection.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from restore.models.lexicon import MAX_ENTRY_CHARS, Phrase, PhraseDictionary


def mine_phrases(
    corpus_text: str,
    strings: Iterable[str],
    min_count: int = 20,
    max_context: int = 2,
    max_signature_ratio: float = 0.25,
    per_string: int = 200,
) -> PhraseDictionary:
    """Find set phrases around each filter string in clean training text.

    A phrase qualifies when it is frequent and its signature (the phrase minus the string)
    is rare on its own: then seeing the signature in scraped text is evidence of a cut.
    One-sided contexts count too: 习 is almost always followed by 近平.
    """
    phrases: list[Phrase] = []
    for s in strings:
        if not s or len(s) > MAX_ENTRY_CHARS:
            continue
        contexts: Counter[tuple[str, str]] = Counter()
        start = corpus_text.find(s)
        while start != -1:
            left = corpus_text[max(0, start - max_context) : start]
            right = corpus_text[start + len(s) : start + len(s) + max_context]
            for a in range(len(left) + 1):
                for b in range(len(right) + 1):
                    if a + b >= 1:
                        contexts[(left[len(left) - a :], right[:b])] += 1
            start = corpus_text.find(s, start + len(s))
        chosen: list[Phrase] = []
        for (left, right), count in contexts.most_common(per_string):
            if count < min_count:
                break
            if any(c in _NOT_IN_PHRASES for c in left + right):
                continue
            phrase = left + s + right
            signature = left + right
            natural = corpus_text.count(signature) - count * phrase.count(signature)
            if natural > max_signature_ratio * count:
                continue
            chosen.append(Phrase(phrase, s, len(left), count, max(natural, 0)))
        # Keep the shortest phrases: a longer one whose shorter core already qualifies adds nothing.
        chosen.sort(key=lambda p: len(p.phrase))
        kept: list[Phrase] = []
        for p in chosen:
            if not any(k.phrase in p.phrase for k in kept):
                kept.append(p)
        phrases.extend(kept)
    return PhraseDictionary(phrases)


_NOT_IN_PHRASES = set("，。、；：！？“”‘’（）《》\n 　0123456789")


def build_phrase_dictionary(sources: Sequence[Path], strings: Iterable[str], min_count: int = 20) -> PhraseDictionary:
    """Mine phrases from the training files under ``sources`` (never *-dev*)."""
    from restore.io.corpus import check_training_sources, is_heldout, iter_documents

    parts = []
    for path in check_training_sources(sources):
        for doc_id, text in iter_documents(path):
            if not is_heldout(doc_id):
                parts.append(text)
    corpus_text = "\n".join(parts)
    wanted = [s for s in dict.fromkeys(strings) if corpus_text.count(s) >= min_count]
    return mine_phrases(corpus_text, wanted, min_count=min_count)
