"""scripts/serve_vllm.sh: the command line and VLLM_* environment it hands to Python on a GPU and on a CPU machine
(checked with vLLM's own server parser, against a stub python), its refusals and usage error, and its default context
against the GRPO recipes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from helpers.common import ROOT, base_env, read_yaml, run

SCRIPTS = ROOT / "scripts"
GRPO_DIR = ROOT / "config" / "grpo"
SIZES = ["qwen3-8b", "qwen3-1.7b"]


def test_vllm_context_matches_the_grpo_recipes():
    """serve_vllm.sh's default context = the recipes' prompt + completion budget (2048 + 4096)."""
    text = (SCRIPTS / "serve_vllm.sh").read_text()
    default = int(re.search(r'MAX_MODEL_LEN="\$\{MAX_MODEL_LEN:-(\d+)\}"', text).group(1))
    for size in SIZES:
        data = read_yaml(GRPO_DIR / f"{size}.yaml")
        assert data["max_prompt_length"] + data["max_completion_length"] == default == 6144
        assert data["vllm_server_port"] == 8000


def _serve(tmp_path: Path, *args: str, cuda: bool = True, **env: str):
    """What serve_vllm.sh hands to Python (a stub that prints it): argv, the VLLM_* environment, stderr."""
    stub = tmp_path / "python"
    stub.write_text(
        '#!/usr/bin/env bash\nif [[ "$1" == -c ]]; then [[ "$2" != *cuda* ]] || echo "$STUB_CUDA"; exit 0; fi\n'
        'env | grep "^VLLM_" | sort\nprintf "%s\\n" "$@"\n'
    )
    stub.chmod(0o755)
    base = {k: v for k, v in os.environ.items() if not k.startswith("VLLM_") and k not in ("TRL", "HOST")}
    env = {**base, **env, "PYTHON": str(stub), "STUB_CUDA": "1" if cuda else "0"}
    r = run(["bash", SCRIPTS / "serve_vllm.sh", *args], env=env, timeout=30, check=False)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    environ = dict(line.split("=", 1) for line in lines if line.startswith("VLLM_"))
    return [line for line in lines if not line.startswith("VLLM_")], environ, r.stderr


def _parse_vllm(argv: list[str]):
    """vLLM's own server parser: a flag it does not know fails here."""
    from vllm.entrypoints.launchers.cli_args import make_arg_parser
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    assert argv[:2] == ["-m", "vllm.entrypoints.openai.api_server"]
    return make_arg_parser(FlexibleArgumentParser()).parse_args(argv[2:])


@pytest.mark.slow
def test_serve_vllm_gpu_command(tmp_path):
    argv, environ, err = _serve(tmp_path, "outputs/sft/qwen3-8b")
    args = _parse_vllm(argv)
    assert environ == {"VLLM_SERVER_DEV_MODE": "1"}
    assert (args.model, args.host, args.port, args.tensor_parallel_size, args.data_parallel_size) == (
        "outputs/sft/qwen3-8b",
        "127.0.0.1",
        8000,
        1,
        1,
    )
    assert args.max_model_len == 6144 and args.dtype == "bfloat16" and args.gpu_memory_utilization == 0.9
    assert args.weight_transfer_config.backend == "nccl"
    assert args.logprobs_mode == "processed_logprobs" and args.max_logprobs == -1
    assert "warning" not in err


@pytest.mark.slow
def test_serve_vllm_cpu_command_env_and_extra_args(tmp_path):
    argv, environ, err = _serve(
        tmp_path,
        "m",
        "--max-model-len",
        "8192",
        "--max-num-seqs",
        "64",
        cuda=False,
        TP="2",
        PORT="8123",
        HOST="0.0.0.0",
    )
    args = _parse_vllm(argv)
    assert environ == {"VLLM_SERVER_DEV_MODE": "1", "VLLM_HOST_IP": "127.0.0.1", "VLLM_CPU_KVCACHE_SPACE": "1"}
    assert args.weight_transfer_config.backend == "gloo" and args.dtype == "float32"
    assert "--gpu-memory-utilization" not in argv
    assert (args.tensor_parallel_size, args.port, args.host) == (2, 8123, "0.0.0.0")
    assert args.max_model_len == 8192 and args.max_num_seqs == 64  # extra args come last and win
    assert "warning: HOST=0.0.0.0" in err and "weight" in err  # binding beyond loopback is said out loud


@pytest.mark.slow
def test_serve_vllm_refuses_the_old_trl_knob_and_adapters(tmp_path):
    r = run(["bash", SCRIPTS / "serve_vllm.sh", "m"], env=base_env(TRL="trl"), timeout=30, check=False)
    assert r.returncode == 2 and "PYTHON" in r.stderr
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    r = run(["bash", SCRIPTS / "serve_vllm.sh", adapter], check=False)
    assert r.returncode != 0 and f"python -m reasoning_ner.lora merge {adapter}" in r.stderr


@pytest.mark.slow
def test_serve_vllm_usage_error(tmp_path):
    r = run(["bash", SCRIPTS / "serve_vllm.sh"], timeout=30, check=False)
    assert r.returncode == 2 and "usage" in r.stderr
