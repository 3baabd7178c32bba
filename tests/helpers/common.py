"""What the tests share besides fixtures (those live in tests/conftest.py): the project root, subprocess environments
and the subprocess runner, the `accelerate launch` command, trainer logs, and small InstructUIE datasets.

Importing this module puts the project root first on sys.path, so that tests can import the top-level scripts' modules
(`sft`, `grpo`, `rewards`, `generate_cot`).

Nothing here is shared mutable state: every environment is a fresh dict built per call, and `ACCELERATE` is a tuple.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

ACCELERATE = (sys.executable, "-m", "accelerate.commands.launch")


def vllm_env() -> dict[str, str]:
    """What a vLLM engine needs here, as a fresh dict: `reasoning_ner.serving.cpu_env()`, i.e. `serving.CPU_ENV` (KV cache
    size, host IP) on the CPU platform and nothing on a GPU machine, as the `vllm_server` fixture's server gets."""
    from reasoning_ner.serving import cpu_env

    return cpu_env()


def base_env(*, threads: int | None = None, vllm: bool = False, **extra: str) -> dict[str, str]:
    """A fresh environment for a subprocess: this process's, offline Hugging Face, no tokenizer threads and the project
    root first on PYTHONPATH; `threads` sets OMP_NUM_THREADS, `vllm` adds `vllm_env()`, `extra` is set last."""
    env = dict(os.environ)
    env["HF_HUB_OFFLINE"] = "1"
    env["TOKENIZERS_PARALLELISM"] = "false"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    if vllm:
        env.update(vllm_env())
    env.update(extra)
    return env


def trainer_env(*, vllm: bool = False, **extra: str) -> dict[str, str]:
    """`base_env` for trainer launches: one OpenMP thread per process, DeepSpeed's op builds cached under the project
    (unless TORCH_EXTENSIONS_DIR is set)."""
    extensions = os.environ.get("TORCH_EXTENSIONS_DIR", str(ROOT / ".cache" / "torch_extensions"))
    return base_env(threads=1, vllm=vllm, **{"TORCH_EXTENSIONS_DIR": extensions, **extra})


def run(
    cmd: Sequence,
    *,
    timeout: float = 900,
    env: Mapping[str, str] | None = None,
    cwd: str | Path = ROOT,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """Run `cmd` (each item str()-ed) in `cwd` (the project root) with `env` (default: a fresh `base_env()`), capturing
    its output as text. With `check` (the default) a non-zero exit fails the test, with the command and the tails of
    its stdout and stderr in the message; without it the caller checks the result."""
    cmd = [str(c) for c in cmd]
    env = base_env() if env is None else dict(env)
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert r.returncode == 0, (
            f"command failed: {cmd}\n--- stdout\n{r.stdout[-4000:]}\n--- stderr\n{r.stderr[-8000:]}"
        )
    return r


def log_history(run_dir: Path) -> list[dict]:
    """The `log_history` of the newest checkpoint's trainer_state.json under `run_dir`."""
    states = sorted(run_dir.glob("checkpoint-*/trainer_state.json"), key=lambda p: int(p.parent.name.split("-")[1]))
    return json.loads(states[-1].read_text())["log_history"]


def write_instructuie(base: Path, name: str, labels: list[str], splits: dict[str, list[dict]]) -> Path:
    """An InstructUIE dataset folder `base/name`: labels.json and one `<split>.json` per entry of `splits`."""
    folder = base / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "labels.json").write_text(json.dumps(labels))
    for split, records in splits.items():
        (folder / f"{split}.json").write_text(json.dumps(records, ensure_ascii=False))
    return folder


def ent(sentence: str, name: str, typ: str, occurrence: int = 0) -> dict:
    """An InstructUIE entity: `name`'s `occurrence`-th (0-based) occurrence in `sentence`, with its character span."""
    start = -1
    for _ in range(occurrence + 1):
        start = sentence.index(name, start + 1)
    return {"name": name, "type": typ, "pos": [start, start + len(name)]}


def read_yaml(path: Path) -> dict:
    """A YAML file that must hold a mapping (the recipes and configs under config/)."""
    import yaml

    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data
