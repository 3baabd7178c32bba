"""SFT data without reasoning, from annotated corpora, optionally a seeded subset (the paper's other experiments).

    # InstructUIE train sets -> NER-CoT records without `cot` (supervised setting; at most 10,000 per dataset)
    python make_sft_data.py --base_path IE_INSTRUCTIONS/NER --dataset_config config/dataset/in_domain.json \\
        --count 10000 --seed 42 --output data/supervised/train.jsonl
    # 1 % of one dataset's train split, seed 1 (low-resource); --format instructuie writes the subset as a dataset folder
    python make_sft_data.py --base_path IE_INSTRUCTIONS/NER --datasets "CoNLL 2003" --fraction 0.01 --seed 1 \\
        --output data/low_resource/conll03-0.01-seed1.jsonl
    # any reader of reasoning_ner.formats: raw Pile-NER conversations (ablation), MultiCoNER / CoNLL files, ...
    python make_sft_data.py --input pile-ner.json --input_format uniner --output data/ablation/pile_ner_raw.jsonl

The records (`{"guid", "dataset", "sentence", "schema", "entities"}`, no `cot`) are read by `sft.py` as they are (the
target is the JSON answer alone) and by `generate_cot.py --input_format jsonl --hint true`, which adds reasoning
chains written with the gold annotation as hint. Schemas and gold types follow the label policy (`default`: alias map;
`paper`: lower-case only; uninformative types dropped either way); subsets are nested across sizes for one seed
(`reasoning_ner/sft_data.py`). Also writes `<output>.stats.json` (per dataset: available, kept; gold entities left
out).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from reasoning_ner.arguments import cli_errors, run_cli
from reasoning_ner.data import load_dataset_config


@dataclass
class MakeSftDataArguments:
    output: str = field(metadata={"help": "JSONL of NER-CoT records, or with --format instructuie a folder."})
    base_path: str | None = field(default=None, metadata={"help": "Folder of InstructUIE datasets."})
    dataset_config: str | None = field(default=None, metadata={"help": "JSON/YAML list of dataset folder names."})
    datasets: list[str] = field(default_factory=list, metadata={"help": "Dataset folder names (instead of a list)."})
    split: str = field(default="train", metadata={"help": "InstructUIE split to read."})
    input: str | None = field(default=None, metadata={"help": "One input file/folder read with --input_format."})
    input_format: str = field(default="uniner", metadata={"help": "uniner | conll | multiconer | bio | ner_cot | ..."})
    label_map: str | None = field(default=None, metadata={"help": "conll/bio/uniner: raw type -> type name (YAML)."})
    join: str = field(default="auto", metadata={"help": "conll: auto | space (how tokens become the sentence)."})
    dataset_name: str | None = field(default=None, metadata={"help": "--input: the records' `dataset` field."})
    fraction: float | None = field(default=None, metadata={"help": "Keep this share of each dataset (0-1]."})
    count: int | None = field(default=None, metadata={"help": "Keep at most this many examples per dataset."})
    seed: int = field(default=42, metadata={"help": "Seed of the subset (nested across sizes for one seed)."})
    label_policy: str = field(default="default", metadata={"help": "default (alias map) | paper (lower-case only)."})
    format: str = field(default="ner_cot", metadata={"help": "ner_cot (JSONL records) | instructuie (subset folders)."})


@cli_errors
def main(a: MakeSftDataArguments) -> int:
    from reasoning_ner import sft_data
    from reasoning_ner.labels import LabelPolicy

    policy = LabelPolicy.named(a.label_policy)
    if a.format not in ("ner_cot", "instructuie"):
        raise ValueError(f"--format must be ner_cot or instructuie, not {a.format!r}")
    names = list(a.datasets) + (load_dataset_config(a.dataset_config) if a.dataset_config else [])
    if bool(a.input) == bool(names):
        raise ValueError("give --input FILE (with --input_format) or --base_path with --datasets / --dataset_config")
    out = Path(a.output)
    if names:
        if not a.base_path:
            raise ValueError("--datasets / --dataset_config need --base_path")
        if a.format == "instructuie":
            from reasoning_ner.data import read_instructuie

            for name in names:
                n = len(read_instructuie(a.base_path, name, a.split, warn=False).examples)
                idx = sft_data.subset_indices(n, a.fraction, a.count, a.seed, name)
                sft_data.write_instructuie_subset(a.base_path, name, a.split, idx, out)
                print(f"{name}: {len(idx)} of {n} -> {out / name / (a.split + '.json')}")
            return 0
        examples, stats = sft_data.from_instructuie(a.base_path, names, a.split, policy, a.fraction, a.count, a.seed)
    else:
        if a.format == "instructuie":
            raise ValueError("--format instructuie takes InstructUIE folders (--base_path), not --input")
        from reasoning_ner.formats import ReadOptions

        opts = ReadOptions(split=a.split, label_map=a.label_map, join=a.join)
        examples, stats = sft_data.from_file(
            a.input, a.input_format, opts, policy, a.fraction, a.count, a.seed, a.dataset_name
        )
    if not examples:
        raise ValueError("no examples selected")
    n = sft_data.write_records(out, examples)
    summary = {
        "records": n,
        "entities": sum(len(ex.entities) for ex in examples),
        "per_dataset": {k: {"available": stats.available[k], "kept": stats.kept[k]} for k in stats.available},
        "dropped_gold": {f"{d}/{t}": c for (d, t), c in stats.dropped_gold.items()},
        "args": vars(a),
    }
    stats_path = out.with_name(out.name + ".stats.json")
    stats_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for k in stats.available:
        print(f"{k}: {stats.kept[k]} of {stats.available[k]}")
    print(f"wrote {n} records ({summary['entities']} entities) to {out}; stats: {stats_path}")
    return 0


if __name__ == "__main__":
    run_cli(MakeSftDataArguments, main, logging.WARNING)
