"""Reward functions for GRPO (TRL's contract), their registry, and verl's `compute_score`.

TRL calls each reward as `f(prompts=..., completions=..., completion_ids=..., **dataset_columns)` and expects one
float per completion. Completions are strings (standard format) or lists of chat messages (conversational format: the
text is the last message's `content`). The dataset columns used here are `answer` (the gold answer: a JSON string
`{"entities": {type: [mentions]}}`, or an already decoded dict) and `schema` (the list of types asked for).

Registered rewards (`REWARDS`, by the name a recipe lists in `reward_funcs`):

* `f1` — entity-level F1 (in [0, 1]) between the parsed completion and the gold answer, over the *sets* of
  (SQuAD-normalised mention, normalised type) pairs, so repeating a mention or padding the answer with guesses cannot
  raise it above the honest answer. Empty gold: 0 (the reference's choice; the schema reward carries the credit).
* `f1_empty_match` — as `f1`, but an empty gold answer earns 1 when the completion parses and predicts no entity.
* `schema` — 1.0 when the completion parses and every predicted type is in the example's schema, else 0.0.

**Parsers** (`reward_parser` in `grpo.py`, `parser=` here), the same two as the evaluation protocols:

* `lenient` — `parsing.parse_completion`: prose around the JSON, fences, trailing commas and other near-misses are
  accepted; types are compared lower-cased with whitespace collapsed.
* `paper` — `parsing.parse_completion_paper`, the reference implementation's rule: after the reasoning, the answer
  must be the JSON as a whole, otherwise both rewards give 0. Types are compared lower-cased and stripped, and, as in
  the reference, `schema` looks only at types that carry at least one mention. (The reference's F1 reward parses the
  extracted answer a second time; that differs only when a mention itself contains a think/answer tag or a fence.)

The paper weights `f1` and `schema` 10 : 1 (`reward_weights: [10.0, 1.0]` in the GRPO recipe). Every reward returns a
number in its registered range for any input and never raises.

verl: `compute_score` (weights and parser as keyword arguments or in `extra_info`, default `10·f1 + 1·schema`,
lenient) and `compute_score_paper` (the authors' verl reward: F1 alone, paper parser).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from .labels import normalize_label
from .parsing import ParseResult, parse_completion, parse_completion_paper
from .scoring import entity_f1, normalize_mention

PARSERS: dict[str, Callable[[Any], ParseResult]] = {"lenient": parse_completion, "paper": parse_completion_paper}
# How each parser's rewards normalise a type name (the evaluation protocol of the same name does the same).
_TYPE_KEY: dict[str, Callable[[str], str]] = {"lenient": normalize_label, "paper": lambda t: t.lower().strip()}


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


def _pairs(entities: Mapping[str, Sequence[Any]], parser: str) -> set[tuple[str, str]]:
    key = _TYPE_KEY[parser]
    return {(normalize_mention(m), key(t)) for t, ms in entities.items() for m in ms if isinstance(m, str)}


def _schema_list(schema: Any) -> list[str]:
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except ValueError:
            schema = [schema]
    if hasattr(schema, "tolist"):  # numpy arrays (verl's parquet rows)
        schema = schema.tolist()
    return [s for s in (schema or []) if isinstance(s, str)] if isinstance(schema, (list, tuple)) else []


# ----------------------------------------------------------------------------------------------------------------------
# The registry: one entry per reward, its range and the name TRL logs it under.


@dataclass(frozen=True)
class RewardSpec:
    """A registered reward. `score(completion_text, row, parser)` gives one completion's value, where `row` holds that
    completion's dataset columns; `low`/`high` is its range; TRL logs it as `rewards/<log_name>/mean`."""

    name: str
    score: Callable[[str, Mapping[str, Any], str], float]
    low: float
    high: float
    log_name: str


REWARDS: dict[str, RewardSpec] = {}


def register_reward(name: str, low: float = 0.0, high: float = 1.0, log_name: str | None = None):
    """Decorator: register `score(text, row, parser) -> float` under `name` with its range."""

    def deco(score: Callable[[str, Mapping[str, Any], str], float]):
        if name in REWARDS:
            raise ValueError(f"reward {name!r} is already registered")
        REWARDS[name] = RewardSpec(name, score, low, high, log_name or f"{name}_reward")
        return score

    return deco


def _f1(text: str, answer: Any, parser: str, empty_gold_credit: bool) -> float:
    res = PARSERS[parser](text)
    gold = _pairs(decode_answer(answer), parser)
    pred = _pairs(res.entities, parser)
    if not gold:
        return 1.0 if empty_gold_credit and res.ok and not pred else 0.0
    return float(entity_f1(pred, gold))


@register_reward("f1")
def f1_score(text: str, row: Mapping[str, Any], parser: str = "lenient") -> float:
    """Entity F1 against the gold `answer`; 0 for an empty gold answer."""
    return _f1(text, row.get("answer"), parser, empty_gold_credit=False)


@register_reward("f1_empty_match", log_name="f1_empty_match")
def f1_empty_match_score(text: str, row: Mapping[str, Any], parser: str = "lenient") -> float:
    """Entity F1; an empty gold answer earns 1 for a parsed answer with no entity."""
    return _f1(text, row.get("answer"), parser, empty_gold_credit=True)


