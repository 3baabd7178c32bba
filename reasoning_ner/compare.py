"""Compare evaluation runs on the same sentences: a table, a grouped bar plot, and paired significance tests.

    python -m reasoning_ner.compare A/result.json B/result.json [C/result.json ...] --out DIR [--names a,b,c]
    python -m reasoning_ner.compare A/predictions.jsonl B/predictions.jsonl --out DIR \\
        --base_path ../shared/ner-data --dataset_config config/dataset/cross_ner.json [--protocol paper] [--limit N]

Each RUN is a `result.json` written by `evaluate.py` (its `meta` names the predictions file and the settings it was
scored with), or a predictions JSONL, scored with the settings given here (`--base_path`, `--dataset_config`,
`--protocol`, `--split`, `--limit`, `--alias_file`, `--keep_uninformative`; when result files are given too, these
must agree with them).

**Refused** (exit 2, the message names the runs and the difference): runs scored with another protocol, base path,
dataset list, split, limit, alias file or uninformative-type rule; a data fingerprint (`meta.data_fingerprint`: a hash of
the scored sentences) that differs between runs or from the data on disk now; a result without meta or whose
predictions file cannot be found (looked up as written, then beside the result file); a predictions file that does
not hold every (dataset, index) exactly once; a predictions file that no longer gives the F1 its result recorded.

**Per-sentence counts** are recomputed from the predictions files with evaluate.py's scorer
(`reasoning_ner.scoring.score_dataset`): it takes seconds, and the predictions file, which every result names, stays
the one record of a run — result.json keeps no per-sentence arrays.

**Statistics** (`reasoning_ner.stats`): per run and dataset, F1 with its 95% percentile-bootstrap interval over
sentences (`--run_bootstrap` samples, 1000 by default, as evaluate.py); for every pair (A, B) with A listed before B,
per dataset and on the average of the datasets' F1: ΔF1 = F1(B) − F1(A), its 95% paired-bootstrap interval and a
two-sided p-value by approximate randomization (per-sentence swaps), both with `--samples` (10,000 by default) and
`--seed`. The p-values are per test: with several datasets and pairs, some fall under 0.05 by chance (correct for it,
e.g. Holm-Bonferroni, or look at the average).

Writes to `--out`: `comparison.md` (printed too), `comparison.json` (the same numbers, more digits) and
`comparison_f1.png` (grouped F1 bars with their intervals).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .data import DataError, load_dataset_config
from .paths import CONFIG_DIR, ner_data_dir

logger = logging.getLogger(__name__)

SETTINGS = ("protocol", "base_path", "datasets", "split", "limit", "alias_file", "keep_uninformative")
DEFAULTS: dict[str, Any] = {"limit": None, "alias_file": None, "keep_uninformative": False, "split": "test"}


class ComparisonError(ValueError):
    """The runs cannot be compared; the message says why."""


@dataclass
class Run:
    name: str
    source: Path  # the result file or the predictions file given
    predictions: Path
    settings: dict[str, Any]
    fingerprint: dict[str, str] | None = None
    recorded_f1: dict[str, float] = field(default_factory=dict)  # dataset -> F1 the result file recorded
    counts: dict[str, Any] = field(default_factory=dict)  # dataset -> per-sentence (gold, pred, match) array


def _norm(key: str, value: Any) -> Any:
    if key == "base_path" and value is not None:
        return str(Path(value).resolve())
    if key == "limit" and not value:
        return None
    return value


def _find_predictions(result: Path, written: str) -> Path:
    p = Path(written)
    for cand in (p, result.parent / p.name):
        if cand.is_file():
            return cand
    raise ComparisonError(f"{result}: its predictions file {written} is not found (nor {result.parent / p.name})")


def load_run(path: Path, name: str, flags: dict[str, Any]) -> Run:
    """A run from a result file (settings from its meta) or a predictions file (settings from the flags)."""
    from .reports import load_result

    if path.suffix == ".json":
        rows, meta = load_result(path)
        if not isinstance(meta, dict) or not isinstance(meta.get("predictions"), str):
            raise ComparisonError(f"{path}: no meta naming its predictions file (written by an older evaluate.py?)")
        for i, r in enumerate(rows):
            if not isinstance(r, dict) or not isinstance(r.get("dataset"), str):
                raise DataError(path, f"rows[{i}]", "dataset", "expected an object with a dataset name")
            if r["dataset"] != "Average" and not isinstance(r.get("f1"), (int, float)):
                raise DataError(path, f"rows[{i}] ({r['dataset']})", "f1", "missing or not a number")
        settings = {k: _norm(k, meta.get(k, DEFAULTS.get(k))) for k in SETTINGS}
        recorded = {r["dataset"]: float(r["f1"]) for r in rows if r["dataset"] != "Average"}
        return Run(
            name, path, _find_predictions(path, meta["predictions"]), settings, meta.get("data_fingerprint"), recorded
        )
    if not path.is_file():
        raise ComparisonError(f"{path}: not found")
    return Run(name, path, path, {k: _norm(k, flags.get(k)) for k in SETTINGS})


def check_comparable(runs: Sequence[Run]) -> None:
    """ComparisonError naming the first setting (or dataset fingerprint) on which two runs differ."""
    first = runs[0]
    for run in runs[1:]:
        for k in SETTINGS:
            if run.settings[k] != first.settings[k]:
                raise ComparisonError(
                    f"runs scored differently: {k} is {first.settings[k]!r} for {first.name} ({first.source}) but "
                    f"{run.settings[k]!r} for {run.name} ({run.source})"
                )
    with_fp = [r for r in runs if r.fingerprint]
    for run in with_fp[1:]:
        for d, h in run.fingerprint.items():
            if with_fp[0].fingerprint.get(d) not in (None, h):
                raise ComparisonError(
                    f"runs scored on different sentences: dataset {d} of {with_fp[0].name} ({with_fp[0].source}) and "
                    f"of {run.name} ({run.source}) have different data fingerprints"
                )


def score_runs(runs: Sequence[Run]) -> list[str]:
    """Per-sentence counts of every run (`Run.counts`), recomputed from its predictions file; returns the datasets."""
    import numpy as np

    from .scoring import data_fingerprint, get_protocol, load_predictions, load_splits, score_dataset

    st = runs[0].settings
    if st["protocol"] == "paper":
        protocol = get_protocol("paper")
    else:
        protocol = get_protocol(st["protocol"] or "default", st["alias_file"], not st["keep_uninformative"])
    splits = load_splits(st["base_path"], st["datasets"], st["split"], st["limit"])
    now = data_fingerprint(splits)
    for run in runs:
        if run.fingerprint:
            changed = [d for d, h in run.fingerprint.items() if d in now and now[d] != h]
            if changed:
                raise ComparisonError(
                    f"{run.name} ({run.source}) was scored on other sentences than those under {st['base_path']} now: "
                    f"{', '.join(changed)}"
                )
        try:
            preds = load_predictions(run.predictions, splits, limited=st["limit"] is not None)
        except DataError as e:
            raise ComparisonError(f"{run.name}: {e}") from None
        for s in splits:
            score = score_dataset(s, preds[s.name], protocol, errors=False)
            run.counts[s.name] = np.asarray(score.sentence_counts, dtype=np.int64).reshape(-1, 3)
            f1 = round(100 * score.counts.prf()[2], 2)
            rec = run.recorded_f1.get(s.name)
            if rec is not None and abs(rec - f1) > 0.006:
                raise ComparisonError(
                    f"{run.name}: {s.name} F1 recomputed from {run.predictions} is {f1:.2f} but {run.source} recorded "
                    f"{rec:.2f}: the predictions file changed since the result was written"
                )
    return [s.name for s in splits]


def compare(
    runs: Sequence[Run], samples: int = 10000, run_bootstrap: int = 1000, seed: int = 0, confidence: float = 0.95
) -> dict[str, Any]:
    """The comparison document: settings, methods, per-run F1 with intervals, and one entry per pair."""
    from .stats import bootstrap_ci, paired_test, prf

    datasets = list(runs[0].counts)
    per_run: dict[str, dict[str, Any]] = {}
    for run in runs:
        cis, avg_ci = bootstrap_ci(run.counts, run_bootstrap, seed, confidence)
        f1s = {d: float(prf(run.counts[d].sum(0))[2]) for d in datasets}
        entry = {d: {"f1": 100 * f1s[d], "f1_ci": [100 * cis[d]["f1"].low, 100 * cis[d]["f1"].high]} for d in cis}
        avg = sum(f1s.values()) / len(f1s) if f1s else 0.0
        entry["Average"] = {"f1": 100 * avg, "f1_ci": [100 * avg_ci.low, 100 * avg_ci.high] if avg_ci else None}
        per_run[run.name] = entry
    pairs = []
    for i, a in enumerate(runs):
        for b in runs[i + 1 :]:
            res = paired_test(a.counts, b.counts, samples, seed, confidence)
            pairs.append(
                {
                    "a": a.name,
                    "b": b.name,
                    "results": {
                        d: {
                            "f1_a": 100 * r.f1_a,
                            "f1_b": 100 * r.f1_b,
                            "delta": 100 * r.delta,
                            "delta_ci": [100 * r.ci.low, 100 * r.ci.high],
                            "p_value": r.p_value,
                            "n_sentences": r.n_sentences,
                            "n_differing": r.n_differing,
                        }
                        for d, r in res.items()
                    },
                }
            )
    return {
        "runs": [{"name": r.name, "source": str(r.source), "predictions": str(r.predictions)} for r in runs],
        "settings": runs[0].settings,
        "method": {
            "run_intervals": f"{100 * confidence:.0f}% percentile bootstrap over sentences within each dataset, "
            f"{run_bootstrap} samples",
            "delta_intervals": f"{100 * confidence:.0f}% paired bootstrap over sentences, {samples} samples",
            "p_values": f"approximate randomization, two-sided, per-sentence swaps, {samples} permutations",
            "seed": seed,
        },
        "datasets": datasets,
        "f1": per_run,
        "pairs": pairs,
    }


def _fmt_p(p: float) -> str:
    return f"{p:.4f}" if p >= 0.0001 else f"{p:.1e}"


def markdown(doc: dict[str, Any]) -> str:
    st, m = doc["settings"], doc["method"]
    names = [r["name"] for r in doc["runs"]]
    rows = doc["datasets"] + ["Average"]
    out = [f"# Comparison of {len(names)} runs", ""]
    for r in doc["runs"]:
        out.append(f"- **{r['name']}**: `{r['source']}` (predictions `{r['predictions']}`)")
    out.append(
        f"- scored with: protocol `{st['protocol']}`, split `{st['split']}`, base path `{st['base_path']}`"
        + (f", limit {st['limit']}" if st["limit"] else "")
    )
    out += [
        f"- F1 intervals: {m['run_intervals']}; ΔF1 intervals: {m['delta_intervals']}; p-values: {m['p_values']}; "
        f"seed {m['seed']}. p-values are per test, not corrected for the number of datasets and pairs.",
        "",
        "## F1 (95% interval)",
        "",
        "| dataset | " + " | ".join(names) + " |",
        "|---" + "|---:" * len(names) + "|",
    ]
    for d in rows:
        cells = []
        for n in names:
            e = doc["f1"][n].get(d)
            ci = e.get("f1_ci") if e else None
            cells.append(f"{e['f1']:.2f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "") if e else "–")
        label = "**Average**" if d == "Average" else d
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out.append("")
    for pair in doc["pairs"]:
        a, b = pair["a"], pair["b"]
        out += [
            f"## {b} − {a}",
            "",
            f"| dataset | {a} | {b} | ΔF1 | 95% interval | p | sentences that differ |",
            "|---|---:|---:|---:|---|---:|---:|",
        ]
        for d in rows:
            r = pair["results"].get(d)
            if r is None:
                continue
            star = " *" if r["p_value"] < 0.05 else ""
            label = "**Average**" if d == "Average" else d
            out.append(
                f"| {label} | {r['f1_a']:.2f} | {r['f1_b']:.2f} | {r['delta']:+.2f}{star} | "
                f"[{r['delta_ci'][0]:+.2f}, {r['delta_ci'][1]:+.2f}] | {_fmt_p(r['p_value'])} | "
                f"{r['n_differing']} / {r['n_sentences']} |"
            )
        out += ["", "`*`: p < 0.05.", ""]
    return "\n".join(out)


def write(doc: dict[str, Any], out_dir: Path, plot: bool = True) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out_dir / "comparison.md", "json": out_dir / "comparison.json"}
    paths["markdown"].write_text(markdown(doc) + "\n", encoding="utf-8")
    paths["json"].write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    if plot:
        from .plots import plot_comparison

        series = {}
        for name, per in doc["f1"].items():
            series[name] = {
                d: (e["f1"], *(e["f1_ci"] if e.get("f1_ci") else (None, None)))
                for d, e in per.items()
                if d in doc["datasets"] or d == "Average"
            }
        paths["png"] = plot_comparison(series, out_dir / "comparison_f1.png")
    return paths


def run_names(paths: Sequence[Path], given: str | None) -> list[str]:
    if given:
        names = [n.strip() for n in given.split(",")]
        if len(names) != len(paths):
            raise ComparisonError(f"--names has {len(names)} names for {len(paths)} runs")
    else:
        names = [p.parent.name or p.stem for p in paths]
        if len(set(names)) < len(names):
            names = [str(p) for p in paths]
    if len(set(names)) < len(names):
        raise ComparisonError(f"run names must differ: {names}")
    return names


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m reasoning_ner.compare",
        description="Compare evaluation runs on the same sentences (table, plot, paired significance tests).",
    )
    ap.add_argument("runs", nargs="+", help="result.json files (evaluate.py) or predictions .jsonl files")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--names", default=None, help="comma-separated run names (default: the result folders' names)")
    ap.add_argument("--samples", type=int, default=10000, help="permutations and paired-bootstrap samples")
    ap.add_argument("--run_bootstrap", type=int, default=1000, help="bootstrap samples of each run's intervals")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", type=lambda s: s.lower() in ("1", "true", "yes"), default=True)
    g = ap.add_argument_group("settings for predictions files (result files carry their own)")
    g.add_argument("--base_path", default=str(ner_data_dir()))
    g.add_argument("--dataset_config", default=str(CONFIG_DIR / "dataset" / "cross_ner.json"))
    g.add_argument("--protocol", default="default")
    g.add_argument("--split", default="test")
    g.add_argument("--limit", type=int, default=None)
    g.add_argument("--alias_file", default=None)
    g.add_argument("--keep_uninformative", action="store_true")
    args = ap.parse_args(argv)
    try:
        if len(args.runs) < 2:
            raise ComparisonError("give at least two runs")
        if args.samples < 1:
            raise ComparisonError("--samples must be at least 1")
        paths = [Path(p) for p in args.runs]
        names = run_names(paths, args.names)
        flags = {
            "protocol": args.protocol,
            "base_path": args.base_path,
            "split": args.split,
            "limit": args.limit,
            "alias_file": args.alias_file if args.protocol == "default" else None,
            "keep_uninformative": args.keep_uninformative if args.protocol == "default" else False,
        }
        if any(p.suffix != ".json" for p in paths):
            flags["datasets"] = load_dataset_config(args.dataset_config)
        runs = [load_run(p, n, flags) for p, n in zip(paths, names, strict=True)]
        check_comparable(runs)
        score_runs(runs)
        doc = compare(runs, args.samples, args.run_bootstrap, args.seed)
        written = write(doc, Path(args.out), args.plot)
    except (ComparisonError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(markdown(doc))
    print("written: " + ", ".join(str(p) for p in written.values()))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(main())
