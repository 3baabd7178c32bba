"""Tables and figures of the paper's other experiments, from evaluation results (`result.json`, `{"meta", "rows"}`,
read with `reasoning_ner.reports.load_result`); the drivers are `scripts/seed_table.py` and `scripts/ladder.py`.

* **Seeds** (`seed_summary`, `seed_markdown`): runs grouped by setting (e.g. 1 % / 5 % / 10 % of CoNLL-2003), each
  group several seeds; per dataset and for the average, the mean ± sample standard deviation (n - 1) of the F1 over
  the group's runs, beside the figure the paper reports for that setting.
* **Ladder** (`LadderSpec`, `ladder_rows`, `ladder_markdown`, `plot_ladder`): the ablation rows in order (base model →
  SFT on raw Pile-NER → NER-CoT without CoT → with CoT → + GRPO), each row's average F1 and its gain over the row
  before, beside the paper's reported figures; the plot is the per-row bar chart of `reasoning_ner.plots.plot_f1_bars`
  with the reported figures as a second series.

Figures marked "reported" are the paper's, copied from the text; nothing here reproduces them.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .data import DataError, load_structured

AVERAGE = "Average"


# ----------------------------------------------------------------------------------------------------------------------
# Reported figures


def load_reported(path: str | Path | None) -> tuple[dict[str, float], str]:
    """`{setting: F1}` and the source line of a YAML `{"source": ..., "reported": {setting: F1}}`; empty without a
    path."""
    if path is None:
        return {}, ""
    doc = load_structured(path, "reported figures", yaml_ok=True)
    if not isinstance(doc, Mapping) or not isinstance(doc.get("reported"), Mapping):
        raise DataError(path, None, "reported", "expected a mapping {setting: F1}")
    try:
        values = {str(k): float(v) for k, v in doc["reported"].items()}
    except (TypeError, ValueError) as e:
        raise DataError(path, None, "reported", f"not a number: {e}") from None
    return values, str(doc.get("source", ""))


# ----------------------------------------------------------------------------------------------------------------------
# Seeds


def _f1_by_dataset(path: Path) -> dict[str, float]:
    from .reports import load_result

    rows, _ = load_result(path)
    out = {}
    for i, r in enumerate(rows):
        if not isinstance(r, Mapping) or not isinstance(r.get("dataset"), str) or "f1" not in r:
            raise DataError(path, f"row {i}", "f1", "expected {'dataset', 'f1', ...}")
        out[r["dataset"]] = float(r["f1"])
    if AVERAGE not in out:
        per = [v for k, v in out.items() if k != AVERAGE]
        out[AVERAGE] = sum(per) / len(per) if per else math.nan
    return out


def mean_std(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean and sample standard deviation (None for a single value)."""
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values) if len(values) > 1 else None)


@dataclass
class SeedGroup:
    name: str
    results: list[Path]
    datasets: list[str] = field(default_factory=list)
    values: dict[str, list[float]] = field(default_factory=dict)  # dataset -> F1 of each run, in results order

    def stat(self, dataset: str) -> tuple[float, float | None]:
        return mean_std(self.values[dataset])


def seed_summary(groups: Mapping[str, Sequence[str | Path]]) -> list[SeedGroup]:
    """One `SeedGroup` per setting, from its runs' result files; every run of a group must score the same datasets."""
    out = []
    for name, paths in groups.items():
        paths = [Path(p) for p in paths]
        if not paths:
            raise ValueError(f"{name}: no result files")
        g = SeedGroup(name, paths)
        for p in paths:
            f1 = _f1_by_dataset(p)
            if not g.datasets:
                g.datasets = list(f1)
            elif set(f1) != set(g.datasets):
                raise DataError(p, None, "rows", f"datasets {sorted(f1)} differ from the group's {sorted(g.datasets)}")
            for d in g.datasets:
                g.values.setdefault(d, []).append(f1[d])
        out.append(g)
    return out


def _pm(mean: float, std: float | None) -> str:
    return f"{mean:.2f} ± {std:.2f}" if std is not None else f"{mean:.2f} (1 run)"


