"""Sample the GRPO training set (stage 3 data) from InstructUIE folders.

    python sample_grpo.py --base_path DIR --dataset_config config/dataset/in_domain_no_eval.json \
        --output_path data/grpo --num_samples 5000 --max_count 10000 --seed 42 [--shuffle] [--format jsonl|verl]

The authors' sampler (`reasoning_ner.sampling`): each source is capped at `max_count` examples and gets
`int(num_samples * capped / total_capped)` of them, drawn with `seed`; with their dataset list, options and seed 42 it
selects the same examples in the same order. Writes `train.jsonl` (what `grpo.py` reads) or, with `--format verl`,
`train.parquet` and `dev.parquet` for verl, plus `sample_stats.json` and `prompt.json` (the prompt spec used to render
the `prompt` column: `grpo.py` renders prompts again under the model's own spec). Datasets that are also evaluation
sets (`--eval_dataset_config`) are refused unless `--allow_eval_overlap` is given.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

from reasoning_ner.arguments import cli_errors, run_cli
from reasoning_ner.data import load_dataset_config, write_jsonl
from reasoning_ner.paths import CONFIG_DIR


@dataclass
class SampleArguments:
    base_path: str = field(metadata={"help": "Folder of InstructUIE datasets (<base>/<name>/train.json, labels.json)."})
    dataset_config: str = field(metadata={"help": "JSON/YAML list of dataset folder names to sample from."})
    output_path: str = field(metadata={"help": "Output folder."})
    num_samples: int = field(default=5000, metadata={"help": "Target number of training examples."})
    max_count: int = field(default=10000, metadata={"help": "Cap on the examples counted per source (<= 0: none)."})
    seed: int = field(default=42)
    shuffle: bool = field(default=False, metadata={"help": "Shuffle the output (default: grouped by dataset)."})
    format: str = field(default="jsonl", metadata={"help": "jsonl (grpo.py) or verl (parquet train + dev)."})
    split: str = field(default="train", metadata={"help": "Split to sample training examples from."})
    num_dev_samples: int = field(default=500, metadata={"help": "verl only: dev examples drawn from dev.json."})
    eval_dataset_config: str = field(default=str(CONFIG_DIR / "dataset" / "cross_ner.json"))
    allow_eval_overlap: bool = field(default=False, metadata={"help": "Allow evaluation datasets in training data."})
    prompt_template: str | None = field(
        default=None, metadata={"help": "Template file or model dir for the `prompt` column (default: the project's)."}
    )
    schema_order: str | None = field(default=None, metadata={"help": "sorted | given (default sorted)."})
    label_policy: str = field(
        default="default", metadata={"help": "default (alias map applied to type names) | paper (lower-case only)."}
    )
    add_source: bool | None = field(default=None, metadata={"help": "Name the source dataset in the prompt."})


@cli_errors
def main(args: SampleArguments) -> int:
    from reasoning_ner.prompts import resolve_prompt
    from reasoning_ner.sampling import check_overlap, sample_grpo, write_verl_parquet

    names = load_dataset_config(args.dataset_config)
    overlap = check_overlap(names, load_dataset_config(args.eval_dataset_config))
    if overlap and not args.allow_eval_overlap:
        print(
            f"error: {', '.join(overlap)} {'is' if len(overlap) == 1 else 'are'} also in the evaluation list "
            f"{args.eval_dataset_config}; training on them leaks the zero-shot test domains. Use a leak-free config "
            "(config/dataset/in_domain_no_eval.json) or pass --allow_eval_overlap to do it anyway.",
            file=sys.stderr,
        )
        return 2
    if args.format not in ("jsonl", "verl"):
        print(f"error: --format must be jsonl or verl, not {args.format!r}", file=sys.stderr)
        return 2
    from reasoning_ner.labels import LabelPolicy

    policy = LabelPolicy.named(args.label_policy)
    out = Path(args.output_path)
    prompt = resolve_prompt(args.prompt_template, args.schema_order, args.add_source)
    records, stats = sample_grpo(
        args.base_path, names, args.num_samples, args.max_count, args.seed, args.shuffle, args.split, policy, prompt
    )
    if args.format == "jsonl":
        write_jsonl(out / "train.jsonl", records)
        written = [str(out / "train.jsonl")]
    else:
        write_verl_parquet(records, out / "train.parquet", "train")
        dev, _ = sample_grpo(
            args.base_path, names, args.num_dev_samples, args.max_count, args.seed + 1, False, "dev", policy, prompt
        )
        write_verl_parquet(dev, out / "dev.parquet", "dev")
        written = [str(out / "train.parquet"), str(out / "dev.parquet")]
    summary = {
        "num_records": len(records),
        "per_dataset": {
            n: {"available": stats.available[n], "capped": stats.capped[n], "drawn": stats.drawn[n]}
            for n in stats.available
        },
        "dropped_gold": {f"{d}/{t}": c for (d, t), c in stats.dropped_gold.items()},
        "args": vars(args),
        "files": written,
    }
    (out / "sample_stats.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "prompt.json").write_text(json.dumps(prompt.record(), indent=2) + "\n", encoding="utf-8")
    width = max(len(n) for n in stats.available)
    for n in stats.available:
        print(
            f"{n:<{width}}  available {stats.available[n]:>7}  capped {stats.capped[n]:>7}  drawn {stats.drawn[n]:>6}"
        )
    print(f"wrote {len(records)} records: {', '.join(written)}")
    return 0


if __name__ == "__main__":
    run_cli(SampleArguments, main, logging.INFO)
