"""Reports of an evaluation: the result JSON (`{"meta", "rows"}`), the Markdown report, the plots and the HTML error
browser, all beside the result file. Scoring itself is `reasoning_ner.scoring`.

`write_reports(rows, result_file, ...)` writes:

* `result.json` — `{"meta": {...}, "rows": [...]}` (one row per dataset, then the Average row);
* `result.md` — P / R / F1 with their bootstrap intervals, the published rows beside this run, the error taxonomy per
  dataset (`reasoning_ner.errors`), the reasoning cost (tokens, latency, F1 by reasoning length:
  `reasoning_ner.cost`), the cost per example, the parse statuses, and per type P / R / F1 with the error classes;
* with `plot`: `result_f1.png` (F1 bars beside the paper's), `result_errors.png` (stacked error classes per dataset),
  `result_cost.png` (reasoning cost; only when there are token counts to show), and with `plot_confusion` as well
  `result_confusion/<dataset>.png` (type confusion per dataset: the slowest figures, ~0.2 s each, hence off by
  default; the same matrices are in the HTML browser and, as counts, in `result.json`);
* with `browser` (the data of `reasoning_ner.html_report.build_data`): `result.html`, the error browser.

`figure_jobs` lists the figures of a set of rows as `reasoning_ner.figures.FigureJob`s; `write_reports` hands them to
an executor — drawn here by default, or by the figure worker `evaluate.py` started, to which it may have submitted
them before the rows were complete (a figure needs only its own fields).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .data import DataError, load_structured
from .figures import FigureJob, InlineFigures
from .scoring import DatasetScore, result_rows

logger = logging.getLogger(__name__)


def _ci(v: Any) -> str:
    return f"[{v[0]:.2f}, {v[1]:.2f}]" if isinstance(v, (list, tuple)) and len(v) == 2 else ""


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """P / R / F1 per dataset and the average; with bootstrap intervals (`f1_ci`) in the rows, an F1 interval column."""
    with_ci = any("f1_ci" in r for r in rows)
    ci_head, ci_rule = (" F1 95% CI |", "---|") if with_ci else ("", "")
    head = (
        f"| dataset | P | R | F1 |{ci_head} gold | pred | match | examples | unparsed |\n"
        f"|---|---:|---:|---:|{ci_rule}---:|---:|---:|---:|---:|"
    )
    lines = [head]
    for r in rows:
        ci = f" {_ci(r.get('f1_ci'))} |" if with_ci else ""
        if r["dataset"] == "Average":
            lines.append(f"| **Average** | | | **{r['f1']:.2f}** |{ci} | | | | |")
        else:
            lines.append(
                f"| {r['dataset']} | {r['precision']:.2f} | {r['recall']:.2f} | {r['f1']:.2f} |{ci} {r['n_gold']} | "
                f"{r['n_pred']} | {r['n_match']} | {r['n_examples']} | {r['n_unparsed']} |"
            )
    return "\n".join(lines)


def error_table(rows: Sequence[dict[str, Any]]) -> str:
    """The error taxonomy per dataset (counts; `reasoning_ner.errors`), with the predicted and gold totals."""
    from .errors import CLASSES

    data = [r for r in rows if isinstance(r.get("errors"), dict)]
    out = ["| dataset | " + " | ".join(c.replace("_", " ") for c in CLASSES) + " | pred | gold |"]
    out.append("|---" + "|---:" * (len(CLASSES) + 2) + "|")
    for r in data:
        e = r["errors"]
        out.append(
            f"| {r['dataset']} | "
            + " | ".join(str(e.get(c, 0)) for c in CLASSES)
            + f" | {r['n_pred']} | {r['n_gold']} |"
        )
    return "\n".join(out)


def cost_section(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Markdown lines: reasoning / answer tokens and latency per dataset, F1 and latency by reasoning length."""
    from .cost import pool_buckets

    data = [r for r in rows if isinstance(r.get("reasoning_cost"), dict)]
    if not data:
        return []
    src = next((r["reasoning_cost"].get("token_source") for r in data if r["reasoning_cost"].get("token_source")), None)
    out = ["## Reasoning cost", ""]
    out.append(
        f"Token counts: {src}." if src else "No token counts (no tokenizer, no completion_tokens): characters only."
    )
    out += [
        "",
        "| dataset | reasoning tokens | answer tokens | reasoning chars | answer chars | latency mean (s) | median | p90 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def num(v: Any, f: str = ".1f") -> str:
        return format(v, f) if isinstance(v, (int, float)) else "–"

    for r in data:
        c = r["reasoning_cost"]
        lat = c.get("latency_s") or {}
        out.append(
            f"| {r['dataset']} | {num(c.get('mean_reasoning_tokens'))} | {num(c.get('mean_answer_tokens'))} | "
            f"{num(c.get('mean_reasoning_chars'))} | {num(c.get('mean_answer_chars'))} | {num(lat.get('mean'), '.3f')} | "
            f"{num(lat.get('median'), '.3f')} | {num(lat.get('p90'), '.3f')} |"
        )
    pooled = pool_buckets([r["reasoning_cost"] for r in data])
    if pooled:
        out += [
            "",
            "F1 by reasoning length, all datasets (micro F1 over the sentences whose reasoning falls in the bucket):",
            "",
            "| reasoning tokens | examples | gold | pred | match | F1 | mean latency (s) |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for b in pooled:
            out.append(
                f"| {b['bucket']} | {b['n_examples']} | {b['n_gold']} | {b['n_pred']} | {b['n_match']} | "
                f"{b['f1']:.2f} | {num(b['mean_latency_s'], '.3f')} |"
            )
    out.append("")
    return out


def write_result(
    scores: Sequence[DatasetScore], result_file: str | Path, meta: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The result rows of `scores`, written as JSON (`{"meta": ..., "rows": [...]}`)."""
    rows = result_rows(scores)
    _write_rows(rows, Path(result_file), meta)
    return rows


def _write_rows(rows: Sequence[dict[str, Any]], path: Path, meta: dict[str, Any] | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"meta": meta or {}, "rows": list(rows)}
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load_result(path: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(rows, meta) of a result JSON; a bare list of rows (files written before meta was recorded) has empty meta."""
    path = Path(path)
    doc = load_structured(path, "result file")
    if isinstance(doc, list):
        return doc, {}
    if not isinstance(doc, dict) or not isinstance(doc.get("rows"), list):
        raise DataError(path, None, "rows", "expected {'meta': ..., 'rows': [...]} or a list of rows")
    return doc["rows"], doc.get("meta") or {}


def usage_stats(records: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, dict[str, float]]:
    """Per dataset: mean completion tokens and latency (lines generated by this project), and request errors, over the
    scored predictions lines (`reasoning_ner.scoring.load_prediction_records`)."""
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0, 0])
    for name, recs in records.items():
        for rec in recs:
            if "completion_tokens" in rec:
                s = sums[name]
                s[0] += rec["completion_tokens"]
                s[1] += rec.get("latency_s", 0.0)
                s[2] += 1
                s[3] += "error" in rec
    out = {}
    for d, (tok, lat, n, err) in sums.items():
        if n:
            out[d] = {"mean_completion_tokens": round(tok / n, 1), "mean_latency_s": round(lat / n, 4)}
            if err:
                out[d]["n_request_errors"] = int(err)
    return out


def load_reference(path: str | Path | None = None) -> tuple[dict[str, dict[str, float]], list[str], str]:
    """Published rows `{name: {dataset: f1, ..., "Average": f1}}`, the names to plot, and the source line."""
    from .paths import CONFIG_DIR

    path = Path(path) if path else CONFIG_DIR / "reference" / "table1.yaml"
    cfg = load_structured(path, "reference table", yaml_ok=True)
    try:
        names = list(cfg["datasets"]) + ["Average"]
        rows = {}
        for name, vals in cfg["rows"].items():
            if len(vals) != len(names):
                raise DataError(path, name, "rows", f"{len(vals)} values for {len(names)} columns")
            rows[str(name)] = dict(zip(names, map(float, vals), strict=True))
        return rows, [str(n) for n in cfg.get("plot", rows)], str(cfg.get("source", ""))
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, DataError):
            raise
        raise DataError(path, None, None, f"cannot read reference table: {e}") from None


