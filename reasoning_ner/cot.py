"""Stage 1, CoT generation: a teacher LLM annotates passages with a reasoning chain, the chains are validated, a judge
LLM scores them, and the survivors form an NER-CoT dataset that `sft.py` reads directly.

For each input example (passage, schema, and the original annotation when the input has one):

1. **Teacher.** The passage and schema are rendered into `config/prompts/cot_teacher.txt` (optionally with the original
   annotation as a hint, `cot_hint.txt`) and sent as one user turn to an OpenAI-compatible endpoint. The reasoning is
   the reply's separate `reasoning_content`/`reasoning` field when the server returns one (DeepSeek-R1, vLLM with a
   reasoning parser); otherwise the `<think>` block of the reply. The answer is parsed from the rest with the
   project's lenient parser (`parse_completion`).
2. **Validation** (`validate`), every failing rule recorded (an example can fail several):
   `answer_unparsable` (no valid JSON answer), `type_not_in_schema` (a type outside the schema, compared after label
   normalisation), `mention_not_in_passage` (a mention that cannot be aligned to the passage, verbatim or after case /
   whitespace / accent folding: `reasoning_ner.alignment.align`), `entity_not_in_reasoning` (an extracted mention that
   the reasoning never names, compared case-insensitively with whitespace collapsed), `reasoning_empty`,
   `reasoning_too_short` / `reasoning_too_long` (characters, bounds from the config).
3. **Consistency.** The judge gets passage, schema, reasoning and answer (`cot_judge.txt`); its verdict is parsed by
   `parse_judge_score` (see there); an unparsable verdict is the rejection `judge_unparsable`, a score under
   `min_score` is `low_score`. The agreement F1 between the teacher's entities and the original annotation (entity
   level, mentions and types normalised as in evaluation) is stored per example; with `min_agreement` set, lower
   agreement is `low_agreement`.

The judge is asked only for examples that pass validation (it would reject the rest anyway, and it costs tokens).
An example is kept when it has no rejection reason. A request the endpoint refuses for that example alone (HTTP 400)
is the rejection `teacher_request_failed` / `judge_request_failed`; a failure of the endpoint itself stops the run.

**Files.** Every processed example — kept or not — is appended, as soon as it is done and in input order, to the
ledger `<output>.records.jsonl` (`{"id", "kept", "reasons", "score", "agreement_f1", "usage", "teacher", "judge",
...}`, the raw replies included for audit). Started again with the same output, the run skips the ids in the ledger
(a torn last line is dropped and redone), so after any kill it finishes with every example exactly once, redoing only
the requests that were in flight. At the end, `<output>` (the kept examples as NER-CoT JSONL: `guid`, `dataset`,
`sentence`, `schema`, `cot`, `entities`, plus `score`, `agreement_f1`, `usage`) is rewritten from the ledger, and the
report `<output stem>.report.json` / `.report.md` and the judge-score histogram `<output stem>.scores.png` beside it.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

from .data import DataError
from .labels import normalize_label
from .parsing import ParseStatus, parse_completion, split_reasoning
from .paths import PROMPTS_DIR
from .scoring import answer_pairs, entity_f1

logger = logging.getLogger(__name__)

REASONS = (
    "teacher_request_failed",
    "answer_unparsable",
    "type_not_in_schema",
    "mention_not_in_passage",
    "entity_not_in_reasoning",
    "reasoning_empty",
    "reasoning_too_short",
    "reasoning_too_long",
    "low_agreement",
    "judge_request_failed",
    "judge_unparsable",
    "low_score",
)


# ----------------------------------------------------------------------------------------------------------------------
# inputs


@dataclass
class CotInput:
    id: str
    dataset: str | None
    sentence: str
    schema: list[str]
    gold: dict[str, list[str]] | None  # the original annotation, when the input has one


def read_cot_inputs(
    path: str | Path, fmt: str, split: str = "train", limit: int | None = None, schema_order: str = "sorted"
) -> list[CotInput]:
    """Examples to annotate, read with `reasoning_ner.formats` (`ner_cot` — also called `jsonl` —, `instructuie`,
    `uniner`, `bio`), each schema in `schema_order` (`sorted`, as the NER prompt of every stage puts it, or `given`):
    the order the teacher and judge see and the output records keep. The original annotation, when the input has one,
    is kept for the agreement score."""
    from .formats import ReadOptions, read_examples

    path = Path(path)
    out = [
        CotInput(str(ex.id), ex.dataset, ex.sentence, list(ex.schema), ex.answer() if ex.annotated else None)
        for ex in read_examples(fmt, path, ReadOptions(split=split))
    ]
    seen: dict[str, int] = {}
    for i, x in enumerate(out):
        if x.id in seen:
            raise DataError(path, i, "id", f"duplicate example id {x.id!r} (also record {seen[x.id]})")
        seen[x.id] = i
        if not x.schema:
            raise DataError(path, i, "schema", "empty: no entity types to annotate")
        if schema_order == "sorted":
            x.schema = sorted(x.schema)
        elif schema_order != "given":
            raise ValueError(f"schema_order must be sorted or given, not {schema_order!r}")
    return out[:limit] if limit is not None else out


# ----------------------------------------------------------------------------------------------------------------------
# prompts


def _template(name: str | Path) -> Template:
    p = Path(name)
    return Template((p if p.is_absolute() or p.exists() else PROMPTS_DIR / p).read_text(encoding="utf-8"))


def teacher_messages(x: CotInput, template: str | Path = "cot_teacher.txt", hint: bool = False) -> list[dict]:
    hint_block = ""
    if hint and x.gold is not None:
        hint_block = _template("cot_hint.txt").substitute(hint=json.dumps({"entities": x.gold}, ensure_ascii=False))
    text = _template(template).substitute(
        schema=json.dumps(x.schema, ensure_ascii=False), sentence=x.sentence, hint_block=hint_block
    )
    return [{"role": "user", "content": text}]


def judge_messages(
    x: CotInput, reasoning: str, entities: dict[str, list[str]], template: str | Path = "cot_judge.txt"
) -> list[dict]:
    text = _template(template).substitute(
        schema=json.dumps(x.schema, ensure_ascii=False),
        sentence=x.sentence,
        reasoning=reasoning,
        answer=json.dumps({"entities": entities}, ensure_ascii=False),
    )
    return [{"role": "user", "content": text}]


# ----------------------------------------------------------------------------------------------------------------------
# pure logic: teacher reply, validation, judge verdict


@dataclass
class TeacherAnswer:
    reasoning: str
    entities: dict[str, list[str]]
    status: ParseStatus


def teacher_answer(content: str, reasoning_content: str | None = None) -> TeacherAnswer:
    """Reasoning from the separate field when the server gave one, else from the `<think>` block of the content."""
    content = content or ""
    if reasoning_content and reasoning_content.strip():
        reasoning = reasoning_content
    else:
        reasoning = split_reasoning(content)[0] or ""
    res = parse_completion(content)
    return TeacherAnswer(reasoning.strip(), res.entities, res.status)


def _squash(s: str) -> str:
    return " ".join(s.casefold().split())


def validate(
    x: CotInput, ans: TeacherAnswer, min_reasoning_chars: int = 1, max_reasoning_chars: int = 20000
) -> list[str]:
    """The rules a teacher answer breaks (empty list = valid); see the module docstring."""
    from .alignment import align

    reasons = []
    if ans.status != ParseStatus.OK:
        reasons.append("answer_unparsable")
    allowed = {normalize_label(t) for t in x.schema}
    if any(normalize_label(t) not in allowed for t in ans.entities):
        reasons.append("type_not_in_schema")
    mentions = [m for ms in ans.entities.values() for m in ms]
    if any(align(x.sentence, m)[1] == "unaligned" for m in mentions):
        reasons.append("mention_not_in_passage")
    if not ans.reasoning:
        reasons.append("reasoning_empty")
    else:
        r = _squash(ans.reasoning)
        if any(_squash(m) not in r for m in mentions):
            reasons.append("entity_not_in_reasoning")
        if len(ans.reasoning) < min_reasoning_chars:
            reasons.append("reasoning_too_short")
        if len(ans.reasoning) > max_reasoning_chars:
            reasons.append("reasoning_too_long")
    return reasons


_NUM = r"(-?\d+(?:\.\d+)?)(?!\s*(?:-|–|to)\s*\d)"  # a number that does not start a range such as 0-10
_SCORE_PATTERNS = (
    re.compile(r"^[\s*#_>-]*score[\s*_]*[:=]\s*\**" + _NUM, re.IGNORECASE | re.MULTILINE),  # a `Score: 9` line
    re.compile(r'"score"\s*:\s*"?' + _NUM),  # JSON
    re.compile(r"\bscore\b[^0-9\n]{0,20}?" + _NUM, re.IGNORECASE),  # ... score of 9 ...
    re.compile(r"(\d+(?:\.\d+)?)\s*(?:/|out of)\s*10\b", re.IGNORECASE),  # 9/10
    re.compile(r"\\boxed\{(\d+(?:\.\d+)?)\}"),
)


def parse_judge_score(text: str | None) -> float | None:
    """The judge's 0–10 score, or None when the verdict has none.

    Looks only after the judge's own reasoning (`</think>`, when present) and takes, of the forms (in this order of
    preference) a line starting `Score: 9` (Markdown emphasis allowed), `"score": 9` (JSON), `score of 9` anywhere,
    `9/10` / `9 out of 10`, `\\boxed{9}`, the **last** occurrence of the first form that occurs; a lone number as the
    whole verdict is accepted too. A number that opens a range (`0-10`, `0 to 10`) is not a score. A number outside
    0–10 is unparsable (None), never clipped."""
    if not text:
        return None
    verdict = split_reasoning(text)[1] if "</think>" in text or "<think>" in text else text
    verdict = verdict.strip()
    value = None
    for pat in _SCORE_PATTERNS:
        found = pat.findall(verdict)
        if found:
            value = float(found[-1])
            break
    if value is None and re.fullmatch(r"\d+(?:\.\d+)?", verdict):
        value = float(verdict)
    if value is None or not 0 <= value <= 10:
        return None
    return value


def agreement_f1(teacher: dict[str, list[str]], gold: dict[str, list[str]] | None) -> float | None:
    """Entity-level F1 (fraction) of the teacher's answer against the original annotation; 1.0 when both are
    empty; None without an original annotation."""
    if gold is None:
        return None
    t, g = answer_pairs(teacher), answer_pairs(gold)
    if not t and not g:
        return 1.0
    return round(entity_f1(t, g), 4)


# ----------------------------------------------------------------------------------------------------------------------
# the run


@dataclass
class CotSettings:
    min_score: float = 9.0
    min_agreement: float | None = None
    min_reasoning_chars: int = 1
    max_reasoning_chars: int = 20000
    teacher_max_tokens: int = 8192
    teacher_temperature: float | None = 0.6
    judge_max_tokens: int = 2048
    judge_temperature: float | None = 0.0
    hint: bool = False
    teacher_template: str = "cot_teacher.txt"
    judge_template: str = "cot_judge.txt"
    teacher_extra: dict[str, Any] = field(default_factory=dict)
    judge_extra: dict[str, Any] = field(default_factory=dict)


def process_one(x: CotInput, teacher: Any, judge: Any | None, s: CotSettings) -> dict[str, Any]:
    """Teacher → validation → judge for one example; the ledger record. Raises `APIError` only when the endpoint
    itself fails (the run stops and can be resumed)."""
    from .chat_client import RequestRejected

    rec: dict[str, Any] = {"id": x.id, "kept": False, "reasons": [], "score": None, "agreement_f1": None}
    usage = {"teacher_prompt": 0, "teacher_completion": 0, "judge_prompt": 0, "judge_completion": 0}
    rec["usage"] = usage
    try:
        r = teacher.chat(
            teacher_messages(x, s.teacher_template, s.hint),
            max_tokens=s.teacher_max_tokens,
            temperature=s.teacher_temperature,
            extra=s.teacher_extra,
        )
    except RequestRejected as e:
        rec["reasons"] = ["teacher_request_failed"]
        rec["error"] = str(e)
        return rec
    usage["teacher_prompt"], usage["teacher_completion"] = r.prompt_tokens, r.completion_tokens
    rec["teacher"] = {"content": r.content, "reasoning_content": r.reasoning, "finish_reason": r.finish_reason}
    ans = teacher_answer(r.content, r.reasoning)
    rec["cot"], rec["entities"] = ans.reasoning, ans.entities
    reasons = validate(x, ans, s.min_reasoning_chars, s.max_reasoning_chars)
    rec["agreement_f1"] = agreement_f1(ans.entities, x.gold)
    if s.min_agreement is not None and rec["agreement_f1"] is not None and rec["agreement_f1"] < s.min_agreement:
        reasons.append("low_agreement")
    if judge is not None and not reasons:
        try:
            j = judge.chat(
                judge_messages(x, ans.reasoning, ans.entities, s.judge_template),
                max_tokens=s.judge_max_tokens,
                temperature=s.judge_temperature,
                extra=s.judge_extra,
            )
        except RequestRejected as e:
            reasons.append("judge_request_failed")
            rec["error"] = str(e)
        else:
            usage["judge_prompt"], usage["judge_completion"] = j.prompt_tokens, j.completion_tokens
            rec["judge"] = {"content": j.content, "reasoning_content": j.reasoning, "finish_reason": j.finish_reason}
            rec["score"] = parse_judge_score(j.content)
            if rec["score"] is None and j.reasoning and j.finish_reason == "stop":
                # a finished verdict written into the reasoning field (some servers); never a truncated thought
                rec["score"] = parse_judge_score(j.reasoning)
            if rec["score"] is None:
                reasons.append("judge_unparsable")
            elif rec["score"] < s.min_score:
                reasons.append("low_score")
    rec["reasons"] = reasons
    rec["kept"] = not reasons
    return rec


def ner_cot_record(x: CotInput, rec: dict[str, Any]) -> dict[str, Any]:
    """The kept example as an NER-CoT line (entities in answer order, each mention once per type)."""
    ents = [{"text": m, "label": t} for t, ms in rec["entities"].items() for m in ms]
    out = {"guid": x.id, "dataset": x.dataset, "sentence": x.sentence, "schema": x.schema, "cot": rec["cot"]}
    out.update(entities=ents, score=rec["score"], agreement_f1=rec["agreement_f1"], usage=rec["usage"])
    return out


def ledger(path: Path):
    """The ledger as a `ResumableLog` keyed by id: locked against a second run; a torn last line and the examples whose
    request the endpoint refused (`teacher_request_failed` / `judge_request_failed`) are removed, so they are redone."""
    from .resumable import ResumableLog

    def keep(r: dict) -> bool:
        return not any(x.endswith("_request_failed") for x in r["reasons"])

    return ResumableLog(path, key=lambda r: r["id"], required=("id", "kept", "reasons"), keep=keep)


def read_ledger(path: Path) -> dict[str, dict[str, Any]]:
    """id -> record of a ledger, after the repairs of `ledger`."""
    with ledger(path) as log:
        return dict(log.done)


def run(
    inputs: Sequence[CotInput],
    teacher: Any,
    judge: Any | None,
    s: CotSettings,
    out: Path,
    concurrency: int,
    prices: dict[str, float],
) -> dict[str, Any]:
    """Process every input not yet in the ledger (in input order, `concurrency` in flight), then write the NER-CoT
    output, the report (JSON + Markdown) and the score histogram from the whole ledger. Returns the report."""
    from tqdm.auto import tqdm

    from .parallel import ordered_map

    out.parent.mkdir(parents=True, exist_ok=True)
    with ledger(out.with_name(out.name + ".records.jsonl")) as log:
        todo = [x for x in inputs if x.id not in log.done]
        if log.done:
            logger.warning("resuming: %d of %d examples already done", len(inputs) - len(todo), len(inputs))
        with tqdm(total=len(todo), desc="NER-CoT", unit="ex") as bar:
            kept = 0
            for _, rec in ordered_map(lambda x: process_one(x, teacher, judge, s), todo, concurrency):
                log.append(rec)
                kept += rec["kept"]
                bar.update(1)
                bar.set_postfix(kept=kept)
        records = log.done
        tmp = out.with_name(out.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            for x in inputs:
                if records[x.id]["kept"]:
                    f.write(json.dumps(ner_cot_record(x, records[x.id]), ensure_ascii=False) + "\n")
        tmp.replace(out)
        report = summarize(inputs, records, s, prices)
    report["teacher_model"] = getattr(teacher, "model", None)
    report["judge_model"] = getattr(judge, "model", None)
    stem = out.with_suffix("")
    Path(f"{stem}.report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    Path(f"{stem}.report.md").write_text(report_markdown(report), encoding="utf-8")
    if judge is not None:
        from .plots import plot_score_histogram

        plot_score_histogram(report, Path(f"{stem}.scores.png"), s.min_score)
    return report


def summarize(
    inputs: Sequence[CotInput], ledger: dict[str, dict[str, Any]], s: CotSettings, prices: dict[str, float]
) -> dict[str, Any]:
    """The run report: counts per rejection reason, score histogram, token totals and cost per kept example."""
    recs = [ledger[x.id] for x in inputs if x.id in ledger]
    kept = [r for r in recs if r["kept"]]
    all_reasons: Counter = Counter(reason for r in recs for reason in r["reasons"])
    first_reason: Counter = Counter(r["reasons"][0] for r in recs if r["reasons"])
    hist = Counter()
    for r in recs:
        if r.get("judge") is not None:
            hist["unparsable" if r["score"] is None else str(int(r["score"]))] += 1
    tokens = Counter()
    for r in recs:
        tokens.update(r["usage"])
    agreements = [r["agreement_f1"] for r in recs if r.get("agreement_f1") is not None]
    kept_agreements = [r["agreement_f1"] for r in kept if r.get("agreement_f1") is not None]
    total_tokens = sum(tokens.values())
    report: dict[str, Any] = {
        "inputs": len(inputs),
        "processed": len(recs),
        "kept": len(kept),
        "kept_fraction": round(len(kept) / len(recs), 4) if recs else 0.0,
        "rejections": {k: all_reasons.get(k, 0) for k in REASONS},
        "first_rejection": {k: first_reason.get(k, 0) for k in REASONS},
        "score_histogram": {k: hist.get(k, 0) for k in [str(i) for i in range(11)] + ["unparsable"]},
        "mean_agreement_f1": round(sum(agreements) / len(agreements), 4) if agreements else None,
        "mean_agreement_f1_kept": round(sum(kept_agreements) / len(kept_agreements), 4) if kept_agreements else None,
        "tokens": dict(tokens) | {"total": total_tokens},
        "tokens_per_kept_example": round(total_tokens / len(kept), 1) if kept else None,
        "settings": {"min_score": s.min_score, "min_agreement": s.min_agreement, "hint": s.hint},
    }
    if any(prices.values()):
        cost = sum(tokens[k] * prices.get(k, 0.0) / 1e6 for k in tokens)
        report["cost"] = round(cost, 4)
        report["cost_per_kept_example"] = round(cost / len(kept), 6) if kept else None
        report["prices_per_million_tokens"] = prices
    return report


def report_markdown(report: dict[str, Any]) -> str:
    lines = ["# NER-CoT generation report", ""]
    lines.append(
        f"- inputs: {report['inputs']}, processed: {report['processed']}, kept: {report['kept']} "
        f"({100 * report['kept_fraction']:.1f}% of processed)"
    )
    if report.get("mean_agreement_f1") is not None:
        lines.append(
            f"- agreement F1 with the original annotation: {report['mean_agreement_f1']:.3f} (all), "
            f"{report['mean_agreement_f1_kept'] or 0:.3f} (kept)"
        )
    t = report["tokens"]
    lines.append(
        f"- tokens: teacher {t.get('teacher_prompt', 0)} prompt + {t.get('teacher_completion', 0)} completion, judge "
        f"{t.get('judge_prompt', 0)} + {t.get('judge_completion', 0)}; {report['tokens_per_kept_example']} per kept example"
    )
    if "cost" in report:
        lines.append(f"- cost: {report['cost']} ({report['cost_per_kept_example']} per kept example)")
    lines += ["", "## Rejections", "", "| reason | examples failing the rule | first reason |", "|---|---:|---:|"]
    for k in REASONS:
        lines.append(f"| {k} | {report['rejections'][k]} | {report['first_rejection'][k]} |")
    lines += ["", "## Judge scores", "", "| score | examples |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in report["score_histogram"].items()]
    return "\n".join(lines) + "\n"


__all__ = [
    "REASONS",
    "CotInput",
    "CotSettings",
    "agreement_f1",
    "judge_messages",
    "ner_cot_record",
    "parse_judge_score",
    "process_one",
    "read_cot_inputs",
    "read_ledger",
    "run",
    "summarize",
    "teacher_answer",
    "teacher_messages",
    "validate",
]
