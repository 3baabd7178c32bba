"""Converters from BIO/CoNLL, multi-column CoNLL (CoNLL-2003, MultiCoNER) and UniNER conversation files to InstructUIE
records (`{"sentence", "entities": [{"name", "type", "pos": [start, end)}]}`, `sentence[start:end] == name`).

`convert_bio`, `convert_conll` and `convert_uniner` do the work; `python -m reasoning_ner.convert
{bio,conll,multiconer,uniner} INPUT OUTPUT [--label_map FILE] [--write_labels] [--join auto|space]` is the command
line. What each format must look like, how columns, tag schemes
and occurrences are handled, the label maps, and the differences measured against the InstructUIE copies of CrossNER:
docs/converters.md (the one description; each function's docstring states its own contract). Malformed input raises
`reasoning_ner.data.DataError` naming the file, the line or record, and the field.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .alignment import occurrences, written_without_spaces
from .data import DataError, load_structured, read_json_records, read_text, write_jsonl
from .labels import normalize_label

logger = logging.getLogger(__name__)

Record = dict[str, Any]

_TAG = re.compile(r"^(?:O|[BIES]-(\S.*))$")
_DOCSTART = "-DOCSTART-"
_TEXT_PREFIX = "Text:"
_QUESTION = re.compile(r"^\s*What describes (.+?) in the text\?\s*$", re.DOTALL)


# ----------------------------------------------------------------------------------------------------------------------
# Label maps


def load_label_map(path: str | Path) -> dict[str, str]:
    """Read a YAML mapping `raw tag: natural-language type`; keys and values are kept as written (not lower-cased).

    A top-level `labels:` mapping is accepted as well. Errors raise `DataError` naming the file and the key.
    """
    path = Path(path)
    raw = load_structured(path, "label map", yaml_ok=True)
    if isinstance(raw, Mapping) and set(raw) == {"labels"} and isinstance(raw["labels"], Mapping):
        raw = raw["labels"]
    if not isinstance(raw, Mapping):
        raise DataError(path, None, None, "expected a YAML mapping of raw tag -> type name")
    out: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(value, str) or not value.strip():
            raise DataError(path, None, str(key), f"must map to a non-empty string, got {value!r}")
        out[str(key)] = value.strip()
    return out


class _TypeMapper:
    """Applies a label map (exact key first, then the normalised key) and counts the raw types it has no entry for."""

    def __init__(self, label_map: Mapping[str, str] | None):
        self.label_map = dict(label_map) if label_map is not None else None
        self._normalised = {normalize_label(k): v for k, v in (label_map or {}).items()}
        self.unmapped: Counter[str] = Counter()

    def __call__(self, raw: str) -> str:
        if self.label_map is None:
            return raw
        if raw in self.label_map:
            return self.label_map[raw]
        mapped = self._normalised.get(normalize_label(raw))
        if mapped is not None:
            return mapped
        self.unmapped[raw] += 1
        return raw

    def warn(self, path: Path) -> None:
        if self.unmapped:
            logger.warning(
                "%s: %d entities have a type missing from the label map, kept as is: %s",
                path,
                sum(self.unmapped.values()),
                ", ".join(f"{t!r}: {c}" for t, c in self.unmapped.most_common()),
            )


def _as_label_map(label_map: Mapping[str, str] | str | Path | None) -> Mapping[str, str] | None:
    if label_map is None or isinstance(label_map, Mapping):
        return label_map
    return load_label_map(label_map)


# ----------------------------------------------------------------------------------------------------------------------
# BIO / CoNLL


def _split_columns(line: str) -> list[str]:
    cols = line.split("\t")
    if len(cols) == 1:
        cols = line.split()
    return [c.strip() for c in cols]


def _is_tag(value: str) -> bool:
    return _TAG.match(value) is not None


def _read_bio_lines(path: Path) -> list[tuple[int, list[str] | None]]:
    """(line number, columns) per line; `None` columns mark a sentence break (blank or `-DOCSTART-` line)."""
    text = read_text(path, encoding="utf-8-sig")
    out: list[tuple[int, list[str] | None]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.split()[0] == _DOCSTART:
            out.append((lineno, None))
            continue
        cols = _split_columns(line)
        if len(cols) != 2:
            raise DataError(path, f"line {lineno}", "columns", f"expected 2 columns (token and tag), got {len(cols)}")
        out.append((lineno, cols))
    return out


def _match_tag(path: Path, lineno: int, tag: str, problem: str) -> re.Match[str]:
    """`tag` matched by `_TAG` (group 1: the type, None for `O`); an invalid tag raises
    `DataError(path, "line N", "tag", problem)`, `{tag!r}` in `problem` standing for the tag."""
    m = _TAG.match(tag)
    if m is None:
        raise DataError(path, f"line {lineno}", "tag", problem.format(tag=tag))
    return m


def detect_tag_column(rows: Sequence[Sequence[str]]) -> int:
    """Index (0 or 1) of the tag column: the column that is a valid tag on more rows; 1 (`token<TAB>tag`) on a tie."""
    second = sum(_is_tag(r[1]) for r in rows)
    first = sum(_is_tag(r[0]) for r in rows)
    return 0 if first > second else 1


def convert_bio(path: str | Path, label_map: Mapping[str, str] | str | Path | None = None) -> list[Record]:
    """Convert a BIO/IOB1/BIOES CoNLL file (see the module docstring) to InstructUIE records, one per sentence.

    Types are the tag suffixes, renamed by `label_map` (a mapping or a YAML file) when given. A line that does not have
    two columns, has an empty token or an invalid tag raises `DataError(path, "line N", field, problem)` with field
    `columns`, `token` or `tag`.
    """
    path = Path(path)
    mapper = _TypeMapper(_as_label_map(label_map))
    lines = _read_bio_lines(path)
    tag_col = detect_tag_column([cols for _, cols in lines if cols is not None])
    sentences = _TaggedSentences(mapper)
    for lineno, cols in lines:
        if cols is None:
            sentences.end()
            continue
        tag, token = cols[tag_col], cols[1 - tag_col]
        m = _match_tag(path, lineno, tag, "invalid tag {tag!r} (expected O, B-<type>, I-<type>, E-<type> or S-<type>)")
        if not token:
            raise DataError(path, f"line {lineno}", "token", "empty token")
        sentences.add(token, m)
    sentences.end()
    mapper.warn(path)
    return sentences.records


JOIN_MODES = ("space", "auto")


def join_tokens(tokens: Sequence[str], join: str = "space") -> tuple[str, list[int]]:
    """The sentence of `tokens` and each token's start offset. `space`: one space between tokens. `auto`: no space
    between two tokens when the last character of the first and the first of the second belong to scripts written
    without spaces (`reasoning_ner.alignment.written_without_spaces`: CJK, kana, Thai, ...), one space otherwise, so
    `北 京 大 学` becomes `北京大学` while Latin words, digits and Hangul keep their spaces."""
    if join not in JOIN_MODES:
        raise ValueError(f"join must be one of {JOIN_MODES}, not {join!r}")
    parts: list[str] = []
    offsets: list[int] = []
    pos = 0
    for i, tok in enumerate(tokens):
        if i:
            glued = join == "auto" and written_without_spaces(tokens[i - 1][-1]) and written_without_spaces(tok[0])
            if not glued:
                parts.append(" ")
                pos += 1
        offsets.append(pos)
        parts.append(tok)
        pos += len(tok)
    return "".join(parts), offsets


def _bio_record(
    tokens: list[str], spans: list[tuple[int, int, str]], mapper: _TypeMapper, join: str = "space"
) -> Record:
    sentence, offsets = join_tokens(tokens, join)
    entities = []
    for ts, te, etype in spans:
        start, end = offsets[ts], offsets[te - 1] + len(tokens[te - 1])
        entities.append({"name": sentence[start:end], "type": mapper(etype), "pos": [start, end]})
    return {"sentence": sentence, "entities": entities}


class _TaggedSentences:
    """The records of a tagged token stream (`convert_bio`, `convert_conll`): `add` one token and its tag at a time
    (BIO, IOB1 and BIOES read alike: an `I-`/`E-` tag continues the open entity of its type, else starts one; `E-`/`S-`
    close it), `end` at each sentence break, which appends the sentence's record (with `meta` when given) to
    `records`."""

    def __init__(self, mapper: _TypeMapper, join: str = "space"):
        self.mapper, self.join = mapper, join
        self.records: list[Record] = []
        self.tokens: list[str] = []
        self.spans: list[tuple[int, int, str]] = []  # token start, token end (exclusive), raw type
        self.open_type: str | None = None

    def add(self, token: str, tag: re.Match[str]) -> None:
        """One token and its tag, as matched by `_match_tag`."""
        i = len(self.tokens)
        self.tokens.append(token)
        etype = tag.group(1)
        if etype is None:  # O
            self.open_type = None
            return
        prefix = tag.group(0)[0]
        if prefix in "IE" and self.open_type == etype:
            self.spans[-1] = (self.spans[-1][0], i + 1, etype)
        else:
            self.spans.append((i, i + 1, etype))
        self.open_type = None if prefix in "ES" else etype

    def end(self, meta: Mapping[str, str] | None = None) -> None:
        if self.tokens:
            rec = _bio_record(self.tokens, self.spans, self.mapper, self.join)
            if meta:
                rec["meta"] = dict(meta)
            self.records.append(rec)
        self.tokens.clear()
        self.spans.clear()
        self.open_type = None


# ----------------------------------------------------------------------------------------------------------------------
# Multi-column CoNLL: CoNLL-2003 (`token POS chunk tag`), MultiCoNER (`# id ... domain=xx` then `token _ _ tag`)

_META = re.compile(r"(\w+)=(\S+)")


def _conll_comment(cols: list[str]) -> bool:
    """A MultiCoNER metadata line (`# id <uuid> domain=en`): starts with `#` and does not end with a tag. A token `#`
    tagged `O` (`# _ _ O`) is a token line."""
    return cols[0].startswith("#") and not (len(cols) > 1 and _is_tag(cols[-1]))


def convert_conll(
    path: str | Path, label_map: Mapping[str, str] | str | Path | None = None, join: str = "auto"
) -> list[Record]:
    """Convert a multi-column CoNLL file to InstructUIE records, one per sentence: the token is the first column and
    the tag the last (`token POS chunk tag` in CoNLL-2003, `token _ _ tag` in MultiCoNER; two columns work too).
    Sentences end at blank lines, `-DOCSTART-` lines and metadata lines (`# id <uuid> domain=<lang>`, MultiCoNER;
    the `key=value` pairs and the id are kept in each record's `meta`, which the writers leave out). Tags are read as by
    `convert_bio` (BIO, IOB1 — CoNLL-2003's original scheme —, BIOES). Tokens are joined with `join_tokens(join)`:
    `auto` (the default) writes Chinese and Japanese without the spaces MultiCoNER puts between their tokens.
    Errors raise `DataError(path, "line N", field, problem)` with field `columns`, `token` or `tag`."""
    path = Path(path)
    if join not in JOIN_MODES:
        raise ValueError(f"join must be one of {JOIN_MODES}, not {join!r}")
    mapper = _TypeMapper(_as_label_map(label_map))
    text = read_text(path, encoding="utf-8-sig")
    sentences = _TaggedSentences(mapper, join)
    meta: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        cols = line.split()
        if not cols or cols[0] == _DOCSTART:
            sentences.end(meta)
            meta.clear()
            continue
        if _conll_comment(cols):
            sentences.end(meta)
            meta.clear()
            body = line.lstrip("#").strip()
            meta.update(_META.findall(body))
            words = [w for w in body.split() if "=" not in w]
            if len(words) >= 2 and words[0] == "id":
                meta["id"] = words[1]
            continue
        if len(cols) < 2:
            raise DataError(path, f"line {lineno}", "columns", "expected a token and a tag (at least 2 columns), got 1")
        token, tag = cols[0], cols[-1]
        m = _match_tag(path, lineno, tag, "invalid tag {tag!r} in the last column (expected O, B-x, I-x, E-x, S-x)")
        sentences.add(token, m)
    sentences.end(meta)
    mapper.warn(path)
    return sentences.records


# ----------------------------------------------------------------------------------------------------------------------
# UniNER / Pile-NER conversations


def _turn(path: Path, idx: int, conv: list[Any], k: int, expect_from: str) -> str:
    turn = conv[k]
    field = f"conversations[{k}]"
    if not isinstance(turn, dict):
        raise DataError(path, idx, field, f"expected an object, got {type(turn).__name__}")
    if turn.get("from") != expect_from:
        raise DataError(path, idx, f"{field}.from", f"expected {expect_from!r}, got {turn.get('from')!r}")
    value = turn.get("value")
    if not isinstance(value, str):
        raise DataError(path, idx, f"{field}.value", f"expected str, got {type(value).__name__}")
    return value


def convert_uniner(
    path: str | Path, label_map: Mapping[str, str] | str | Path | None = None, with_schema: bool = False
) -> list[Record]:
    """Convert a UniNER / Pile-NER conversation file (see the module docstring) to InstructUIE records.

    One record per distinct passage, passages in first-seen order; entities sorted by (start, end), ties in query
    order. Types are the `<type>` of the questions, renamed by `label_map` when given. Malformed records raise
    `DataError(path, record index, field, problem)`, e.g. field `conversations[3].value` for an answer that is not a
    JSON list. With `with_schema`, each record also gets `schema`: every type asked about the passage (answered or
    not), in first-asked order — the negative questions are part of Pile-NER's supervision.
    """
    path = Path(path)
    mapper = _TypeMapper(_as_label_map(label_map))
    asked: dict[str, dict[str, None]] = {}
    data = read_json_records(path)
    if not isinstance(data, list):
        raise DataError(path, None, None, f"expected a JSON array of records, got {type(data).__name__}")
    by_text: dict[str, dict[tuple[str, int, int], None]] = {}
    not_found: Counter[str] = Counter()
    not_string = 0
    for idx, rec in enumerate(data):
        if not isinstance(rec, dict):
            raise DataError(path, idx, None, f"expected a JSON object, got {type(rec).__name__}")
        conv = rec.get("conversations")
        if not isinstance(conv, list):
            raise DataError(path, idx, "conversations", "missing or not a list")
        if len(conv) < 2 or len(conv) % 2:
            raise DataError(path, idx, "conversations", f"expected an even number (>= 2) of turns, got {len(conv)}")
        first = _turn(path, idx, conv, 0, "human")
        if not first.startswith(_TEXT_PREFIX):
            raise DataError(path, idx, "conversations[0].value", f"expected it to start with {_TEXT_PREFIX!r}")
        passage = first[len(_TEXT_PREFIX) :].removeprefix(" ")
        _turn(path, idx, conv, 1, "gpt")
        found = by_text.setdefault(passage, {})
        for k in range(2, len(conv), 2):
            question = _turn(path, idx, conv, k, "human")
            qm = _QUESTION.match(question)
            if qm is None:
                raise DataError(
                    path,
                    idx,
                    f"conversations[{k}].value",
                    f"expected 'What describes <type> in the text?', got {question!r}",
                )
            etype = mapper(qm.group(1).strip())
            asked.setdefault(passage, {})[etype] = None
            answer = _turn(path, idx, conv, k + 1, "gpt")
            try:
                mentions = json.loads(answer)
            except json.JSONDecodeError as e:
                raise DataError(
                    path, idx, f"conversations[{k + 1}].value", f"answer is not valid JSON: {e.msg}"
                ) from None
            if not isinstance(mentions, list):
                raise DataError(
                    path, idx, f"conversations[{k + 1}].value", f"expected a JSON list, got {type(mentions).__name__}"
                )
            for mention in mentions:
                if not isinstance(mention, str) or not mention:
                    not_string += 1
                    continue
                spans = occurrences(passage, mention, whole_words=False)
                if not spans:
                    not_found[etype] += 1
                for start, end in spans:
                    found[(etype, start, end)] = None
    if not_found:
        logger.warning(
            "%s: %d mentions do not occur verbatim in their passage and were left out (by type: %s)",
            path,
            sum(not_found.values()),
            ", ".join(f"{t!r}: {c}" for t, c in not_found.most_common()),
        )
    if not_string:
        logger.warning("%s: %d answer items are not non-empty strings and were skipped", path, not_string)
    mapper.warn(path)
    records = []
    for passage, found in by_text.items():
        ordered = sorted(found, key=lambda key: (key[1], key[2]))
        entities = [{"name": passage[s:e], "type": t, "pos": [s, e]} for t, s, e in ordered]
        rec = {"sentence": passage, "entities": entities}
        if with_schema:
            rec["schema"] = list(asked.get(passage, {}))
        records.append(rec)
    return records


# ----------------------------------------------------------------------------------------------------------------------
# Writing and the command line


def types_seen(records: Sequence[Record]) -> list[str]:
    """Entity types of `records` in first-seen order."""
    seen: dict[str, None] = {}
    for rec in records:
        for ent in rec["entities"]:
            seen.setdefault(ent["type"], None)
    return list(seen)


def write_instructuie(path: str | Path, records: Sequence[Record]) -> int:
    """Write records as a JSON array (indent=1, ensure_ascii=False), or JSONL when the name ends in `.jsonl`."""
    path = Path(path)
    records = [{k: v for k, v in r.items() if k != "meta"} for r in records]
    if path.suffix == ".jsonl":
        return write_jsonl(path, records)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(list(records), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return len(records)


def update_labels_file(folder: str | Path, types: Sequence[str]) -> list[str]:
    """Write `<folder>/labels.json`: the types already listed there (if any) followed by the new ones, in order."""
    path = Path(folder) / "labels.json"
    labels: list[str] = []
    if path.exists():
        existing = read_json_records(path)
        if not isinstance(existing, list) or not all(isinstance(x, str) for x in existing):
            raise DataError(path, None, None, "expected a JSON array of type names")
        labels = list(existing)
    labels += [t for t in types if t not in labels]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(labels, ensure_ascii=False) + "\n", encoding="utf-8")
    return labels


SPAN_FORMATS = ["bio", "conll", "multiconer", "uniner"]  # the formats of reasoning_ner.formats with offsets


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m reasoning_ner.convert",
        description="Convert BIO/CoNLL, multi-column CoNLL (CoNLL-2003, MultiCoNER) or UniNER conversation files to "
        "InstructUIE JSON.",
    )
    p.add_argument("format", choices=SPAN_FORMATS, help="input format (reasoning_ner.formats)")
    p.add_argument("input", type=Path, help="input file")
    p.add_argument("output", type=Path, help="output file (JSON array; JSONL if it ends in .jsonl)")
    p.add_argument("--label_map", type=Path, default=None, help="YAML mapping raw tag -> natural-language type")
    p.add_argument(
        "--join",
        choices=JOIN_MODES,
        default="auto",
        help="conll/multiconer: how tokens become the sentence. auto (default): no space between two tokens of scripts "
        "written without spaces (Chinese, Japanese, Thai), one space otherwise; space: always one space",
    )
    p.add_argument(
        "--write_labels",
        action="store_true",
        help="also write labels.json beside OUTPUT (types already listed there first, then new ones in first-seen order)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the converter; returns 0 on success, 1 on a `DataError` (message on stderr)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from .formats import ReadOptions, read_examples, to_instructuie

    try:
        examples = read_examples(args.format, args.input, ReadOptions(label_map=args.label_map, join=args.join))
        records = [to_instructuie(ex) for ex in examples]
        n = write_instructuie(args.output, records)
        if args.write_labels:
            update_labels_file(args.output.parent, types_seen(records))
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    n_ent = sum(len(r["entities"]) for r in records)
    logger.info("wrote %d records with %d entities to %s", n, n_ent, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
