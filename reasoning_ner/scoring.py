"""Scoring: entity-level micro precision / recall / F1 under an evaluation protocol, and the predictions reader.

For every sentence, gold and prediction are *sets* of `(normalised mention, type)` pairs; a prediction pair counts as
matched when the same pair is in the gold set. Per dataset, matched / predicted / gold counts are summed over the
sentences and give micro P, R and F1 (in percent); the average over datasets is the plain mean of their F1.

Mention normalisation is SQuAD-style: lower-case, remove ASCII punctuation, remove the articles a/an/the, collapse
whitespace (applied in that order).

Two protocols:

* `paper` — reproduces the reference implementation: gold types are lower-cased, gold entities whose type is not in
  the dataset's `labels.json` or is uninformative (the reference's list: na, n a, misc, else, other, nan, empty) are
  dropped; predicted types are lower-cased and stripped but not filtered; completions are parsed with `parse_completion_paper`.
* `default` — the alias map (`config/labels/aliases.yaml`) is applied to gold and predicted types; uninformative gold
  types are dropped; gold entities whose type is not in `labels.json` are kept and reported (`unknown_gold_types`);
  completions are parsed with the lenient `parse_completion`.

Besides the counts, `score_dataset` keeps each sentence's `(n_gold, n_pred, n_match)` (`DatasetScore.sentence_counts`:
what the bootstrap intervals of `reasoning_ner.stats` resample) and classifies every gold and predicted pair with the
error taxonomy of `reasoning_ner.errors` (`DatasetScore.errors`; with `details`, the per-sentence outcomes too, for the
HTML browser). `result_rows(scores, bootstrap=N)` adds percentile-bootstrap intervals (`precision_ci`, `recall_ci`,
`f1_ci`, and the Average row's `f1_ci`) to the rows.

Predictions files (`load_predictions`, `load_prediction_records`, `score_predictions`): JSONL, one line per test
example, `{"dataset": "<folder name>", "index": <position in its test.json>, "completion": "<raw model output>"}`
(other keys, e.g. token counts or latency, are allowed: `load_prediction_records` returns whole lines). Every
`(dataset, index)` of the evaluated datasets must appear exactly once; a missing or duplicated pair, an index out of
range, a dataset that is not evaluated or a malformed line anywhere in the file is an error that names it.
"""

from __future__ import annotations

import json
import logging
import re
import string
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .data import DataError, DatasetSplit, Example, read_instructuie
from .errors import ErrorCounts, Outcome, classify
from .labels import LabelPolicy, normalize_label
from .parsing import ParseResult, parse_completion, parse_completion_paper

logger = logging.getLogger(__name__)

_PUNCT = str.maketrans("", "", string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


@lru_cache(maxsize=1 << 17)
def normalize_mention(text: str) -> str:
    """SQuAD-style answer normalisation: lower, drop punctuation, drop articles, collapse whitespace."""
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCT)).split())


@dataclass(frozen=True)
class Protocol:
    name: str
    policy: LabelPolicy
    parser: Callable[[Any], ParseResult]
    drop_unknown_gold: bool
    # Type normalisation, the same for gold and predictions: `paper` lower-cases and strips only (the reference's
    # rule); the default also collapses inner whitespace and applies the alias map.
    lowercase_types_only: bool = False

    def type_key(self, label: str) -> str:
        """The normalised form of an entity type (gold or predicted) under this protocol."""
        return label.lower().strip() if self.lowercase_types_only else self.policy.canonical(label)


def get_protocol(name: str = "default", alias_file: str | None = None, drop_uninformative: bool = True) -> Protocol:
    if name == "paper":
        return Protocol("paper", LabelPolicy.paper(), parse_completion_paper, True, True)
    if name == "default":
        policy = LabelPolicy.default()
        if alias_file is not None:
            from .labels import load_alias_map

            policy.aliases = load_alias_map(alias_file)
        policy.drop_uninformative = drop_uninformative
        return Protocol("default", policy, parse_completion, False, False)
    raise ValueError(f"unknown protocol {name!r}; choose 'paper' or 'default'")


Pair = tuple[str, str]


