"""Reward functions for GRPO (TRL's contract) and a verl-compatible `compute_score`.

TRL calls each reward as `f(prompts=..., completions=..., completion_ids=..., **dataset_columns)` and expects one
float per completion. Completions are strings (standard format) or lists of chat messages (conversational format: the
text is the last message's `content`). The dataset columns used here are `answer` (the gold answer: a JSON string
`{"entities": {type: [mentions]}}`, or an already decoded dict) and `schema` (the list of types asked for).

* `f1` — entity-level F1 (in [0, 1]) between the parsed completion and the gold answer, over the *sets* of
  (SQuAD-normalised mention, lower-cased type) pairs, so repeating a mention or padding the answer with guesses cannot
  raise it above the honest answer. Empty gold: see `EmptyGoldPolicy`.
* `schema` — 1.0 when the completion parses (lenient parser, status `ok`) and every predicted type is in the
  example's schema, else 0.0.

The paper weights them 10 : 1 (`reward_weights: [10.0, 1.0]` in the GRPO recipe). Every reward returns a number in its
range for any input and never raises.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from enum import Enum
from functools import partial
from typing import Any

from .labels import normalize_label
from .metrics import answer_pairs, entity_f1
from .parsing import parse_completion


class EmptyGoldPolicy(str, Enum):
    """What the F1 reward gives when the gold answer has no entity.

    `zero` (the reference, the default): always 0 — an empty answer earns its credit from the schema reward only.
    `match`: 1 when the completion parses and predicts no entity, else 0.
    """

    ZERO = "zero"
    MATCH = "match"


def completion_text(completion: Any) -> str:
    """The text of a completion given as a string or as chat messages."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion:
        last = completion[-1]
        if isinstance(last, dict):
            content = last.get("content", "")
            if isinstance(content, list):  # multimodal-style content parts
                return "".join(p.get("text", "") for p in content if isinstance(p, dict))
            return content if isinstance(content, str) else ""
    if isinstance(completion, dict):
        c = completion.get("content", "")
        return c if isinstance(c, str) else ""
    return ""


def decode_answer(answer: Any) -> dict[str, list[str]]:
    """The gold answer as `{type: [mentions]}` from a JSON string, a dict, or a list of `{text, label}` entities."""
    if isinstance(answer, str):
        try:
            answer = json.loads(answer)
        except ValueError:
            return {}
    if isinstance(answer, dict):
        ents = answer.get("entities", answer)
        if isinstance(ents, dict):
            return {str(k): [m for m in v if isinstance(m, str)] for k, v in ents.items() if isinstance(v, list)}
        answer = ents
    if isinstance(answer, list):
        out: dict[str, list[str]] = {}
        for e in answer:
            if isinstance(e, dict) and isinstance(e.get("text"), str) and isinstance(e.get("label"), str):
                out.setdefault(e["label"], []).append(e["text"])
        return out
    return {}


def _column(values: Any, n: int) -> list[Any]:
    if values is None:
        return [None] * n
    if isinstance(values, (list, tuple)) and len(values) == n:
        return list(values)
    return [values] * n


def f1_score_one(completion: Any, answer: Any, empty_gold: EmptyGoldPolicy = EmptyGoldPolicy.ZERO) -> float:
    try:
        res = parse_completion(completion_text(completion))
        gold = answer_pairs(decode_answer(answer))
        pred = answer_pairs(res.entities)
        if not gold:
            if empty_gold is EmptyGoldPolicy.MATCH and res.ok and not pred:
                return 1.0
            return 0.0
        return float(entity_f1(pred, gold))
    except Exception:  # a reward never raises
        return 0.0


def schema_score_one(completion: Any, schema: Any) -> float:
    try:
        res = parse_completion(completion_text(completion))
        if not res.ok:
            return 0.0
        if isinstance(schema, str):
            try:
                schema = json.loads(schema)
            except ValueError:
                schema = [schema]
        allowed = {normalize_label(s) for s in (schema or []) if isinstance(s, str)}
        return 1.0 if all(normalize_label(t) in allowed for t in res.entities) else 0.0
    except Exception:
        return 0.0


def f1_reward(
    completions: Sequence[Any], answer: Any = None, empty_gold: EmptyGoldPolicy | str = "zero", **kwargs: Any
) -> list[float]:
    """Entity-level F1 of each completion against its gold `answer` (TRL reward contract)."""
    policy = EmptyGoldPolicy(empty_gold)
    answers = _column(answer, len(completions))
    return [f1_score_one(c, a, policy) for c, a in zip(completions, answers)]


def schema_reward(completions: Sequence[Any], schema: Any = None, **kwargs: Any) -> list[float]:
    """1.0 when the answer parses and every predicted type is in the example's `schema`, else 0.0."""
    schemas = _column(schema, len(completions))
    return [schema_score_one(c, s) for c, s in zip(completions, schemas)]


def _named(fn: Callable, name: str) -> Callable:
    fn.__name__ = name  # TRL logs each reward under its function's __name__
    return fn


REWARD_REGISTRY: dict[str, Callable[..., list[float]]] = {
    "f1": f1_reward,
    "f1_empty_match": _named(partial(f1_reward, empty_gold="match"), "f1_empty_match"),
    "schema": schema_reward,
}
REWARD_RANGES: dict[str, tuple[float, float]] = {"f1": (0.0, 1.0), "f1_empty_match": (0.0, 1.0), "schema": (0.0, 1.0)}


def get_reward_funcs(names: Sequence[str]) -> list[Callable[..., list[float]]]:
    """Reward functions by registry name (as listed in a GRPO recipe's `reward_funcs`)."""
    unknown = [n for n in names if n not in REWARD_REGISTRY]
    if unknown:
        raise ValueError(f"unknown reward function(s) {unknown}; available: {sorted(REWARD_REGISTRY)}")
    return [REWARD_REGISTRY[n] for n in names]


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: dict | None = None,
    f1_weight: float = 10.0,
    schema_weight: float = 1.0,
) -> float:
    """verl custom reward: `f1_weight * F1 + schema_weight * schema` (the paper's 10 : 1).

    `ground_truth` is the gold answer (JSON string or dict); the schema comes from `extra_info["schema"]` (falling
    back to the gold types). Weights may also be given in `extra_info` (`f1_weight`, `schema_weight`).
    """
    try:
        extra_info = extra_info or {}
        schema = extra_info.get("schema")
        if schema is None:
            schema = list(decode_answer(ground_truth))
        if hasattr(schema, "tolist"):  # numpy arrays from parquet
            schema = schema.tolist()
        f1w = float(extra_info.get("f1_weight", f1_weight))
        sw = float(extra_info.get("schema_weight", schema_weight))
        policy = EmptyGoldPolicy(extra_info.get("empty_gold", "zero"))
        return f1w * f1_score_one(solution_str, ground_truth, policy) + sw * schema_score_one(solution_str, schema)
    except Exception:
        return 0.0
