"""GRPO data sampling from InstructUIE folders.

Given datasets `d_1..d_k` with `n_i` training examples, a cap `M` and a target size `N`:

1. each dataset is capped: `c_i = min(n_i, M)`;
2. dataset `i` gets `q_i = floor(N * c_i / sum_j c_j)` examples (so the total is at most `N`);
3. `q_i` examples are drawn without replacement from dataset `i` with `random.Random(seed)` (one generator, datasets
   in config order), and the output keeps dataset order unless `shuffle` is set.

Each drawn example becomes a GRPO record: the conversational `prompt` (the project's user prompt with the dataset's
schema), the gold `answer` as a JSON string, the `schema`, the source `dataset` name, the `sentence` and an `id`.
The schema is `labels.json` under the label policy (uninformative types dropped, aliases merged); gold entities whose
type is not in that schema are left out and counted in the returned statistics.
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .data import DataError, Example, read_instructuie, source_name
from .labels import LabelPolicy
from .prompts import render_prompt

logger = logging.getLogger(__name__)


@dataclass
class SampleStats:
    available: dict[str, int] = field(default_factory=dict)
    capped: dict[str, int] = field(default_factory=dict)
    drawn: dict[str, int] = field(default_factory=dict)
    dropped_gold: Counter = field(default_factory=Counter)  # (dataset, type) -> count of gold entities left out


def quotas(sizes: dict[str, int], num_samples: int, max_count: int) -> tuple[dict[str, int], dict[str, int]]:
    """(capped sizes, per-dataset quotas) following steps 1 and 2 above."""
    capped = {k: min(v, max_count) for k, v in sizes.items()}
    total = sum(capped.values())
    if total == 0:
        return capped, {k: 0 for k in sizes}
    return capped, {k: (num_samples * c) // total for k, c in capped.items()}


def grpo_record(example: Example, schema: list[str], policy: LabelPolicy, stats: SampleStats | None = None) -> dict:
    allowed = set(schema)
    answer: dict[str, list[str]] = {}
    for e in example.entities:
        if policy.is_uninformative(e.label):
            continue
        typ = policy.canonical(e.label)
        if typ not in allowed:
            if stats is not None:
                stats.dropped_gold[(example.dataset, typ)] += 1
            continue
        bucket = answer.setdefault(typ, [])
        if e.text not in bucket:
            bucket.append(e.text)
    dataset = source_name(example.dataset or "")
    return {
        "prompt": [{"role": "user", "content": render_prompt(example.sentence, schema)}],
        "answer": json.dumps({"entities": answer}, ensure_ascii=False),
        "schema": list(schema),
        "dataset": dataset,
        "sentence": example.sentence,
        "id": example.id,
    }


def check_overlap(names: list[str], eval_names: list[str]) -> list[str]:
    """Training datasets that are (after stripping `_sample_N`) also evaluation datasets."""
    ev = {source_name(n).lower() for n in eval_names}
    return [n for n in names if source_name(n).lower() in ev]


def sample_grpo(
    base_path: str | Path,
    names: list[str],
    num_samples: int,
    max_count: int,
    seed: int = 42,
    shuffle: bool = False,
    split: str = "train",
    policy: LabelPolicy | None = None,
) -> tuple[list[dict[str, Any]], SampleStats]:
    policy = policy or LabelPolicy.default()
    stats = SampleStats()
    splits = {}
    for name in names:
        s = read_instructuie(base_path, name, split)
        splits[name] = s
        stats.available[name] = len(s.examples)
    if not splits:
        raise DataError(base_path, None, None, "no datasets to sample from")
    capped, quota = quotas(stats.available, num_samples, max_count)
    stats.capped = capped
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    for name, s in splits.items():
        schema = policy.schema(s.labels)
        picked = rng.sample(range(len(s.examples)), quota[name])
        stats.drawn[name] = len(picked)
        for i in picked:
            ex = s.examples[i]
            ex.id = f"{name}-{split}-{i}"
            records.append(grpo_record(ex, schema, policy, stats))
    if shuffle:
        rng.shuffle(records)
    if stats.dropped_gold:
        logger.warning(
            "gold entities left out because their type is not in the dataset's schema: %s",
            ", ".join(f"{d}/{t}: {c}" for (d, t), c in stats.dropped_gold.most_common()),
        )
    return records, stats


def write_verl_parquet(records: list[dict[str, Any]], path: str | Path, split: str) -> None:
    """verl's RL parquet layout: data_source, prompt, ability, reward_model{style, ground_truth}, extra_info."""
    import datasets

    rows = [
        {
            "data_source": r["dataset"],
            "prompt": r["prompt"],
            "ability": "ner",
            "reward_model": {"style": "rule", "ground_truth": r["answer"]},
            "extra_info": {"split": split, "index": i, "id": r["id"], "schema": r["schema"]},
        }
        for i, r in enumerate(records)
    ]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_list(rows).to_parquet(str(path))
