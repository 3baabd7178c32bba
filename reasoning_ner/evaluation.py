"""Scoring saved completions on the zero-shot suite.

A predictions file is JSONL, one line per test example: `{"dataset": "<folder name>", "index": <position in its
test.json>, "completion": "<raw model output>"}` (other keys, e.g. token counts or latency, are allowed and ignored).
Every `(dataset, index)` of the evaluated datasets must appear exactly once; a missing or duplicated pair, an index out
of range or a dataset that is not evaluated is an error that names it.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .data import DataError, DatasetSplit, read_instructuie
from .metrics import DatasetScore, Protocol, get_protocol, markdown_table, result_rows, score_dataset

logger = logging.getLogger(__name__)


def load_splits(
    base_path: str | Path, names: Sequence[str], split: str = "test", limit: int | None = None
) -> list[DatasetSplit]:
    """Read the splits; `limit` keeps the first N examples of each (quick runs)."""
    splits = [read_instructuie(base_path, n, split) for n in names]
    if limit is not None:
        for s in splits:
            s.examples = s.examples[:limit]
    return splits


def generation_items(splits: Sequence[DatasetSplit], policy, prompt):
    """One chat prompt per test example under a `PromptSpec`: the dataset's schema under the label policy (in the
    spec's order), the sentence, and the source dataset when the spec names it."""
    from .data import source_name
    from .generation import Item

    items = []
    for s in splits:
        schema = policy.schema(s.labels)
        for i, ex in enumerate(s.examples):
            items.append(Item(s.name, i, prompt.messages(ex.sentence, schema, source_name(s.name))))
    return items


def load_predictions(path: str | Path, splits: Sequence[DatasetSplit], limited: bool = False) -> dict[str, list[Any]]:
    """Completions per dataset, in example order. Raises DataError on any gap, duplicate or stray line; with
    `limited` (the splits were cut to their first N examples), lines past the cut are skipped (and counted in a
    warning) instead."""
    path = Path(path)
    sizes = {s.name: len(s.examples) for s in splits}
    got: dict[str, dict[int, Any]] = {n: {} for n in sizes}
    dup: dict[str, list[int]] = defaultdict(list)
    beyond = 0
    try:
        fh = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(path, None, None, "predictions file not found") from None
    with fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(path, f"line {lineno}", None, f"invalid JSON: {e.msg}") from None
            if not isinstance(rec, dict):
                raise DataError(path, f"line {lineno}", None, "expected a JSON object")
            name, idx = rec.get("dataset"), rec.get("index")
            if not isinstance(name, str):
                raise DataError(path, f"line {lineno}", "dataset", "missing or not a string")
            if not isinstance(idx, int) or isinstance(idx, bool):
                raise DataError(path, f"line {lineno}", "index", "missing or not an integer")
            if "completion" not in rec:
                raise DataError(path, f"line {lineno}", "completion", "missing")
            if name not in sizes:
                raise DataError(
                    path, f"line {lineno}", "dataset", f"{name!r} is not among the evaluated datasets {sorted(sizes)}"
                )
            if limited and idx >= sizes[name]:
                beyond += 1
                continue
            if not 0 <= idx < sizes[name]:
                raise DataError(
                    path, f"line {lineno}", "index", f"{idx} out of range for {name} ({sizes[name]} examples)"
                )
            if idx in got[name]:
                dup[name].append(idx)
            got[name][idx] = rec["completion"]
    if beyond:
        logger.warning("%s: %d lines past --limit were not scored", path, beyond)
    problems = []
    for name, n in sizes.items():
        missing = [i for i in range(n) if i not in got[name]]
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
            problems.append(f"{name}: {len(missing)} missing index(es): {shown}")
        if dup[name]:
            problems.append(f"{name}: duplicate index(es): {', '.join(map(str, sorted(set(dup[name]))[:10]))}")
    if problems:
        raise DataError(path, None, None, "; ".join(problems))
    return {name: [got[name][i] for i in range(n)] for name, n in sizes.items()}


