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

from reasoning_ner.chat_client import APIError, ChatClient
from reasoning_ner.cot import CotSettings, read_cot_inputs, report_markdown, run
from reasoning_ner.data import DataError
from reasoning_ner.resumable import LockedError


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
    clients: list[ChatClient] = []
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
        clients.append(teacher)
        teacher.check()
        judge = None
        if a.judge_model:
            judge = ChatClient(
                a.judge_api_base or a.api_base, a.judge_model, a.judge_api_key_env or a.api_key_env, **client
            )
            clients.append(judge)
            judge.check()
        prices = {
            "teacher_prompt": a.price_teacher_input,
            "teacher_completion": a.price_teacher_output,
            "judge_prompt": a.price_judge_input,
            "judge_completion": a.price_judge_output,
        }
        out = Path(a.output)
        report = run(inputs, teacher, judge, s, out, a.concurrency, prices)
    except (DataError, ValueError, APIError, LockedError) as e:
        for c in clients:  # requests still in flight on other threads stop retrying
            c.cancel()
        hint = ""
        ledger = Path(f"{a.output}.records.jsonl")
        if isinstance(e, APIError) and ledger.exists():
            hint = f" (finished examples are kept in {ledger}: run the same command again to resume)"
        print(f"error: {e}{hint}", file=sys.stderr)
        return 2
    stem = out.with_suffix("")
    print(report_markdown(report))
    print(f"kept {report['kept']} of {report['processed']} -> {out}")
    files = [f"{stem}.report.json", f"{stem}.report.md"] + ([f"{stem}.scores.png"] if judge is not None else [])
    print(f"ledger: {out}.records.jsonl\nreport: " + ", ".join(files))
    return 0


if __name__ == "__main__":
    from reasoning_ner.arguments import run_cli

    run_cli(CotArguments, main, logging.WARNING)
