"""GPU benchmark: what one optimizer step of `sft.py` costs — TRL's `SFTTrainer` exactly as `sft.py` builds it — in
tokens/s, MFU and peak memory, for Qwen3-shaped models with random weights (no download).

    python bench/gpu/bench_sft_gpu.py [--recipe config/sft/qwen3-1.7b.yaml] [--shapes 0.6b 1.7b]
        [--lengths nercot 8k] [--variants padded padding_free padding_free+liger] [--grad_ckpt both|on|off]
        [--steps 8] [--warmup 3] [--peak_tflops 989] [--tokenizer PATH] [--out outputs/bench/sft_gpu.json]
        [--accelerate_config config/accelerate/zero3.yaml --num_processes 8] [--cpu_smoke] [recipe overrides ...]

One measurement = one fresh process that parses its arguments as `sft.py` does —
`TrlParser((SFTScriptArguments, SFTConfig, ModelConfig))` on `--config <recipe>` plus overrides: `--model_name_or_path`
(a random-weight Qwen3-shaped model of the public config of `--shapes`, saved to a temporary directory with the
tokenizer), `--dataset_path` (a synthetic NER-CoT-like file of the chosen length distribution), `--output_dir`,
`--max_steps warmup + steps`, `--save_strategy no`, `--report_to none`, the variant's flags and any extra recipe
overrides given here — builds the trainer with `reasoning_ner.training.build_sft_trainer`, and trains. A
`TrainerCallback` records the wall time of every optimizer step (CUDA-synchronised, end to end: collation, forward,
backward, optimizer, logging); a wrapper around the trainer's `training_step` records the real sequence lengths of
every micro-batch. The first `--warmup` steps are not counted.

Variants, all recipe flags:

* `padded`: `--padding_free false --attn_implementation sdpa --use_liger_kernel false` (micro-batches padded to their
  longest sequence);
* `padding_free`: `--padding_free true --attn_implementation flash_attention_2 --use_liger_kernel false` (each
  micro-batch one flattened row, FlashAttention-2 varlen; needs flash-attn, skipped without it);
* `padding_free+liger`: the same with `--use_liger_kernel true` — the paper recipes' setting. TRL 1.16 applies Liger's
  layer kernels (RMSNorm, RoPE, SwiGLU) and computes the loss with its own chunked LM head: Liger's fused linear
  cross-entropy is refused (skipped without liger-kernel);
* each with `--gradient_checkpointing true` and `false` (`--grad_ckpt`).

Lengths (`--lengths`): `nercot` — conversations log-normal around 650 tokens (σ 0.45, clipped to [128, 4096]; an
assumption, the same as `python -m reasoning_ner.estimate`'s 650 tokens per example), at the recipe's batch;
`8k` — every conversation 8,192 tokens, 2 per micro-batch and no accumulation (16,384 tokens per step). Recipe keys
given after the benchmark's own flags override either.

Reported per measurement: tokens/s (real tokens, all processes), MFU = tokens/s × FLOPs per token ÷ (peak × processes)
with FLOPs per token from `reasoning_ner.estimate.flops_per_token` — 6·N + 6·L·d·s̄, N the matmul weights, s̄ the
token-weighted mean length of the trained sequences; padding and recomputation are waste, not counted —, peak memory
(`torch.cuda.max_memory_allocated`), the median step time and the padding share. Peak: `--peak_tflops`, else the
datasheet dense bf16 figure of the GPU found (`reasoning_ner.estimate.GPUS`: H100/H200 989, A100/A800 312).

One process on one GPU by default (the Trainer's plain AdamW: bf16 weights and states, no ZeRO; memory is not that of
the 8-GPU ZeRO-3 run). `--accelerate_config config/accelerate/zero3.yaml --num_processes N` launches each measurement
with `accelerate launch`, as the recipes are run. The measured MFU is the `--mfu` of `python -m reasoning_ner.estimate`.

`--cpu_smoke`: the same code path on CPU with the tiny model of `reasoning_ner.tiny` (float32, sdpa, no Liger;
`padded` with gradient checkpointing and `padding_free` without, micro-batches of 4 with 2 accumulation steps,
1 warm-up + 1 timed step) — for the test suite.
Without CUDA and without `--cpu_smoke` it exits with an error. Not yet run on a GPU by this project (BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gpu_common as C  # noqa: E402

VARIANTS = {
    "padded": ["--padding_free", "false", "--attn_implementation", "sdpa", "--use_liger_kernel", "false"],
    "padding_free": [
        "--padding_free",
        "true",
        "--attn_implementation",
        "flash_attention_2",
        "--use_liger_kernel",
        "false",
    ],
    "padding_free+liger": [
        "--padding_free",
        "true",
        "--attn_implementation",
        "flash_attention_2",
        "--use_liger_kernel",
        "true",
    ],
}
LENGTH_FLAGS = {"nercot": [], "8k": ["--per_device_train_batch_size", "2", "--gradient_accumulation_steps", "1"]}
CPU_FLAGS = [
    "--use_cpu",
    "true",
    "--bf16",
    "false",
    "--dtype",
    "float32",
    "--attn_implementation",
    "sdpa",
    "--use_liger_kernel",
    "false",
]
SMOKE_BATCH = ["--per_device_train_batch_size", "4", "--gradient_accumulation_steps", "2"]  # small CPU steps
COMMON_FLAGS = ["--save_strategy", "no", "--report_to", "none", "--disable_tqdm", "true"]


# ----------------------------------------------------------------------------------------------------------------------
# One measurement (child process)


def seq_lengths(inputs) -> list[int]:
    """Real sequence lengths of a collated micro-batch: padded (`attention_mask`) or padding-free (`cu_seq_lens_q` /
    `position_ids` restarting at 0)."""
    if "attention_mask" in inputs:
        return [int(x) for x in inputs["attention_mask"].sum(-1).tolist()]
    if "cu_seq_lens_q" in inputs:
        return [int(x) for x in inputs["cu_seq_lens_q"].diff().tolist() if x > 0]
    if "position_ids" in inputs:
        pos = inputs["position_ids"][0].tolist()
        starts = [i for i, p in enumerate(pos) if p == 0] + [len(pos)]
        return [b - a for a, b in zip(starts, starts[1:]) if b > a]
    ids = inputs["input_ids"]
    return [ids.shape[1]] * ids.shape[0]


def child(spec: dict) -> dict:
    import torch
    from trl import ModelConfig, SFTConfig, TrlParser

    from reasoning_ner.estimate import ModelShape, flops_per_token
    from reasoning_ner.training import build_sft_trainer
    from sft import SFTScriptArguments

    argv = ["--config", spec["recipe"], *spec["flags"]]
    script_args, training_args, model_args = TrlParser(
        (SFTScriptArguments, SFTConfig, ModelConfig)
    ).parse_args_and_config(argv)
    timer = C.step_timer()
    trainer, _, _ = build_sft_trainer(script_args, training_args, model_args, callbacks=[timer])
    original = trainer.training_step

    def training_step(model, inputs, num_items_in_batch=None):
        timer.extend("lengths", seq_lengths(inputs))
        timer.add("padded_tokens", int(inputs["input_ids"].numel()))
        return original(model, inputs, num_items_in_batch)

    trainer.training_step = training_step
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    trainer.train()
    timed = timer.steps[spec["warmup"] :]
    if not timed:
        raise RuntimeError(f"no timed step: {len(timer.steps)} steps ran, warm-up {spec['warmup']}")
    lengths = [s for st in timed for s in st.get("lengths", [])]
    wall = sum(st["step_s"] for st in timed)
    tokens, sq, padded = C.reduce_sum(
        trainer,
        [float(sum(lengths)), float(sum(s * s for s in lengths)), float(sum(st["padded_tokens"] for st in timed))],
    )
    shape = ModelShape.from_config(trainer.model.config)
    s_bar = sq / tokens
    flops = tokens * flops_per_token(shape, s_bar, training=True)
    nproc = trainer.accelerator.num_processes
    peak = spec.get("peak_tflops")
    return {
        "shape": spec["shape"],
        "lengths": spec["lengths"],
        "variant": spec["variant"],
        "grad_ckpt": spec["grad_ckpt"],
        "processes": nproc,
        "timed_steps": len(timed),
        "tokens": int(tokens),
        "s_bar": round(s_bar, 1),
        "mean_length": round(statistics.mean(lengths), 1),
        "padding_share": round(1 - tokens / padded, 4) if padded else 0.0,
        "tokens_per_s": round(tokens / wall, 1),
        "mfu": round(flops / wall / (peak * 1e12 * nproc), 4) if peak else None,
        "peak_mem_gib": C.peak_memory_gib(),
        "step_s_median": round(statistics.median(st["step_s"] for st in timed), 4),
        "params": shape.total_params,
        "matmul_params": shape.matmul_params,
        "flops_per_token": flops_per_token(shape, s_bar, training=True),
        "recipe_flags": spec["flags"],
        "_main": trainer.accelerator.is_main_process,
    }


# ----------------------------------------------------------------------------------------------------------------------
# Orchestration


def recipe_batch(recipe: str, flags: list[str]) -> tuple[int, int]:
    """(per_device_train_batch_size, gradient_accumulation_steps) of the recipe after `flags` (the last flag wins)."""
    import yaml

    from reasoning_ner.estimate import stage_defaults

    cfg = {**stage_defaults("sft"), **(yaml.safe_load(Path(recipe).read_text()) or {})}
    for i, tok in enumerate(flags):
        key, _, value = tok[2:].partition("=")
        if key in ("per_device_train_batch_size", "gradient_accumulation_steps"):
            cfg[key] = value or flags[i + 1]
    return int(cfg["per_device_train_batch_size"]), int(cfg["gradient_accumulation_steps"])


def plan(a: argparse.Namespace) -> list[tuple[str, bool]]:
    if a.cpu_smoke:
        return [("padded", True), ("padding_free", False)]
    has_fa = importlib.util.find_spec("flash_attn") is not None
    has_liger = importlib.util.find_spec("liger_kernel") is not None
    ckpts = {"both": [False, True], "on": [True], "off": [False]}[a.grad_ckpt]
    out = []
    for v in a.variants:
        if v not in VARIANTS:
            raise SystemExit(f"error: unknown variant {v!r}; known: {list(VARIANTS)}")
        if v != "padded" and not has_fa:
            print(f"skipped {v}: flash-attn is not installed", file=sys.stderr)
            continue
        if v.endswith("+liger") and not has_liger:
            print(f"skipped {v}: liger-kernel is not installed", file=sys.stderr)
            continue
        out += [(v, c) for c in ckpts]
    return out


def summarize(results: list[dict]) -> dict[str, float]:
    print("\n| shape | lengths | variant | grad ckpt | tokens/s | MFU | peak GiB | step s | s̄ | padding |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        if "error" in r:
            print(f"| {r['shape']} | {r['lengths']} | {r['variant']} | {r['grad_ckpt']} | error | | | | | |")
            continue
        mfu = f"{100 * r['mfu']:.1f}%" if r["mfu"] is not None else "n/a"
        print(
            f"| {r['shape']} | {r['lengths']} | {r['variant']} | {r['grad_ckpt']} | {r['tokens_per_s']:,.0f} | {mfu} | "
            f"{r['peak_mem_gib'] if r['peak_mem_gib'] is not None else 'n/a'} | {r['step_s_median']} | {r['s_bar']:,.0f} | {100 * r['padding_share']:.0f}% |"
        )
    ratios = {}
    ok = [r for r in results if "error" not in r]
    for r in ok:
        base = next(
            (
                b
                for b in ok
                if b["variant"] == "padded"
                and (b["shape"], b["lengths"], b["grad_ckpt"]) == (r["shape"], r["lengths"], r["grad_ckpt"])
            ),
            None,
        )
        if base and r["variant"] != "padded":
            key = f"{r['shape']}/{r['lengths']}/ckpt={r['grad_ckpt']}: {r['variant']} vs padded"
            ratios[key] = round(r["tokens_per_s"] / base["tokens_per_s"], 2)
    for k, v in ratios.items():
        print(f"{k}: {v}x")
    return ratios


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--recipe", default="config/sft/qwen3-1.7b.yaml")
    p.add_argument("--shapes", nargs="+", default=["0.6b", "1.7b"], help="Qwen3 sizes: 0.6b 1.7b 4b 8b")
    p.add_argument("--lengths", nargs="+", default=["nercot", "8k"])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS))
    p.add_argument("--grad_ckpt", default="both", choices=["both", "on", "off"])
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--peak_tflops", type=float, default=None)
    p.add_argument("--tokenizer", default=None, help="a real tokenizer directory (default: the offline BPE one)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="outputs/bench/sft_gpu.json")
    p.add_argument("--accelerate_config", default=None, help="launch each measurement with accelerate (e.g. ZeRO-3)")
    p.add_argument("--num_processes", type=int, default=1)
    p.add_argument("--cpu_smoke", action="store_true", help="CPU, tiny model, 1+1 steps: the code path, no figures")
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)  # child: a JSON spec
    a, extra = p.parse_known_args(argv)
    if a.one:
        spec = json.loads(a.one)
        C.require_device(spec.get("cpu_smoke", False), "bench_sft_gpu.py")
        r = child(spec)
        if r.pop("_main"):
            print(C.RESULT + json.dumps(r), flush=True)
        return 0
    C.require_device(a.cpu_smoke, "bench_sft_gpu.py")
    if a.cpu_smoke:
        a.shapes, a.lengths, a.steps, a.warmup = ["tiny"], ["nercot"], 1, 1
    peak = C.peak_tflops(a.peak_tflops, a.cpu_smoke)
    recipe = str((C.ROOT / a.recipe) if not Path(a.recipe).exists() else Path(a.recipe))
    runs = plan(a)
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench_sft_gpu_") as tmp:
        work = Path(tmp)
        tokenizer = C.build_tokenizer(a.tokenizer)
        for shape in a.shapes:
            model_dir = (
                C.build_tiny_model(work / "tiny")
                if shape == "tiny"
                else C.build_random_qwen3(shape, work / f"qwen3-{shape}", tokenizer)
            )
            tok = tokenizer if shape != "tiny" else C.build_tokenizer(str(model_dir))
            for dist in a.lengths:
                flags_len = LENGTH_FLAGS.get(dist, []) + (SMOKE_BATCH if a.cpu_smoke else []) + extra
                b, ga = recipe_batch(recipe, flags_len)
                n = (a.warmup + a.steps) * b * ga * a.num_processes
                data = work / f"{shape}-{dist}.jsonl"
                actual = C.write_sft_data(data, C.target_lengths(dist, n, a.seed), tok)
                print(
                    f"data {data.name}: {len(actual)} conversations, mean {sum(actual) / len(actual):,.0f} tokens, "
                    f"max {max(actual):,}",
                    flush=True,
                )
                for k, (variant, ckpt) in enumerate(runs):
                    flags = ["--model_name_or_path", str(model_dir), "--dataset_path", str(data)]
                    flags += ["--output_dir", str(work / f"run-{shape}-{dist}-{k}")]
                    flags += ["--max_steps", str(a.warmup + a.steps), *COMMON_FLAGS]
                    flags += VARIANTS[variant] + ["--gradient_checkpointing", str(ckpt).lower()]
                    flags += CPU_FLAGS if a.cpu_smoke else []
                    flags += flags_len
                    spec = {
                        "recipe": recipe,
                        "flags": flags,
                        "shape": shape,
                        "lengths": dist,
                        "variant": variant,
                        "grad_ckpt": ckpt,
                        "warmup": a.warmup,
                        "peak_tflops": peak,
                        "cpu_smoke": a.cpu_smoke,
                    }
                    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", json.dumps(spec)]
                    if a.accelerate_config:
                        cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", a.accelerate_config]
                        cmd += ["--num_processes", str(a.num_processes), str(Path(__file__).resolve())]
                        cmd += ["--one", json.dumps(spec)]
                    r = C.run_child(cmd)
                    if "error" in r:
                        r = {"shape": shape, "lengths": dist, "variant": variant, "grad_ckpt": ckpt, **r}
                    results.append(r)
                    print(json.dumps({k2: v for k2, v in r.items() if k2 != "recipe_flags"}), flush=True)
    ratios = summarize(results)
    report = {
        **C.versions(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "recipe": a.recipe,
        "cpu_smoke": a.cpu_smoke,
        "peak_tflops": peak,
        "steps": a.steps,
        "warmup": a.warmup,
        "results": results,
        "ratios": ratios,
    }
    print(f"report: {C.write_report(a.out, report)}")
    return 1 if any("error" in r for r in results) and a.cpu_smoke else 0


if __name__ == "__main__":
    sys.exit(main())
