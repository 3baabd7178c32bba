"""Inference on free text: windowing, prompting, and character offsets for the extracted mentions.

Alignment (`align`): the model writes mentions, not offsets, so each mention is looked up in the text it was extracted
from and **every** occurrence is returned as a `[start, end)` character span of the original text:

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

Windowing (`split_windows`): a text longer than `max_chars` is cut at sentence ends (`.`, `!`, `?` followed by
whitespace; `。！？`; newlines) into windows packed greedily up to `max_chars` characters; a single sentence longer
than that is cut at whitespace (or hard at `max_chars`). Each window is prompted alone; its mentions are aligned inside
the window and shifted by the window's offset; the same (type, mention) from several windows is merged, spans united.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .parsing import parse_completion, split_reasoning

Span = tuple[int, int]


@lru_cache(maxsize=4096)
def _is_word(c: str) -> bool:
    if not c.isalnum():
        return False
    name = unicodedata.name(c, "")
    return not name.startswith(_UNSPACED)


# scripts written without spaces between words (or, for Hangul, with particles glued to the noun): no word boundaries
_UNSPACED = ("CJK", "HIRAGANA", "KATAKANA", "HALFWIDTH KATAKANA", "HANGUL", "THAI", "LAO", "KHMER", "MYANMAR")


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


_SENT_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])|\n+")


def split_windows(text: str, max_chars: int) -> list[tuple[int, str]]:
    """`(offset, window)` pairs covering the text in order, each window at most `max_chars` characters."""
    if max_chars <= 0:
        raise ValueError("max_chars must be positive")
    if len(text) <= max_chars or not text.strip():
        return [(0, text)]
    # sentence pieces (start, end), whitespace between pieces left out
    pieces: list[Span] = []
    pos = 0
    for m in _SENT_END.finditer(text):
        if m.start() > pos:
            pieces.append((pos, m.start()))
        pos = max(pos, m.end())
    if pos < len(text):
        pieces.append((pos, len(text)))
    # long pieces cut at whitespace, else hard
    cut: list[Span] = []
    for s, e in pieces:
        while e - s > max_chars:
            br = text.rfind(" ", s + 1, s + max_chars + 1)
            stop = br if br > s else s + max_chars
            cut.append((s, stop))
            s = stop
            while s < e and text[s].isspace():
                s += 1
        if e > s:
            cut.append((s, e))
    windows: list[tuple[int, str]] = []
    ws, we = cut[0]
    for s, e in cut[1:]:
        if e - ws <= max_chars:
            we = e
        else:
            windows.append((ws, text[ws:we]))
            ws, we = s, e
    windows.append((ws, text[ws:we]))
    return windows


@dataclass
class WindowOutput:
    offset: int
    text: str
    completion: str
    reasoning: str | None = None


def assemble(
    text: str, labels: Sequence[str], outputs: Sequence[WindowOutput], schema: Sequence[str] | None = None
) -> dict[str, Any]:
    """Entities of one text from its windows' completions: type, mention, spans in the original text, match kind.

    Types are reported as the user wrote them in `labels` when the model's type matches one (after the same
    normalisation that built the prompt's `schema`); other types are kept and flagged `in_schema: false`."""
    from .labels import LabelPolicy

    policy = LabelPolicy.default()
    to_user = {}
    for lab in labels:
        to_user.setdefault(lab.strip().lower(), lab)
        to_user.setdefault(policy.canonical(lab), lab)
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    statuses, reasonings = [], []
    rank = {"exact": 0, "fuzzy": 1, "unaligned": 2}
    for w in outputs:
        res = parse_completion(w.completion)
        statuses.append(res.status.value)
        reasoning = w.reasoning if w.reasoning is not None else split_reasoning(w.completion)[0]
        if reasoning:
            reasonings.append(reasoning.strip())
        for typ, mentions in res.entities.items():
            key_t = to_user.get(typ.strip().lower()) or to_user.get(policy.canonical(typ))
            for mention in mentions:
                spans, how = align(w.text, mention)
                key = (key_t or typ, mention.strip())
                ent = merged.setdefault(
                    key,
                    {"type": key[0], "mention": key[1], "spans": [], "match": "unaligned", "in_schema": bool(key_t)},
                )
                ent["spans"] = sorted(set(map(tuple, ent["spans"])) | {(s + w.offset, e + w.offset) for s, e in spans})
                if rank[how] < rank[ent["match"]]:
                    ent["match"] = how
    entities = []
    for ent in merged.values():
        ent["spans"] = [list(s) for s in ent["spans"]]
        ent["aligned"] = bool(ent["spans"])
        entities.append(ent)
    entities.sort(key=lambda e: (e["spans"][0][0] if e["spans"] else len(text) + 1, e["type"]))
    status = "ok" if all(s == "ok" for s in statuses) else next(s for s in statuses if s != "ok")
    return {"entities": entities, "parse_status": status, "windows": len(outputs), "reasoning": reasonings}


__all__ = ["WindowOutput", "align", "assemble", "occurrences", "split_windows"]