def gold_units(
    example: Example,
    labels: Iterable[str],
    protocol: Protocol,
    unknown: Counter | None = None,
    known: set[str] | None = None,
) -> dict[Pair, tuple[str, list[tuple[int, int]]]]:
    """The gold set of one sentence under a protocol, each pair with (its first surface text, the character spans of
    the gold entities that map to it; none when the data has no offsets). Unknown (kept) gold types are counted into
    `unknown`."""
    policy = protocol.policy
    if known is None:
        known = {protocol.type_key(lab) for lab in labels}
    out: dict[Pair, tuple[str, list[tuple[int, int]]]] = {}
    for e in example.entities:
        typ = protocol.type_key(e.label)
        if policy.is_uninformative(typ):
            continue
        if typ not in known:
            if protocol.drop_unknown_gold:
                continue
            if unknown is not None:
                unknown[typ] += 1
        key = (normalize_mention(e.text), typ)
        entry = out.get(key)
        if entry is None:
            entry = out[key] = (e.text, [])
        if e.start is not None and e.end is not None:
            entry[1].append((e.start, e.end))
    return out


def gold_pairs(
    example: Example,
    labels: Iterable[str],
    protocol: Protocol,
    unknown: Counter | None = None,
    known: set[str] | None = None,
) -> set[Pair]:
    """The gold set of one sentence under a protocol. Unknown (kept) gold types are counted into `unknown`."""
    return set(gold_units(example, labels, protocol, unknown, known))


def gold_answer(example: Example, labels: Iterable[str], protocol: Protocol) -> dict[str, list[str]]:
    """The gold answer a perfect model would write under a protocol (its gold set as `{type: [mentions]}`)."""
    policy = protocol.policy
    known = {protocol.type_key(lab) for lab in labels}
    out: dict[str, list[str]] = {}
    for e in example.entities:
        typ = protocol.type_key(e.label)
        if policy.is_uninformative(typ) or (protocol.drop_unknown_gold and typ not in known):
            continue
        bucket = out.setdefault(typ, [])
        if e.text not in bucket:
            bucket.append(e.text)
    return out


def pred_pairs(entities: dict[str, list[str]], protocol: Protocol) -> set[Pair]:
    return {(normalize_mention(m), protocol.type_key(t)) for t, ms in entities.items() for m in ms}


def pred_units(entities: dict[str, list[str]], protocol: Protocol) -> dict[Pair, list[str]]:
    """The prediction set of one sentence, each pair with the raw mentions that map to it (in answer order)."""
    out: dict[Pair, list[str]] = {}
    for t, ms in entities.items():
        typ = protocol.type_key(t)
        for m in ms:
            raws = out.setdefault((normalize_mention(m), typ), [])
            if m not in raws:
                raws.append(m)
    return out


@dataclass
class Counts:
    n_gold: int = 0
    n_pred: int = 0
    n_match: int = 0

    def add(self, gold: set, pred: set) -> None:
        self.n_gold += len(gold)
        self.n_pred += len(pred)
        self.n_match += len(gold & pred)

    def prf(self) -> tuple[float, float, float]:
        """Precision, recall, F1 as fractions in [0, 1]."""
        p = self.n_match / self.n_pred if self.n_pred else 0.0
        r = self.n_match / self.n_gold if self.n_gold else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f


def pct(x: float) -> float:
    return round(100.0 * x, 2)


@dataclass
class DatasetScore:
    dataset: str
    counts: Counts
    n_examples: int
    n_unparsed: int
    per_type: dict[str, Counts] = field(default_factory=dict)
    parse_status: Counter = field(default_factory=Counter)
    unknown_gold_types: Counter = field(default_factory=Counter)
    # per sentence (n_gold, n_pred, n_match), in example order: what the bootstrap resamples
    sentence_counts: list[tuple[int, int, int]] = field(default_factory=list)
    errors: ErrorCounts | None = None
    outcomes: list[list[Outcome]] | None = None  # per sentence, with score_dataset(details=True)
    statuses: list[str] | None = None  # per sentence parse status, with details
    ci: dict[str, list[float]] | None = None  # {"precision_ci", "recall_ci", "f1_ci"}: [low, high] in percent
    # per sentence (gold units, predicted units, parse status) from count_dataset, until classify has used them
    units: list[tuple[dict, dict, str]] | None = field(default=None, repr=False, compare=False)

    def classify(self, split: DatasetSplit, details: bool = False) -> None:
        """The second pass of `score_dataset`: the error taxonomy of every sentence (`errors`); with `details`, the
        per-sentence outcomes (every predicted pair located) and parse statuses too."""
        if self.units is None:
            raise ValueError(f"{self.dataset}: no sentence pairs to classify (classified already, or not counted)")
        err = ErrorCounts()
        outcomes: list[list[Outcome]] | None = [] if details else None
        statuses: list[str] | None = [] if details else None
        for ex, (g_units, p_units, st) in zip(split.examples, self.units, strict=True):
            links = classify(ex.sentence, g_units, p_units, locate_all=details)
            err.add(links)
            if outcomes is not None:
                outcomes.append(links)
                statuses.append(st)
        self.errors, self.outcomes, self.statuses, self.units = err, outcomes, statuses, None

    def to_dict(self) -> dict[str, Any]:
        p, r, f = self.counts.prf()
        d: dict[str, Any] = {
            "dataset": self.dataset,
            "precision": pct(p),
            "recall": pct(r),
            "f1": pct(f),
        }
        if self.ci:
            d.update(self.ci)
        d |= {
            "n_gold": self.counts.n_gold,
            "n_pred": self.counts.n_pred,
            "n_match": self.counts.n_match,
            "n_examples": self.n_examples,
            "n_unparsed": self.n_unparsed,
        }
        if self.errors is not None:
            d["errors"] = self.errors.to_dict()
        d["per_type"] = {
            t: dict(zip(("precision", "recall", "f1"), map(pct, c.prf()), strict=True))
            | {"n_gold": c.n_gold, "n_pred": c.n_pred, "n_match": c.n_match}
            | ({"errors": self.errors.type_dict(t)} if self.errors is not None else {})
            for t, c in sorted(self.per_type.items())
        }
        if self.errors is not None:
            d["confusion"] = self.errors.confusion_dict()
        d["parse_status"] = dict(self.parse_status)
        if self.unknown_gold_types:
            d["unknown_gold_types"] = dict(self.unknown_gold_types.most_common())
        return d


