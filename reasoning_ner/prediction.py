"""Prediction on free text: the input reader, windows, and the assembly of window outputs into entities with offsets.

Windowing (`split_windows`): a text longer than `max_chars` is cut at sentence ends (`.`, `!`, `?` followed by
whitespace; `。！？`; newlines) into windows packed greedily up to `max_chars` characters; a single sentence longer
than that is cut at whitespace (or hard at `max_chars`). Each window is prompted alone; its mentions are aligned inside
the window and shifted by the window's offset; the same (type, mention) from several windows is merged, spans united.

Inputs (`read_inputs`): `--text` with `--labels`, or a JSONL file of `{"text", "labels"?, "id"?}` (labels as a list or
a comma-separated string; `--labels` is the default). Errors name the file, the line and the field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .alignment import Span, align
from .parsing import parse_completion, split_reasoning

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


def parse_labels(value: Any, where: str) -> list[str]:
    """Entity types from a list of strings or a comma-separated string (blanks dropped); ValueError when none."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: labels must be a list of strings or a comma-separated string")
    out = [v.strip() for v in value if v.strip()]
    if not out:
        raise ValueError(f"{where}: no labels")
    return out


def read_inputs(
    text: str | None, labels: str | None, input_path: str | Path | None, input_format: str = "text", split: str = "test"
) -> list[dict]:
    """The texts to tag, `[{"id", "text", "labels"}]`: one `text` with `labels`, or the examples of a file in any
    `reasoning_ner.formats` format (`text` JSONL by default; `--labels` fills in missing labels)."""
    from .formats import ReadOptions, read_examples

    default = parse_labels(labels, "--labels") if labels else None
    if (text is None) == (input_path is None):
        raise ValueError("give exactly one of --text or --input")
    if text is not None:
        if default is None:
            raise ValueError("--text needs --labels")
        return [{"id": 0, "text": text, "labels": default}]
    examples = read_examples(input_format, input_path, ReadOptions(split=split, labels=default))
    return [{"id": ex.id, "text": ex.sentence, "labels": list(ex.schema) or default} for ex in examples]


__all__ = ["WindowOutput", "assemble", "parse_labels", "read_inputs", "split_windows"]