_STATUSES = ("ok", "no_answer", "invalid_json", "wrong_structure")


def markdown_report(
    rows: Sequence[dict[str, Any]],
    reference: dict[str, dict[str, float]] | None = None,
    source: str = "",
    title: str = "Zero-shot NER evaluation",
    meta: dict[str, Any] | None = None,
) -> str:
    """The result as Markdown: the P/R/F1 table, the published rows beside this run (F1 per dataset), per-type
    scores, parse failures, and token/latency cost per example."""
    out = [f"# {title}", ""]
    for k, v in (meta or {}).items():
        if isinstance(v, dict):
            v = ", ".join(f"{a}={b}" for a, b in v.items())
        out.append(f"- {k}: `{v}`")
    if meta:
        out.append("")
    out += ["## Scores", "", markdown_table(rows), ""]
    boot = (meta or {}).get("bootstrap")
    if isinstance(boot, dict) and boot.get("samples"):
        out += [
            f"Intervals: {100 * boot.get('confidence', 0.95):.0f}% percentile bootstrap over sentences, resampled within "
            f"each dataset ({boot['samples']} samples, seed {boot.get('seed', 0)}); the Average's from the mean of the "
            "datasets' F1 in each replicate.",
            "",
        ]
    data_rows = [r for r in rows if r["dataset"] != "Average"]
    names = [r["dataset"] for r in data_rows]
    if reference:
        avg = next((r["f1"] for r in rows if r["dataset"] == "Average"), None)
        out += [f"## Beside the paper ({source})" if source else "## Beside published results", ""]
        out.append("| model | " + " | ".join(names) + " | Average |")
        out.append("|---" + "|---:" * (len(names) + 1) + "|")
        cells = [f"{r['f1']:.1f}" for r in data_rows] + [f"{avg:.1f}" if avg is not None else ""]
        out.append("| **this run** | " + " | ".join(cells) + " |")
        for name, ref in reference.items():
            vals = [f"{ref[n]:.1f}" if n in ref else "–" for n in names]
            # the paper's average covers its seven datasets; only comparable when this run covers the same
            same = set(names) == set(ref) - {"Average"}
            vals.append(f"{ref['Average']:.1f}" if same and "Average" in ref else "–")
            out.append(f"| {name} | " + " | ".join(vals) + " |")
        out.append("")
    if any(isinstance(r.get("errors"), dict) for r in data_rows):
        out += [
            "## Error taxonomy",
            "",
            'Each predicted and gold (mention, type) pair has one class (README, "Reading a result"): pred = correct + '
            "wrong type + boundary + boundary type + spurious; gold = correct + wrong type + boundary + boundary type + "
            "missed.",
            "",
            error_table(data_rows),
            "",
        ]
    out += cost_section(data_rows)
    cost = [r for r in data_rows if "mean_completion_tokens" in r]
    if cost:
        out += ["## Cost per example", "", "| dataset | mean completion tokens | mean latency (s) | request errors |"]
        out.append("|---|---:|---:|---:|")
        for r in cost:
            out.append(
                f"| {r['dataset']} | {r['mean_completion_tokens']:.1f} | {r['mean_latency_s']:.3f} | "
                f"{r.get('n_request_errors', 0)} |"
            )
        out.append("")
    out += [
        "## Parse status",
        "",
        "| dataset | " + " | ".join(_STATUSES) + " |",
        "|---" + "|---:" * len(_STATUSES) + "|",
    ]
    for r in data_rows:
        ps = r.get("parse_status", {})
        out.append(f"| {r['dataset']} | " + " | ".join(str(ps.get(k, 0)) for k in _STATUSES) + " |")
    out += ["", "## Per type", ""]
    for r in data_rows:
        types = r.get("per_type", {})
        with_err = any("errors" in c for c in types.values())
        err_head = (
            " boundary | wrong type (as gold / as pred) | boundary+type (as gold / as pred) | spurious (halluc. / in "
            "text) | missed |"
            if with_err
            else ""
        )
        out += [
            f"### {r['dataset']}",
            "",
            "| type | P | R | F1 | gold | pred | match |" + err_head,
            "|---|---:|---:|---:|---:|---:|---:|" + ("---:|" * 5 if with_err else ""),
        ]
        for t, c in types.items():
            line = (
                f"| {t} | {c['precision']:.2f} | {c['recall']:.2f} | {c['f1']:.2f} | {c['n_gold']} | "
                f"{c['n_pred']} | {c['n_match']} |"
            )
            e = c.get("errors")
            if with_err and e:
                line += (
                    f" {e['boundary']} | {e['wrong_type_gold']} / {e['wrong_type_pred']} | {e['boundary_type_gold']} / "
                    f"{e['boundary_type_pred']} | {e['spurious_hallucinated']} / {e['spurious_in_text']} | "
                    f"{e['missed']} |"
                )
            out.append(line)
        out.append("")
    return "\n".join(out)


