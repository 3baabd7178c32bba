"""SFT data from annotated corpora, and seeded subsets of them (the logic of `make_sft_data.py`).

The paper's other experiments train on data that has gold entities but no reasoning: the 20 InstructUIE train sets
(supervised setting), 1 / 5 / 10 % of CoNLL-2003 (low-resource), MultiCoNER's English train set (cross-lingual), the raw
Pile-NER conversations (ablation). This module turns such data into **NER-CoT records without `cot`**
(`{"guid", "dataset", "sentence", "schema", "entities": [{"text", "label", "start", "end"}]}`): `sft.py` trains on
them as they are (the target is then the JSON answer alone), and `generate_cot.py --input_format jsonl --hint true`
adds reasoning to them (stage 1 with the gold annotation as hint).

* **Schema and entities** follow the GRPO sampler (`reasoning_ner.sampling.grpo_record`): the schema is the dataset's
  `labels.json` (InstructUIE) or the types the record's format gives (`uniner`: every type asked about the passage,
  negative questions included; `conll`/`bio`: the types seen in the file) under the label policy — lower-cased,
  uninformative types (`misc`, `else`, ...) dropped, the alias map merged unless `paper` —; gold entities whose type
  is not in that schema are left out and counted (`LabelPolicy.gold`, which the sampler uses too).
* **Subsets** (`subset_indices`): per dataset, `fraction` (a share of the split, at least one example) or `count` (at
  most N examples), drawn with `random.Random(f"{seed}:{dataset}")`: the dataset's indices are shuffled once and the
  first k taken, then put back in file order. The same seed therefore gives **nested** subsets (the 1 % sample is
  inside the 5 % one, which is inside the 10 % one), and another seed an independent draw.
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .data import DataError, Entity, Example, read_instructuie, source_name, write_jsonl
from .labels import LabelPolicy

logger = logging.getLogger(__name__)


@dataclass
class SubsetStats:
    """Per dataset: examples available and kept; gold entities left out, by (dataset, type)."""

    available: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)
    dropped_gold: Counter = field(default_factory=Counter)


def subset_size(n: int, fraction: float | None = None, count: int | None = None) -> int:
    """How many of `n` examples a subset keeps: all of them; `round(fraction * n)` (at least 1 when n > 0); or
    `min(count, n)`."""
    if fraction is not None and count is not None:
        raise ValueError("give fraction or count, not both")
    if fraction is not None:
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], not {fraction}")
        return min(n, max(1, round(fraction * n))) if n else 0
    if count is not None:
        if count < 0:
            raise ValueError(f"count must be >= 0, not {count}")
        return min(count, n)
    return n


def subset_indices(
    n: int, fraction: float | None = None, count: int | None = None, seed: int = 42, key: str = ""
) -> list[int]:
    """The indices (in increasing order) of a seeded subset of `n` examples; nested across sizes for one seed/key."""
    k = subset_size(n, fraction, count)
    if k == n:
        return list(range(n))
    order = list(range(n))
    random.Random(f"{seed}:{key}").shuffle(order)
    return sorted(order[:k])


def prepare(example: Example, schema: Sequence[str], policy: LabelPolicy, stats: SubsetStats | None = None) -> Example:
    """`example` with the schema given (already under the policy) and its gold entities under the policy: canonical
    types, uninformative ones dropped, types outside the schema left out (counted in `stats`)."""
    dropped = stats.dropped_gold if stats is not None else None
    kept = [Entity(e.text, typ, e.start, e.end) for e, typ in policy.gold(example, set(schema), dropped)]
    return Example(example.sentence, list(schema), kept, None, example.dataset, example.id)


def record(example: Example) -> dict[str, Any]:
    """The NER-CoT record of an example, without `cot` (offsets kept when known)."""
    rec = example.to_record()
    del rec["cot"]
    return rec


def from_instructuie(
    base_path: str | Path,
    names: Sequence[str],
    split: str = "train",
    policy: LabelPolicy | None = None,
    fraction: float | None = None,
    count: int | None = None,
    seed: int = 42,
) -> tuple[list[Example], SubsetStats]:
    """The examples of `<base_path>/<name>/<split>.json` for each name (a seeded subset of each with `fraction` /
    `count`), ready for SFT: schema = `labels.json` under `policy`, ids `<name>-<split>-<index>` (the index in the
    file), `dataset` = the source name (`_sample_N` stripped)."""
    policy = policy or LabelPolicy.default()
    stats = SubsetStats()
    out: list[Example] = []
    for name in names:
        s = read_instructuie(base_path, name, split)
        schema = policy.schema(s.labels)
        picked = subset_indices(len(s.examples), fraction, count, seed, name)
        stats.available[name], stats.kept[name] = len(s.examples), len(picked)
        for i in picked:
            ex = s.examples[i]
            ex.id, ex.dataset = f"{name}-{split}-{i}", source_name(name)
            out.append(prepare(ex, schema, policy, stats))
    _warn(stats)
    return out, stats


def from_file(
    path: str | Path,
    fmt: str,
    options: Any = None,
    policy: LabelPolicy | None = None,
    fraction: float | None = None,
    count: int | None = None,
    seed: int = 42,
    dataset: str | None = None,
) -> tuple[list[Example], SubsetStats]:
    """The examples of one input of any `reasoning_ner.formats` reader (`uniner`, `conll`, `bio`, `instructuie`,
    `ner_cot`), a seeded subset with `fraction` / `count`, each schema put under `policy`; `dataset` names the source
    (default: what the reader gives, usually the file name)."""
    from .formats import read_examples

    policy = policy or LabelPolicy.default()
    examples = read_examples(fmt, path, options)
    key = dataset or Path(path).stem
    picked = subset_indices(len(examples), fraction, count, seed, key)
    stats = SubsetStats(available={key: len(examples)}, kept={key: len(picked)})
    out = []
    for i in picked:
        ex = examples[i]
        if dataset:
            ex.dataset = dataset
        out.append(prepare(ex, policy.schema(ex.schema), policy, stats))
    _warn(stats)
    return out, stats


def _warn(stats: SubsetStats) -> None:
    if stats.dropped_gold:
        logger.warning(
            "gold entities left out because their type is not in the schema: %s",
            ", ".join(f"{d}/{t}: {c}" for (d, t), c in stats.dropped_gold.most_common()),
        )


def write_records(path: str | Path, examples: Sequence[Example]) -> int:
    """NER-CoT records without `cot`, JSONL (what `sft.py` and `generate_cot.py --input_format jsonl` read)."""
    return write_jsonl(path, (record(ex) for ex in examples))


def write_instructuie_subset(
    base_path: str | Path, name: str, split: str, indices: Sequence[int], out_base: str | Path
) -> Path:
    """`<out_base>/<name>/<split>.json`: the records of `<base_path>/<name>/<split>.json` at `indices`, unchanged, and
    the dataset's `labels.json` (so the subset is an InstructUIE dataset for `sample_grpo.py`, `generate_cot.py
    --input_format instructuie` or any other reader)."""
    from .data import read_json_records

    src = Path(base_path) / name
    records = read_json_records(src / f"{split}.json")
    if not isinstance(records, list):
        raise DataError(src / f"{split}.json", None, None, "expected a JSON array of records")
    out = Path(out_base) / name
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{split}.json").write_text(
        json.dumps([records[i] for i in indices], ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    (out / "labels.json").write_text((src / "labels.json").read_text(encoding="utf-8"), encoding="utf-8")
    return out
