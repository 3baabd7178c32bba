"""Stage 1: build a validated, judge-scored NER-CoT dataset from any NER corpus through OpenAI-compatible endpoints.

    DEEPSEEK_API_KEY=... python generate_cot.py --config config/cot/deepseek-r1.yaml \\
        --input data/pile-ner.json --input_format uniner --output outputs/cot/ner_cot.jsonl
    python generate_cot.py --input ../shared/ner-data/CrossNER_AI --input_format instructuie --split train \\
        --teacher_model teacher --api_base http://127.0.0.1:8000/v1 \\
        --judge_model judge --judge_api_base http://127.0.0.1:8001/v1 --min_score 9 --concurrency 32 --limit 20

The algorithm (teacher → validation → judge → keep) and the files it writes are described in `reasoning_ner/cot.py`.
The output JSONL is read by `sft.py --dataset_path` as it is. Every processed example is appended to
`<output>.records.jsonl` as it finishes, so a run stopped at any moment and started again with the same arguments
finishes with each example exactly once. Keys are read only from the environment variables named by
`--api_key_env` / `--judge_api_key_env`.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path

from reasoning_ner.api import APIError, ChatClient, ordered_map
from reasoning_ner.cot import (
    CotSettings,
    ner_cot_record,
    process_one,
    read_cot_inputs,
    read_ledger,
    report_markdown,
    summarize,
)
from reasoning_ner.data import DataError
from reasoning_ner.plots import plot_score_histogram


def _json_arg(value, name: str) -> dict:
    if value is None or isinstance(value, dict):
        return value or {}
    try:
        out = json.loads(value)
    except ValueError as e:
        raise ValueError(f"--{name}: not a JSON object ({e})") from None
    if not isinstance(out, dict):
        raise ValueError(f"--{name}: not a JSON object")
    return out


@dataclass
class CotArguments:
    input: str | None = field(default=None, metadata={"help": "Input file or InstructUIE dataset folder."})
    input_format: str = field(default="jsonl", metadata={"help": "jsonl, instructuie or uniner."})
    split: str = field(default="train", metadata={"help": "instructuie: which split."})
    output: str = field(default="outputs/cot/ner_cot.jsonl")
    limit: int | None = field(default=None, metadata={"help": "Only the first N examples (dry run)."})
    schema_order: str = field(default="sorted", metadata={"help": "sorted | given: type order in prompts and output."})
    # teacher
    teacher_model: str | None = field(default=None)
    api_base: str | None = field(default=None, metadata={"help": "Teacher endpoint, e.g. https://api.deepseek.com/v1"})
    api_key_env: str = field(default="OPENAI_API_KEY", metadata={"help": "Environment variable with the teacher key."})
    teacher_max_tokens: int = field(default=8192)
    teacher_temperature: float | None = field(default=0.6)
    teacher_extra_body: str | None = field(default=None, metadata={"help": "JSON object merged into each request."})
    hint: bool = field(default=False, metadata={"help": "Show the teacher the original annotation as a hint."})
    teacher_template: str = field(default="cot_teacher.txt", metadata={"help": "Under config/prompts/ or a path."})
    # judge
    judge_model: str | None = field(default=None, metadata={"help": "No judge: keep every valid example."})
    judge_api_base: str | None = field(default=None, metadata={"help": "Default: the teacher's endpoint."})
    judge_api_key_env: str | None = field(default=None, metadata={"help": "Default: --api_key_env."})
    judge_max_tokens: int = field(default=2048)
    judge_temperature: float | None = field(default=0.0)
    judge_extra_body: str | None = field(default=None)
    judge_template: str = field(default="cot_judge.txt")
    # selection
    min_score: float = field(default=9.0, metadata={"help": "Keep judge scores >= this (0-10)."})
    min_agreement: float | None = field(default=None, metadata={"help": "Optional minimum agreement F1 (0-1)."})
    min_reasoning_chars: int = field(default=20)
    max_reasoning_chars: int = field(default=20000)
    # operations
    concurrency: int = field(default=16, metadata={"help": "Examples in flight."})
    request_timeout: float = field(default=600.0)
    max_retries: int = field(default=6)
    # cost accounting, per million tokens (0: not reported)
    price_teacher_input: float = field(default=0.0)
    price_teacher_output: float = field(default=0.0)
    price_judge_input: float = field(default=0.0)
    price_judge_output: float = field(default=0.0)


def main(a: CotArguments) -> int:
    from tqdm.auto import tqdm

    try:
        if not a.input or not a.teacher_model or not a.api_base:
            raise ValueError("give --input, --teacher_model and --api_base (or a --config)")
        same = {f.name: getattr(a, f.name) for f in fields(CotSettings) if hasattr(a, f.name)}
        s = CotSettings(
            **same,
            teacher_extra=_json_arg(a.teacher_extra_body, "teacher_extra_body"),
            judge_extra=_json_arg(a.judge_extra_body, "judge_extra_body"),
        )
        inputs = read_cot_inputs(a.input, a.input_format, a.split, a.limit, a.schema_order)
        client = dict(timeout=a.request_timeout, max_retries=a.max_retries)
        teacher = ChatClient(a.api_base, a.teacher_model, a.api_key_env, **client)
        teacher.check()
        judge = None
        if a.judge_model:
            judge = ChatClient(
                a.judge_api_base or a.api_base, a.judge_model, a.judge_api_key_env or a.api_key_env, **client
            )
            judge.check()
        out = Path(a.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        ledger_path = out.with_name(out.name + ".records.jsonl")
        ledger = read_ledger(ledger_path)
        todo = [x for x in inputs if x.id not in ledger]
        if ledger:
            print(f"resuming: {len(inputs) - len(todo)} of {len(inputs)} examples already done", file=sys.stderr)
        with ledger_path.open("a", encoding="utf-8") as f, tqdm(total=len(todo), desc="NER-CoT", unit="ex") as bar:
            kept = 0
            for x, rec in ordered_map(lambda x: process_one(x, teacher, judge, s), todo, a.concurrency):
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                f.flush()
                ledger[x.id] = rec
                kept += rec["kept"]
                bar.update(1)
                bar.set_postfix(kept=kept)
    except (DataError, ValueError, APIError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for x in inputs:
            if ledger[x.id]["kept"]:
                f.write(json.dumps(ner_cot_record(x, ledger[x.id]), ensure_ascii=False) + "\n")
    tmp.replace(out)
    prices = {
        "teacher_prompt": a.price_teacher_input,
        "teacher_completion": a.price_teacher_output,
        "judge_prompt": a.price_judge_input,
        "judge_completion": a.price_judge_output,
    }
    report = summarize(inputs, ledger, s, prices)
    report["teacher_model"], report["judge_model"] = a.teacher_model, a.judge_model
    stem = out.with_suffix("")
    Path(f"{stem}.report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    Path(f"{stem}.report.md").write_text(report_markdown(report), encoding="utf-8")
    png = plot_score_histogram(report, Path(f"{stem}.scores.png"), s.min_score) if judge is not None else None
    print(report_markdown(report))
    print(f"kept {report['kept']} of {report['processed']} -> {out}")
    print(f"ledger: {ledger_path}\nreport: {stem}.report.json, {stem}.report.md" + (f", {png}" if png else ""))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from trl import TrlParser

    (cot_args,) = TrlParser(CotArguments).parse_args_and_config()
    sys.exit(main(cot_args))
