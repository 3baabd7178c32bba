"""Input formats: one mapping from a format name to a reader that gives `Example`s (sentence, schema, entities with
character offsets when the format has them), used by the converters (`python -m reasoning_ner.convert`), CoT generation
(`generate_cot.py --input_format`) and prediction (`predict.py --input_format`).

| name | input | schema | entities |
|---|---|---|---|
| `instructuie` | a dataset folder `<name>/{split}.json` + `labels.json` (`split` option) | `labels.json` | with offsets |
| `ner_cot` | JSON array or JSONL of `{"sentence", "schema"?, "entities"?, "cot"?, "id"|"guid"?, "dataset"?}`; entities as `[{"text"|"name", "label"|"type"}]` or `{type: [mentions]}` | as given, else the entities' types | as given; none = not annotated |
| `uniner` | UniNER / Pile-NER conversation file | every type asked about the passage | every occurrence, with offsets |
| `bio` | CoNLL BIO/IOB1/BIOES, token and tag columns (`label_map` option) | the types seen | with offsets |
| `conll` (alias `multiconer`) | multi-column CoNLL: token first, tag last (CoNLL-2003 `token POS chunk tag`, MultiCoNER `token _ _ tag` after `# id ... domain=xx` lines); `label_map` and `join` options (`auto`: Chinese and Japanese tokens joined without spaces) | the types seen | with offsets; ids from the `# id` lines |
| `text` | JSONL of `{"text", "labels"?, "id"?}` (`labels` option: the default labels) | the labels | not annotated |

To add a format: write `reader(path, options) -> list[Example]` and register it in `READERS`. Every reader raises
`DataError` naming the file, the record and the field on bad input.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .data import DataError, Entity, Example, example_from_record, read_instructuie, read_json_records


@dataclass
class ReadOptions:
    split: str = "train"  # instructuie: which split
    label_map: Mapping[str, str] | str | Path | None = None  # bio / uniner: raw type -> type name (YAML file or dict)
    labels: Sequence[str] | None = None  # text: labels of records that give none
    join: str = "auto"  # conll: how tokens become the sentence (reasoning_ner.convert.join_tokens: auto | space)


def example_from_instructuie(rec: dict, schema: Sequence[str], dataset: str | None, id: str) -> Example:
    """An InstructUIE record (`{"sentence", "entities": [{"name", "type", "pos"}]}`) as an Example."""
    ents = [Entity(e["name"], e["type"], e["pos"][0], e["pos"][1]) for e in rec["entities"]]
    return Example(rec["sentence"], list(schema), ents, dataset=dataset, id=id)


def to_instructuie(ex: Example) -> dict[str, Any]:
    """An Example with offsets as an InstructUIE record."""
    return {
        "sentence": ex.sentence,
        "entities": [{"name": e.text, "type": e.label, "pos": [e.start, e.end]} for e in ex.entities],
    }


def _instructuie(path: Path, o: ReadOptions) -> list[Example]:
    s = read_instructuie(path.parent, path.name, o.split)
    for i, ex in enumerate(s.examples):
        ex.id = f"{s.name}-{o.split}-{i}"
    return s.examples


def _ner_cot(path: Path, o: ReadOptions) -> list[Example]:
    out = []
    for i, rec in enumerate(read_json_records(path)):
        annotated = not isinstance(rec, dict) or "entities" in rec
        if isinstance(rec, dict) and isinstance(rec.get("entities"), dict):
            for t, ms in rec["entities"].items():
                if not isinstance(ms, list) or not all(isinstance(m, str) for m in ms):
                    raise DataError(path, i, f"entities[{t!r}]", "expected a list of mention strings")
            rec = dict(rec, entities=[{"text": m, "label": t} for t, ms in rec["entities"].items() for m in ms])
        elif not annotated:
            rec = dict(rec, entities=[])
        ex = example_from_record(rec, path, i)
        ex.schema = ex.schema or list(dict.fromkeys(e.label for e in ex.entities))
        ex.annotated = annotated
        out.append(ex)
    return out


def _uniner(path: Path, o: ReadOptions) -> list[Example]:
    from .convert import convert_uniner

    recs = convert_uniner(path, label_map=o.label_map, with_schema=True)
    return [example_from_instructuie(r, r["schema"], path.stem, f"{path.stem}-{i}") for i, r in enumerate(recs)]


def _bio(path: Path, o: ReadOptions) -> list[Example]:
    from .convert import convert_bio, types_seen

    recs = convert_bio(path, label_map=o.label_map)
    types = types_seen(recs)
    return [example_from_instructuie(r, types, path.stem, f"{path.stem}-{i}") for i, r in enumerate(recs)]


def _conll(path: Path, o: ReadOptions) -> list[Example]:
    from .convert import convert_conll, types_seen

    recs = convert_conll(path, label_map=o.label_map, join=o.join)
    types = types_seen(recs)
    out = []
    for i, r in enumerate(recs):
        out.append(example_from_instructuie(r, types, path.stem, r.get("meta", {}).get("id", f"{path.stem}-{i}")))
    return out


def _text(path: Path, o: ReadOptions) -> list[Example]:
    from .prediction import parse_labels

    if not path.exists():
        raise DataError(path, None, None, "input file not found")
    out = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError as e:
                raise DataError(path, f"line {n}", None, f"invalid JSON ({e})") from None
            if not isinstance(rec, dict) or not isinstance(rec.get("text"), str):
                raise DataError(path, f"line {n}", "text", "missing or not a string")
            if "labels" in rec:
                try:
                    labels = parse_labels(rec["labels"], f"{path} line {n}")
                except ValueError as e:
                    raise DataError(path, f"line {n}", "labels", str(e)) from None
            elif o.labels:
                labels = list(o.labels)
            else:
                raise DataError(path, f"line {n}", "labels", "missing (or give --labels)")
            out.append(Example(rec["text"], labels, [], id=rec.get("id", len(out)), annotated=False))
    return out


READERS: dict[str, Callable[[Path, ReadOptions], list[Example]]] = {
    "instructuie": _instructuie,
    "ner_cot": _ner_cot,
    "uniner": _uniner,
    "bio": _bio,
    "conll": _conll,
    "text": _text,
}
ALIASES = {"jsonl": "ner_cot", "multiconer": "conll"}  # jsonl: the name generate_cot.py used before


def read_examples(fmt: str, path: str | Path, options: ReadOptions | None = None) -> list[Example]:
    """The examples of `path` in format `fmt` (a name of `READERS`)."""
    name = ALIASES.get(fmt, fmt)
    if name not in READERS:
        raise ValueError(f"unknown input format {fmt!r}; available: {', '.join(READERS)}")
    path = Path(path)
    if not path.exists():
        raise DataError(path, None, None, "input not found")
    return READERS[name](path, options or ReadOptions())