def score_dataset(
    split: DatasetSplit, completions: Sequence[Any], protocol: Protocol, details: bool = False, errors: bool = True
) -> DatasetScore:
    """Score one dataset split given one completion (raw string) per example, in order. With `errors` (default) every
    pair is classified (`reasoning_ner.errors`); with `details`, the per-sentence outcomes (every predicted pair
    located in the sentence) and parse statuses are kept too. The two passes, `count_dataset` then
    `DatasetScore.classify`, can be run apart (`evaluate.py` draws the F1 figure in between)."""
    score = count_dataset(split, completions, protocol)
    if errors or details:
        score.classify(split, details)
    else:
        score.units = None
    return score


def count_dataset(split: DatasetSplit, completions: Sequence[Any], protocol: Protocol) -> DatasetScore:
    """The first pass of `score_dataset`: parse every completion and count gold, predicted and matched pairs (in total,
    per type, per sentence). The score keeps each sentence's pairs until `DatasetScore.classify` needs them (their
    memory is small beside the records and the taxonomy's outcomes: a whole re-scoring of the seven test sets peaked at
    111 MB, BENCHMARKS.md)."""
    if len(completions) != len(split.examples):
        raise ValueError(f"{split.name}: {len(completions)} completions for {len(split.examples)} examples")
    counts, status, unknown = Counts(), Counter(), Counter()
    t_gold, t_pred, t_match = Counter(), Counter(), Counter()
    known = {protocol.type_key(lab) for lab in split.labels}
    n_unparsed = 0
    per_sentence: list[tuple[int, int, int]] = []
    units: list[tuple[dict, dict, str]] = []
    for ex, completion in zip(split.examples, completions, strict=True):
        res = protocol.parser(completion)
        status[res.status.value] += 1
        if not res.ok:
            n_unparsed += 1
        g_units = gold_units(ex, split.labels, protocol, unknown, known)
        p_units = pred_units(res.entities, protocol)
        gold, pred = g_units.keys(), p_units.keys()
        both = gold & pred
        counts.n_gold += len(gold)
        counts.n_pred += len(pred)
        counts.n_match += len(both)
        per_sentence.append((len(gold), len(pred), len(both)))
        t_gold.update(t for _, t in gold)
        t_pred.update(t for _, t in pred)
        t_match.update(t for _, t in both)
        units.append((g_units, p_units, res.status.value))
    per_type = {t: Counts(t_gold[t], t_pred[t], t_match[t]) for t in t_gold.keys() | t_pred.keys()}
    return DatasetScore(
        split.name, counts, len(split.examples), n_unparsed, per_type, status, unknown, per_sentence, units=units
    )


def average_row(scores: Sequence[DatasetScore], f1_ci: list[float] | None = None) -> dict[str, Any]:
    """The plain mean of per-dataset F1 (each rounded as reported), with its bootstrap interval when given."""
    f1s = [s.counts.prf()[2] for s in scores]
    row: dict[str, Any] = {"dataset": "Average", "f1": pct(sum(f1s) / len(f1s)) if f1s else 0.0}
    if f1_ci is not None:
        row["f1_ci"] = f1_ci
    return row


