"""Zero-shot evaluation: score completions on the InstructUIE test sets.

Scoring saved completions (no model needed):

    python evaluate.py --predictions_file preds.jsonl --base_path ../shared/ner-data \
        --dataset_config config/dataset/cross_ner.json --result_file results.json [--protocol paper]

`preds.jsonl` holds one `{"dataset", "index", "completion"}` line per test example. The result file is a JSON list
with one row per dataset (P/R/F1 in percent, counts, per-type scores, parse statuses) and an `Average` row (plain
mean of the per-dataset F1); a Markdown table is printed. Protocols: `paper` reproduces the reference implementation,
`default` adds the alias map, keeps and reports gold types missing from labels.json, and parses leniently (README).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

from reasoning_ner.data import DataError, load_dataset_config
from reasoning_ner.evaluation import score_predictions, write_result
from reasoning_ner.metrics import get_protocol, markdown_table
from reasoning_ner.paths import CONFIG_DIR, ner_data_dir


@dataclass
class EvalArguments:
    predictions_file: str | None = field(default=None, metadata={"help": "JSONL of {dataset, index, completion}."})
    base_path: str = field(default=str(ner_data_dir()), metadata={"help": "Folder of InstructUIE datasets."})
    dataset_config: str = field(default=str(CONFIG_DIR / "dataset" / "cross_ner.json"))
    result_file: str = field(default="outputs/eval/result.json")
    protocol: str = field(default="default", metadata={"help": "default or paper."})
    split: str = field(default="test")
    alias_file: str | None = field(
        default=None, metadata={"help": "Alias map (default protocol); default: config/labels/aliases.yaml."}
    )
    keep_uninformative: bool = field(
        default=False, metadata={"help": "Default protocol: keep misc/else/... gold types."}
    )


def main(args: EvalArguments) -> int:
    if not args.predictions_file:
        print("error: --predictions_file is required (generation backends: see the README)", file=sys.stderr)
        return 2
    try:
        names = load_dataset_config(args.dataset_config)
        if args.protocol == "paper":
            protocol = get_protocol("paper")
        else:
            protocol = get_protocol(args.protocol, args.alias_file, not args.keep_uninformative)
        scores = score_predictions(args.base_path, names, args.predictions_file, protocol, args.split)
    except (DataError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows = write_result(scores, args.result_file)
    print(markdown_table(rows))
    for s in scores:
        if s.unknown_gold_types:
            print(f"note: {s.dataset}: gold types not in labels.json were kept: {dict(s.unknown_gold_types)}")
    print(f"protocol: {protocol.name}; result written to {Path(args.result_file)}")
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from trl import TrlParser

    (eval_args,) = TrlParser(EvalArguments).parse_args_and_config()
    sys.exit(main(eval_args))
