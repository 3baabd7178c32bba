"""Recipes and launchers: every training YAML parses into the installed TRL dataclasses with no unknown or removed
key, the qwen3 recipes hold the paper's numbers, the accelerate configs load, and the shell launchers are sound.

Fast (a few seconds): nothing is trained, no model is loaded; the Slurm launchers run against stub commands.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

SFT_DIR = ROOT / "config" / "sft"
GRPO_DIR = ROOT / "config" / "grpo"
ACC_DIR = ROOT / "config" / "accelerate"
SCRIPTS = ROOT / "scripts"

SFT_YAMLS = sorted(SFT_DIR.glob("*.yaml"))
GRPO_YAMLS = sorted(GRPO_DIR.glob("*.yaml"))
ACC_YAMLS = sorted(ACC_DIR.glob("*.yaml"))
SHELL_SCRIPTS = sorted([*SCRIPTS.rglob("*.sh"), *SCRIPTS.rglob("*.sbatch")])

SIZES = ["qwen3-8b", "qwen3-1.7b"]
# On a CPU-only machine TrainingArguments.__post_init__ refuses bf16 unless use_cpu is set. Overriding use_cpu (and
# nothing else) after --config keeps every recipe value, bf16 included, while letting __post_init__ run.
CPU_OVERRIDES = ["--use_cpu", "true"]


def _types(kind: str) -> tuple:
    from trl import GRPOConfig, ModelConfig, SFTConfig

    if kind == "sft":
        from sft import SFTScriptArguments

        return (SFTScriptArguments, SFTConfig, ModelConfig)
    from grpo import GRPOScriptArguments

    return (GRPOScriptArguments, GRPOConfig, ModelConfig)


def parse(kind: str, path: Path) -> tuple:
    """What `sft.py` / `grpo.py` get from `--config path`; raises on an unknown key (fail_with_unknown_args=True)."""
    from trl import TrlParser

    return TrlParser(_types(kind)).parse_args_and_config(args=["--config", str(path), *CPU_OVERRIDES])


def raw(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data


@pytest.fixture(autouse=True)
def _fresh_accelerate_state():
    """TrainingArguments initialises accelerate's process-wide state (on CPU here); leave none behind."""
    yield
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)


# --------------------------------------------------------------------------------------------------------------------
# Every recipe parses, with no unknown or removed key
# --------------------------------------------------------------------------------------------------------------------


def test_recipes_found():
    names = {p.name for p in SFT_YAMLS + GRPO_YAMLS}
    for size in SIZES:
        assert f"{size}.yaml" in {p.name for p in SFT_YAMLS}
        assert f"{size}.yaml" in {p.name for p in GRPO_YAMLS}
    assert "tiny-cpu.yaml" in names


@pytest.mark.parametrize(
    "kind,path",
    [("sft", p) for p in SFT_YAMLS] + [("grpo", p) for p in GRPO_YAMLS],
    ids=lambda v: v if isinstance(v, str) else f"{v.parent.name}/{v.name}",
)
def test_recipe_parses_with_no_unknown_key(kind, path):
    # Static check first: a clearer message than argparse's when a key is wrong.
    fields = {f.name for t in _types(kind) for f in dataclasses.fields(t)}
    unknown = sorted(set(raw(path)) - fields - {"env"})
    assert not unknown, f"{path.relative_to(ROOT)}: keys unknown to {[t.__name__ for t in _types(kind)]}: {unknown}"
    # The real thing: TrlParser as the scripts call it (raises ValueError on keys left over).
    script_args, training_args, model_args = parse(kind, path)
    for key, value in raw(path).items():
        if key in ("env", "use_cpu"):
            continue
        obj = next(o for o in (script_args, training_args, model_args) if hasattr(o, key))
        parsed = getattr(obj, key)
        if key == "report_to":  # normalised to a list
            assert parsed == ([] if value in ("none", None) else [value] if isinstance(value, str) else value)
        elif isinstance(value, float) or isinstance(parsed, float):
            assert float(parsed) == pytest.approx(float(value)), key
        elif hasattr(parsed, "value"):  # enums: save_strategy, lr_scheduler_type, ...
            assert parsed.value == value, key
        elif key != "scale_rewards":  # GRPOConfig maps True/False to "group"/"none"
            assert parsed == value, key


