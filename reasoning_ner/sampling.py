"""GRPO data sampling from InstructUIE folders — the authors' sampler, reimplemented from its description.

Given dataset folders in config order, a cap `M` (`max_count`; 0 or less: no cap) and a target size `N`:

1. folders are grouped by source name (`_sample_N` suffix stripped), groups in first-seen order, each group's
   examples in folder order then file order;
2. each group is capped: `c_i = min(n_i, M)`;
3. group `i` gets `q_i = int(N * (c_i / sum_j c_j))` examples (float arithmetic, truncated, as in the reference; the
   total is at most `N`);
4. one generator `random.Random(seed)`: for each group in order, the group's **whole** list (all `n_i` examples,
   not only the capped ones) is shuffled and its first `q_i` are taken;
5. with `shuffle`, the concatenated selection is shuffled once more with the same generator.

With the same folders, dataset list, `num_samples`, `max_count`, `seed` and `shuffle`, this selects the examples the
authors' `sample_grpo.py` selects, in the same order (tested against an independent rendering of their algorithm).
One difference: their loader re-seeds Python's global generator with 42 after reading `--seed`, so their `--seed`
has no effect and every run of theirs uses 42; here `seed` is honoured, and the default 42 gives their list.

Each drawn example becomes a GRPO record: the conversational `prompt` (under a `PromptSpec`), the gold `answer` as a
JSON string, the `schema`, the source `dataset` name, the `sentence` and an `id` (`<folder>-<split>-<index>`). The
schema is `labels.json` under the label policy (uninformative types dropped, aliases merged); gold entities whose type
is not in that schema are left out and counted in the returned statistics.
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
from .prompts import PromptSpec

logger = logging.getLogger(__name__)


@dataclass
class SampleStats:
    """Per source name: examples available, counted after the cap, drawn."""

    available: dict[str, int] = field(default_factory=dict)
    capped: dict[str, int] = field(default_factory=dict)
    drawn: dict[str, int] = field(default_factory=dict)
    dropped_gold: Counter = field(default_factory=Counter)  # (dataset, type) -> count of gold entities left out


def quotas(sizes: dict[str, int], num_samples: int, max_count: int) -> tuple[dict[str, int], dict[str, int]]:
    """(capped sizes, per-group quotas) following steps 2 and 3 above."""
    capped = {k: min(v, max_count) if max_count > 0 else v for k, v in sizes.items()}
    total = sum(capped.values())
    if total == 0:
        return capped, {k: 0 for k in sizes}
    return capped, {k: int(num_samples * (c / total)) for k, c in capped.items()}


def grpo_record(
    example: Example, schema: list[str], policy: LabelPolicy, prompt: PromptSpec, stats: SampleStats | None = None
) -> dict:
    answer: dict[str, list[str]] = {}
    for e, typ in policy.gold(example, set(schema), stats.dropped_gold if stats is not None else None):
        bucket = answer.setdefault(typ, [])
        if e.text not in bucket:
            bucket.append(e.text)
    dataset = source_name(example.dataset or "")
    return {
        "prompt": prompt.messages(example.sentence, schema, dataset),
        "answer": json.dumps({"entities": answer}, ensure_ascii=False),
        "schema": prompt.order(schema),
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
    prompt: PromptSpec | None = None,
) -> tuple[list[dict[str, Any]], SampleStats]:
    """The GRPO records drawn by the algorithm of the module docstring, and the per-source statistics."""
    policy = policy or LabelPolicy.default()
    prompt = prompt or PromptSpec.from_file()
    stats = SampleStats()
    groups: dict[str, list[tuple[Example, list[str]]]] = {}
    for name in names:
        s = read_instructuie(base_path, name, split)
        schema = policy.schema(s.labels)
        for i, ex in enumerate(s.examples):
            ex.id = f"{name}-{split}-{i}"
        groups.setdefault(source_name(name), []).extend((ex, schema) for ex in s.examples)
    if not groups:
        raise DataError(base_path, None, None, "no datasets to sample from")
    stats.available = {src: len(items) for src, items in groups.items()}
    stats.capped, quota = quotas(stats.available, num_samples, max_count)
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    for src, items in groups.items():
        order = list(range(len(items)))
        rng.shuffle(order)
        picked = order[: quota[src]]
        stats.drawn[src] = len(picked)
        records.extend(grpo_record(items[i][0], items[i][1], policy, prompt, stats) for i in picked)
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
