"""Plots: training curves from a Hugging Face `trainer_state.json`, and per-dataset F1 bars from evaluation rows.

Training curves (`plot_training`) read the `log_history` of a `trainer_state.json` (SFT or GRPO, as written by the
Hugging Face `Trainer` and TRL) and write one PNG per group of keys, skipping a group whose keys never appear:

* `loss.png` — `loss` (training) and `eval_loss` vs step;
* `rewards.png` — every `rewards/<name>/mean` (older TRL: `rewards/<name>`) and the weighted total `reward`, with a
  ±`reward_std` band; `eval_` counterparts dashed (GRPO only);
* `completion_length.png` — `completions/mean_length`, with `min_length`/`max_length` when present (GRPO only);
* `learning_rate.png` — `learning_rate`.

`plot_f1_bars` draws the per-dataset F1 of the evaluation result rows (`reports.write_reports`), optionally grouped
with reference rows (e.g. the paper's table). From the same rows: `plot_error_bars` (the error taxonomy of
`reasoning_ner.errors` as one stacked bar per dataset), `plot_confusion` (one dataset's gold type × predicted type
counts over matched pairs, plus the missed / spurious column and row: `confusion_grid`, which the HTML browser's tables
use too), `plot_reasoning_cost` (reasoning vs answer
tokens per dataset, F1 and latency by reasoning-length bucket: `reasoning_ner.cost`). `plot_comparison` draws several
runs' F1 with their bootstrap intervals as grouped bars (`reasoning_ner.compare`).

Only the object-oriented matplotlib API with the Agg canvas is used, so importing or calling this module never
changes the global backend nor opens a window; matplotlib is imported when the first figure is made. Figures are laid
out by `tight_layout` once, from the axes' decorations only: the value labels inside the axes (bar values, cell
counts) are left out of it (`_inner`), which makes a figure full of them about a third cheaper to write.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

TRAINER_STATE = "trainer_state.json"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
_REWARD_KEY = re.compile(r"^rewards/([^/]+)(?:/mean)?$")


# ----------------------------------------------------------------------------------------------------------------------
# Reading trainer_state.json


def find_trainer_state(path: str | Path) -> Path:
    """The `trainer_state.json` for a path: the file itself, `<dir>/trainer_state.json`, or that of the newest
    `<dir>/checkpoint-*` (highest step). Raises FileNotFoundError naming the path otherwise."""
    path = Path(path)
    if path.is_file():
        return path
    if path.is_dir():
        direct = path / TRAINER_STATE
        if direct.is_file():
            return direct
        ckpts = []
        for sub in path.iterdir():
            m = _CHECKPOINT.match(sub.name)
            if m and sub.is_dir() and (sub / TRAINER_STATE).is_file():
                ckpts.append((int(m.group(1)), (sub / TRAINER_STATE).stat().st_mtime, sub / TRAINER_STATE))
        if ckpts:
            return max(ckpts)[2]
        raise FileNotFoundError(
            f"no {TRAINER_STATE} found in {path} (looked for {path / TRAINER_STATE} and {path}/checkpoint-*/{TRAINER_STATE})"
        )
    raise FileNotFoundError(f"no {TRAINER_STATE} found: {path} does not exist")


def load_log_history(path: str | Path) -> list[dict[str, Any]]:
    """The `log_history` list of a trainer_state.json (or of the one `find_trainer_state` finds for a folder)."""
    state_file = find_trainer_state(path)
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{state_file}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    history = state.get("log_history") if isinstance(state, dict) else None
    if not isinstance(history, list):
        raise ValueError(f"{state_file}: no 'log_history' list (is this a Hugging Face trainer_state.json?)")
    return [h for h in history if isinstance(h, dict)]


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def series(history: Sequence[Mapping[str, Any]], key: str) -> tuple[list[float], list[float]]:
    """(steps, values) of the log entries holding a finite number under `key`; x is `step` (else the entry index)."""
    xs, ys = [], []
    for i, h in enumerate(history):
        y = _number(h.get(key))
        if y is None:
            continue
        x = _number(h.get("step"))
        xs.append(x if x is not None else float(i))
        ys.append(y)
    return xs, ys


def _keys(history: Sequence[Mapping[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for h in history:
        for k in h:
            seen.setdefault(k, None)
    return list(seen)


def reward_keys(history: Sequence[Mapping[str, Any]], prefix: str = "") -> dict[str, str]:
    """Per-function reward keys, `{name: key}`: `rewards/<name>/mean`, else the older `rewards/<name>`."""
    out: dict[str, str] = {}
    for k in _keys(history):
        if not k.startswith(prefix):
            continue
        m = _REWARD_KEY.match(k[len(prefix) :])
        if m and (m.group(1) not in out or k.endswith("/mean")):
            out[m.group(1)] = k
    return out


# ----------------------------------------------------------------------------------------------------------------------
# Figures


def _figure(figsize: tuple[float, float] = (7.0, 4.2)):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=110)
    FigureCanvasAgg(fig)
    return fig


def warm_up() -> None:
    """Import what drawing needs (matplotlib's object-oriented API and the Agg canvas): `reasoning_ner.figures`' worker
    does it while the caller is still scoring. Drawing a throwaway figure as well cost more than it saved on the first
    real one (medians 0.71 s against 0.69 s for the import and the three default figures, five runs each)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    from matplotlib.figure import Figure  # noqa: F401


def _inner(artists):
    """Labels drawn inside the axes (bar values, cell counts): left out of `tight_layout`'s bounding boxes. Otherwise
    it lays every one of them out once more before the figure is drawn, which costs as much as drawing them."""
    for a in artists:
        a.set_in_layout(False)
    return artists


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    # tight_layout leaves a placeholder layout engine behind, for which savefig lays the whole figure out once more
    # before drawing it; without it the PNG is byte-identical and each figure ~15 % faster (issue 16)
    fig.set_layout_engine(None)
    fig.savefig(path)
    return path


def _line(ax, history, key: str, label: str | None = None, **kw) -> bool:
    xs, ys = series(history, key)
    if not xs:
        return False
    marker = "o" if len(xs) <= 30 else None
    ax.plot(xs, ys, label=label or key, marker=marker, markersize=3, **kw)
    return True


def _finish(ax, title: str, ylabel: str, legend: bool = True) -> None:
    ax.set_title(title)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if legend:
        ax.legend(fontsize=8)


def plot_loss(history, out: Path) -> Path | None:
    if not series(history, "loss")[0] and not series(history, "eval_loss")[0]:
        return None
    fig = _figure()
    ax = fig.add_subplot()
    _line(ax, history, "loss", "train loss")
    _line(ax, history, "eval_loss", "eval loss", linestyle="--")
    _finish(ax, "Loss", "loss")
    return _save(fig, out)


def plot_rewards(history, out: Path) -> Path | None:
    """Per-function mean rewards (top) and the weighted total (bottom: the scales differ, e.g. 10 : 1 weights)."""
    train, evals = reward_keys(history), reward_keys(history, "eval_")
    has_total = bool(series(history, "reward")[0])
    has_eval_total = bool(series(history, "eval_reward")[0])
    has_funcs = bool(train or evals)
    if not (has_funcs or has_total or has_eval_total):
        return None
    n_axes = int(has_funcs) + int(has_total or has_eval_total)
    fig = _figure((7.0, 3.0 * n_axes + 0.6))
    axes = fig.subplots(n_axes, 1, sharex=True, squeeze=False)[:, 0]
    if has_funcs:
        ax = axes[0]
        for name, key in sorted(train.items()):
            _line(ax, history, key, name)
        for name, key in sorted(evals.items()):
            _line(ax, history, key, f"eval {name}", linestyle="--")
        _finish(ax, "Rewards per function (mean over the batch)", "reward")
    if has_total or has_eval_total:
        ax = axes[-1]
        if has_total:
            _line(ax, history, "reward", "reward", color="black")
            xs, ys = series(history, "reward")
            sx, sd = series(history, "reward_std")
            if sx == xs:
                lo, hi = [y - s for y, s in zip(ys, sd)], [y + s for y, s in zip(ys, sd)]
                ax.fill_between(xs, lo, hi, color="black", alpha=0.1, label="± reward_std")
        if has_eval_total:
            _line(ax, history, "eval_reward", "eval reward", color="C3", linestyle="--")
        _finish(ax, "Total reward (weighted sum)", "reward")
    for ax in axes[:-1]:
        ax.set_xlabel("")
    return _save(fig, out)


def plot_completion_length(history, out: Path) -> Path | None:
    if not series(history, "completions/mean_length")[0]:
        return None
    fig = _figure()
    ax = fig.add_subplot()
    xs, ys = series(history, "completions/mean_length")
    ax.plot(xs, ys, label="mean", marker="o" if len(xs) <= 30 else None, markersize=3, color="C0")
    lx, lo = series(history, "completions/min_length")
    hx, hi = series(history, "completions/max_length")
    if lx == xs and hx == xs:
        ax.fill_between(xs, lo, hi, color="C0", alpha=0.15, label="min–max")
    else:
        _line(ax, history, "completions/min_length", "min", linestyle=":")
        _line(ax, history, "completions/max_length", "max", linestyle=":")
    _finish(ax, "Completion length", "tokens")
    return _save(fig, out)


def plot_learning_rate(history, out: Path) -> Path | None:
    if not series(history, "learning_rate")[0]:
        return None
    fig = _figure()
    ax = fig.add_subplot()
    _line(ax, history, "learning_rate", "learning rate")
    ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    _finish(ax, "Learning rate", "learning rate", legend=False)
    return _save(fig, out)


PLOTS = {
    "loss.png": plot_loss,
    "rewards.png": plot_rewards,
    "completion_length.png": plot_completion_length,
    "learning_rate.png": plot_learning_rate,
}


def default_out_dir(path: str | Path) -> Path:
    """`<run dir>/plots`, the run dir being the folder given or the one holding the given json file."""
    path = Path(path)
    return (path if path.is_dir() else path.parent) / "plots"


def plot_training(path: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """Write the training-curve PNGs of a run (a folder or a trainer_state.json); returns the files written."""
    history = load_log_history(path)
    out = Path(out_dir) if out_dir is not None else default_out_dir(path)
    written = []
    for name, fn in PLOTS.items():
        p = fn(history, out / name)
        if p is not None:
            written.append(p)
    return written


# ----------------------------------------------------------------------------------------------------------------------
# F1 bars


def plot_f1_bars(
    rows: Sequence[Mapping[str, Any]],
    out_png: str | Path,
    title: str | None = None,
    reference: Mapping[str, Mapping[str, float]] | None = None,
    label: str = "this run",
    horizontal: bool = False,
) -> Path:
    """Bar chart of per-dataset F1 (percent) from evaluation result rows, the value printed on each bar.

    `rows` are `{"dataset", "f1", ...}` dicts, usually ending with `{"dataset": "Average", "f1": ...}`.
    `reference` maps a series name to `{dataset: f1}` (e.g. `{"ReasoningNER 8B": {"mit-movie": 76.3, ...}}`) and is
    drawn as grouped bars beside this run's; a dataset a reference lacks gets no bar, and a reference without an
    `Average` entry gets the plain mean of its values when it covers every dataset of `rows`.
    """
    datasets, values = [], []
    for i, r in enumerate(rows):
        if not isinstance(r, Mapping) or not isinstance(r.get("dataset"), str) or _number(r.get("f1")) is None:
            raise ValueError(f"row {i}: expected a dict with a string 'dataset' and a number 'f1', got {r!r}")
        datasets.append(r["dataset"])
        values.append(float(r["f1"]))
    if not datasets:
        raise ValueError("no rows to plot")
    groups: list[tuple[str, list[float]]] = [(label, values)]
    per_data = [d for d in datasets if d != "Average"]
    for name, ref in (reference or {}).items():
        ref_vals = [_number(ref.get(d)) for d in datasets]
        if "Average" in datasets and ref.get("Average") is None:
            known = [_number(ref.get(d)) for d in per_data]
            if per_data and all(v is not None for v in known):
                ref_vals[datasets.index("Average")] = sum(known) / len(known)
        groups.append((name, [v if v is not None else math.nan for v in ref_vals]))

    n, k = len(datasets), len(groups)
    width = 0.8 / k
    long = max(6.0, min(13.0, 0.5 * n * k + 2.0))
    fig = _figure((7.5, long * 0.7) if horizontal else (long, 4.8))
    ax = fig.add_subplot()
    for j, (name, vals) in enumerate(groups):
        pos = [i + (j - (k - 1) / 2) * width for i in range(n)]
        bars = (ax.barh if horizontal else ax.bar)(pos, vals, width * 0.95, label=name, color=f"C{j}")
        _inner(ax.bar_label(bars, labels=["" if math.isnan(v) else f"{v:.1f}" for v in vals], padding=2, fontsize=7))
    ticks = list(range(n))
    top = max([v for _, vals in groups for v in vals if not math.isnan(v)] + [1.0])
    lim = top * 1.1 + 2.0  # room for the value labels
    if horizontal:
        ax.set_yticks(ticks, datasets)
        ax.invert_yaxis()
        ax.set_xlim(0, lim)
        ax.set_xlabel("F1 (%)")
        ax.grid(True, axis="x", alpha=0.3)
    else:
        ax.set_xticks(ticks, datasets, rotation=30, ha="right")
        ax.set_ylim(0, lim)
        ax.set_ylabel("F1 (%)")
        ax.grid(True, axis="y", alpha=0.3)
    for t in ax.get_yticklabels() if horizontal else ax.get_xticklabels():
        if t.get_text() == "Average":
            t.set_fontweight("bold")
    ax.set_axisbelow(True)
    if title:
        ax.set_title(title)
    if k > 1:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return _save(fig, Path(out_png))


# ----------------------------------------------------------------------------------------------------------------------
# Error taxonomy, confusion, reasoning cost, comparison

# one colour per error class, shared by the plots and the HTML browser (reasoning_ner.html_report)
ERROR_COLORS = {
    "correct": "#4caf50",
    "wrong_type": "#ff9800",
    "boundary": "#2196f3",
    "boundary_type": "#9c27b0",
    "spurious_in_text": "#e53935",
    "spurious_hallucinated": "#6d0000",
    "missed": "#9e9e9e",
}


def plot_error_bars(rows: Sequence[Mapping[str, Any]], out_png: str | Path, title: str | None = None) -> Path:
    """One horizontal stacked bar per dataset: every outcome of the error taxonomy (a matched pair once, a spurious
    prediction, a missed gold pair: they add up to n_pred + missed) as a percentage, the count in each segment wide
    enough to hold it. Rows without `errors` are skipped; ValueError when none has them."""
    from .errors import CLASSES

    data = [r for r in rows if isinstance(r.get("errors"), Mapping)]
    if not data:
        raise ValueError("no row has error counts")
    fig = _figure((9.0, 1.0 + 0.55 * len(data)))
    ax = fig.add_subplot()
    names = [r["dataset"] for r in data]
    left = [0.0] * len(data)
    totals = [max(1, sum(int(r["errors"].get(c, 0)) for c in CLASSES)) for r in data]
    for c in CLASSES:
        counts = [int(r["errors"].get(c, 0)) for r in data]
        widths = [100.0 * n / t for n, t in zip(counts, totals, strict=True)]
        bars = ax.barh(names, widths, left=left, color=ERROR_COLORS[c], label=c.replace("_", " "), height=0.7)
        labels = [str(n) if w >= 6 else "" for n, w in zip(counts, widths, strict=True)]
        _inner(ax.bar_label(bars, labels=labels, label_type="center", fontsize=7, color="white"))
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of outcomes (matched pairs once, spurious predictions, missed gold)")
    ax.set_title(title or "Error taxonomy per dataset")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return _save(fig, Path(out_png))


def confusion_grid(
    confusion: Mapping[str, Mapping[str, int]], max_types: int | None = 25
) -> tuple[list[str], list[list[int]]]:
    """(types, counts) of a result row's `confusion` (`{gold: {pred: n}}`, `reasoning_ner.errors.NONE` for the missing
    side): the types in alphabetical order (over `max_types`, the most frequent; None: all), and the square grid of
    counts, gold type by row and predicted type by column, the last row spurious predictions, the last column missed
    gold pairs."""
    from .errors import NONE

    freq: dict[str, int] = {}
    for g, cols in confusion.items():
        for p, n in cols.items():
            for t in (g, p):
                if t != NONE:
                    freq[t] = freq.get(t, 0) + n
    types = sorted(freq, key=lambda t: (-freq[t], t))[:max_types]
    types.sort()
    labels = types + [NONE]
    grid = [[int(confusion.get(g, {}).get(p, 0)) for p in labels] for g in labels]
    grid[-1][-1] = 0  # (none, none) is not an outcome
    return types, grid


def plot_confusion(
    confusion: Mapping[str, Mapping[str, int]], out_png: str | Path, title: str | None = None, max_types: int = 25
) -> Path:
    """Gold type (rows) × predicted type (columns) counts of one dataset, from a result row's `confusion`
    (`confusion_grid`): the diagonal holds correct and boundary matches, off-diagonal cells wrong_type and
    boundary_type, the last column missed gold pairs, the last row spurious predictions. Cells are shaded by their
    share of the row. Over `max_types` types, the most frequent are kept."""
    types, grid = confusion_grid(confusion, max_types)
    k = len(types) + 1
    size = max(4.5, min(14.0, 0.45 * k + 2.5))
    fig = _figure((size + 1.0, size))
    ax = fig.add_subplot()
    shade = []
    for row in grid:
        tot = sum(row)
        shade.append([v / tot if tot else 0.0 for v in row])
    ax.imshow(shade, cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            if v:
                color = "white" if shade[i][j] > 0.6 else "black"
                ax.text(j, i, str(v), ha="center", va="center", fontsize=7, color=color, in_layout=False)
    ax.set_xticks(range(k), [*types, "(missed)"], rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(k), [*types, "(spurious)"], fontsize=7)
    ax.set_xlabel("predicted type")
    ax.set_ylabel("gold type")
    ax.axhline(k - 1.5, color="grey", linewidth=0.8)
    ax.axvline(k - 1.5, color="grey", linewidth=0.8)
    ax.set_title(title or "Type confusion (matched by mention or span)")
    return _save(fig, Path(out_png))


def plot_reasoning_cost(
    rows: Sequence[Mapping[str, Any]], pooled: Sequence[Mapping[str, Any]], out_png: str | Path
) -> Path:
    """Three panels from the rows' `reasoning_cost` (`reasoning_ner.cost`): mean reasoning and answer tokens per
    dataset (stacked), micro F1 by reasoning-length bucket over all datasets (`pooled` buckets, example counts on the
    bars), and mean latency per bucket."""
    data = [r for r in rows if isinstance(r.get("reasoning_cost"), Mapping)]
    if not data:
        raise ValueError("no row has reasoning_cost")
    fig = _figure((13.0, 4.2))
    ax1, ax2, ax3 = fig.subplots(1, 3)
    names = [r["dataset"] for r in data]
    rt = [r["reasoning_cost"].get("mean_reasoning_tokens", 0.0) for r in data]
    at = [r["reasoning_cost"].get("mean_answer_tokens", 0.0) for r in data]
    ax1.bar(names, rt, color="C0", label="reasoning")
    ax1.bar(names, at, bottom=rt, color="C1", label="answer")
    ax1.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=7)
    ax1.set_ylabel("mean tokens per example")
    src = data[0]["reasoning_cost"].get("token_source")
    ax1.set_title("Tokens per example" + (f"\n({src})" if src else ""), fontsize=9)
    ax1.legend(fontsize=7)
    labels = [b["bucket"] for b in pooled]
    bars = ax2.bar(labels, [b["f1"] for b in pooled], color="C2")
    _inner(ax2.bar_label(bars, labels=[f"n={b['n_examples']}" for b in pooled], padding=2, fontsize=6))
    ax2.set_ylim(0, 105)
    ax2.set_xlabel("reasoning tokens")
    ax2.set_ylabel("micro F1 (%)")
    ax2.set_title("F1 by reasoning length (all datasets)", fontsize=9)
    ax2.tick_params(axis="x", labelsize=7, rotation=30)
    ax3.bar(labels, [b["mean_latency_s"] or 0.0 for b in pooled], color="C3")
    ax3.set_xlabel("reasoning tokens")
    ax3.set_ylabel("mean latency (s)")
    ax3.set_title("Latency by reasoning length", fontsize=9)
    ax3.tick_params(axis="x", labelsize=7, rotation=30)
    for ax in (ax1, ax2, ax3):
        ax.grid(True, axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    return _save(fig, Path(out_png))


def plot_comparison(
    runs: Mapping[str, Mapping[str, tuple[float, float | None, float | None]]],
    out_png: str | Path,
    title: str | None = None,
) -> Path:
    """Grouped bars: for each dataset (the first run's order, "Average" last), one bar per run with its F1 and, when
    known, its interval as an error bar. `runs` maps a run name to `{dataset: (f1, low, high)}` (percent)."""
    names = list(runs)
    if not names:
        raise ValueError("no runs to plot")
    datasets = list(next(iter(runs.values())))
    n, k = len(datasets), len(names)
    width = 0.8 / k
    fig = _figure((max(6.0, min(14.0, 0.45 * n * k + 2.5)), 4.8))
    ax = fig.add_subplot()
    for j, name in enumerate(names):
        pos = [i + (j - (k - 1) / 2) * width for i in range(n)]
        vals = [runs[name].get(d, (math.nan, None, None)) for d in datasets]
        f1 = [v[0] for v in vals]
        lo = [v[0] - v[1] if v[1] is not None else 0.0 for v in vals]
        hi = [v[2] - v[0] if v[2] is not None else 0.0 for v in vals]
        bars = ax.bar(pos, f1, width * 0.95, label=name, color=f"C{j}", yerr=[lo, hi], capsize=2, error_kw={"lw": 0.8})
        values = [f"{v:.1f}" for v in f1]
        _inner(ax.bar_label(bars, labels=values, label_type="center", rotation=90, fontsize=7, color="white"))
    ax.set_xticks(range(n), datasets, rotation=30, ha="right")
    for t in ax.get_xticklabels():
        if t.get_text() == "Average":
            t.set_fontweight("bold")
    top = max([v[2] if v[2] is not None else v[0] for r in runs.values() for v in r.values()] + [1.0])
    ax.set_ylim(0, top * 1.1 + 2.0)
    ax.set_ylabel("F1 (%)")
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.set_title(title or "F1 per dataset (bars: 95% bootstrap interval)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return _save(fig, Path(out_png))


# ----------------------------------------------------------------------------------------------------------------------
# Stage-1 judge scores


def plot_score_histogram(report: Mapping[str, Any], png: str | Path, min_score: float) -> Path:
    """Judge-score histogram of a stage-1 report (`reasoning_ner.cot.summarize`), kept scores in green."""
    hist = report["score_histogram"]
    keys = list(hist)
    fig = _figure((7.0, 3.8))
    ax = fig.add_subplot()
    colors = ["C2" if k != "unparsable" and float(k) >= min_score else "C7" for k in keys]
    bars = ax.bar(keys, [hist[k] for k in keys], color=colors)
    _inner(ax.bar_label(bars, padding=2, fontsize=7))
    ax.set_xlabel("judge score (green: kept if valid)")
    ax.set_ylabel("examples")
    ax.set_title(f"Judge scores: {report['kept']} of {report['processed']} kept")
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return _save(fig, Path(png))


__all__ = [
    "ERROR_COLORS",
    "confusion_grid",
    "find_trainer_state",
    "load_log_history",
    "plot_comparison",
    "plot_confusion",
    "plot_error_bars",
    "plot_f1_bars",
    "plot_reasoning_cost",
    "plot_score_histogram",
    "plot_training",
    "reward_keys",
    "series",
]
