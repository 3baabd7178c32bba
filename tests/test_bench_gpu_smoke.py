"""The GPU benchmarks' code path on CPU (`--cpu_smoke`): SFTTrainer and GRPOTrainer built as `sft.py` / `grpo.py`
build them from the paper recipes, on the tiny model, a step or a round each — and their refusal without CUDA.
The GRPO smoke run generates with transformers (`use_vllm: false`): the GPU run's colocated vLLM engine is not
exercised here (vLLM on CPU is covered by tests/test_training.py and tests/test_colocate_sync.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from helpers.common import ROOT

pytestmark = pytest.mark.slow

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(ROOT)}
GPU = ROOT / "bench" / "gpu"


def run(script: str, *args, timeout: int = 300) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(GPU / script), *map(str, args)]
    return subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout)


def test_sft_bench_cpu_smoke(tmp_path):
    out = tmp_path / "sft.json"
    r = run("bench_sft_gpu.py", "--cpu_smoke", "--out", out)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:]
    report = json.loads(out.read_text())
    assert report["cpu_smoke"] and report["recipe"] == "config/sft/qwen3-1.7b.yaml"
    results = report["results"]
    assert [(x["variant"], x["grad_ckpt"]) for x in results] == [("padded", True), ("padding_free", False)]
    for x in results:
        assert "error" not in x, x
        assert x["timed_steps"] == 1 and x["tokens"] > 0 and x["tokens_per_s"] > 0
        assert x["mfu"] is None  # no peak on CPU
        # the recipe's own keys reached the trainer, the variant's flags after them
        assert "--padding_free" in x["recipe_flags"] and "--gradient_checkpointing" in x["recipe_flags"]
    padded, free = results
    assert padded["tokens"] == free["tokens"]  # the same data, the same sampler seed: the same sequences
    assert padded["padding_share"] > 0 and free["padding_share"] == 0
    assert "| tiny | nercot | padded | True |" in r.stdout


def test_grpo_bench_cpu_smoke(tmp_path):
    out = tmp_path / "grpo.json"
    r = run("bench_grpo_gpu.py", "--cpu_smoke", "--out", out)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:]
    x = json.loads(out.read_text())["result"]
    assert x["vllm"] == "none" and x["timed_rounds"] == 1
    # the 1.7B recipe's num_generations 16 and num_iterations 4: 16 completions per round, 4 optimizer steps
    assert (x["generation_batch"], x["num_generations"], x["num_iterations"]) == (16, 16, 4)
    assert x["timed_steps"] == 4 and x["optimizer_steps_per_round"] == 4
    assert 0 < x["mean_completion_tokens"] <= 32
    pr = x["per_round"]
    assert pr["generation_s"] > 0 and pr["scoring_s"] > 0 and pr["update_s"] > 0
    assert pr["total_s"] == pytest.approx(pr["generation_s"] + pr["scoring_s"] + pr["update_s"], abs=2e-3)
    assert x["generation_tokens_per_s"] > 0 and x["update_tokens_per_s"] > 0
    assert x["old_logps_forward"] and x["reference_forward"]  # the recipe's beta 0.04 and 4 iterations
    assert "per optimizer step: generation" in r.stdout


def test_gpu_benches_refuse_to_run_without_cuda():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is visible")
    for script in ("bench_sft_gpu.py", "bench_grpo_gpu.py"):
        r = run(script, timeout=120)
        assert r.returncode == 2 and "needs a CUDA GPU" in r.stderr, r.stderr[-2000:]
