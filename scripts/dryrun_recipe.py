"""Dry-run a GPU recipe on CPU: a few optimizer steps of `sft.py` or `grpo.py` with the recipe as written, except the
GPU-only settings listed in `config/dryrun/cpu.yaml`, on the tiny model.

    python scripts/dryrun_recipe.py config/sft/qwen3-8b.yaml
    python scripts/dryrun_recipe.py config/grpo/qwen3-8b.yaml [--processes 1] [--out outputs/dryrun] [-- FLAGS]

What it does: builds the tiny model (`python -m reasoning_ner.tiny`) unless `--model` is given; for a GRPO recipe,
samples GRPO records from the bundled sample folders and, for `vllm_mode: server`, starts `scripts/serve_vllm.sh` on
the model (gloo weight transfer on CPU) and stops it at the end; then runs the stage under `accelerate launch` with
DeepSpeed ZeRO-3 over gloo (`config/accelerate/zero3-cpu.yaml`, `--processes` trainer processes) and the recipe plus
the overrides as command-line flags. The command it runs is printed first. Exit code: the stage's.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
OVERRIDES = ROOT / "config" / "dryrun" / "cpu.yaml"


def stage_of(recipe: Path) -> str:
    stage = recipe.parent.name
    if stage not in ("sft", "grpo"):
        raise SystemExit(f"error: {recipe}: expected a recipe under config/sft/ or config/grpo/")
    return stage


def override_flags(stage: str, values: dict) -> list[str]:
    """The overrides of config/dryrun/cpu.yaml for `stage`, placeholders filled, as command-line flags."""
    spec = yaml.safe_load(OVERRIDES.read_text())
    merged = {**spec["all"], **spec.get(stage, {})}
    flags: list[str] = []
    for key, value in merged.items():
        items = value if isinstance(value, list) else [value]
        flags.append(f"--{key}")
        flags += [str(v).format(**values) for v in items]
    return flags


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recipe", type=Path)
    ap.add_argument("--model", help="model to start from (default: a fresh tiny model matching the recipe's family)")
    ap.add_argument("--processes", type=int, default=2, help="trainer processes (ZeRO-3 over gloo)")
    ap.add_argument("--out", type=Path, help="scratch folder (default: a temporary one)")
    ap.add_argument("--server_port", type=int, help="GRPO: use the vLLM server already serving the model on this port")
    argv = sys.argv[1:] if argv is None else argv
    cut = argv.index("--") if "--" in argv else len(argv)
    a = ap.parse_args(argv[:cut])
    a.extra = argv[cut + 1 :]  # more flags for the stage, after `--`
    stage = stage_of(a.recipe)
    recipe = yaml.safe_load(a.recipe.read_text())
    out = a.out or Path(tempfile.mkdtemp(prefix="dryrun_"))
    out.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(ROOT)}
    model = a.model
    if model is None:
        model = str(out / "tiny")
        subprocess.run([py, "-m", "reasoning_ner.tiny", model], cwd=ROOT, env=env, check=True)
    values = {"model": model, "output_dir": str(out / stage), "sample_cot": str(ROOT / "data/sample/ner_cot.jsonl")}
    with contextlib.ExitStack() as stack:
        if stage == "grpo":
            data = out / "grpo_data"
            sample = [py, "sample_grpo.py", "--base_path", "data/sample/instructuie", "--output_path", data]
            sample += ["--dataset_config", "config/dataset/sample.json", "--num_samples", "96", "--max_count", "60"]
            subprocess.run([str(x) for x in sample], cwd=ROOT, env=env, check=True)
            values["grpo_data"] = str(data / "train.jsonl")
            lines = (data / "train.jsonl").read_text().splitlines()
            (data / "eval.jsonl").write_text("\n".join(lines[:2]) + "\n")  # for `-- --eval_path {eval}`
            a.extra = [x.replace("{eval}", str(data / "eval.jsonl")) for x in a.extra]
            values["port"] = str(recipe.get("vllm_server_port", 8000))
            if a.server_port:
                values["port"] = str(a.server_port)
            elif recipe.get("use_vllm") and recipe.get("vllm_mode", "colocate") == "server":
                from reasoning_ner.serving import running_server

                print("starting scripts/serve_vllm.sh on the model (1-2 min on CPU)", flush=True)
                serve = ["bash", str(ROOT / "scripts" / "serve_vllm.sh"), model]
                port = stack.enter_context(
                    running_server(lambda p: ["env", f"PORT={p}", *serve], out / "vllm_server.log", env)
                )
                values["port"] = str(port)
        cmd = [py, "-m", "accelerate.commands.launch", "--config_file", "config/accelerate/zero3-cpu.yaml"]
        cmd += ["--num_processes", str(a.processes), f"{stage}.py", "--config", str(a.recipe)]
        cmd += override_flags(stage, values) + a.extra
        print("$ " + " ".join(cmd), flush=True)
        threads = str(max(1, (os.cpu_count() or 2) // a.processes))  # the cores shared among the trainer processes
        return subprocess.run(cmd, cwd=ROOT, env={**env, "OMP_NUM_THREADS": threads}).returncode


if __name__ == "__main__":
    sys.exit(main())
