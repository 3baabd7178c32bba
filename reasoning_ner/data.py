"""Data model and readers/writers.

An `Example` is one sentence with its schema (the entity types asked for), its gold entities, optional reasoning
(`cot`), optional source dataset and an id. Two on-disk formats are read:

* **NER-CoT** (the public dataset of the paper): a JSON array or JSONL of
  `{"guid", "dataset", "sentence", "schema", "cot", "entities": [{"text", "label"}]}`; `source` is accepted as an alias
  of `dataset`. The same records from a Hub dataset (`HuiHuang/NER-CoT`) or a local folder laid out like one:
  `read_ner_cot_dataset`; `read_sft_source` takes any of the three.
* **InstructUIE** folders: `<base>/<name>/{train,dev,test}.json` (a JSON array of
  `{"sentence", "entities": [{"name", "type", "pos": [start, end)}]}`) plus `<base>/<name>/labels.json`.

Malformed input raises `DataError`, whose message names the file, the record index and the field.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .labels import normalize_label

logger = logging.getLogger(__name__)


class DataError(ValueError):
    """Malformed input data. The message names the file, the record and the field."""

    def __init__(self, path: str | Path | None, record: int | str | None, field_name: str | None, problem: str):
        self.path, self.record, self.field, self.problem = path, record, field_name, problem
        where = [str(path) if path is not None else "<input>"]
        if record is not None:
            where.append(f"record {record}")
        if field_name is not None:
            where.append(f"field {field_name!r}")
        super().__init__(f"{', '.join(where)}: {problem}")


@dataclass(slots=True)
class Entity:
    text: str
    label: str
    start: int | None = None
    end: int | None = None

    def to_dict(self, with_span: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {"text": self.text, "label": self.label}
        if with_span and self.start is not None:
            d["start"], d["end"] = self.start, self.end
        return d


@dataclass
class Example:
    sentence: str
    schema: list[str]
    entities: list[Entity] = field(default_factory=list)
    cot: str | None = None
    dataset: str | None = None
    id: Any = None
    annotated: bool = True  # False: the input had no entity annotation (entities is empty, not "no entity")

    def answer(self) -> dict[str, list[str]]:
        """Gold mentions grouped by type, types and mentions in first-occurrence order, duplicates removed."""
        grouped: dict[str, list[str]] = {}
        for e in self.entities:
            bucket = grouped.setdefault(e.label, [])
            if e.text not in bucket:
                bucket.append(e.text)
        return grouped

    def to_record(self) -> dict[str, Any]:
        """The NER-CoT record."""
        return {
            "guid": self.id,
            "dataset": self.dataset,
            "sentence": self.sentence,
            "schema": list(self.schema),
            "cot": self.cot,
            "entities": [e.to_dict(with_span=e.start is not None) for e in self.entities],
        }


# ----------------------------------------------------------------------------------------------------------------------
# Generic JSON / JSONL


def read_text(path: str | Path, what: str = "file", encoding: str = "utf-8") -> str:
    """A UTF-8 text file; a missing or undecodable file is a `DataError` naming it (`what`: how to call it).
    `encoding="utf-8-sig"` also drops a leading byte-order mark."""
    path = Path(path)
    try:
        return path.read_text(encoding=encoding)
    except FileNotFoundError:
        raise DataError(path, None, None, f"{what} not found") from None
    except UnicodeDecodeError as e:
        raise DataError(path, None, None, f"not UTF-8 text ({e})") from None


def load_structured(path: str | Path, what: str = "file", yaml_ok: bool = False) -> Any:
    """A JSON file (with `yaml_ok`, JSON or YAML) parsed; any failure is a `DataError` naming the file."""
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        if not yaml_ok:
            raise DataError(path, None, None, f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise DataError(path, None, None, f"invalid YAML: {e}") from None


def read_json_records(path: str | Path) -> list[Any]:
    """Read a JSON array or a JSONL file (one JSON value per non-blank line). Errors name file and line/record."""
    path = Path(path)
    text = read_text(path)
    if text.lstrip().startswith("["):
        return load_structured(path)
    records = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise DataError(path, f"at line {lineno}", None, f"invalid JSON: {e.msg} (column {e.colno})") from None
    return records


def write_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> int:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
            n += 1
    return n


def _require(rec: Any, key: str, typ: type | tuple[type, ...], path: Path, idx: int, optional: bool = False) -> Any:
    if not isinstance(rec, dict):
        raise DataError(path, idx, None, f"expected a JSON object, got {type(rec).__name__}")
    if key not in rec or rec[key] is None:
        if optional:
            return None
        raise DataError(path, idx, key, "missing")
    val = rec[key]
    if not isinstance(val, typ) or (typ is int and isinstance(val, bool)):
        want = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
        raise DataError(path, idx, key, f"expected {want}, got {type(val).__name__}")
    return val


# ----------------------------------------------------------------------------------------------------------------------
# NER-CoT


def example_from_record(rec: Any, path: str | Path = "<record>", idx: int = 0) -> Example:
    path = Path(path)
    sentence = _require(rec, "sentence", str, path, idx)
    schema = _require(rec, "schema", list, path, idx, optional=True) or []
    for j, s in enumerate(schema):
        if not isinstance(s, str):
            raise DataError(path, idx, f"schema[{j}]", f"expected str, got {type(s).__name__}")
    ents_raw = _require(rec, "entities", list, path, idx)
    entities = []
    for j, e in enumerate(ents_raw):
        if not isinstance(e, dict):
            raise DataError(path, idx, f"entities[{j}]", f"expected an object, got {type(e).__name__}")
        text = e.get("text", e.get("name"))
        label = e.get("label", e.get("type"))
        if not isinstance(text, str):
            raise DataError(path, idx, f"entities[{j}].text", "missing or not a string")
        if not isinstance(label, str):
            raise DataError(path, idx, f"entities[{j}].label", "missing or not a string")
        start, end = e.get("start"), e.get("end")
        if start is not None or end is not None:
            if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= len(sentence)):
                raise DataError(path, idx, f"entities[{j}].start/end", f"invalid span {start!r}..{end!r}")
        entities.append(Entity(text=text, label=label, start=start, end=end))
    cot = rec.get("cot")
    if cot is not None and not isinstance(cot, str):
        raise DataError(path, idx, "cot", f"expected str, got {type(cot).__name__}")
    dataset = rec.get("dataset", rec.get("source"))
    if dataset is not None and not isinstance(dataset, str):
        raise DataError(path, idx, "dataset", f"expected str, got {type(dataset).__name__}")
    guid = rec.get("guid", rec.get("id"))
    return Example(
        sentence=sentence,
        schema=list(schema),
        entities=entities,
        cot=cot,
        dataset=dataset,
        id=str(guid) if guid is not None else f"{path.stem}-{idx}",
    )


def read_ner_cot(path: str | Path) -> list[Example]:
    """Read an NER-CoT file (JSON array or JSONL)."""
    path = Path(path)
    records = read_json_records(path)
    if not isinstance(records, list):
        raise DataError(path, None, None, "expected a JSON array or JSONL of records")
    return [example_from_record(r, path, i) for i, r in enumerate(records)]


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_FILE_SUFFIXES = (".json", ".jsonl", ".parquet", ".csv", ".txt", ".yaml", ".yml")


def is_hub_dataset_id(source: str | Path) -> bool:
    """`owner/name` with no file suffix (`HuiHuang/NER-CoT`), not an existing local path."""
    s = str(source)
    return bool(_HUB_ID.match(s)) and not s.lower().endswith(_FILE_SUFFIXES) and not Path(s).exists()


def read_ner_cot_dataset(source: str | Path, split: str = "train") -> list[Example]:
    """NER-CoT records of a `datasets` dataset: a Hub id (`HuiHuang/NER-CoT`, from the local cache when offline) or a
    local folder laid out like a Hub repository (`data/train-00000-of-00001.parquet`, `*.json`/`*.jsonl` files, a
    README.md whose `configs:` names the files), loaded with `datasets.load_dataset(source, split=split)`. Field names
    are the release's (`sentence`, `schema`, `cot`, `entities` as `[{"text", "label"}]`, `dataset`), read by
    `example_from_record`; `schema`/`entities` stored as JSON strings are decoded. Errors name the source and split,
    the record index and the field."""
    import tempfile

    import datasets

    where = f"{source} [split {split}]"
    local = Path(str(source)).is_dir()
    try:
        # A local folder is read afresh into a throw-away cache: `datasets` keys its cache of local folders by their
        # file names and metadata, so two folders (or one folder edited in place) could otherwise share a stale copy.
        with tempfile.TemporaryDirectory(prefix="ner_cot_") as tmp:
            ds = datasets.load_dataset(str(source), split=split, cache_dir=tmp if local else None)
            rows = list(ds)
    except Exception as e:  # every loading failure becomes one DataError naming the source
        hint = "" if local else " (offline: the dataset must be in the local Hugging Face cache)"
        raise DataError(where, None, None, f"cannot load the dataset{hint}: {type(e).__name__}: {e}") from None
    out = []
    for i, rec in enumerate(rows):
        for key in ("schema", "entities"):
            if isinstance(rec.get(key), str) and rec[key].lstrip()[:1] in "[{":
                try:
                    rec[key] = json.loads(rec[key])
                except ValueError as e:
                    raise DataError(where, i, key, f"a string that is not valid JSON ({e})") from None
        out.append(example_from_record(rec, where, i))
    return out


def read_sft_source(source: str | Path, split: str = "train") -> list[Example]:
    """The NER-CoT examples of one SFT source: a JSON/JSONL file (`read_ner_cot`), a local dataset folder or a Hub
    dataset id (`read_ner_cot_dataset`)."""
    path = Path(source)
    if path.is_file():
        return read_ner_cot(path)
    if path.is_dir() or is_hub_dataset_id(source):
        return read_ner_cot_dataset(source, split)
    raise DataError(
        path, None, None, "not found: give an NER-CoT file (JSON/JSONL), a dataset folder or a Hub dataset id"
    )


def write_ner_cot(path: str | Path, examples: Iterable[Example]) -> int:
    """Write NER-CoT records: a JSON array when the name ends in `.json`, else JSONL."""
    path = Path(path)
    if path.suffix == ".json":
        path.parent.mkdir(parents=True, exist_ok=True)
        recs = [e.to_record() for e in examples]
        path.write_text(json.dumps(recs, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return len(recs)
    return write_jsonl(path, (e.to_record() for e in examples))


# ----------------------------------------------------------------------------------------------------------------------
# InstructUIE

_SAMPLE_SUFFIX = re.compile(r"_sample_[0-9]+")


def source_name(folder_name: str) -> str:
    """The source dataset name of an InstructUIE folder, every `_sample_N` removed (as the reference does):
    `Ontonotes_sample_30000` -> `Ontonotes`."""
    return _SAMPLE_SUFFIX.sub("", folder_name)


@dataclass
class DatasetSplit:
    """One split of one InstructUIE dataset, gold types normalised but nothing dropped."""

    name: str
    split: str
    path: Path
    labels: list[str]  # labels.json, normalised, in file order
    examples: list[Example]
    unknown_types: Counter = field(default_factory=Counter)  # gold type (normalised) not in labels.json -> count


def read_labels(folder: Path) -> list[str]:
    path = folder / "labels.json"
    data = read_json_records(path)
    if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
        raise DataError(path, None, None, "expected a JSON array of type names")
    out: list[str] = []
    for lab in data:
        n = normalize_label(lab)
        if n not in out:
            out.append(n)
    return out


def read_instructuie_file(path: str | Path, dataset: str | None = None) -> list[Example]:
    """Read one InstructUIE split file, validating every record. Types are kept as written (callers normalise)."""
    path = Path(path)
    records = read_json_records(path)
    if not isinstance(records, list):
        raise DataError(path, None, None, f"expected a JSON array of records, got {type(records).__name__}")
    out = []
    for i, rec in enumerate(records):
        sentence = _require(rec, "sentence", str, path, i)
        ents = _require(rec, "entities", list, path, i)
        n = len(sentence)
        entities = []
        for j, e in enumerate(ents):
            # fast path for well-formed entities; the slow path below says exactly what is wrong
            try:
                name, typ, (start, end) = e["name"], e["type"], e["pos"]
                ok = (
                    type(name) is str
                    and type(typ) is str
                    and type(start) is int
                    and type(end) is int
                    and type(e["pos"]) is list
                    and 0 <= start <= end <= n
                    and sentence[start:end] == name
                )
            except (TypeError, KeyError, ValueError):
                ok = False
            if not ok:
                _entity_error(path, i, j, e, sentence)
            entities.append(Entity(name, typ, start, end))
        out.append(Example(sentence=sentence, schema=[], entities=entities, dataset=dataset, id=f"{dataset}-{i}"))
    return out


def _entity_error(path: Path, i: int, j: int, e: Any, sentence: str) -> None:
    f = f"entities[{j}]"
    if not isinstance(e, dict):
        raise DataError(path, i, f, f"expected an object, got {type(e).__name__}")
    for key, typ in (("name", str), ("type", str), ("pos", list)):
        if key not in e:
            raise DataError(path, i, f"{f}.{key}", "missing")
        if not isinstance(e[key], typ):
            raise DataError(path, i, f"{f}.{key}", f"expected {typ.__name__}, got {type(e[key]).__name__}")
    pos = e["pos"]
    if len(pos) != 2 or not all(isinstance(p, int) and not isinstance(p, bool) for p in pos):
        raise DataError(path, i, f"{f}.pos", f"expected [start, end] integers, got {pos!r}")
    start, end = pos
    if not 0 <= start <= end <= len(sentence):
        raise DataError(path, i, f"{f}.pos", f"{pos} out of range for a sentence of {len(sentence)} characters")
    raise DataError(path, i, f"{f}.pos", f"sentence[{start}:{end}] is {sentence[start:end]!r}, not name {e['name']!r}")


def read_instructuie(base: str | Path, name: str, split: str = "test", warn: bool = True) -> DatasetSplit:
    """Read `<base>/<name>/<split>.json` and `labels.json`.

    Gold types are normalised (lower-case, strip). Gold entities whose type is not in `labels.json` are counted in
    `unknown_types` and, if `warn`, logged with their counts; what happens to them is the scorer's protocol's business.
    """
    folder = Path(base) / name
    if not folder.is_dir():
        raise DataError(folder, None, None, f"dataset folder not found under base path {base}")
    path = folder / f"{split}.json"
    labels = read_labels(folder)
    examples = read_instructuie_file(path, dataset=name)
    known = set(labels)
    unknown: Counter = Counter()
    for ex in examples:
        ex.schema = list(labels)
        for e in ex.entities:
            e.label = normalize_label(e.label)
            if e.label not in known:
                unknown[e.label] += 1
    if unknown and warn:
        logger.warning(
            "%s: %d gold entities have a type not in labels.json: %s (uninformative types such as misc are dropped "
            "by default; map spelling variants with the alias file, config/labels/aliases.yaml)",
            path,
            sum(unknown.values()),
            ", ".join(f"{t!r}: {c}" for t, c in unknown.most_common()),
        )
    return DatasetSplit(name=name, split=split, path=path, labels=labels, examples=examples, unknown_types=unknown)


def load_dataset_config(path: str | Path) -> list[str]:
    """Dataset folder names from a config file.

    Accepted forms: a JSON/YAML list of names; a list of `{"name": ...}` or InstructUIE's `{"dataset name": ...}`
    objects; or a mapping with a list under `datasets` or `NER` (InstructUIE's task config).
    """
    path = Path(path)
    data = load_structured(path, "dataset config", yaml_ok=True)
    if isinstance(data, dict):
        for key in ("datasets", "NER", "ner"):
            if key in data:
                data = data[key]
                break
        else:
            raise DataError(path, None, None, "expected a list of dataset names or a mapping with 'datasets'")
    if not isinstance(data, list):
        raise DataError(path, None, None, "expected a list of dataset names")
    names = []
    for i, item in enumerate(data):
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict) and isinstance(item.get("name", item.get("dataset name")), str):
            names.append(item.get("name", item.get("dataset name")))
        else:
            raise DataError(path, i, "name", "each entry must be a name or an object with 'name'/'dataset name'")
    return names
