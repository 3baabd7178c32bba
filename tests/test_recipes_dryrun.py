"""Every paper recipe runs on CPU: `scripts/dryrun_recipe.py` runs each config/{sft,grpo}/qwen3-*.yaml for a couple
of optimizer steps with the tiny model, overriding only what config/dryrun/cpu.yaml lists (the GPU-only settings), under
`accelerate launch` with ZeRO-3 over gloo. GRPO recipes generate with a real `scripts/serve_vllm.sh` server (the
paper's server mode), shared by both; the 1.7B GRPO run also evaluates, with the recipe's eval batch size."""

from __future__ import annotations

import json
import sys

import pytest
import yaml
from helpers.common import ROOT, base_env, run

RECIPES = ["sft/qwen3-8b", "sft/qwen3-1.7b", "grpo/qwen3-8b", "grpo/qwen3-1.7b"]


def test_override_file_lists_only_gpu_only_and_plumbing_keys():
    spec = yaml.safe_load((ROOT / "config" / "dryrun" / "cpu.yaml").read_text())
    keys = set(spec["all"]) | set(spec["sft"]) | set(spec["grpo"])
    allowed = {"model_name_or_path", "dtype", "bf16", "use_cpu", "attn_implementation", "output_dir", "max_steps"}
    allowed |= {"report_to", "use_liger_kernel", "dataset_path", "vllm_server_port", "vllm_server_timeout"}
    assert keys == allowed  # widening this set means a recipe setting is no longer exercised: say why in cpu.yaml


@pytest.fixture(scope="module")
def tiny_for_recipes(tmp_path_factory):
    from reasoning_ner.tiny import build_tiny

    return build_tiny(tmp_path_factory.mktemp("dryrun") / "tiny")


@pytest.fixture(scope="module")
def recipe_server(tiny_for_recipes, tmp_path_factory):
    """scripts/serve_vllm.sh on the tiny model, as a user starts it (PORT set; gloo weight transfer on CPU)."""
    from reasoning_ner.serving import running_server

    serve = ["bash", str(ROOT / "scripts" / "serve_vllm.sh"), str(tiny_for_recipes)]
    log = tmp_path_factory.mktemp("dryrun_server") / "server.log"
    with running_server(lambda p: ["env", f"PORT={p}", *serve], log, base_env()) as port:
        yield port


@pytest.mark.slow
@pytest.mark.parametrize(
    "recipe", [pytest.param(r, marks=[pytest.mark.vllm] if r.startswith("grpo") else []) for r in RECIPES]
)
def test_paper_recipe_dry_run(recipe, tiny_for_recipes, tmp_path, request):
    kind = recipe.split("/")[0]
    cmd = [sys.executable, "scripts/dryrun_recipe.py", f"config/{recipe}.yaml", "--model", tiny_for_recipes]
    cmd += ["--out", tmp_path]
    if kind == "grpo":  # one trainer process: the 2-process ZeRO-3 topology is proven by tests/test_server_mode.py
        cmd += ["--server_port", request.getfixturevalue("recipe_server"), "--processes", "1"]
        if recipe.endswith("1.7b"):
            cmd += ["--", "--eval_path", "{eval}", "--eval_strategy", "steps", "--eval_steps", "1"]
    r = run(cmd, timeout=1500, check=False)
    assert r.returncode == 0, f"{r.stdout[-3000:]}\n--- stderr\n{r.stderr[-8000:]}"
    state = json.loads((tmp_path / kind / "trainer_state.json").read_text())
    assert state["global_step"] == (2 if kind == "sft" else 1)
    logged = [h for h in state["log_history"] if "step" in h]
    if kind == "sft":
        assert any("loss" in h for h in logged)
        assert "all" in r.stderr and "examples fit in 8192 tokens" in r.stderr  # max_seq_length measured
    else:
        assert sum("rewards/f1_reward/mean" in h for h in logged) == 1
        assert "prompts fit in 2048 tokens" in r.stderr  # max_prompt_length measured
        if recipe.endswith("1.7b"):
            assert any("eval_reward" in h for h in state["log_history"])
