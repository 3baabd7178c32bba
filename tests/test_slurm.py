"""The Slurm launchers (scripts/slurm/*.sbatch), run against stub srun/scontrol/accelerate/curl/python that print what
they get, and the shell syntax of every script under scripts/.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers.common import ROOT, run

SCRIPTS = ROOT / "scripts"
SHELL_SCRIPTS = sorted([*SCRIPTS.rglob("*.sh"), *SCRIPTS.rglob("*.sbatch")])


def test_launchers_present():
    names = {p.relative_to(SCRIPTS).as_posix() for p in SHELL_SCRIPTS}
    assert {"serve_vllm.sh", "slurm/grpo_multinode.sbatch", "slurm/sft_multinode.sbatch"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("path", SHELL_SCRIPTS, ids=lambda p: p.relative_to(SCRIPTS).as_posix())
def test_script_syntax(path):
    r = run(["bash", "-n", path], check=False)
    assert r.returncode == 0, r.stderr


def _stub(bin_dir: Path, name: str, body: str) -> None:
    p = bin_dir / name
    p.write_text("#!/usr/bin/env bash\n" + body)
    p.chmod(0o755)


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

    def sbatch(script: str, nodes: list[str], *args: str, **env: str) -> list[str]:
        """Run scripts/slurm/`script` on the stub nodes `nodes` (the first is the main node); its stdout lines."""
        stub_env = {
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "HOME": str(tmp_path),
            "SLURM_JOB_NODELIST": "stub",
            "SLURM_SUBMIT_DIR": str(repo),
            "STUB_NODES": " ".join(nodes),
            "PYTHON": str(bin_dir / "python"),
            **env,
        }
        r = run(["bash", f"scripts/slurm/{script}", *args], cwd=repo, env=stub_env, timeout=60, check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout.splitlines()

    return sbatch


@pytest.mark.slow
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


@pytest.mark.slow
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
