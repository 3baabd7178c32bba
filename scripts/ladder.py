"""The ablation ladder: train (optionally) and evaluate each row of a ladder spec, then write the table and the plot.

    # the paper's ladder on Qwen3-1.7B (GPU; README, "The paper's other experiments"): rows 1-4, then GRPO by hand
    python scripts/ladder.py --spec config/experiments/ablation/ladder.yaml --train
    python scripts/ladder.py --spec config/experiments/ablation/ladder.yaml        # evaluate every row, table + plot
    # the same plumbing on the tiny model, CPU, a few minutes (`make ladder`)
    python scripts/ladder.py --spec config/experiments/ablation/ladder-tiny.yaml --train --out outputs/ladder

For each row of the spec (`reasoning_ner.experiments.LadderSpec`), in order:

1. with `--train`, the row's `train` commands, run as written (placeholders filled: `{out}`, `{python}`, `{data}`
   — the benchmark folder, `reasoning_ner.paths.ner_data_dir()` —, `{root}` and the spec's `vars`, each
   overridable with `--set name=value`), unless the row's model directory already holds a saved model
   (`config.json`; `--retrain` runs them anyway). A row without commands (the GPU spec's GRPO row, which needs the
   vLLM server in another terminal) is trained by hand as the spec's `note` says.
2. `evaluate.py` on the row's model with the spec's `evaluate` flags (and the row's own), result in
   `<out>/eval/<row>/result.json`. evaluate.py resumes from its predictions file, so running the ladder again only
   generates what is missing. A row whose local model directory does not exist is reported as not run.

Then `<out>/ladder.{md,json,png}`: per row the paper's reported average F1, this run's, and the gain of each row over
the one before. Exit code 1 if a command or an evaluation failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _looks_local(model: str, out: Path) -> bool:
    """A model given as a path (absolute, relative with ./ or ../, under `outputs/` or the ladder's output folder)
    rather than a Hub id."""
    inside = Path(model).is_relative_to(out) if not os.path.isabs(model) else True
    return inside or model.startswith((".", "outputs")) or Path(model).exists()


def _evaluate_in_process(argv: list[str]) -> int:
    from evaluate import EvalArguments
    from evaluate import main as evaluate_main
    from reasoning_ner.arguments import DataclassParser
    from reasoning_ner.generation import GenerationArguments

    eval_args, gen_args = DataclassParser((EvalArguments, GenerationArguments)).parse_args_and_config(args=argv)
    return evaluate_main(eval_args, gen_args)


def main(argv: list[str] | None = None) -> int:
    from reasoning_ner.data import DataError
    from reasoning_ner.experiments import LadderSpec, fill, flags, ladder_markdown, ladder_rows, write_ladder
    from reasoning_ner.paths import ner_data_dir

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", type=Path, required=True, help="ladder YAML (config/experiments/ablation/ladder*.yaml)")
    ap.add_argument("--out", help="output folder (default: the spec's vars.out)")
    ap.add_argument("--train", action="store_true", help="run the rows' train commands first")
    ap.add_argument("--retrain", action="store_true", help="with --train: also rows whose model exists")
    ap.add_argument("--rows", nargs="*", help="only these rows (names); the table still lists every row")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="set a placeholder")
    ap.add_argument("--plot", default="true", choices=["true", "false"])
    a = ap.parse_args(argv)
    try:
        spec = LadderSpec.load(a.spec)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    variables = {"python": sys.executable, "data": str(ner_data_dir()), "root": str(ROOT), **spec.vars}
    for item in a.set:
        if "=" not in item:
            print(f"error: --set expects NAME=VALUE, got {item!r}", file=sys.stderr)
            return 2
        k, v = item.split("=", 1)
        variables[k] = v
    if a.out:
        variables["out"] = a.out
    if "out" not in variables:
        print("error: give --out (the spec has no vars.out)", file=sys.stderr)
        return 2
    out = Path(variables["out"])
    selected = set(a.rows or [r.name for r in spec.rows])
    unknown = selected - {r.name for r in spec.rows}
    if unknown:
        print(f"error: unknown rows {sorted(unknown)}; the spec has {[r.name for r in spec.rows]}", file=sys.stderr)
        return 2
    try:
        for row in spec.rows:
            row.model = fill(row.model, variables)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    failed: list[str] = []
    results: dict[str, Path | None] = {}
    timings: dict[str, float] = {}
    for row in spec.rows:
        try:
            model = row.model
            if row.name not in selected:
                res = out / "eval" / row.name / "result.json"
                results[row.name] = res if res.exists() else None
                continue
            if a.train and row.train:
                if (Path(model) / "config.json").exists() and not a.retrain:
                    print(f"=== {row.name}: {model} exists, not trained again (--retrain to redo)", flush=True)
                else:
                    for cmd in fill(row.train, variables):
                        print(f"\n=== {row.name}: train\n$ {' '.join(cmd)}", flush=True)
                        t0 = time.perf_counter()
                        rc = subprocess.run(cmd, cwd=ROOT).returncode
                        what = cmd[2] if len(cmd) > 2 and cmd[1] == "-m" else Path(cmd[min(1, len(cmd) - 1)]).name
                        timings[f"{row.name}: {what}"] = round(time.perf_counter() - t0, 1)
                        if rc != 0:
                            raise RuntimeError(f"command failed with exit code {rc}: {' '.join(cmd)}")
            elif a.train and row.note:
                print(f"=== {row.name}: no train commands: {fill(row.note, variables)}", flush=True)
            if _looks_local(model, out) and not Path(model).exists():
                print(f"=== {row.name}: {model} does not exist: not evaluated", flush=True)
                results[row.name] = None
                continue
            result = out / "eval" / row.name / "result.json"
            argv_eval = flags(fill({**spec.evaluate, **row.evaluate}, variables))
            argv_eval += ["--model", model, "--result_file", str(result)]
            print(f"\n=== {row.name}: evaluate\n$ python evaluate.py {' '.join(argv_eval)}", flush=True)
            t0 = time.perf_counter()
            if spec.evaluate_in_process:
                rc = _evaluate_in_process(argv_eval)
            else:
                rc = subprocess.run([sys.executable, "evaluate.py", *argv_eval], cwd=ROOT).returncode
            timings[f"{row.name}: evaluate"] = round(time.perf_counter() - t0, 1)
            if rc != 0:
                raise RuntimeError(f"evaluate.py failed with exit code {rc}")
            results[row.name] = result
        except (RuntimeError, ValueError, DataError) as e:
            print(f"error: row {row.name}: {e}", file=sys.stderr)
            failed.append(row.name)
            results[row.name] = None
    rows = ladder_rows(spec, results)
    paths = write_ladder(spec, rows, out, plot=a.plot == "true")
    (out / "ladder_timings.json").write_text(json.dumps(timings, indent=2) + "\n", encoding="utf-8")
    print("\n" + ladder_markdown(spec, rows))
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    if failed:
        print(f"failed rows: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