def score_predictions(
    base_path: str | Path,
    names: Sequence[str],
    predictions_file: str | Path,
    protocol: Protocol | str = "default",
    split: str = "test",
    limit: int | None = None,
) -> list[DatasetScore]:
    proto = get_protocol(protocol) if isinstance(protocol, str) else protocol
    splits = load_splits(base_path, names, split, limit)
    preds = load_predictions(predictions_file, splits, limited=limit is not None)
    return [score_dataset(s, preds[s.name], proto) for s in splits]


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
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(path, None, None, "result file not found") from None
    except json.JSONDecodeError as e:
        raise DataError(path, None, None, f"invalid JSON at line {e.lineno}: {e.msg}") from None
    if isinstance(doc, list):
        return doc, {}
    if not isinstance(doc, dict) or not isinstance(doc.get("rows"), list):
        raise DataError(path, None, "rows", "expected {'meta': ..., 'rows': [...]} or a list of rows")
    return doc["rows"], doc.get("meta") or {}


def usage_stats(pred_file: str | Path) -> dict[str, dict[str, float]]:
    """Per dataset: mean completion tokens and latency (lines generated by this project), and request errors."""
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0, 0])
    with Path(pred_file).open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            if "completion_tokens" in rec:
                s = sums[rec["dataset"]]
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
    import yaml

    from .paths import CONFIG_DIR

    path = Path(path) if path else CONFIG_DIR / "reference" / "table1.yaml"
    try:
        cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
        names = list(cfg["datasets"]) + ["Average"]
        rows = {}
        for name, vals in cfg["rows"].items():
            if len(vals) != len(names):
                raise DataError(path, name, "rows", f"{len(vals)} values for {len(names)} columns")
            rows[str(name)] = dict(zip(names, map(float, vals), strict=True))
        return rows, [str(n) for n in cfg.get("plot", rows)], str(cfg.get("source", ""))
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as e:
        if isinstance(e, DataError):
            raise
        raise DataError(path, None, None, f"cannot read reference table: {e}") from None


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
        out += [
            f"### {r['dataset']}",
            "",
            "| type | P | R | F1 | gold | pred | match |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for t, c in r.get("per_type", {}).items():
            out.append(
                f"| {t} | {c['precision']:.2f} | {c['recall']:.2f} | {c['f1']:.2f} | {c['n_gold']} | "
                f"{c['n_pred']} | {c['n_match']} |"
            )
        out.append("")
    return "\n".join(out)


_STATUSES = ("ok", "no_answer", "invalid_json", "wrong_structure")


def write_reports(
    rows: list[dict[str, Any]],
    result_file: str | Path,
    reference_file: str | Path | None = None,
    meta: dict[str, Any] | None = None,
    plot: bool = True,
) -> dict[str, Path]:
    """result JSON, `<result>.md` and `<result>_f1.png` (this run beside the paper's rows) next to each other."""
    result_file = Path(result_file)
    _write_rows(rows, result_file, meta)
    reference, to_plot, source = load_reference(reference_file)
    paths = {"json": result_file, "markdown": result_file.with_suffix(".md")}
    paths["markdown"].write_text(markdown_report(rows, reference, source, meta=meta) + "\n", encoding="utf-8")
    if plot:
        from .plots import plot_f1_bars

        names = {r["dataset"] for r in rows}
        ref = {}
        for k, v in reference.items():
            if k in to_plot and names & (set(v) - {"Average"}):
                # the published average covers the paper's datasets; over a subset, the plot takes the subset's mean
                ref[k] = (
                    v if names - {"Average"} == set(v) - {"Average"} else {d: f for d, f in v.items() if d != "Average"}
                )
        paths["png"] = plot_f1_bars(
            rows, result_file.with_name(result_file.stem + "_f1.png"), "Zero-shot F1 per dataset", reference=ref
        )
    return paths


__all__ = [
    "generation_items",
    "load_predictions",
    "load_reference",
    "load_result",
    "load_splits",
    "markdown_report",
    "markdown_table",
    "score_predictions",
    "usage_stats",
    "write_reports",
    "write_result",
]
