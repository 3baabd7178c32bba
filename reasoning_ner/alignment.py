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

Rules for the other scripts of MultiCoNER (tested with sentences in Hindi, Bangla, Farsi, Russian and Turkish):

* Combining marks (Unicode category M: accents, the vowel signs and virama of Devanagari and Bengali, Arabic
  harakat) belong to the letter before them: they are word characters, and an occurrence never ends right before
  one, so `राम` is not found inside `रामायण` and `দিল্ল` not inside `দিল্লি`. A mention that stops before a glued
  suffix is not found either (Bangla `ঢাকা` in `ঢাকার`, as English `Paris` is not found in `Parisian`).
* The zero-width non-joiner and joiner (U+200C, U+200D, Persian `می‌کند`) are inside words.
* Folding (fuzzy matches) drops accents and Arabic/Hebrew points but keeps the marks of Indic and Southeast Asian
  scripts, which are letters (vowel signs, virama); it also writes the Arabic Yeh/Alef Maksura and Kaf as the Persian
  `ی`/`ک` (a model often writes one for the other), the Turkish dotless `ı` as `i` (so `IĞDIR` finds `Iğdır`: Turkish
  `I` is the capital of `ı`), every decimal digit as its ASCII digit (`۱۳۹۹` finds `1399`), and recomposes Hangul
  syllables (a mention never matches part of a syllable).

Joining tokens into a sentence (`written_without_spaces`, used by the CoNLL/MultiCoNER converter): no space between
two characters of scripts written without spaces (CJK ideographs and punctuation, kana, full-width forms, the middle
dot of transcribed names, Thai, Lao, Khmer, Myanmar); Hangul is written with spaces between words and keeps them.

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
# scripts whose tokens are written one after the other without a space (Hangul is written with spaces)
_NO_SPACE = ("CJK", "IDEOGRAPHIC", "HIRAGANA", "KATAKANA", "HALFWIDTH KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR")
# scripts whose combining marks are letters (vowel signs, virama): kept when folding
_LETTER_MARKS = (
    "DEVANAGARI", "BENGALI", "GURMUKHI", "GUJARATI", "ORIYA", "TAMIL", "TELUGU", "KANNADA", "MALAYALAM", "SINHALA",
    "THAI", "LAO", "KHMER", "MYANMAR", "TIBETAN",
)  # fmt: skip
_JOINERS = ("\u200c", "\u200d")  # zero-width non-joiner / joiner: inside a word (Persian, Indic)
# folded as another letter: Arabic Yeh / Alef Maksura / Kaf -> Persian Yeh / Keheh; Turkish dotless i -> i
_LETTER_FOLD = {"\u064a": "\u06cc", "\u0649": "\u06cc", "\u0643": "\u06a9", "\u0131": "i"}


@lru_cache(maxsize=4096)
def _is_mark(c: str) -> bool:
    return unicodedata.category(c).startswith("M")


@lru_cache(maxsize=4096)
def _is_word(c: str) -> bool:
    if c in _JOINERS:
        return True
    if not (c.isalnum() or _is_mark(c)):
        return False
    name = unicodedata.name(c, "")
    return not name.startswith(_UNSPACED)


@lru_cache(maxsize=4096)
def written_without_spaces(c: str) -> bool:
    """True for a character of a script written without spaces between words (CJK ideographs and punctuation, kana,
    full-width forms, Thai, Lao, Khmer, Myanmar) and for the middle dot of transcribed names (`哈利·波特`); two such
    characters are joined with no space between them."""
    if 0x3000 <= ord(c) <= 0x303F or 0xFF00 <= ord(c) <= 0xFFEF or c == "\u00b7":  # CJK punctuation, full width, ·
        return True
    return unicodedata.name(c, "").startswith(_NO_SPACE)


def _bounded(text: str, start: int, end: int) -> bool:
    if end < len(text) and _is_mark(text[end]):  # would cut a letter off its mark (accent, vowel sign, virama)
        return False
    if start > 0 and _is_word(text[start]) and _is_word(text[start - 1]):
        return False
    return not (end < len(text) and _is_word(text[end - 1]) and _is_word(text[end]))


@lru_cache(maxsize=4096)
def _dropped(c: str) -> bool:
    """A combining mark that folding drops: accents, Arabic and Hebrew points (not the marks of `_LETTER_MARKS`)."""
    return bool(unicodedata.combining(c)) and not unicodedata.name(c, "").startswith(_LETTER_MARKS)


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    if ch.isspace():
        return " "
    d = unicodedata.decimal(ch, None)
    if d is not None:
        return str(d)
    kept = "".join(_LETTER_FOLD.get(c, c) for c in unicodedata.normalize("NFKD", ch) if not _dropped(c))
    return unicodedata.normalize("NFC", kept).casefold()  # NFC: Hangul jamo back into their syllable


@lru_cache(maxsize=64)  # one text is folded once for all the mentions aligned in it
def _fold(text: str) -> tuple[str, list[int]]:
    """Folded text and, for each folded character, the index of the original character it came from."""
    out: list[str] = []
    idx: list[int] = []
    for i, ch in enumerate(text):
        f = _fold_char(ch)
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
    # `_scan` with str.find: the same matches as a regex of the escaped mention, without compiling one per mention
    # (scoring locates tens of thousands of distinct mentions; re's cache holds 512 patterns)
    spans, pos, n = [], 0, len(mention)
    while (start := text.find(mention, pos)) >= 0:
        if not whole_words or _bounded(text, start, start + n):
            spans.append((start, start + n))
            pos = start + n
        else:
            pos = start + 1
    return spans


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
        while end < len(text) and _dropped(text[end]):  # keep the trailing marks that folding dropped
            end += 1
        return start, end

    spans = [original(s, e) for s, e in _scan(folded, pattern, lambda s, e: _bounded(text, *original(s, e)))]
    return (spans, "fuzzy") if spans else ([], "unaligned")


__all__ = ["align", "occurrences", "written_without_spaces"]