@register_reward("schema")
def schema_score(text: str, row: Mapping[str, Any], parser: str = "lenient") -> float:
    """1 when the answer parses and every predicted type is in the example's `schema`."""
    res = PARSERS[parser](text)
    if not res.ok:
        return 0.0
    key = _TYPE_KEY[parser]
    allowed = {key(s) for s in _schema_list(row.get("schema"))}
    # the reference checks the types of its entities, i.e. of non-empty mention lists
    types = [t for t, ms in res.entities.items() if ms] if parser == "paper" else list(res.entities)
    return 1.0 if all(key(t) in allowed for t in types) else 0.0


def _column(values: Any, n: int) -> list[Any]:
    if values is None:
        return [None] * n
    if isinstance(values, (list, tuple)) and len(values) == n:
        return list(values)
    return [values] * n


def _safe(spec: RewardSpec, text: str, row: Mapping[str, Any], parser: str) -> float:
    try:
        value = float(spec.score(text, row, parser))
    except Exception:  # a reward never raises
        return spec.low
    return min(spec.high, max(spec.low, value)) if value == value else spec.low


def reward_func(name: str, parser: str = "lenient") -> Callable[..., list[float]]:
    """The TRL reward function of a registered reward under a parser (one object per pair, so TRL logs stay stable)."""
    return _reward_func(name, parser)


@cache
def _reward_func(name: str, parser: str) -> Callable[..., list[float]]:
    if name not in REWARDS:
        raise ValueError(f"unknown reward function {name!r}; available: {sorted(REWARDS)}")
    if parser not in PARSERS:
        raise ValueError(f"unknown reward parser {parser!r}; choose one of {sorted(PARSERS)}")
    spec = REWARDS[name]

    def fn(completions: Sequence[Any], **columns: Any) -> list[float]:
        n = len(completions)
        cols = {k: _column(v, n) for k, v in columns.items() if k in ("answer", "schema")}
        return [
            _safe(spec, completion_text(c), {k: v[i] for k, v in cols.items()}, parser)
            for i, c in enumerate(completions)
        ]

    fn.__name__ = spec.log_name  # TRL logs each reward under its function's __name__
    fn.__doc__ = f"{spec.score.__doc__} (TRL reward contract, {parser} parser)"
    return fn


def get_reward_funcs(names: Sequence[str], parser: str = "lenient") -> list[Callable[..., list[float]]]:
    """Reward functions by registry name (as listed in a GRPO recipe's `reward_funcs`), parsing with `parser`."""
    unknown = [n for n in names if n not in REWARDS]
    if unknown:
        raise ValueError(f"unknown reward function(s) {unknown}; available: {sorted(REWARDS)}")
    return [reward_func(n, parser) for n in names]


f1_reward = reward_func("f1")
schema_reward = reward_func("schema")
# name -> (TRL function with the lenient parser), and name -> range: views of `REWARDS` for callers and tests
REWARD_REGISTRY: dict[str, Callable[..., list[float]]] = {n: reward_func(n) for n in REWARDS}
REWARD_RANGES: dict[str, tuple[float, float]] = {n: (s.low, s.high) for n, s in REWARDS.items()}

DEFAULT_VERL_WEIGHTS = {"f1": 10.0, "schema": 1.0}


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: dict | None = None,
    weights: Mapping[str, float] | None = None,
    parser: str | None = None,
    f1_weight: float | None = None,
    schema_weight: float | None = None,
) -> float:
    """verl custom reward: the weighted sum of registered rewards (default `10 * f1 + 1 * schema`, the paper's).

    `ground_truth` is the gold answer (JSON string or dict); the schema comes from `extra_info["schema"]` (falling back
    to the gold types). Settings, each from a keyword argument or else from `extra_info`: `weights` (`{reward name:
    weight}`), `parser` (`lenient` | `paper`, also `reward_parser`), and the shorthands `f1_weight`/`schema_weight`.
    """
    try:
        extra = extra_info or {}
        w = dict(weights or extra.get("weights") or DEFAULT_VERL_WEIGHTS)
        for key, value in (("f1", f1_weight), ("schema", schema_weight)):
            value = value if value is not None else extra.get(f"{key}_weight")
            if value is not None:
                w[key] = float(value)
        parser = parser or extra.get("parser") or extra.get("reward_parser") or "lenient"
        schema = extra.get("schema")
        if schema is None:
            schema = list(decode_answer(ground_truth))
        row = {"answer": ground_truth, "schema": schema}
        text = completion_text(solution_str)
        return sum(weight * _safe(REWARDS[name], text, row, parser) for name, weight in w.items() if weight)
    except Exception:
        return 0.0


def compute_score_paper(
    data_source: str, solution_str: str, ground_truth: Any, extra_info: dict | None = None
) -> float:
    """The authors' verl reward: entity F1 alone, with the paper parser (`custom_reward_function.name=compute_score_paper`)."""
    return compute_score(data_source, solution_str, ground_truth, extra_info, weights={"f1": 1.0}, parser="paper")
