"""Shared parts of the GPU benchmarks (`bench_sft_gpu.py`, `bench_grpo_gpu.py`).

* the device check (CUDA, or `--cpu_smoke`) and the dense bf16 peak of the GPU (`reasoning_ner.estimate.GPUS`);
* random-weight Qwen3-shaped models (the public configs of `reasoning_ner.estimate.KNOWN_SHAPES`, vocabulary 151,936)
  saved with a tokenizer into a temporary directory, so the trainers load them exactly as they load a checkpoint;
* the tokenizer: the project's offline BPE tokenizer with the Qwen3 chat template (`reasoning_ner.tiny`; 2,048 tokens,
  so token ids stay below 2,048 — the embedding and LM head still have the full vocabulary, hence the same FLOPs),
  or a real one with `--tokenizer`;
* synthetic training data written in the project's formats: NER-CoT-like records (the bundled sample records with
  their reasoning padded by a filler word) whose conversations, rendered as `sft.py` renders them, have the requested
  token lengths; GRPO records (`sample_grpo.py`'s format) from the bundled sample sentences;
* a `TrainerCallback` that records the wall time of every optimizer step, and the child-process runner.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import platform
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SAMPLE_COT = ROOT / "data" / "sample" / "ner_cot.jsonl"
FILLER = " the"  # one token per repetition in byte-level BPE vocabularies (checked, and corrected, per file)
RESULT = "RESULT "


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def require_device(cpu_smoke: bool, script: str) -> None:
    """Exit with a clear error when there is no CUDA GPU and this is not a `--cpu_smoke` run."""
    if not cpu_smoke and not cuda_available():
        print(
            f"error: {script} measures GPU training and needs a CUDA GPU; none is visible here "
            "(torch.cuda.is_available() is False). `--cpu_smoke` runs the same code path on CPU with the tiny model.",
            file=sys.stderr,
        )
        raise SystemExit(2)


def sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def device_name() -> str:
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"cpu ({platform.processor() or 'cpu'})"


def peak_tflops(given: float | None, cpu_smoke: bool) -> float | None:
    """Dense bf16 peak of the GPU in use: `--peak_tflops`, else the datasheet figure of `estimate.GPUS` matched by
    device name (H100/H200: 989, A100/A800: 312); None when unknown (MFU is then not reported)."""
    if given is not None:
        return given
    if cpu_smoke or not cuda_available():
        return None
    from reasoning_ner.estimate import GPUS

    name = device_name().lower()
    for key, gpu in GPUS.items():
        if key.split("-")[0] in name:
            return gpu.peak_tflops
    return None


def build_tokenizer(path: str | None):
    if path:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(path)
    from reasoning_ner.tiny import build_tokenizer as tiny_tokenizer

    return tiny_tokenizer()


def build_random_qwen3(shape: str, out_dir: Path, tokenizer) -> Path:
    """A Qwen3-shaped model with random bf16 weights (the public config of `shape`), saved with `tokenizer`."""
    import torch
    from transformers import GenerationConfig, Qwen3Config, Qwen3ForCausalLM

    from reasoning_ner.estimate import KNOWN_SHAPES

    spec = {k: v for k, v in KNOWN_SHAPES[f"qwen3-{shape}"].items() if k != "model_type"}
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    cfg = Qwen3Config(
        max_position_embeddings=40960,
        rope_theta=1000000.0,
        eos_token_id=eos,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
        **spec,
    )
    torch.manual_seed(0)
    # built on the CPU: the parent process of the measurements holds no GPU memory
    model = Qwen3ForCausalLM._from_config(cfg, dtype=torch.bfloat16)
    model.generation_config = GenerationConfig(eos_token_id=eos, pad_token_id=tokenizer.pad_token_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def build_tiny_model(out_dir: Path) -> Path:
    from reasoning_ner.tiny import build_tiny

    return build_tiny(out_dir)


def target_lengths(kind: str, n: int, seed: int = 0) -> list[int]:
    """`nercot`: NER-CoT-like, log-normal around 650 tokens (σ 0.45, clipped to [128, 4096]) — an assumption, the
    same as `reasoning_ner.estimate`'s 650 tokens per example; `8k`: every conversation 8,192 tokens."""
    if kind == "8k":
        return [8192] * n
    if kind != "nercot":
        raise SystemExit(f"error: unknown length distribution {kind!r} (nercot | 8k)")
    rng = random.Random(seed)
    return [int(min(4096, max(128, rng.lognormvariate(math.log(650), 0.45)))) for _ in range(n)]


def _sample_records() -> list[dict]:
    return [json.loads(line) for line in SAMPLE_COT.read_text(encoding="utf-8").splitlines() if line.strip()]