def seed_markdown(groups: Sequence[SeedGroup], reported: Mapping[str, float] | None = None, source: str = "") -> str:
    """The table: one line per setting, mean ± std over its runs per dataset (the average column only when there
    are several datasets), the number of runs and the reported figure."""
    reported = reported or {}
    datasets: list[str] = []
    for g in groups:
        datasets += [d for d in g.datasets if d != AVERAGE and d not in datasets]
    cols = datasets + ([AVERAGE] if len(datasets) > 1 else [])
    head = ["setting", "runs", *cols, "paper (reported)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * (len(cols) + 1)]
    for g in groups:
        cells = [_pm(*g.stat(d)) if d in g.values else "" for d in cols]
        rep = f"{reported[g.name]:.1f}" if g.name in reported else ""
        lines.append("| " + " | ".join([g.name, str(len(g.results)), *cells, rep]) + " |")
    note = "F1 (%), mean ± sample standard deviation over the runs (seeds)."
    if reported:
        note += f" Paper figures are as reported{f' ({source})' if source else ''}, not reproduced here."
    return "\n".join(lines) + "\n\n" + note + "\n"


def seed_json(groups: Sequence[SeedGroup], reported: Mapping[str, float] | None = None) -> list[dict[str, Any]]:
    out = []
    for g in groups:
        stats = {d: dict(zip(("mean", "std"), g.stat(d), strict=True)) | {"values": g.values[d]} for d in g.datasets}
        out.append(
            {
                "setting": g.name,
                "runs": [str(p) for p in g.results],
                "f1": stats,
                "reported": (reported or {}).get(g.name),
            }
        )
    return out


# ----------------------------------------------------------------------------------------------------------------------
# Ladder


@dataclass
class LadderRow:
    name: str  # folder name of the row's outputs
    label: str  # how the table names the row
    model: str  # what evaluate.py is given (--model)
    reported: float | None = None
    train: list[list[str]] = field(default_factory=list)  # commands that produce `model`
    evaluate: dict[str, Any] = field(default_factory=dict)  # evaluate.py flags of this row only
    note: str = ""


@dataclass
class LadderSpec:
    """A ladder YAML (`config/experiments/ablation/ladder*.yaml`): `title`, `source` (of the reported figures),
    `vars` (defaults of the `{name}` placeholders), `evaluate` (evaluate.py flags shared by the rows),
    `evaluate_in_process` (run evaluate.py's `main` in the driver's process: faster for tiny models, one process for
    every row), `rows` (each `name`, `label`, `model`, `reported`, `train` — a list of commands, each a list of
    arguments —, `evaluate`, `note`)."""

    title: str
    rows: list[LadderRow]
    vars: dict[str, str] = field(default_factory=dict)
    evaluate: dict[str, Any] = field(default_factory=dict)
    evaluate_in_process: bool = False
    source: str = ""

    @classmethod
    def load(cls, path: str | Path) -> LadderSpec:
        doc = load_structured(path, "ladder spec", yaml_ok=True)
        if not isinstance(doc, Mapping) or not isinstance(doc.get("rows"), list) or not doc["rows"]:
            raise DataError(path, None, "rows", "expected a mapping with a non-empty list of rows")
        rows = []
        for i, r in enumerate(doc["rows"]):
            if not isinstance(r, Mapping) or not isinstance(r.get("name"), str) or not isinstance(r.get("model"), str):
                raise DataError(path, f"row {i}", "name/model", "each row needs a string name and model")
            train = r.get("train") or []
            if not isinstance(train, list) or not all(isinstance(c, list) and c for c in train):
                raise DataError(path, f"row {i}", "train", "expected a list of commands (lists of arguments)")
            rep = r.get("reported")
            rows.append(
                LadderRow(
                    name=r["name"],
                    label=str(r.get("label", r["name"])),
                    model=r["model"],
                    reported=float(rep) if rep is not None else None,
                    train=[[str(a) for a in c] for c in train],
                    evaluate=dict(r.get("evaluate") or {}),
                    note=str(r.get("note", "")),
                )
            )
        names = [r.name for r in rows]
        if len(set(names)) != len(names):
            raise DataError(path, None, "rows", f"row names must be unique: {names}")
        return cls(
            title=str(doc.get("title", "Ablation ladder")),
            rows=rows,
            vars={str(k): str(v) for k, v in (doc.get("vars") or {}).items()},
            evaluate=dict(doc.get("evaluate") or {}),
            evaluate_in_process=bool(doc.get("evaluate_in_process", False)),
            source=str(doc.get("source", "")),
        )


def fill(value: Any, variables: Mapping[str, str]) -> Any:
    """`value` with its `{name}` placeholders replaced (strings, and the strings inside lists and dicts)."""
    if isinstance(value, str):
        try:
            return value.format_map(dict(variables))
        except KeyError as e:
            raise ValueError(f"unknown placeholder {e} in {value!r}; known: {sorted(variables)}") from None
    if isinstance(value, list):
        return [fill(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, variables) for k, v in value.items()}
    return value


def flags(options: Mapping[str, Any]) -> list[str]:
    """`{"key": value}` as command-line flags (`--key value`; lists give several values; None is left out)."""
    out: list[str] = []
    for k, v in options.items():
        if v is None:
            continue
        out.append(f"--{k}")
        out += [str(x) for x in v] if isinstance(v, list) else [str(v).lower() if isinstance(v, bool) else str(v)]
    return out


def ladder_rows(spec: LadderSpec, results: Mapping[str, Path | None]) -> list[dict[str, Any]]:
    """Per row: label, reported figure, this run's average F1 and per-dataset F1 (None when the row has no result),
    and the gains over the row before (reported and this run)."""
    out: list[dict[str, Any]] = []
    prev_f1 = prev_rep = None
    for row in spec.rows:
        path = results.get(row.name)
        f1 = _f1_by_dataset(path) if path is not None and Path(path).exists() else None
        avg = f1[AVERAGE] if f1 else None
        out.append(
            {
                "name": row.name,
                "label": row.label,
                "model": row.model,
                "reported": row.reported,
                "reported_gain": None if row.reported is None or prev_rep is None else row.reported - prev_rep,
                "f1": avg,
                "gain": None if avg is None or prev_f1 is None else avg - prev_f1,
                "per_dataset": {k: v for k, v in f1.items() if k != AVERAGE} if f1 else None,
                "result": str(path) if path is not None else None,
            }
        )
        prev_f1 = avg if avg is not None else prev_f1
        prev_rep = row.reported if row.reported is not None else prev_rep
    return out


def _num(v: float | None, signed: bool = False) -> str:
    if v is None:
        return ""
    return f"{v:+.1f}" if signed else f"{v:.2f}"


def ladder_markdown(spec: LadderSpec, rows: Sequence[Mapping[str, Any]]) -> str:
    lines = [
        f"## {spec.title}",
        "",
        "| # | row | paper (reported) | gain | this run (average F1) | gain | model |",
        "|---:|---|---:|---:|---:|---:|---|",
    ]
    for i, r in enumerate(rows, 1):
        rep = f"{r['reported']:.1f}" if r["reported"] is not None else ""
        got = _num(r["f1"]) if r["f1"] is not None else "not run"
        lines.append(
            f"| {i} | {r['label']} | {rep} | {_num(r['reported_gain'], True)} | {got} | {_num(r['gain'], True)} "
            f"| `{r['model']}` |"
        )
    datasets: list[str] = []
    for r in rows:
        datasets += [d for d in (r["per_dataset"] or {}) if d not in datasets]
    if datasets:
        lines += ["", "Per dataset (this run):", "", "| row | " + " | ".join(datasets) + " |"]
        lines.append("|---|" + "---:|" * len(datasets))
        for r in rows:
            per = r["per_dataset"] or {}
            lines.append(f"| {r['label']} | " + " | ".join(_num(per.get(d)) for d in datasets) + " |")
    src = f" ({spec.source})" if spec.source else ""
    lines += ["", f"Reported figures are the paper's{src}, not reproduced here; F1 in %."]
    return "\n".join(lines) + "\n"


def plot_ladder(spec: LadderSpec, rows: Sequence[Mapping[str, Any]], out_png: str | Path) -> Path:
    """Bars per row: the reported figure and this run's average F1 (a row not run gets no bar)."""
    from .plots import plot_f1_bars

    ours = {r["label"]: r["f1"] for r in rows}
    if all(r["reported"] is not None for r in rows):
        bars = [{"dataset": r["label"], "f1": r["reported"]} for r in rows]
        return plot_f1_bars(bars, out_png, title=spec.title, reference={"this run": ours}, label="paper (reported)")
    bars = [{"dataset": r["label"], "f1": r["f1"]} for r in rows if r["f1"] is not None]
    if not bars:
        raise ValueError("no row has a result or a reported figure to plot")
    reported = {r["label"]: r["reported"] for r in rows if r["reported"] is not None}
    return plot_f1_bars(bars, out_png, title=spec.title, reference={"paper (reported)": reported} if reported else None)


def write_ladder(spec: LadderSpec, rows: Sequence[Mapping[str, Any]], out_dir: str | Path, plot: bool = True) -> dict:
    """`ladder.json`, `ladder.md` and (with `plot`) `ladder.png` in `out_dir`; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "ladder.json", "md": out_dir / "ladder.md"}
    doc = {"title": spec.title, "source": spec.source, "rows": list(rows)}
    paths["json"].write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths["md"].write_text(ladder_markdown(spec, rows), encoding="utf-8")
    if plot:
        paths["png"] = plot_ladder(spec, rows, out_dir / "ladder.png")
    return paths
