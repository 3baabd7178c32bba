"""Benchmark: NER-CoT → tokenized SFT training examples per second, through the path `sft.py` takes.

    python bench/bench_tokenize.py [--copies 20] [--num_proc 1 2]

Input: the bundled sample NER-CoT (`data/sample/ner_cot.jsonl`, 240 rows) repeated `--copies` times with fresh ids
(4,800 rows by default), written to a temporary JSONL. Two steps are timed separately:

1. read + convert: `reasoning_ner.training.load_sft_dataset` (read and validate the records, render the prompt and the
   `<think>` + JSON target as conversational prompt/completion pairs, build a `datasets.Dataset`);
2. tokenize: constructing TRL's `SFTTrainer` on that dataset with the tiny model (chat template applied, prompt and
   completion tokenized, completion mask built), minus the construction time of the same trainer on a 1-row dataset
   (model set-up and other constant costs), for each `--num_proc` (`dataset_num_proc`), side by side.

The tokenizer is the tiny model's (2,048-token BPE, Qwen3 chat template), so tokens per example differ from Qwen3's;
what is measured is the data pipeline's throughput on this machine. Writes `outputs/bench/tokenize.json`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, command_line, machine_info, save_report

SAMPLE = ROOT / "data" / "sample" / "ner_cot.jsonl"


def build_trainer(model: str, ds, out: Path, num_proc: int):
    from trl import ModelConfig, SFTConfig, SFTTrainer

    from reasoning_ner.training import load_tokenizer, set_sft_eos

    args = SFTConfig(
        output_dir=str(out),
        use_cpu=True,
        bf16=False,
        report_to="none",
        dataset_num_proc=num_proc,
        max_length=None,
        padding_free=False,
        disable_tqdm=True,
    )
    tokenizer = load_tokenizer(ModelConfig(model_name_or_path=model), args)
    set_sft_eos(tokenizer, args)  # the EOS choice of sft.py
    return SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tokenizer)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--copies", type=int, default=20)
    p.add_argument("--num_proc", type=int, nargs="+", default=[1, 2])
    p.add_argument("--out", default=str(ROOT / "outputs" / "bench" / "tokenize.json"))
    a = p.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.getLogger("transformers").setLevel(logging.ERROR)
    import datasets

    from reasoning_ner.tiny import build_tiny
    from reasoning_ner.training import load_sft_dataset

    datasets.disable_caching()
    datasets.disable_progress_bars()
    tmp = Path(tempfile.mkdtemp(prefix="bench_tok_"))
    model = str(build_tiny(tmp / "tiny"))
    rows = [json.loads(x) for x in SAMPLE.read_text().splitlines()]
    data = tmp / "ner_cot.jsonl"
    with data.open("w") as f:
        for c in range(a.copies):
            for r in rows:
                f.write(json.dumps(dict(r, guid=f"{r['guid']}-{c}"), ensure_ascii=False) + "\n")
    n = len(rows) * a.copies

    t0 = time.perf_counter()
    ds = load_sft_dataset([data])
    t_read = time.perf_counter() - t0
    results = {"read_convert": {"examples": n, "s": round(t_read, 3), "examples_per_s": round(n / t_read, 1)}}
    one = ds.select([0])
    for k in a.num_proc:
        t0 = time.perf_counter()
        build_trainer(model, one, tmp / "o1", k)
        t_const = time.perf_counter() - t0
        t0 = time.perf_counter()
        tr = build_trainer(model, ds, tmp / "o", k)
        t_all = time.perf_counter() - t0
        tokens = sum(len(x) for x in tr.train_dataset["input_ids"])
        t_tok = max(1e-9, t_all - t_const)
        results[f"tokenize_num_proc_{k}"] = {
            "examples": n,
            "s": round(t_tok, 3),
            "constant_s": round(t_const, 3),
            "examples_per_s": round(n / t_tok, 1),
            "tokens_per_s": round(tokens / t_tok, 1),
            "mean_tokens": round(tokens / n, 1),
        }
    print("| step | examples | s | examples/s | tokens/s |\n|---|---:|---:|---:|---:|")
    for k, r in results.items():
        print(f"| {k} | {r['examples']} | {r['s']} | {r['examples_per_s']} | {r.get('tokens_per_s', '')} |")
    save_report(
        a.out,
        {
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "command": command_line(),
            "machine": machine_info(),
            "results": results,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