@pytest.mark.parametrize("kind,recipe", [("sft", "qwen3-8b"), ("grpo", "qwen3-8b"), ("sft", "tiny-cpu")])
@pytest.mark.parametrize(
    "bad_line,what",
    [
        ("learning_rat: 1.0e-5", "learning_rat"),  # misspelled
        ("warmup_ratio: 0.03", "warmup_ratio"),  # removed in transformers 5 (warmup_steps takes the ratio)
        ("per_device_batch_size: 4", "per_device_batch_size"),  # not a field anywhere
    ],
)
def test_bad_key_fails_parsing(tmp_path, kind, recipe, bad_line, what):
    src = (SFT_DIR if kind == "sft" else GRPO_DIR) / f"{recipe}.yaml"
    bad = tmp_path / src.name
    bad.write_text(src.read_text() + f"\n{bad_line}\n")
    with pytest.raises(ValueError, match=rf"Unknown arguments.*{what}"):
        parse(kind, bad)
    # and the static check of test_recipe_parses_with_no_unknown_key sees it too
    fields = {f.name for t in _types(kind) for f in dataclasses.fields(t)}
    assert what in set(raw(bad)) - fields


def test_removed_grpo_max_prompt_length_is_a_script_argument():
    """TRL 1.x dropped GRPOConfig.max_prompt_length; grpo.py owns it (drops longer prompts)."""
    from trl import GRPOConfig

    from grpo import GRPOScriptArguments

    assert "max_prompt_length" not in {f.name for f in dataclasses.fields(GRPOConfig)}
    assert "max_prompt_length" in {f.name for f in dataclasses.fields(GRPOScriptArguments)}


def test_vllm_context_matches_the_grpo_recipes():
    """serve_vllm.sh's default context = the recipes' prompt + completion budget (2048 + 4096)."""
    text = (SCRIPTS / "serve_vllm.sh").read_text()
    default = int(re.search(r'MAX_MODEL_LEN="\$\{MAX_MODEL_LEN:-(\d+)\}"', text).group(1))
    for size in SIZES:
        data = raw(GRPO_DIR / f"{size}.yaml")
        assert data["max_prompt_length"] + data["max_completion_length"] == default == 6144
        assert data["vllm_server_port"] == 8000


# --------------------------------------------------------------------------------------------------------------------
# accelerate configs
# --------------------------------------------------------------------------------------------------------------------

EXPECTED_ACC = {
    "zero3.yaml": "DEEPSPEED",
    "zero2.yaml": "DEEPSPEED",
    "fsdp2.yaml": "FSDP",
    "multinode-zero3.yaml": "DEEPSPEED",
    "zero3-cpu.yaml": "DEEPSPEED",
}


def test_accelerate_configs_present():
    assert set(EXPECTED_ACC) <= {p.name for p in ACC_YAMLS}


@pytest.mark.parametrize("path", ACC_YAMLS, ids=lambda p: p.name)
def test_accelerate_config_loads(path):
    from accelerate.commands.config.config_args import ClusterConfig
    from accelerate.commands.launch import launch_command_parser
    from accelerate.utils import DistributedType

    data = raw(path)
    assert data["distributed_type"] == EXPECTED_ACC.get(path.name, data["distributed_type"])
    assert data["distributed_type"] in {t.value for t in DistributedType}
    assert data.get("mixed_precision") in ("no", "fp16", "bf16", "fp8"), "quote 'no': bare no is YAML false"
    # accelerate's own loader rejects unknown top-level keys; nested keys become `accelerate launch` flags
    # (fsdp_config keys get an fsdp_ prefix), which it would otherwise ignore silently.
    cfg = ClusterConfig.from_yaml_file(str(path))
    dests = {a.dest for a in launch_command_parser()._actions}
    for section, prefix in (("deepspeed_config", ""), ("fsdp_config", "fsdp_")):
        for key in getattr(cfg, section):
            flag = key if key.startswith(prefix) else prefix + key
            assert flag in dests, f"{path.name}: {section}.{key} is not an accelerate launch option"