def _lengths(records: list[dict], path: Path, tokenizer) -> list[int]:
    from reasoning_ner.estimate import sft_lengths
    from reasoning_ner.prompts import resolve_prompt
    from reasoning_ner.training import load_sft_dataset

    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return sft_lengths(load_sft_dataset([path], True, resolve_prompt()), tokenizer)


def write_sft_data(path: Path, targets: list[int], tokenizer) -> list[int]:
    """NER-CoT-like JSONL at `path`, one record per target length: a bundled sample record whose reasoning is extended
    with a filler word until the conversation (rendered as `sft.py` renders it) has the target length (targets below
    the record's own length keep that length). Returns the actual lengths."""
    base = _sample_records()
    base_len = _lengths(base, path, tokenizer)
    probe = dict(base[0], cot=base[0]["cot"] + FILLER * 64)
    per_unit = (_lengths([probe], path, tokenizer)[0] - base_len[0]) / 64 or 1.0
    records, reps = [], []
    for j, t in enumerate(targets):
        i = j % len(base)
        k = max(0, round((t - base_len[i]) / per_unit))
        reps.append((i, k))
    for _ in range(3):  # correct the few that merged differently
        records = [dict(base[i], guid=f"bench-{j}", cot=base[i]["cot"] + FILLER * k) for j, (i, k) in enumerate(reps)]
        actual = _lengths(records, path, tokenizer)
        off = [(j, t - a) for j, (t, a) in enumerate(zip(targets, actual)) if a != t and (reps[j][1] > 0 or a < t)]
        if not off:
            break
        for j, diff in off:
            i, k = reps[j]
            reps[j] = (i, max(0, k + round(diff / per_unit)))
    return actual


def write_grpo_data(path: Path) -> int:
    """GRPO records in `sample_grpo.py`'s format from the bundled sample NER-CoT sentences and gold answers."""
    from reasoning_ner.data import read_ner_cot
    from reasoning_ner.prompts import resolve_prompt

    prompt = resolve_prompt()
    out = []
    for ex in read_ner_cot(SAMPLE_COT):
        out.append(
            {
                "prompt": prompt.messages(ex.sentence, ex.schema, ex.dataset),
                "answer": json.dumps({"entities": ex.answer()}, ensure_ascii=False),
                "schema": prompt.order(ex.schema),
                "dataset": ex.dataset,
                "sentence": ex.sentence,
                "id": ex.id,
            }
        )
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out), encoding="utf-8")
    return len(out)


def step_timer():
    """A TrainerCallback recording the wall time between consecutive optimizer-step ends (the first from the start of
    training), CUDA-synchronised: everything a step costs, data collation and logging included. `extra` holds what
    the benchmark's wrappers record during the step; it is moved into the step's record at the step's end."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.steps: list[dict[str, Any]] = []
            self.extra: dict[str, Any] = {}
            self._t = None

        def on_train_begin(self, args, state, control, **kwargs):
            sync()
            self._t = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            sync()
            now = time.perf_counter()
            self.steps.append({"step_s": now - self._t, **self.extra})
            self.extra = {}
            self._t = now

        def add(self, key: str, value: float) -> None:
            self.extra[key] = self.extra.get(key, 0) + value

        def extend(self, key: str, values: list) -> None:
            self.extra.setdefault(key, []).extend(values)

    return StepTimer()


def reduce_sum(trainer, values: list[float]) -> list[float]:
    """Sum `values` over the processes of a multi-GPU run (identity in one process)."""
    import torch

    if trainer.accelerator.num_processes == 1:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=trainer.accelerator.device)
    return trainer.accelerator.reduce(t, reduction="sum").tolist()


def peak_memory_gib() -> float | None:
    import torch

    return round(torch.cuda.max_memory_allocated() / 2**30, 2) if torch.cuda.is_available() else None


def run_child(cmd: list[str], env: dict | None = None, timeout: float | None = None) -> dict:
    """Run one measurement in a fresh process; its last `RESULT {json}` line is the result."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    line = next((x for x in reversed(proc.stdout.splitlines()) if x.startswith(RESULT)), None)
    if line is None:
        return {"error": f"exit {proc.returncode}: {(proc.stderr or proc.stdout)[-1500:]}"}
    r = json.loads(line[len(RESULT) :])
    r["process_wall_s"] = round(time.perf_counter() - t0, 1)
    return r


def versions() -> dict[str, str]:
    import torch
    import transformers
    import trl

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "trl": trl.__version__,
        "device": device_name(),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def write_report(path: str | Path, report: dict) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    return out
