"""GPU benchmark: what a GRPO step of `grpo.py` costs — TRL's `GRPOTrainer` exactly as `grpo.py` builds it — split into
generation and update, for a Qwen3-shaped model with random weights (no download), on ONE GPU with vLLM colocated.

    python bench/gpu/bench_grpo_gpu.py [--recipe config/grpo/qwen3-1.7b.yaml] [--shape 1.7b] [--rounds 2]
        [--warmup_rounds 1] [--vllm_gpu_memory_utilization 0.3] [--peak_tflops 989] [--tokenizer PATH]
        [--out outputs/bench/grpo_gpu.json] [--cpu_smoke] [recipe overrides, e.g. --max_completion_length 1024]

One measurement = one fresh process that parses its arguments as `grpo.py` does —
`TrlParser((GRPOScriptArguments, GRPOConfig, ModelConfig))` on `--config <recipe>` plus `--model_name_or_path` (a
random-weight Qwen3-shaped model of the public config of `--shape`, saved with the tokenizer to a temporary
directory), `--dataset_path` (GRPO records in `sample_grpo.py`'s format built from the bundled sample sentences),
`--output_dir`, `--save_strategy no`, `--report_to none`, and `--vllm_mode colocate --vllm_gpu_memory_utilization X`:
the paper's recipes generate on a separate vLLM server GPU (`server` mode); on one GPU the engine shares the device
with the trainer instead (TRL's colocate mode), so generation here runs with a fraction of the GPU's memory for its KV
cache — then builds the trainer with `reasoning_ner.training.build_grpo_trainer` and trains
`(warmup_rounds + rounds) × num_iterations × steps_per_generation / gradient_accumulation_steps` optimizer steps, i.e.
whole generation rounds. Timing:

* a `TrainerCallback` records the wall time of every optimizer step (CUDA-synchronised, end to end);
* wrappers around the trainer's `_generate` (the generation itself: weight sync into vLLM and vLLM's generate) and
  `_generate_and_score_completions` (generation + rewards + the old-policy and reference log-probs, forward passes on
  the training GPU) record their wall time and the real prompt and completion lengths of every sequence.

Per round: generation s; scoring s (the forward passes and rewards: `_generate_and_score_completions` minus
`_generate`); update s (the steps' wall time minus `_generate_and_score_completions`); generation tokens/s = completion
tokens / generation s; update tokens/s = sequence tokens × num_iterations / update s; update MFU = the FLOPs the
estimator counts for the update — per sequence token num_iterations × (6N + 6·L·d·s̄) plus 2N + 2·L·d·s̄ for the old
log-probs when TRL computes them and again for the reference model when beta ≠ 0, from
`reasoning_ner.estimate.flops_per_token` — ÷ (scoring s + update s) ÷ peak. These are the `--gen_tokens_per_s` and
`--mfu` of `python -m reasoning_ner.estimate` for a GRPO recipe (generation measured colocated, with
`vllm_gpu_memory_utilization` of the memory, is a lower bound for a dedicated server GPU). A random-weight model
rarely ends a completion early: completions run to `max_completion_length`, the worst case.

`--cpu_smoke`: the same code path on CPU with the tiny model of `reasoning_ner.tiny` — float32, sdpa, and
`use_vllm: false` (generation with transformers: vLLM's CPU engine is exercised by the test suite elsewhere),
16 completions of at most 32 tokens per round, 1 timed round — for the test suite. Without CUDA and without
`--cpu_smoke` it exits with an error. Not yet run on a GPU by this project (BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gpu_common as C  # noqa: E402

COMMON_FLAGS = ["--save_strategy", "no", "--report_to", "none", "--disable_tqdm", "true", "--log_completions", "false"]
CPU_FLAGS = [
    "--use_cpu",
    "true",
    "--bf16",
    "false",
    "--dtype",
    "float32",
    "--attn_implementation",
    "sdpa",
    "--use_vllm",
    "false",
    "--per_device_train_batch_size",
    "16",
    "--gradient_accumulation_steps",
    "1",
    "--max_completion_length",
    "32",
]


def child(spec: dict) -> dict:
    import torch
    from trl import GRPOConfig, ModelConfig, TrlParser

    from grpo import GRPOScriptArguments
    from reasoning_ner.estimate import ModelShape, flops_per_token, token_weighted_mean
    from reasoning_ner.training import build_grpo_trainer

    argv = ["--config", spec["recipe"], *spec["flags"]]
    script_args, training_args, model_args = TrlParser(
        (GRPOScriptArguments, GRPOConfig, ModelConfig)
    ).parse_args_and_config(argv)
    t = training_args
    steps_round = t.num_iterations * t.steps_per_generation / t.gradient_accumulation_steps
    warm_steps = math.ceil(spec["warmup_rounds"] * steps_round)
    t.max_steps = warm_steps + math.ceil(spec["rounds"] * steps_round)
    timer = C.step_timer()
    trainer, _, _ = build_grpo_trainer(script_args, t, model_args, callbacks=[timer])
    generate, generate_and_score = trainer._generate, trainer._generate_and_score_completions

    def timed_generate(prompts):
        C.sync()
        t0 = time.perf_counter()
        out = generate(prompts)
        C.sync()
        timer.add("gen_s", time.perf_counter() - t0)
        return out

    def timed_generate_and_score(inputs):
        C.sync()
        t0 = time.perf_counter()
        out = generate_and_score(inputs)
        C.sync()
        timer.add("gen_score_s", time.perf_counter() - t0)
        pm, cm = out["prompt_mask"], out["completion_mask"]
        timer.add("rounds", 1)
        timer.add("completion_tokens", int(cm.sum()))
        timer.add("prompt_tokens", int(pm.sum()))
        timer.add("padded_tokens", int(pm.numel() + cm.numel()))
        timer.extend("seq_lengths", [int(x) for x in (pm.sum(1) + cm.sum(1)).tolist()])
        return out

    trainer._generate = timed_generate
    trainer._generate_and_score_completions = timed_generate_and_score
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    trainer.train()
    timed = timer.steps[warm_steps:]
    if not timed or not any(st.get("rounds") for st in timed):
        raise RuntimeError(f"no timed round: {len(timer.steps)} steps ran, {warm_steps} of warm-up")
    tot = lambda k: sum(st.get(k, 0) for st in timed)  # noqa: E731
    rounds = tot("rounds")
    gen_s, gen_score_s, wall = tot("gen_s"), tot("gen_score_s"), tot("step_s")
    score_s, update_s = gen_score_s - gen_s, wall - gen_score_s
    lengths = [s for st in timed for s in st.get("seq_lengths", [])]
    seq_tokens = sum(lengths)
    s_bar = token_weighted_mean(lengths)
    shape = ModelShape.from_config(trainer.model.config)
    iters = t.num_iterations
    old_logps = t.gradient_accumulation_steps % (t.steps_per_generation * iters) != 0 or (
        t.use_vllm and t.vllm_importance_sampling_correction
    )
    f_train, f_fwd = flops_per_token(shape, s_bar, True), flops_per_token(shape, s_bar, False)
    per_tok = iters * f_train + (f_fwd if old_logps else 0) + (f_fwd if t.beta else 0)
    peak = spec.get("peak_tflops")
    per_round = lambda x: round(x / rounds, 3)  # noqa: E731
    return {
        "shape": spec["shape"],
        "vllm": f"{t.vllm_mode} (gpu_memory_utilization {t.vllm_gpu_memory_utilization})" if t.use_vllm else "none",
        "generation_batch": t.generation_batch_size,
        "num_generations": t.num_generations,
        "num_iterations": iters,
        "optimizer_steps_per_round": steps_round,
        "max_completion_length": t.max_completion_length,
        "timed_rounds": rounds,
        "timed_steps": len(timed),
        "per_round": {
            "generation_s": per_round(gen_s),
            "scoring_s": per_round(score_s),
            "update_s": per_round(update_s),
            "total_s": per_round(wall),
        },
        "per_step": {
            "generation_s": round(gen_s / len(timed), 3),
            "update_s": round((score_s + update_s) / len(timed), 3),
        },
        "bottleneck": "generation" if gen_s > score_s + update_s else "update",
        "completion_tokens_per_round": per_round(tot("completion_tokens")),
        "mean_completion_tokens": round(tot("completion_tokens") / len(lengths), 1),
        "mean_prompt_tokens": round(tot("prompt_tokens") / len(lengths), 1),
        "padding_share": round(1 - seq_tokens / tot("padded_tokens"), 4),
        "generation_tokens_per_s": round(tot("completion_tokens") / gen_s, 1),
        "update_tokens_per_s": round(seq_tokens * iters / update_s, 1),
        "update_flops_per_token": per_tok,
        "old_logps_forward": bool(old_logps),
        "reference_forward": bool(t.beta),
        "update_mfu": round(seq_tokens * per_tok / (score_s + update_s) / (peak * 1e12), 4) if peak else None,
        "peak_mem_gib": C.peak_memory_gib(),
        "params": shape.total_params,
        "recipe_flags": spec["flags"],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--recipe", default="config/grpo/qwen3-1.7b.yaml")
    p.add_argument("--shape", default="1.7b", help="Qwen3 size: 0.6b 1.7b 4b 8b")
    p.add_argument("--rounds", type=int, default=2, help="timed generation rounds")
    p.add_argument("--warmup_rounds", type=int, default=1)
    p.add_argument("--vllm_gpu_memory_utilization", type=float, default=0.3, help="vLLM's share of the GPU (colocate)")
    p.add_argument("--peak_tflops", type=float, default=None)
    p.add_argument("--tokenizer", default=None, help="a real tokenizer directory (default: the offline BPE one)")
    p.add_argument("--out", default="outputs/bench/grpo_gpu.json")
    p.add_argument("--cpu_smoke", action="store_true", help="CPU, tiny model, no vLLM, 1 round: the code path")
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)  # child: a JSON spec
    a, extra = p.parse_known_args(argv)
    if a.one:
        spec = json.loads(a.one)
        C.require_device(spec.get("cpu_smoke", False), "bench_grpo_gpu.py")
        print(C.RESULT + json.dumps(child(spec)), flush=True)
        return 0
    C.require_device(a.cpu_smoke, "bench_grpo_gpu.py")
    if a.cpu_smoke:
        a.shape, a.rounds, a.warmup_rounds = "tiny", 1, 0
    peak = C.peak_tflops(a.peak_tflops, a.cpu_smoke)
    recipe = str((C.ROOT / a.recipe) if not Path(a.recipe).exists() else Path(a.recipe))
    with tempfile.TemporaryDirectory(prefix="bench_grpo_gpu_") as tmp:
        work = Path(tmp)
        if a.shape == "tiny":
            model_dir = C.build_tiny_model(work / "tiny")
        else:
            model_dir = C.build_random_qwen3(a.shape, work / f"qwen3-{a.shape}", C.build_tokenizer(a.tokenizer))
        data = work / "train.jsonl"
        C.write_grpo_data(data)
        flags = ["--model_name_or_path", str(model_dir), "--dataset_path", str(data), "--output_dir", str(work / "run")]
        flags += COMMON_FLAGS
        if a.cpu_smoke:
            flags += CPU_FLAGS
        else:
            flags += ["--use_vllm", "true", "--vllm_mode", "colocate"]
            flags += ["--vllm_gpu_memory_utilization", str(a.vllm_gpu_memory_utilization)]
        flags += extra
        spec = {
            "recipe": recipe,
            "flags": flags,
            "shape": a.shape,
            "rounds": a.rounds,
            "warmup_rounds": a.warmup_rounds,
            "peak_tflops": peak,
            "cpu_smoke": a.cpu_smoke,
        }
        r = C.run_child([sys.executable, str(Path(__file__).resolve()), "--one", json.dumps(spec)])
    if "error" in r:
        print(f"error: the measurement failed: {r['error']}", file=sys.stderr)
    else:
        pr, ps = r["per_round"], r["per_step"]
        mfu = f"{100 * r['update_mfu']:.1f}%" if r["update_mfu"] is not None else "n/a"
        print(
            f"\nGRPO ({r['shape']}, vLLM {r['vllm']}): {r['generation_batch']} completions per round "
            f"({r['mean_completion_tokens']:,.0f} tokens on average of {r['max_completion_length']}), "
            f"{r['optimizer_steps_per_round']:g} optimizer steps per round\n"
            "| per round | generation s | scoring s | update s | total s |\n|---|---:|---:|---:|---:|\n"
            f"| | {pr['generation_s']} | {pr['scoring_s']} | {pr['update_s']} | {pr['total_s']} |\n"
            f"per optimizer step: generation {ps['generation_s']} s vs update {ps['update_s']} s "
            f"(bottleneck: {r['bottleneck']}); generation {r['generation_tokens_per_s']:,.0f} tokens/s, update "
            f"{r['update_tokens_per_s']:,.0f} tokens/s, update MFU {mfu}, peak memory {r['peak_mem_gib']} GiB"
        )
    report = {
        **C.versions(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "recipe": a.recipe,
        "cpu_smoke": a.cpu_smoke,
        "peak_tflops": peak,
        "result": r,
    }
    print(f"report: {C.write_report(a.out, report)}")
    return 1 if "error" in r else 0


if __name__ == "__main__":
    sys.exit(main())