def test_accelerate_config_values():
    zero3, zero2, fsdp2 = (raw(ACC_DIR / n) for n in ("zero3.yaml", "zero2.yaml", "fsdp2.yaml"))
    multi, cpu = raw(ACC_DIR / "multinode-zero3.yaml"), raw(ACC_DIR / "zero3-cpu.yaml")

    assert zero3["deepspeed_config"]["zero_stage"] == 3 and zero3["mixed_precision"] == "bf16"
    assert zero3["num_processes"] == 8 and zero3["num_machines"] == 1
    assert zero3["deepspeed_config"]["zero3_save_16bit_model"] is True  # full weights saved, vLLM can serve them
    assert zero2["deepspeed_config"]["zero_stage"] == 2 and zero2["mixed_precision"] == "bf16"

    fc = fsdp2["fsdp_config"]
    assert fc["fsdp_version"] == 2 and fc["fsdp_reshard_after_forward"] is True  # FSDP2 full shard
    assert fc["fsdp_auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"
    assert fc["fsdp_transformer_layer_cls_to_wrap"] == "Qwen3DecoderLayer"
    assert fc["fsdp_activation_checkpointing"] is False  # transformers refuses it with gradient_checkpointing
    assert fsdp2["mixed_precision"] == "bf16"
    from transformers.models.qwen3 import modeling_qwen3

    assert hasattr(modeling_qwen3, fc["fsdp_transformer_layer_cls_to_wrap"])

    assert multi["num_machines"] == 2 and multi["num_processes"] == 16
    assert {"machine_rank", "main_process_ip", "main_process_port"} <= set(multi)
    assert multi["deepspeed_config"]["zero_stage"] == 3

    assert cpu["use_cpu"] is True and cpu["num_processes"] == 2 and cpu["mixed_precision"] == "no"
    assert cpu["deepspeed_config"]["zero_stage"] == 3
    assert cpu["deepspeed_config"]["zero3_init_flag"] is True
    assert cpu["deepspeed_config"]["zero3_save_16bit_model"] is True


# --------------------------------------------------------------------------------------------------------------------
# Shell launchers
# --------------------------------------------------------------------------------------------------------------------


def test_launchers_present():
    names = {p.relative_to(SCRIPTS).as_posix() for p in SHELL_SCRIPTS}
    assert {"serve_vllm.sh", "slurm/grpo_multinode.sbatch", "slurm/sft_multinode.sbatch"} <= names


@pytest.mark.parametrize("path", SHELL_SCRIPTS, ids=lambda p: p.relative_to(SCRIPTS).as_posix())
def test_script_syntax(path):
    r = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def _stub(bin_dir: Path, name: str, body: str) -> None:
    p = bin_dir / name
    p.write_text("#!/usr/bin/env bash\n" + body)
    p.chmod(0o755)


def _serve(tmp_path: Path, *args: str, cuda: bool = True, **env: str):
    """What serve_vllm.sh hands to Python (a stub that prints it): argv, the VLLM_* environment, stderr."""
    stub = tmp_path / "python"
    stub.write_text(
        '#!/usr/bin/env bash\nif [[ "$1" == -c ]]; then [[ "$2" != *cuda* ]] || echo "$STUB_CUDA"; exit 0; fi\n'
        'env | grep "^VLLM_" | sort\nprintf "%s\\n" "$@"\n'
    )
    stub.chmod(0o755)
    base = {k: v for k, v in os.environ.items() if not k.startswith("VLLM_") and k not in ("TRL", "HOST")}
    r = subprocess.run(
        ["bash", str(SCRIPTS / "serve_vllm.sh"), *args],
        env={**base, **env, "PYTHON": str(stub), "STUB_CUDA": "1" if cuda else "0"},
        capture_output=True,
        text=True,
        timeout=30,
    )
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


def test_serve_vllm_refuses_the_old_trl_knob_and_adapters(tmp_path):
    r = subprocess.run(
        ["bash", str(SCRIPTS / "serve_vllm.sh"), "m"],
        env={**os.environ, "TRL": "trl"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 2 and "PYTHON" in r.stderr
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    r = subprocess.run(["bash", str(SCRIPTS / "serve_vllm.sh"), str(adapter)], capture_output=True, text=True)
    assert r.returncode != 0 and f"python -m reasoning_ner.lora merge {adapter}" in r.stderr


def test_serve_vllm_usage_error(tmp_path):
    r = subprocess.run(["bash", str(SCRIPTS / "serve_vllm.sh")], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "usage" in r.stderr


@pytest.fixture
def slurm(tmp_path):
    """A copy of the launchers and configs plus stub srun/scontrol/accelerate/curl/trl that print what they get."""
    repo = tmp_path / "repo"
    shutil.copytree(SCRIPTS, repo / "scripts")
    shutil.copytree(ROOT / "config", repo / "config")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _stub(bin_dir, "scontrol", 'printf "%s\\n" $STUB_NODES\n')
    # srun: runs the command once per node of the step, with that node's SLURM_NODEID (0-based within the step)
    _stub(
        bin_dir,
        "srun",
        'n=1; nl=""\n'
        'while [[ "$1" == --* ]]; do case "$1" in --nodes=*) n=${1#--nodes=};; --nodelist=*) nl=${1#--nodelist=};; esac; shift; done\n'
        'echo "SRUN nodes=$n nodelist=$nl"\n'
        'for ((i=0; i<n; i++)); do SLURM_NODEID=$i "$@"; done\n',
    )
    _stub(bin_dir, "accelerate", 'echo "ACCELERATE $SLURM_NODEID $*"\n')
    _stub(bin_dir, "curl", "exit 0\n")
    _stub(
        bin_dir,
        "python",
        'if [[ "$1" == -c ]]; then [[ "$2" != *cuda* ]] || echo 1; exit 0; fi\necho "PYTHON $HOST $*"\n',
    )

    def run(script: str, nodes: list[str], *args: str, **env: str) -> list[str]:
        r = subprocess.run(
            ["bash", f"scripts/slurm/{script}", *args],
            cwd=repo,
            env={
                "PATH": f"{bin_dir}:{os.environ['PATH']}",
                "HOME": str(tmp_path),
                "SLURM_JOB_NODELIST": "stub",
                "SLURM_SUBMIT_DIR": str(repo),
                "STUB_NODES": " ".join(nodes),
                "PYTHON": str(bin_dir / "python"),
                **env,
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout.splitlines()

    return run


def test_grpo_sbatch_layout(slurm):
    out = slurm("grpo_multinode.sbatch", ["n1", "n2", "n3"], "--save_steps", "7")
    launches = sorted(line.split(" ", 2)[1:] for line in out if line.startswith("ACCELERATE "))
    assert [rank for rank, _ in launches] == ["0", "1"]  # 2 training nodes, one launcher each
    for rank, cmd in launches:
        assert "--config_file config/accelerate/multinode-zero3.yaml" in cmd
        assert "--num_machines 2 --num_processes 16" in cmd
        assert f"--machine_rank {rank} --main_process_ip n1 --main_process_port 29500" in cmd
        assert cmd.endswith(
            "grpo.py --config config/grpo/qwen3-8b.yaml --vllm_server_host n3 --vllm_server_port 8000 --save_steps 7"
        )
    assert "SRUN nodes=2 nodelist=n1,n2" in out
    assert "SRUN nodes=1 nodelist=n3" in out  # the last node serves
    serve = next(line for line in out if line.startswith("PYTHON "))
    assert serve.startswith("PYTHON 0.0.0.0 -m vllm.entrypoints.openai.api_server --model outputs/sft/qwen3-8b")
    assert "--tensor-parallel-size 8" in serve and "--max-model-len 6144" in serve and "--port 8000" in serve


def test_sft_sbatch_keeps_the_effective_batch(slurm):
    out = slurm("sft_multinode.sbatch", ["a", "b"], "--num_train_epochs", "1")
    launches = sorted(line.split(" ", 2)[1:] for line in out if line.startswith("ACCELERATE "))
    assert [rank for rank, _ in launches] == ["0", "1"]
    for rank, cmd in launches:
        assert "--num_machines 2 --num_processes 16" in cmd
        assert f"--machine_rank {rank} --main_process_ip a" in cmd
        # 256 = per_device 16 x 2 nodes x 8 GPUs x 1
        assert cmd.endswith(
            "sft.py --config config/sft/qwen3-8b.yaml --gradient_accumulation_steps 1 --num_train_epochs 1"
        )
    one = slurm("sft_multinode.sbatch", ["a"], CONFIG="config/sft/qwen3-8b.yaml")
    assert any(line.endswith("--gradient_accumulation_steps 2") for line in one)  # 16 x 1 x 8 x 2 = 256 (theirs)
    one = slurm("sft_multinode.sbatch", ["a"], CONFIG="config/sft/qwen3-1.7b.yaml")
    assert any(line.endswith("--gradient_accumulation_steps 1") for line in one)  # 32 x 1 x 8 x 1 = 256


COT_YAMLS = sorted((ROOT / "config" / "cot").glob("*.yaml"))


@pytest.mark.parametrize("path", COT_YAMLS, ids=lambda p: p.name)
def test_cot_config_parses_with_every_key_kept(path):
    from trl import TrlParser

    from generate_cot import CotArguments

    (args,) = TrlParser(CotArguments).parse_args_and_config(["--config", str(path)])
    for key, value in raw(path).items():
        assert getattr(args, key) == value, key


def test_cot_config_bad_key_fails(tmp_path):
    from trl import TrlParser

    from generate_cot import CotArguments

    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "config" / "cot" / "tiny-cpu.yaml").read_text() + "\nmin_scor: 9\n")
    assert len(COT_YAMLS) == 3
    with pytest.raises(ValueError, match=r"Unknown arguments.*min_scor"):
        TrlParser(CotArguments).parse_args_and_config(["--config", str(bad)])
