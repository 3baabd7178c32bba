"""`make bench-gpu`: the GPU benchmarks one after the other, each with its defaults — `bench_sft_gpu.py` (SFT step
throughput, MFU and memory of `sft.py`'s trainer; report `outputs/bench/sft_gpu.json`) then `bench_grpo_gpu.py` (a GRPO
round of `grpo.py`'s trainer on one GPU, generation vs update; report `outputs/bench/grpo_gpu.json`).

    python bench/gpu/run_all.py [--cpu_smoke] [--peak_tflops F] [--tokenizer PATH]

The flags are passed to both scripts. Exits with the first non-zero exit status (2 without CUDA, unless `--cpu_smoke`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cpu_smoke", action="store_true", help="CPU, tiny model: the code path, no figures")
    p.add_argument("--peak_tflops", type=float, default=None, help="dense bf16 peak (default: the GPU's datasheet)")
    p.add_argument("--tokenizer", default=None, help="a real tokenizer directory")
    a = p.parse_args(argv)
    args = ["--cpu_smoke"] if a.cpu_smoke else []
    args += ["--peak_tflops", str(a.peak_tflops)] if a.peak_tflops is not None else []
    args += ["--tokenizer", a.tokenizer] if a.tokenizer else []
    for script in ("bench_sft_gpu.py", "bench_grpo_gpu.py"):
        print(f"== {script} {' '.join(args)}", flush=True)
        rc = subprocess.call([sys.executable, str(HERE / script), *args])
        if rc:
            return rc
    return 0


if __name__ == "__main__":
    sys.exit(main())
