"""Scoring saved completions on the zero-shot suite.

A predictions file is JSONL, one line per test example: `{"dataset": "<folder name>", "index": <position in its
test.json>, "completion": "<raw model output>"}` (other keys, e.g. token counts or latency, are allowed and ignored).
Every `(dataset, index)` of the evaluated datasets must appear exactly once; a missing or duplicated pair, an index out
of range or a dataset that is not evaluated is an error that names it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .data import DataError, DatasetSplit, read_instructuie
from .metrics import DatasetScore, Protocol, get_protocol, markdown_table, result_rows, score_dataset


def load_splits(
    base_path: str | Path, names: Sequence[str], split: str = "test", limit: int | None = None
) -> list[DatasetSplit]:
    """Read the splits; `limit` keeps the first N examples of each (quick runs)."""
    splits = [read_instructuie(base_path, n, split) for n in names]
    if limit is not None:
        for s in splits:
            s.examples = s.examples[:limit]
    return splits


def generation_items(splits: Sequence[DatasetSplit], policy, add_source: bool = False):
    """One chat prompt per test example: the dataset's schema under the label policy, and the sentence."""
    from .generation import Item
    from .prompts import render_prompt

    items = []
    for s in splits:
        schema = policy.schema(s.labels)
        for i, ex in enumerate(s.examples):
            prompt = render_prompt(ex.sentence, schema, s.name if add_source else None)
            items.append(Item(s.name, i, [{"role": "user", "content": prompt}]))
    return items


def load_predictions(path: str | Path, splits: Sequence[DatasetSplit]) -> dict[str, list[Any]]:
    """Completions per dataset, in example order. Raises DataError on any gap, duplicate or stray line."""
    path = Path(path)
    sizes = {s.name: len(s.examples) for s in splits}
    got: dict[str, dict[int, Any]] = {n: {} for n in sizes}
    dup: dict[str, list[int]] = defaultdict(list)
    try:
        fh = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(path, None, None, "predictions file not found") from None
    with fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(path, f"line {lineno}", None, f"invalid JSON: {e.msg}") from None
            if not isinstance(rec, dict):
                raise DataError(path, f"line {lineno}", None, "expected a JSON object")
            name, idx = rec.get("dataset"), rec.get("index")
            if not isinstance(name, str):
                raise DataError(path, f"line {lineno}", "dataset", "missing or not a string")
            if not isinstance(idx, int) or isinstance(idx, bool):
                raise DataError(path, f"line {lineno}", "index", "missing or not an integer")
            if "completion" not in rec:
                raise DataError(path, f"line {lineno}", "completion", "missing")
            if name not in sizes:
                raise DataError(
                    path, f"line {lineno}", "dataset", f"{name!r} is not among the evaluated datasets {sorted(sizes)}"
                )
            if not 0 <= idx < sizes[name]:
                raise DataError(
                    path, f"line {lineno}", "index", f"{idx} out of range for {name} ({sizes[name]} examples)"
                )
            if idx in got[name]:
                dup[name].append(idx)
            got[name][idx] = rec["completion"]
    problems = []
    for name, n in sizes.items():
        missing = [i for i in range(n) if i not in got[name]]
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
            problems.append(f"{name}: {len(missing)} missing index(es): {shown}")
        if dup[name]:
            problems.append(f"{name}: duplicate index(es): {', '.join(map(str, sorted(set(dup[name]))[:10]))}")
    if problems:
        raise DataError(path, None, None, "; ".join(problems))
    return {name: [got[name][i] for i in range(n)] for name, n in sizes.items()}


def score_predictions(
    base_path: str | Path,
    names: Sequence[str],
    predictions_file: str | Path,
    protocol: Protocol | str = "default",
    split: str = "test",
    limit: int | None = None,
) -> list[DatasetScore]:
    proto = get_protocol(protocol) if isinstance(protocol, str) else protocol
    splits = load_splits(base_path, names, split, limit)
    preds = load_predictions(predictions_file, splits)
    return [score_dataset(s, preds[s.name], proto) for s in splits]


def write_result(scores: Sequence[DatasetScore], result_file: str | Path) -> list[dict[str, Any]]:
    rows = result_rows(scores)
    path = Path(result_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return rows


__all__ = ["load_predictions", "load_splits", "markdown_table", "score_predictions", "write_result"]
