"""GPU benchmark: SFT training-step throughput, MFU and peak memory for Qwen3-0.6B- and Qwen3-1.7B-shaped models
(random weights, no download), side by side in one process.

    python bench/gpu/bench_sft_gpu.py [--shapes 0.6b 1.7b] [--tokens_per_step 16384] [--steps 8] [--warmup 3]
        [--peak_tflops 989] [--out outputs/bench/sft_gpu.json]

What one measurement is: `--warmup` untimed then `--steps` timed optimizer steps (forward, backward, AdamW, bf16
weights and activations, fused AdamW), each on a batch of about `--tokens_per_step` real tokens. Variants, all on the
same data:

* `padded`: the step's sequences padded to the longest in the batch, attention mask, SDPA attention;
* `padding_free`: the sequences concatenated into one row, `position_ids` restarting at each sequence, FlashAttention-2
  variable-length attention (`attn_implementation="flash_attention_2"`, needs the flash-attn package; skipped
  without it);
* `padding_free+liger`: the same with Liger kernels (RMSNorm, RoPE, SwiGLU, fused linear cross-entropy) applied by
  `liger_kernel.transformers.apply_liger_kernel_to_qwen3` (skipped without liger-kernel);
* each of the above with gradient checkpointing on and off (`--grad_ckpt both|on|off`).

Length distributions (`--lengths`): `nercot` — NER-CoT-like, log-normal around 650 tokens (σ 0.45, clipped to
[128, 4096]; the prompt + reasoning + answer lengths of the sample NER-CoT scaled to Qwen3's tokenizer — an
assumption, stated here), and `8k` — every sequence 8,192 tokens.

MFU = achieved model FLOP/s ÷ peak, with model FLOPs per trained token = 6·N + 6·L·d·s̄, where N is the number of
parameters in matmuls (all weights except the input embedding; the tied LM head counted once), L the layers,
d = heads × head_dim, and s̄ = Σ sᵢ² / Σ sᵢ the token-weighted mean sequence length (causal attention: QKᵀ and AV,
2·2·s²·d/2 FLOPs per layer forward, × 3 for forward + backward). Padding tokens and recomputation under gradient
checkpointing are not counted (they are waste). Peak: `--peak_tflops` (dense bf16; 989 for H100 SXM / H200).

Prints a Markdown table and the ratios (padding-free / padded, padding-free+liger / padded) per shape and length
distribution; writes the JSON report. Not yet run on a GPU by this project (see BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import math
import platform
import random
import sys
import time
from pathlib import Path

SHAPES = {  # Qwen3 configs (hidden, intermediate, layers, heads, kv heads, head_dim); vocab 151,936, tied embeddings
    "0.6b": dict(hidden_size=1024, intermediate_size=3072, num_hidden_layers=28, num_attention_heads=16),
    "1.7b": dict(hidden_size=2048, intermediate_size=6144, num_hidden_layers=28, num_attention_heads=16),
}


def qwen3(shape: str, attn: str):
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    cfg = Qwen3Config(
        vocab_size=151936,
        num_key_value_heads=8,
        head_dim=128,
        max_position_embeddings=40960,
        tie_word_embeddings=True,
        attn_implementation=attn,
        **SHAPES[shape],
    )
    with torch.device("cuda"):
        model = Qwen3ForCausalLM(cfg).to(torch.bfloat16)
    return model, cfg


def lengths(kind: str, tokens_per_step: int, rng: random.Random) -> list[int]:
    if kind == "8k":
        return [8192] * max(1, tokens_per_step // 8192)
    out, total = [], 0
    while total < tokens_per_step:
        s = int(min(4096, max(128, rng.lognormvariate(math.log(650), 0.45))))
        s = min(s, tokens_per_step - total) if total + s > tokens_per_step and out else s
        out.append(s)
        total += s
    return out


def model_flops_per_token(cfg, n_matmul: int, s_bar: float) -> float:
    d = cfg.num_attention_heads * cfg.head_dim
    return 6 * n_matmul + 6 * cfg.num_hidden_layers * d * s_bar


def step_inputs(lens: list[int], vocab: int, mode: str):
    import torch

    if mode == "padded":
        T = max(lens)
        ids = torch.zeros(len(lens), T, dtype=torch.long)
        mask = torch.zeros(len(lens), T, dtype=torch.long)
        for i, s in enumerate(lens):
            ids[i, :s] = torch.randint(0, vocab, (s,))
            mask[i, :s] = 1
        labels = ids.masked_fill(mask == 0, -100)
        return {"input_ids": ids.cuda(), "attention_mask": mask.cuda(), "labels": labels.cuda()}
    ids = torch.randint(0, vocab, (1, sum(lens)))
    pos = torch.cat([torch.arange(s) for s in lens]).unsqueeze(0)
    labels = ids.clone()
    starts = torch.tensor([0] + list(torch.cumsum(torch.tensor(lens), 0)[:-1]))
    labels[0, starts] = -100  # no target across a sequence boundary
    return {"input_ids": ids.cuda(), "position_ids": pos.cuda(), "labels": labels.cuda()}


def failed(shape: str, dist: str, mode: str, liger: bool, ckpt: bool, error: str) -> dict:
    return {
        "shape": shape,
        "lengths": dist,
        "variant": mode + ("+liger" if liger else ""),
        "grad_ckpt": ckpt,
        "error": error,
    }


def run_variant(shape, dist, mode, liger, ckpt, batches, args):
    import torch

    if liger:
        from liger_kernel.transformers import apply_liger_kernel_to_qwen3

        apply_liger_kernel_to_qwen3()
    attn = "sdpa" if mode == "padded" else "flash_attention_2"
    model, cfg = qwen3(shape, attn)
    if ckpt:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
    n_matmul = sum(p.numel() for n, p in model.named_parameters() if "embed_tokens" not in n)
    n_matmul += model.get_output_embeddings().weight.numel()  # the tied head is a matmul too
    torch.cuda.reset_peak_memory_stats()
    times, tokens, flops = [], 0, 0.0
    for i, lens in enumerate(batches[: args.warmup + args.steps]):
        inputs = step_inputs(lens, cfg.vocab_size, mode)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        loss = model(**inputs).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        if i >= args.warmup:
            times.append(time.perf_counter() - t0)
            tokens += sum(lens)
            s_bar = sum(s * s for s in lens) / sum(lens)
            flops += model_flops_per_token(cfg, n_matmul, s_bar) * sum(lens)
    wall = sum(times)
    res = {
        "shape": shape,
        "lengths": dist,
        "variant": mode + ("+liger" if liger else ""),
        "grad_ckpt": ckpt,
        "tokens_per_s": round(tokens / wall, 1),
        "mfu": round(flops / wall / (args.peak_tflops * 1e12), 4),
        "peak_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2),
        "step_s_median": round(sorted(times)[len(times) // 2], 4),
        "params": sum(p.numel() for p in model.parameters()),
    }
    del model, opt
    gc.collect()
    torch.cuda.empty_cache()
    return res


def main() -> int:
    import importlib.util

    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shapes", nargs="+", default=["0.6b", "1.7b"])
    p.add_argument("--lengths", nargs="+", default=["nercot", "8k"])
    p.add_argument("--tokens_per_step", type=int, default=16384)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--grad_ckpt", default="both", choices=["both", "on", "off"])
    p.add_argument("--peak_tflops", type=float, default=989.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="outputs/bench/sft_gpu.json")
    p.add_argument("--one", nargs=5, default=None, help=argparse.SUPPRESS)  # shape dist mode liger ckpt (child)
    a = p.parse_args()
    if not torch.cuda.is_available():
        print("error: needs a CUDA GPU", file=sys.stderr)
        return 2
    if a.one:  # one variant in a fresh process: Liger patches classes globally, and memory starts clean
        shape, dist, mode, liger, ckpt = a.one
        rng = random.Random(a.seed)
        batches = [lengths(dist, a.tokens_per_step, rng) for _ in range(a.warmup + a.steps)]
        try:
            r = run_variant(shape, dist, mode, liger == "1", ckpt == "1", batches, a)
        except torch.cuda.OutOfMemoryError:
            r = failed(shape, dist, mode, liger == "1", ckpt == "1", "out of memory")
        print("RESULT " + json.dumps(r), flush=True)
        return 0
    has_fa = importlib.util.find_spec("flash_attn") is not None
    has_liger = importlib.util.find_spec("liger_kernel") is not None
    variants = [("padded", False)]
    if has_fa:
        variants.append(("padding_free", False))
        if has_liger:
            variants.append(("padding_free", True))
    ckpts = {"both": [False, True], "on": [True], "off": [False]}[a.grad_ckpt]
    results, skipped = [], []
    if not has_fa:
        skipped.append("padding_free (flash-attn not installed)")
    if not has_liger:
        skipped.append("liger (liger-kernel not installed)")
    import subprocess

    for dist in a.lengths:
        for shape in a.shapes:
            for mode, liger in variants:
                for ckpt in ckpts:
                    cmd = [sys.executable, __file__, "--one", shape, dist, mode, str(int(liger)), str(int(ckpt))]
                    cmd += ["--tokens_per_step", str(a.tokens_per_step), "--steps", str(a.steps)]
                    cmd += ["--warmup", str(a.warmup), "--peak_tflops", str(a.peak_tflops), "--seed", str(a.seed)]
                    proc = subprocess.run(cmd, capture_output=True, text=True)
                    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
                    if line is None:
                        r = failed(shape, dist, mode, liger, ckpt, f"exit {proc.returncode}: {proc.stderr[-500:]}")
                    else:
                        r = json.loads(line[len("RESULT ") :])
                    results.append(r)
                    print(json.dumps(r), flush=True)
    print("\n| shape | lengths | variant | grad ckpt | tokens/s | MFU | peak GiB |\n|---|---|---|---|---:|---:|---:|")
    for r in results:
        if "error" in r:
            print(f"| {r['shape']} | {r['lengths']} | {r['variant']} | {r['grad_ckpt']} | {r['error']} | | |")
        else:
            print(
                f"| {r['shape']} | {r['lengths']} | {r['variant']} | {r['grad_ckpt']} | {r['tokens_per_s']} | "
                f"{100 * r['mfu']:.1f}% | {r['peak_mem_gib']} |"
            )
    ratios = {}
    for r in results:
        base = next(
            (
                b
                for b in results
                if b["variant"] == "padded"
                and "error" not in b
                and "error" not in r
                and (b["shape"], b["lengths"], b["grad_ckpt"]) == (r["shape"], r["lengths"], r["grad_ckpt"])
            ),
            None,
        )
        if base and r["variant"] != "padded":
            key = f"{r['shape']}/{r['lengths']}/ckpt={r['grad_ckpt']}: {r['variant']} vs padded"
            ratios[key] = round(r["tokens_per_s"] / base["tokens_per_s"], 2)
    for k, v in ratios.items():
        print(f"{k}: {v}x")
    report = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "gpu": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "peak_tflops": a.peak_tflops,
        "tokens_per_step": a.tokens_per_step,
        "skipped": skipped,
        "results": results,
        "ratios": ratios,
    }
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"report: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
