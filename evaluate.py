"""Zero-shot evaluation on InstructUIE test sets: generate (optional) and score.

Score saved completions (no model needed):

    python evaluate.py --predictions_file preds.jsonl --base_path ../shared/ner-data \\
        --dataset_config config/dataset/cross_ner.json --result_file results.json [--protocol paper]

Generate with a model, then score (the predictions file is appended to as generations finish; run the same command
again after an interruption and only the missing examples are generated):

    python evaluate.py --model outputs/sft/qwen3-8b --backend hf --base_path ../shared/ner-data \\
        --result_file outputs/eval/result.json [--predictions_file ...] [--limit 20]

The predictions file holds one `{"dataset", "index", "completion"}` line per test example (plus tokens and latency
when generated here). The result file is a JSON list with one row per dataset (P/R/F1 in percent, counts, per-type
scores, parse statuses, mean completion tokens/latency when known) and an `Average` row (plain mean of the per-dataset
F1); a Markdown table is printed. Protocols: `paper` reproduces the reference implementation, `default` adds the alias
map, keeps and reports gold types missing from labels.json, and parses leniently (README, "Evaluation").
"""

from __future__ import annotations

import json
import logging
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from reasoning_ner.data import DataError, load_dataset_config
from reasoning_ner.evaluation import generation_items, load_splits, score_predictions, write_result
from reasoning_ner.metrics import get_protocol, markdown_table
from reasoning_ner.paths import CONFIG_DIR, ner_data_dir


@dataclass
class EvalArguments:
    predictions_file: str | None = field(
        default=None,
        metadata={"help": "JSONL of {dataset, index, completion}; default with --model: next to result_file."},
    )
    base_path: str = field(default=str(ner_data_dir()), metadata={"help": "Folder of InstructUIE datasets."})
    dataset_config: str = field(default=str(CONFIG_DIR / "dataset" / "cross_ner.json"))
    result_file: str = field(default="outputs/eval/result.json")
    protocol: str = field(default="default", metadata={"help": "default or paper."})
    split: str = field(default="test")
    limit: int | None = field(default=None, metadata={"help": "Only the first N examples of each dataset."})
    alias_file: str | None = field(default=None, metadata={"help": "Alias map (default protocol)."})
    keep_uninformative: bool = field(
        default=False, metadata={"help": "Default protocol: keep misc/else/... gold types."}
    )
    # generation
    model: str | None = field(default=None, metadata={"help": "Model to generate with (path or hub id)."})
    backend: str = field(default="hf", metadata={"help": "Generation backend: hf."})
    max_new_tokens: int = field(default=1024)
    temperature: float = field(default=0.0, metadata={"help": "0 = greedy."})
    top_p: float = field(default=1.0)
    batch_size: int = field(default=8)
    enable_thinking: bool | None = field(default=None, metadata={"help": "Qwen3 chat-template thinking switch."})
    add_source: bool = field(default=False, metadata={"help": "Name the source dataset in the prompt."})
    dtype: str = field(default="auto")
    trust_remote_code: bool = field(default=False)


def _usage_stats(pred_file: Path) -> dict[str, dict[str, float]]:
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    with pred_file.open(encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if "completion_tokens" in rec:
                s = sums[rec["dataset"]]
                s[0] += rec["completion_tokens"]
                s[1] += rec.get("latency_s", 0.0)
                s[2] += 1
    return {
        d: {"mean_completion_tokens": round(a / n, 1), "mean_latency_s": round(b / n, 4)}
        for d, (a, b, n) in sums.items()
        if n
    }


def main(args: EvalArguments) -> int:
    try:
        names = load_dataset_config(args.dataset_config)
        if args.protocol == "paper":
            protocol = get_protocol("paper")
        else:
            protocol = get_protocol(args.protocol, args.alias_file, not args.keep_uninformative)
        pred_file = Path(args.predictions_file) if args.predictions_file else None
        if args.model:
            from reasoning_ner.generation import DecodingConfig, generate_to_file, make_backend
            from reasoning_ner.labels import LabelPolicy

            pred_file = pred_file or Path(args.result_file).with_name("predictions.jsonl")
            splits = load_splits(args.base_path, names, args.split, args.limit)
            items = generation_items(splits, LabelPolicy.default(), args.add_source)
            cfg = DecodingConfig(
                args.max_new_tokens, args.temperature, args.top_p, args.batch_size, args.enable_thinking
            )
            backend = make_backend(args.backend, args.model, dtype=args.dtype, trust_remote_code=args.trust_remote_code)
            generate_to_file(backend, items, pred_file, cfg)
        if pred_file is None:
            print("error: give --predictions_file (saved completions) or --model (generate)", file=sys.stderr)
            return 2
        scores = score_predictions(args.base_path, names, pred_file, protocol, args.split, args.limit)
    except (DataError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows = write_result(scores, args.result_file)
    usage = _usage_stats(pred_file)
    if usage:
        for r in rows:
            r.update(usage.get(r["dataset"], {}))
        Path(args.result_file).write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(markdown_table(rows))
    for s in scores:
        if s.unknown_gold_types:
            print(f"note: {s.dataset}: gold types not in labels.json were kept: {dict(s.unknown_gold_types)}")
    n = sum(s.n_examples for s in scores)
    parsed = n - sum(s.n_unparsed for s in scores)
    print(f"parsed answers: {parsed}/{n} ({100 * parsed / max(1, n):.1f}%); protocol: {protocol.name}")
    print(f"predictions: {pred_file}\nresult: {Path(args.result_file)}")
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from trl import TrlParser

    (eval_args,) = TrlParser(EvalArguments).parse_args_and_config()
    sys.exit(main(eval_args))