def add_bootstrap(
    scores: Sequence[DatasetScore], samples: int, seed: int = 0, confidence: float = 0.95
) -> list[float] | None:
    """Set each score's `ci` (percentile bootstrap over its sentences, `reasoning_ner.stats.bootstrap_ci`) and return
    the Average's F1 interval (percent)."""
    from .stats import bootstrap_ci

    if samples <= 0:
        return None
    per, avg = bootstrap_ci({s.dataset: s.sentence_counts for s in scores}, samples, seed, confidence)
    for s in scores:
        if s.dataset in per:
            s.ci = {f"{k}_ci": per[s.dataset][k].pct() for k in ("precision", "recall", "f1")}
    return avg.pct() if avg is not None else None


def result_rows(
    scores: Sequence[DatasetScore], bootstrap: int = 0, seed: int = 0, confidence: float = 0.95
) -> list[dict[str, Any]]:
    """One row per dataset and the Average row; with `bootstrap` > 0, the intervals of `add_bootstrap` in them."""
    avg_ci = add_bootstrap(scores, bootstrap, seed, confidence) if bootstrap > 0 else None
    return [s.to_dict() for s in scores] + [average_row(scores, avg_ci)]


def entity_f1(pred: set[Pair], gold: set[Pair]) -> float:
    """F1 of one prediction set against one gold set, as a fraction (0 when either is empty)."""
    if not pred or not gold:
        return 0.0
    m = len(pred & gold)
    if not m:
        return 0.0
    p, r = m / len(pred), m / len(gold)
    return 2 * p * r / (p + r)


def answer_pairs(answer: dict[str, list[str]]) -> set[Pair]:
    """Pairs of an answer dict with the default type normalisation (lower/strip, no alias map)."""
    return {(normalize_mention(m), normalize_label(t)) for t, ms in answer.items() for m in ms if isinstance(m, str)}


# ----------------------------------------------------------------------------------------------------------------------
# Predictions files


def load_splits(
    base_path: str | Path, names: Sequence[str], split: str = "test", limit: int | None = None
) -> list[DatasetSplit]:
    """Read the splits; `limit` keeps the first N examples of each (quick runs)."""
    splits = [read_instructuie(base_path, n, split) for n in names]
    if limit is not None:
        for s in splits:
            s.examples = s.examples[:limit]
    return splits


def load_predictions(path: str | Path, splits: Sequence[DatasetSplit], limited: bool = False) -> dict[str, list[Any]]:
    """Completions per dataset, in example order. Raises DataError on any gap, duplicate or stray line (naming the
    line: a malformed line anywhere is an error, since a predictions file being scored is complete); with `limited`
    (the splits were cut to their first N examples), lines past the cut are skipped (and counted in a warning)
    instead."""
    recs = load_prediction_records(path, splits, limited)
    return {name: [r["completion"] for r in lines] for name, lines in recs.items()}


def load_prediction_records(
    path: str | Path, splits: Sequence[DatasetSplit], limited: bool = False
) -> dict[str, list[dict[str, Any]]]:
    """Like `load_predictions`, but the whole line of each example (completion, reasoning_content, token counts,
    latency...)."""
    path = Path(path)
    sizes = {s.name: len(s.examples) for s in splits}
    got: dict[str, dict[int, Any]] = {n: {} for n in sizes}
    dup: dict[str, list[int]] = defaultdict(list)
    beyond = 0
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
            if limited and idx >= sizes[name]:
                beyond += 1
                continue
            if not 0 <= idx < sizes[name]:
                raise DataError(
                    path, f"line {lineno}", "index", f"{idx} out of range for {name} ({sizes[name]} examples)"
                )
            if idx in got[name]:
                dup[name].append(idx)
            got[name][idx] = rec
    if beyond:
        logger.warning("%s: %d lines past --limit were not scored", path, beyond)
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
    details: bool = False,
) -> list[DatasetScore]:
    proto = get_protocol(protocol) if isinstance(protocol, str) else protocol
    splits = load_splits(base_path, names, split, limit)
    preds = load_predictions(predictions_file, splits, limited=limit is not None)
    return [score_dataset(s, preds[s.name], proto, details=details) for s in splits]


def data_fingerprint(splits: Sequence[DatasetSplit]) -> dict[str, str]:
    """Per dataset, the first 16 hex digits of the SHA-256 of its scored sentences (newline-joined, in order): two
    results with equal fingerprints were scored on the same sentences in the same order."""
    import hashlib

    return {
        s.name: hashlib.sha256("\n".join(ex.sentence for ex in s.examples).encode("utf-8")).hexdigest()[:16]
        for s in splits
    }
