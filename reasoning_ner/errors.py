"""Error taxonomy of entity predictions: every gold and every predicted pair of a sentence gets exactly one class, from
the same sets the score counts (`reasoning_ner.scoring`).

**Units.** Per sentence, gold and prediction are *sets* of `(normalised mention, type)` pairs under the evaluation
protocol (SQuAD-style mention normalisation, the protocol's type normalisation): the sets whose intersection is the
score's `n_match`. Each pair carries the character spans `[start, end)` where it occurs in the sentence:

* a gold pair: the offsets (`pos` in InstructUIE data, `Entity.start/end`) of the gold entities that map to it (several
  when the same mention is annotated more than once); a gold entity without offsets is located like a prediction;
* a predicted pair: every occurrence of each raw mention the model wrote for it, found by
  `reasoning_ner.alignment.align` (verbatim, else after case / accent / whitespace folding; never cutting a word); when
  `align` finds nothing, every run of whole whitespace-separated sentence tokens whose normalised words equal the pair's
  normalised mention (so `"London."` is found in `... in London .`). A predicted pair with no span is not in the
  sentence at all.

**Matching.** Four greedy passes; each pass sees only the pairs that earlier passes left unmatched, and each pair is
matched at most once:

1. `correct` — the same normalised mention and the same type: exactly the score's matches.
2. `wrong_type` — the same normalised mention, another type. Candidates taken in the order (mention, predicted type,
   gold type).
3. `boundary` — the same type, overlapping spans (a span of one shares at least one character with a span of the other).
4. `boundary_type` — another type, overlapping spans.

In passes 3 and 4 the candidate (predicted, gold) pairs are taken by decreasing character overlap (the largest overlap
between a span of one and a span of the other), ties by the predicted pair's (mention, type), then the gold pair's.
What is left: a predicted pair is `spurious_hallucinated` when it has no span in the sentence, else
`spurious_in_text`; a gold pair is `missed`. Hence, per sentence and summed over any set of sentences:

    n_pred = correct + wrong_type + boundary + boundary_type + spurious_hallucinated + spurious_in_text
    n_gold = correct + wrong_type + boundary + boundary_type + missed

**Per type.** A same-type outcome (`correct`, `boundary`) counts once under its type; a cross-type outcome counts under
the gold type as `wrong_type_gold` / `boundary_type_gold` and under the predicted type as `wrong_type_pred` /
`boundary_type_pred`; `spurious_*` count under the predicted type, `missed` under the gold type. So for every type:
`n_pred = correct + boundary + wrong_type_pred + boundary_type_pred + spurious_hallucinated + spurious_in_text` and
`n_gold = correct + boundary + wrong_type_gold + boundary_type_gold + missed`.

**Type confusion.** Over matched pairs (passes 1-4): counts of (gold type, predicted type); a missed gold pair counts as
(gold type, `NONE`), a spurious predicted pair as (`NONE`, predicted type).

Pure computation, no I/O: `reasoning_ner.scoring` classifies every sentence it scores; reports, plots and the HTML
browser read the counts and outcomes.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .alignment import align

Span = tuple[int, int]
Pair = tuple[str, str]
NONE = "(none)"  # the missing side of a missed or spurious pair in the confusion counts

MATCH_CLASSES = ("correct", "wrong_type", "boundary", "boundary_type")
CLASSES = MATCH_CLASSES + ("spurious_hallucinated", "spurious_in_text", "missed")
PRED_CLASSES = MATCH_CLASSES + ("spurious_hallucinated", "spurious_in_text")
GOLD_CLASSES = MATCH_CLASSES + ("missed",)
TYPE_CLASSES = (
    "correct",
    "boundary",
    "wrong_type_gold",
    "wrong_type_pred",
    "boundary_type_gold",
    "boundary_type_pred",
    "spurious_hallucinated",
    "spurious_in_text",
    "missed",
)


@dataclass(frozen=True)
class Unit:
    """One gold or predicted pair of a sentence: normalised mention, type, a surface form, its spans (None: not
    located, because its class did not need it and `locate_all` was off)."""

    mention: str
    type: str
    text: str
    spans: tuple[Span, ...] | None = None


@dataclass(frozen=True)
class Outcome:
    """The class of one matched (gold, pred), missed (gold only) or spurious (pred only) unit."""

    cls: str
    gold: Unit | None = None
    pred: Unit | None = None


# ----------------------------------------------------------------------------------------------------------------------
# Locating mentions


@lru_cache(maxsize=64)
def _words(sentence: str) -> tuple[tuple[int, int, str], ...]:
    """(start, end, normalised word) for each normalised word of each whitespace-separated token of the sentence."""
    from .scoring import normalize_mention

    out = []
    for m in re.finditer(r"\S+", sentence):
        for w in normalize_mention(m.group()).split():
            out.append((m.start(), m.end(), w))
    return tuple(out)


def _token_runs(sentence: str, normalised: str) -> list[Span]:
    want = normalised.split()
    if not want:
        return []
    words = _words(sentence)
    k = len(want)
    spans = []
    for i in range(len(words) - k + 1):
        if words[i][2] == want[0] and all(words[i + j][2] == want[j] for j in range(1, k)):
            spans.append((words[i][0], words[i + k - 1][1]))
    return spans


def locate(sentence: str, raw_mentions: Iterable[str], normalised: str) -> tuple[Span, ...]:
    """Every span of a predicted pair in the sentence (see the module docstring); empty when it is not there."""
    spans: set[Span] = set()
    for raw in raw_mentions:
        spans.update(align(sentence, raw)[0])
    if not spans:
        spans.update(_token_runs(sentence, normalised))
    return tuple(sorted(spans))


def _overlap(a: Sequence[Span], b: Sequence[Span]) -> int:
    best = 0
    for s1, e1 in a:
        for s2, e2 in b:
            best = max(best, min(e1, e2) - max(s1, s2))
    return best


# ----------------------------------------------------------------------------------------------------------------------
# Classification


def classify(
    sentence: str,
    gold: Mapping[Pair, tuple[str, Sequence[Span]]],
    pred: Mapping[Pair, Sequence[str]],
    locate_all: bool = False,
) -> list[Outcome]:
    """The outcomes of one sentence. `gold` maps each gold pair to (surface text, spans) — empty spans: located from the
    text —; `pred` maps each predicted pair to the raw mentions the model wrote for it. Predicted spans are computed
    only where a class depends on them (passes 3-4 and spurious), or for every predicted pair with `locate_all`."""
    g_units: dict[Pair, Unit] = {}
    for (m, t), (text, spans) in gold.items():
        if len(spans) == 1:
            sp = (tuple(spans[0]),)
        else:
            sp = tuple(sorted(set(map(tuple, spans)))) if spans else locate(sentence, [text], m)
        g_units[(m, t)] = Unit(m, t, text, sp)
    p_raw = dict(pred)

    def p_unit(key: Pair, with_spans: bool) -> Unit:
        raws = p_raw[key]
        text = raws[0] if raws else key[0]
        return Unit(key[0], key[1], text, locate(sentence, raws, key[0]) if with_spans else None)

    out: list[Outcome] = []
    # 1. exact
    both = g_units.keys() & p_raw.keys()
    for key in sorted(both) if len(both) > 1 else both:
        out.append(Outcome("correct", g_units.pop(key), p_unit(key, locate_all)))
        del p_raw[key]
    if not p_raw and not g_units:
        return out
    # 2. same mention, other type
    if g_units and p_raw:
        by_mention: dict[str, list[Pair]] = {}
        for key in sorted(g_units):
            by_mention.setdefault(key[0], []).append(key)
        for pkey in sorted(p_raw):
            cands = by_mention.get(pkey[0])
            if cands:
                gkey = cands.pop(0)
                out.append(Outcome("wrong_type", g_units.pop(gkey), p_unit(pkey, locate_all)))
                del p_raw[pkey]
    # 3, 4. overlapping spans: same type, then other type
    p_units = {k: p_unit(k, True) for k in sorted(p_raw)}
    for cls, same in (("boundary", True), ("boundary_type", False)):
        cands = []
        for pk, pu in p_units.items():
            if not pu.spans:
                continue
            for gk, gu in g_units.items():
                if (pk[1] == gk[1]) != same:
                    continue
                ov = _overlap(pu.spans, gu.spans)
                if ov > 0:
                    cands.append((-ov, pk, gk))
        for _, pk, gk in sorted(cands):
            if pk in p_units and gk in g_units:
                out.append(Outcome(cls, g_units.pop(gk), p_units.pop(pk)))
    for pu in p_units.values():
        out.append(Outcome("spurious_in_text" if pu.spans else "spurious_hallucinated", None, pu))
    for gu in g_units.values():
        out.append(Outcome("missed", gu, None))
    return out


# ----------------------------------------------------------------------------------------------------------------------
# Counting


@dataclass
class ErrorCounts:
    """Outcome counts of a set of sentences: in total, per type (see the module docstring), and the type confusion."""

    total: Counter = field(default_factory=Counter)
    per_type: dict[str, Counter] = field(default_factory=dict)
    confusion: Counter = field(default_factory=Counter)  # (gold type | NONE, predicted type | NONE) -> n

    def add(self, outcomes: Iterable[Outcome]) -> None:
        for o in outcomes:
            self.total[o.cls] += 1
            g = o.gold.type if o.gold is not None else None
            p = o.pred.type if o.pred is not None else None
            if o.cls in ("correct", "boundary"):
                self._type(g)[o.cls] += 1
            elif o.cls in ("wrong_type", "boundary_type"):
                self._type(g)[o.cls + "_gold"] += 1
                self._type(p)[o.cls + "_pred"] += 1
            elif o.cls == "missed":
                self._type(g)["missed"] += 1
            else:
                self._type(p)[o.cls] += 1
            self.confusion[(g or NONE, p or NONE)] += 1

    def _type(self, t: str) -> Counter:
        c = self.per_type.get(t)
        if c is None:
            c = self.per_type[t] = Counter()
        return c

    def to_dict(self) -> dict[str, int]:
        return {c: self.total.get(c, 0) for c in CLASSES}

    def type_dict(self, t: str) -> dict[str, int]:
        c = self.per_type.get(t, Counter())
        return {k: c.get(k, 0) for k in TYPE_CLASSES}

    def confusion_dict(self) -> dict[str, dict[str, int]]:
        """`{gold type: {predicted type: n}}`, `NONE` standing for the missing side, keys sorted (`NONE` last)."""
        out: dict[str, dict[str, int]] = {}
        for (g, p), n in sorted(self.confusion.items(), key=lambda kv: (kv[0][0] == NONE, kv[0])):
            out.setdefault(g, {})[p] = n
        return out


def identities_hold(errors: Mapping[str, int], n_pred: int, n_gold: int) -> bool:
    """Whether the two accounting identities of the module docstring hold for dataset-level counts."""
    return sum(errors[c] for c in PRED_CLASSES) == n_pred and sum(errors[c] for c in GOLD_CLASSES) == n_gold


def outcome_record(o: Outcome) -> dict[str, Any]:
    """A JSON-ready view of one outcome (the HTML browser's data)."""

    def unit(u: Unit | None) -> dict[str, Any] | None:
        if u is None:
            return None
        return {"mention": u.text, "type": u.type, "spans": [list(s) for s in (u.spans or ())]}

    return {"cls": o.cls, "gold": unit(o.gold), "pred": unit(o.pred)}


__all__ = [
    "CLASSES",
    "GOLD_CLASSES",
    "MATCH_CLASSES",
    "NONE",
    "PRED_CLASSES",
    "TYPE_CLASSES",
    "ErrorCounts",
    "Outcome",
    "Unit",
    "classify",
    "identities_hold",
    "locate",
    "outcome_record",
]