def _safe_name(name: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "dataset"


def figure_jobs(
    rows: Sequence[dict[str, Any]],
    result_file: str | Path,
    reference: dict[str, dict[str, float]] | None = None,
    to_plot: Sequence[str] = (),
    plot_confusion: bool = False,
) -> list[FigureJob]:
    """The figures of the module docstring that these rows can give (`reference`, `to_plot`: `load_reference`'s), in
    the order they are listed. Each job carries only the row fields its figure draws — `dataset` and `f1`; `errors`;
    `reasoning_cost`; one dataset's `confusion` — so rows without intervals or without the error taxonomy yet give
    the same jobs for the figures they can draw: `evaluate.py` submits them as soon as their numbers are known."""
    result_file = Path(result_file)
    stem = result_file.stem

    def png(suffix: str) -> Path:
        return result_file.with_name(f"{stem}_{suffix}.png")

    def fields(*keys: str, average: bool = False) -> list[dict[str, Any]]:
        return [{k: r[k] for k in ("dataset", *keys) if k in r} for r in rows if average or r["dataset"] != "Average"]

    data_rows = [r for r in rows if r["dataset"] != "Average"]
    names = {r["dataset"] for r in rows}
    ref = {}
    for k, v in (reference or {}).items():
        if k in to_plot and names & (set(v) - {"Average"}):
            # the published average covers the paper's datasets; over a subset, the plot takes the subset's mean
            ref[k] = (
                v if names - {"Average"} == set(v) - {"Average"} else {d: f for d, f in v.items() if d != "Average"}
            )
    path = png("f1")
    args = (fields("f1", average=True), path, "Zero-shot F1 per dataset")
    jobs = [FigureJob("png", "plot_f1_bars", args, path, {"reference": ref})]
    if any(isinstance(r.get("errors"), dict) for r in data_rows):
        path = png("errors")
        jobs.append(FigureJob("errors_png", "plot_error_bars", (fields("errors"), path), path))
        if plot_confusion:
            folder = result_file.with_name(stem + "_confusion")
            for r in data_rows:
                if r.get("confusion"):
                    path = folder / f"{_safe_name(r['dataset'])}.png"
                    args = (r["confusion"], path, f"{r['dataset']}: type confusion")
                    jobs.append(FigureJob(f"confusion:{r['dataset']}", "plot_confusion", args, path))
    costs = [r["reasoning_cost"] for r in data_rows if isinstance(r.get("reasoning_cost"), dict)]
    if costs:
        from .cost import pool_buckets

        pooled = pool_buckets(costs)
        if pooled:  # token counts known (a tokenizer, or the lines' completion_tokens): else the figure has no bar
            path = png("cost")
            jobs.append(FigureJob("cost_png", "plot_reasoning_cost", (fields("reasoning_cost"), pooled, path), path))
    return jobs


def write_reports(
    rows: list[dict[str, Any]],
    result_file: str | Path,
    reference_file: str | Path | None = None,
    meta: dict[str, Any] | None = None,
    plot: bool = True,
    browser: dict[str, Any] | None = None,
    plot_confusion: bool = False,
    figures: InlineFigures | None = None,
) -> dict[str, Path]:
    """Every report of the module docstring next to `result_file`; returns `{kind: path}` of what was written.

    The figures (with `plot`) are drawn by `figures` (default: here, `InlineFigures`) once the JSON, Markdown and HTML
    are written, so that a figure that fails loses none of them. Figures already submitted to `figures` (`evaluate.py`
    submits `figure_jobs` to its worker as soon as each figure's numbers are known) are not drawn again; they must
    have the data these rows give them (else ValueError)."""
    result_file = Path(result_file)
    _write_rows(rows, result_file, meta)
    reference, to_plot, source = load_reference(reference_file)
    paths = {"json": result_file, "markdown": result_file.with_suffix(".md")}
    md = markdown_report(rows, reference, source, meta=meta)
    figures = figures if figures is not None else InlineFigures()
    jobs = figure_jobs(rows, result_file, reference, to_plot, plot_confusion) if plot else list(figures.jobs)
    extra_files = []
    for job in jobs:
        if job.key.startswith("confusion:"):
            name = job.path.parent.name + "/<dataset>.png"
            if name not in extra_files:
                extra_files.append(name)
        elif job.key != "png":
            extra_files.append(job.path.name)
    html = None
    if browser is not None:
        from .html_report import write_html

        title = f"{(meta or {}).get('model') or result_file.parent.name}: error browser"
        html = write_html(result_file.with_suffix(".html"), browser, title)
        extra_files.append(html.name)
    if extra_files:
        md += "\n## Files\n\n" + "".join(f"- `{f}`\n" for f in extra_files)
    paths["markdown"].write_text(md + "\n", encoding="utf-8")
    figures.submit(jobs)
    drawn = figures.wait()
    for job in jobs:  # the order of the files list: errors, confusion, cost, then html and the F1 bars
        if job.key != "png":
            paths[job.key] = drawn[job.key]
    if html is not None:
        paths["html"] = html
    if "png" in drawn:
        paths["png"] = drawn["png"]
    return paths


__all__ = [
    "cost_section",
    "error_table",
    "figure_jobs",
    "load_reference",
    "load_result",
    "markdown_report",
    "markdown_table",
    "usage_stats",
    "write_reports",
    "write_result",
]
