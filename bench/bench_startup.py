"""Benchmark: the light paths as whole processes, start-up included, as a user meets them (issue 16, §1).

    python bench/bench_startup.py [--repeats 7] [--before DIR] [--authors_repo DIR] [--only NAME ...] [--out FILE]

Every case is a command run as a fresh `python` process from a project folder (its scripts, its `reasoning_ner`):

* re-scoring the seven zero-shot test sets from a predictions file — the command of the issue,
  `evaluate.py --predictions_file P --base_path DATA --protocol paper --result_file R` (every default report: JSON,
  Markdown, PNGs, HTML), the same with `--plot_confusion true` (a confusion PNG per dataset too), with `--plot false`,
  with `--plot false --html false`, with only the JSON and Markdown (`--plot false --html false --bootstrap 0`), and
  with the JSON, Markdown and PNGs alone (`--html false --bootstrap 0`): the differences are what each report costs; the predictions are
  bench_scoring.py's (6,467 realistic completions, built once, seed 0), each line with the `completion_tokens` and
  `latency_s` that evaluate.py's generation records, so that the reasoning-cost report and figure have token counts;
* `--help` of every CLI;
* `python -m reasoning_ner.convert bio` on the CrossNER_AI BIO test file and `sample_grpo.py` on two shared datasets.

With `--before DIR` (another checkout of the project, e.g. `git worktree add /tmp/before HEAD`), each case that exists
there is run from both folders, side by side: after one warm-up run of each, `--repeats` pairs, the order inside a pair
alternating, so that drifts in the machine's load hit both alike. Reported per case: the median wall time of each
side, the median of the paired ratios after/before, and the median CPU time (user + system of the child). With
`--authors_repo DIR` (a checkout of HuiResearch/ReasoningIE), the authors' scorer is started the same way on the same
files (bench/authors_scorer.py: their `load_data` and `evaluate`, generation left out) and paired with the re-scoring.

Also: the in-process figure beside it (`reasoning_ner.scoring.score_predictions`, paper protocol, median of the
repeats, cold caches: what bench_scoring.py times) and an import-time table: for each CLI's `--help` and for the
re-scoring, `python -X importtime` (median over 3 runs) of all imports and of the heavy packages (torch, trl,
transformers, matplotlib, numpy, yaml) — which of them a path imports at all.

Prints Markdown tables; writes `--out` (default outputs/bench/startup.json) with the machine, its load average before and
after, the date and the command. Standard library and the project only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from _common import ROOT, command_line, machine_info, save_report
from bench_scoring import build_predictions, timed

from reasoning_ner.data import load_dataset_config
from reasoning_ner.paths import COMMANDS, CONFIG_DIR, ner_data_dir
from reasoning_ner.scoring import score_predictions

HEAVY = ("torch", "trl", "transformers", "matplotlib", "numpy", "yaml")


@dataclass
class Case:
    """One command run from one or more sides ("before": the --before checkout, anything else: this checkout); the
    arguments after the interpreter, with {data}, {preds}, {names}, {tmp} filled in per side."""

    name: str
    sides: dict[str, list[str]]
    baseline: str | None = "before"  # the side the others' ratios are taken against
    needs: str = "evaluate.py"  # the file it runs, relative to a side's folder: a side without it is left out
    results: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # side -> [(wall s, CPU s)]


def _cli(cli: str) -> list[str]:
    return cli.split() if cli.startswith("-m ") else [cli]


def _module_file(cli: str) -> str:
    return cli.split()[-1].replace(".", "/") + ".py" if cli.startswith("-m ") else cli


RESCORE = ["evaluate.py", "--predictions_file", "{preds}", "--base_path", "{data}", "--protocol", "paper"]
ISSUE_COMMAND = [*RESCORE, "--result_file", "{tmp}/r1/result.json"]
LEAN = ["--plot", "false", "--html", "false", "--bootstrap", "0"]


def cases(data: Path, authors_repo: Path | None) -> list[Case]:
    both = ("before", "after")
    out = []
    if authors_repo is not None:
        authors = [str(ROOT / "bench" / "authors_scorer.py"), str(authors_repo), "{data}"]
        authors += [str(CONFIG_DIR / "dataset" / "cross_ner.json"), "{preds}", "{tmp}/authors_result.json"]
        out.append(
            Case(
                "rescore: the authors' scorer vs evaluate.py",
                {
                    "authors": authors,
                    "after, every default report": ISSUE_COMMAND,
                    "after, JSON + Markdown only": [*RESCORE, "--result_file", "{tmp}/r3/result.json", *LEAN],
                },
                baseline="authors",
            )
        )
    out += [
        Case("rescore: evaluate.py, the issue's command (every default report)", dict.fromkeys(both, ISSUE_COMMAND)),
        Case(
            "rescore: evaluate.py --plot_confusion true (every default report and the confusion PNGs)",
            dict.fromkeys(both, [*ISSUE_COMMAND, "--plot_confusion", "true"]),
        ),
        Case(
            "rescore: evaluate.py --plot false",
            dict.fromkeys(both, [*RESCORE, "--result_file", "{tmp}/r2/result.json", "--plot", "false"]),
        ),
        Case(
            "rescore: evaluate.py --plot false --html false",
            dict.fromkeys(both, [*RESCORE, "--result_file", "{tmp}/r4/result.json", *LEAN[:4]]),
        ),
        Case(
            "rescore: evaluate.py, JSON + Markdown only (--plot false --html false --bootstrap 0)",
            dict.fromkeys(both, [*RESCORE, "--result_file", "{tmp}/r3/result.json", *LEAN]),
        ),
        Case(
            "rescore: evaluate.py, JSON + Markdown + the default PNGs (--html false --bootstrap 0)",
            dict.fromkeys(both, [*RESCORE, "--result_file", "{tmp}/r5/result.json", *LEAN[2:]]),
        ),
    ]
    for cli in COMMANDS:
        out.append(Case(f"{cli} --help", dict.fromkeys(both, [*_cli(cli), "--help"]), needs=_module_file(cli)))
    bio = ["-m", "reasoning_ner.convert", "bio", str(data / "CrossNER_AI" / "bio" / "test.txt"), "{tmp}/bio.json"]
    out.append(
        Case(
            "python -m reasoning_ner.convert bio (CrossNER_AI test file, 431 sentences)",
            dict.fromkeys(both, [*bio, "--label_map", "config/labels/crossner_bio.yaml"]),
            needs="reasoning_ner/convert.py",
        )
    )
    sample = ["sample_grpo.py", "--base_path", "{data}", "--dataset_config", "{names}"]
    sample += ["--output_path", "{tmp}/grpo", "--num_samples", "200", "--allow_eval_overlap", "true"]
    name = "sample_grpo.py (CrossNER_AI + literature train sets, 200 records)"
    out.append(Case(name, dict.fromkeys(both, sample), needs="sample_grpo.py"))
    return out


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # each side runs its own scripts and package (its folder first on sys.path)
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    return env


def run_once(argv: list[str], cwd: Path) -> tuple[float, float]:
    """(wall s, CPU s of the child: user + system) of one process; RuntimeError when it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=_env())
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise RuntimeError(f"failed ({p.returncode}) in {cwd}: {' '.join(argv)}\n{p.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def fill(argv: list[str], values: dict[str, str]) -> list[str]:
    return [sys.executable, *(a.format(**values) for a in argv)]


def import_times(argv: list[str], cwd: Path, runs: int = 3) -> dict[str, float]:
    """Median over `runs` of `python -X importtime ...`: `total` (the cumulative time of every top-level import) and
    each heavy package's cumulative s where it is first imported (0: not imported)."""
    samples: list[dict[str, float]] = []
    for _ in range(runs):
        p = subprocess.run(
            [argv[0], "-X", "importtime", *argv[1:]], cwd=cwd, capture_output=True, text=True, env=_env()
        )
        if p.returncode != 0:
            raise RuntimeError(f"failed ({p.returncode}) in {cwd}: {' '.join(argv)}\n{p.stderr[-2000:]}")
        found = dict.fromkeys(("total", *HEAVY), 0.0)
        for line in p.stderr.splitlines():
            if not line.startswith("import time:") or line.count("|") != 2:
                continue
            _, cum, name = line.split("|")
            if not cum.strip().isdigit():
                continue  # the header
            top_level = not name[1:].startswith(" ")  # "| name": one space; nested imports are indented further
            name = name.strip()
            if top_level:
                found["total"] += int(cum) / 1e6
            if name in HEAVY and not found[name]:
                found[name] = int(cum) / 1e6
        samples.append(found)
    return {k: round(statistics.median(s[k] for s in samples), 3) for k in samples[0]}


def measure(case: Case, roots: dict[str, Path], values: dict[str, str], tmp: Path, repeats: int) -> None:
    """One warm-up run of each side (file cache, .pyc), then `repeats` rounds of every side, the order alternating."""
    plan = list(case.sides.items())
    for side in case.sides:
        case.results[side] = []
        (tmp / _slug(side)).mkdir(exist_ok=True)

    def one(side: str, argv: list[str]) -> tuple[float, float]:
        root = roots["before"] if side == "before" else roots["after"]
        return run_once(fill(argv, values | {"tmp": str(tmp / _slug(side))}), root)

    for side, argv in plan:
        one(side, argv)
    for r in range(repeats):
        for side, argv in plan if r % 2 == 0 else plan[::-1]:
            case.results[side].append(one(side, argv))


def _slug(side: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in side)


def summarise(case: Case) -> dict:
    row: dict = {"case": case.name, "sides": {}}
    for side, v in case.results.items():
        entry = {
            "median_wall_s": round(statistics.median(w for w, _ in v), 3),
            "min_wall_s": round(min(w for w, _ in v), 3),
            "median_cpu_s": round(statistics.median(c for _, c in v), 3),
            "wall_s": [round(w, 3) for w, _ in v],
        }
        base = case.results.get(case.baseline) if case.baseline else None
        if base is not None and side != case.baseline:
            entry[f"median_ratio_over_{case.baseline}"] = round(
                statistics.median(a[0] / b[0] for a, b in zip(v, base, strict=True)), 3
            )
        row["sides"][side] = entry
    return row


def markdown(rows: list[dict], table: list[dict]) -> list[str]:
    lines = [
        "| case | side | median wall s | min wall s | ratio (median of pairs) | median CPU s |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        for side, e in row["sides"].items():
            ratio = next((f"{v:.2f} × {k[len('median_ratio_over_') :]}" for k, v in e.items() if "ratio" in k), "")
            lines.append(
                f"| {row['case']} | {side} | {e['median_wall_s']:.2f} | {e['min_wall_s']:.2f} | {ratio} | "
                f"{e['median_cpu_s']:.2f} |"
            )
    if table:
        lines += [
            "",
            "Import time, `python -X importtime` (median of 3 runs), s: all top-level imports, then the cumulative time "
            "of each heavy package where it is first imported (-: not imported)",
            "",
            "| path | side | all imports | " + " | ".join(HEAVY) + " |",
            "|---|---|---:|" + "---:|" * len(HEAVY),
        ]
        for row in table:
            for side in ("before", "after"):
                if side in row:
                    t = row[side]
                    cells = " | ".join(f"{t[h]:.3f}" if t[h] else "-" for h in HEAVY)
                    lines.append(f"| {row['path']} | {side} | {t['total']:.3f} | {cells} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=7, help="timed rounds per case after one warm-up (default 7)")
    ap.add_argument("--before", default=None, help="another checkout of the project to compare with (e.g. HEAD)")
    ap.add_argument("--authors_repo", default=None, help="a checkout of HuiResearch/ReasoningIE (their scorer)")
    ap.add_argument("--base_path", default=str(ner_data_dir()), help="InstructUIE datasets folder")
    ap.add_argument("--only", nargs="+", default=None, help="only the cases whose name contains one of these")
    ap.add_argument("--no_import_table", action="store_true", help="skip the -X importtime table")
    ap.add_argument("--out", default=str(ROOT / "outputs" / "bench" / "startup.json"), help="JSON report")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    data = Path(args.base_path).resolve()
    names = load_dataset_config(CONFIG_DIR / "dataset" / "cross_ner.json")
    missing = [n for n in names if not (data / n / "test.json").is_file()]
    if missing:
        print(f"error: test sets not found under {data}: {missing} (set REASONING_NER_DATA)", file=sys.stderr)
        return 2
    roots = {"after": ROOT}
    if args.before:
        roots["before"] = Path(args.before).resolve()
        if not (roots["before"] / "evaluate.py").is_file():
            print(f"error: --before {roots['before']}: no evaluate.py there", file=sys.stderr)
            return 2
    authors = Path(args.authors_repo).resolve() if args.authors_repo else None
    if authors is not None and not (authors / "rner" / "__init__.py").is_file():
        print(f"error: --authors_repo {authors}: no rner/ package there", file=sys.stderr)
        return 2
    logging.getLogger("reasoning_ner").setLevel(logging.ERROR)  # the readers' data warnings, once per read
    load_start = os.getloadavg()
    t_start = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        preds = tmp / "predictions.jsonl"
        n_examples = build_predictions(data, names, preds, seed=0, usage=True)
        (tmp / "names.json").write_text(json.dumps(["CrossNER_AI", "CrossNER_literature"]))
        values = {"data": str(data), "preds": str(preds), "names": str(tmp / "names.json")}
        todo = [c for c in cases(data, authors) if not args.only or any(s in c.name for s in args.only)]
        in_process = statistics.median(timed(lambda: score_predictions(data, names, preds, "paper"), args.repeats))
        rows = []
        for case in todo:
            # a side runs only where its file exists (a CLI added since the --before commit runs on one side)
            # and "before" only with --before
            case.sides = {
                side: a
                for side, a in case.sides.items()
                if (side != "before" or "before" in roots) and (roots.get(side, ROOT) / case.needs).is_file()
            }
            if not case.sides:
                continue
            measure(case, roots, values, tmp, args.repeats)
            rows.append(summarise(case))
            print("  " + row_line(rows[-1]), flush=True)

        table = []
        if not args.no_import_table:
            paths = [(f"{c} --help", [*_cli(c), "--help"], _module_file(c)) for c in COMMANDS]
            paths += [
                ("rescore, every default report", ISSUE_COMMAND, "evaluate.py"),
                (
                    "rescore, --plot false",
                    [*RESCORE, "--result_file", "{tmp}/r2/result.json", "--plot", "false"],
                    "evaluate.py",
                ),
            ]
            for label, argv_, need in paths:
                row = {"path": label}
                for side, root in roots.items():
                    if (root / need).is_file():
                        row[side] = import_times(fill(argv_, values | {"tmp": str(tmp / "imports")}), root)
                table.append(row)

    load_end = os.getloadavg()
    info = machine_info()
    lines = [
        f"Whole processes: {args.repeats} rounds after one warm-up, the sides of a case run side by side; "
        f"{n_examples} predictions; load average (1 min) {load_start[0]:.1f} at the start, {load_end[0]:.1f} at the end "
        f"({info['nproc']} CPUs); {time.perf_counter() - t_start:.0f} s in all",
        f"In-process scoring (reasoning_ner.scoring.score_predictions, paper protocol, median): {in_process:.3f} s",
        "",
        *markdown(rows, table),
        "",
        f"machine: {info['cpu_model']} ({info['nproc']} CPUs), Python {info['python']}, {info['platform']}",
    ]
    print("\n".join(lines))
    report = {
        "benchmark": "startup",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": command_line(),
        "machine": info,
        "load_average_start": load_start,
        "load_average_end": load_end,
        "config": {
            "repeats": args.repeats,
            "warmup": 1,
            "base_path": str(data),
            "roots": {k: str(v) for k, v in roots.items()},
            "authors_repo": str(authors) if authors else None,
            "n_predictions": n_examples,
        },
        "in_process_scoring_median_s": round(in_process, 4),
        "cases": rows,
        "import_times": table,
    }
    save_report(args.out, report)
    return 0


def row_line(row: dict) -> str:
    return f"{row['case']}: " + ", ".join(f"{s} {e['median_wall_s']:.2f} s" for s, e in row["sides"].items())


if __name__ == "__main__":
    sys.exit(main())
