"""Text alignment: where a mention occurs in a text, as character offsets.

The model writes mentions, not offsets, so each mention is looked up in the text it was extracted from and **every**
occurrence is returned as a `[start, end)` character span of the original text (`align`):

1. `exact` — verbatim occurrences;
2. `fuzzy` — if there is none: occurrences after folding both sides (Unicode NFKD with combining marks dropped,
   `casefold`, any run of whitespace matching any other, and optional whitespace between a mention's tokens), so
   `"new  york"` finds `New York` and `"Cafe"` finds `Café`; spans are mapped back to the unfolded text;
3. `unaligned` — no occurrence at all: the entity is kept, with no spans.

An occurrence must not cut a word: a mention that starts (ends) with a letter or digit needs a non-word character or
the text edge before (after) it, so `US` is not found inside `BUSINESS`. Characters of scripts written without spaces
(CJK ideographs, kana) do not count as word characters, so Chinese and Japanese mentions align inside running text.
Occurrences do not overlap (scanned left to right). Thai, Lao, Khmer, Myanmar and Hangul count as unspaced too (Korean
particles are written onto the noun: `서울` is found in `서울에서`).

Used by prediction (`reasoning_ner.prediction`), the CoT validation rule `mention_not_in_passage` and the UniNER
converter (`occurrences`, without the word-boundary rule).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

Span = tuple[int, int]
# scripts written without spaces between words (or, for Hangul, with particles glued to the noun): no word boundaries
_UNSPACED = ("CJK", "HIRAGANA", "KATAKANA", "HALFWIDTH KATAKANA", "HANGUL", "THAI", "LAO", "KHMER", "MYANMAR")


@lru_cache(maxsize=4096)
def _is_word(c: str) -> bool:
    if not c.isalnum():
        return False
    name = unicodedata.name(c, "")
    return not name.startswith(_UNSPACED)


def _bounded(text: str, start: int, end: int) -> bool:
    if end < len(text) and unicodedata.combining(text[end]):  # would cut a character off its accent
        return False
    if start > 0 and _is_word(text[start]) and _is_word(text[start - 1]):
        return False
    return not (end < len(text) and _is_word(text[end - 1]) and _is_word(text[end]))


@lru_cache(maxsize=64)  # one text is folded once for all the mentions aligned in it
def _fold(text: str) -> tuple[str, list[int]]:
    """Folded text and, for each folded character, the index of the original character it came from."""
    out: list[str] = []
    idx: list[int] = []
    for i, ch in enumerate(text):
        if ch.isspace():
            f = " "
        else:
            f = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)).casefold()
        out.append(f)
        idx.extend([i] * len(f))
    return "".join(out), idx


def _scan(haystack: str, pattern: re.Pattern, ok=lambda s, e: True) -> list[Span]:
    """Non-overlapping matches accepted by `ok`, left to right; after a rejected match the search goes on from the
    next character, so a rejected match does not hide an accepted one that overlaps it."""
    spans, pos = [], 0
    while True:
        m = pattern.search(haystack, pos)
        if not m:
            return spans
        if m.end() > m.start() and ok(m.start(), m.end()):
            spans.append((m.start(), m.end()))
            pos = m.end()
        else:
            pos = m.start() + 1


def occurrences(text: str, mention: str, whole_words: bool = True) -> list[Span]:
    """Verbatim, non-overlapping occurrences of `mention` in `text`, left to right; with `whole_words`, only those
    that cut no word (the boundary rule of the module docstring). An empty mention occurs nowhere."""
    if not mention:
        return []
    pattern = re.compile(re.escape(mention))
    return _scan(text, pattern, (lambda s, e: _bounded(text, s, e)) if whole_words else (lambda s, e: True))


def align(text: str, mention: str) -> tuple[list[Span], str]:
    """All non-overlapping occurrences of `mention` in `text` and how they were found: exact, fuzzy or unaligned."""
    mention = mention.strip()
    if not mention:
        return [], "unaligned"
    exact = occurrences(text, mention)
    if exact:
        return exact, "exact"
    folded, idx = _fold(text)
    tokens = _fold(mention)[0].split()
    if not tokens:
        return [], "unaligned"
    pattern = re.compile(r"\s*".join(re.escape(t) for t in tokens))

    def original(s: int, e: int) -> Span:
        start, end = idx[s], idx[e - 1] + 1
        while end < len(text) and unicodedata.combining(text[end]):  # keep trailing combining marks
            end += 1
        return start, end

    spans = [original(s, e) for s, e in _scan(folded, pattern, lambda s, e: _bounded(text, *original(s, e)))]
    return (spans, "fuzzy") if spans else ([], "unaligned")


__all__ = ["align", "occurrences"]
