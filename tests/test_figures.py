"""Figures drawn in a child process (reasoning_ner.figures): the worker writes the same PNG bytes as drawing them here,
names a figure whose function fails, leaves nothing undrawn when it dies mid-run or cannot start, skips a figure
submitted twice with the same data and refuses it with other data, and is not used on one CPU; and the figures
`evaluate.py` submits before the intervals and the taxonomy are done equal those drawn from its final result.json.
That the re-scoring process itself never imports matplotlib is tests/test_light_paths.py's."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from helpers.common import ROOT, base_env

from reasoning_ner.cost import dataset_cost, token_counts
from reasoning_ner.figures import FigureError, FigureJob, FigureWorker, InlineFigures
from reasoning_ner.reports import figure_jobs, load_reference

PNG = b"\x89PNG\r\n\x1a\n"


def _cost(reasoning_tokens: list[int]) -> dict:
    recs = [
        {"completion": "<think>" + "r" * 4 * n + "</think>{}", "completion_tokens": n + 1, "latency_s": 0.1 * (n + 1)}
        for n in reasoning_tokens
    ]
    return dataset_cost(recs, [(2, 2, 1)] * len(recs), *token_counts(recs))


def _rows() -> list[dict]:
    """Two datasets' rows with everything the figures draw: F1, error classes, confusion counts, reasoning cost."""
    errors = {
        "correct": 40,
        "wrong_type": 6,
        "boundary": 3,
        "boundary_type": 1,
        "spurious_hallucinated": 2,
        "spurious_in_text": 7,
        "missed": 9,
    }
    confusion = {"person": {"person": 30, "location": 4, "(none)": 5}, "location": {"location": 14, "(none)": 4}}
    confusion["(none)"] = {"person": 5, "location": 4}
    return [
        {
            "dataset": "CrossNER_AI",
            "f1": 71.5,
            "errors": errors,
            "confusion": confusion,
            "reasoning_cost": _cost([5, 70]),
        },
        {
            "dataset": "mit-movie",
            "f1": 64.25,
            "errors": errors,
            "confusion": confusion,
            "reasoning_cost": _cost([0, 9]),
        },
        {"dataset": "Average", "f1": 67.88},
    ]


def _jobs(result_file) -> list[FigureJob]:
    reference, to_plot, _ = load_reference(None)  # the paper's Table 1 rows beside the run, as evaluate.py draws them
    return figure_jobs(_rows(), result_file, reference, to_plot, plot_confusion=True)


def test_the_worker_writes_the_same_pngs_as_drawing_them_here(tmp_path, caplog):
    here, there = _jobs(tmp_path / "here" / "result.json"), _jobs(tmp_path / "there" / "result.json")
    assert [j.key for j in here] == ["png", "errors_png", "confusion:CrossNER_AI", "confusion:mit-movie", "cost_png"]
    inline = InlineFigures()
    inline.submit(here)
    assert not (tmp_path / "here").exists()  # drawn in wait(), not at submit
    drawn_here = inline.wait()
    with caplog.at_level(logging.WARNING, logger="reasoning_ner.figures"), FigureWorker() as worker:
        worker.submit(there)
        drawn_there = worker.wait()
    assert "in this process" not in caplog.text  # the worker drew them all: nothing was left to this process
    assert drawn_there.keys() == drawn_here.keys() == {j.key for j in here}
    for key, path in drawn_there.items():
        assert path == next(j.path for j in there if j.key == key) and path.parent.is_relative_to(tmp_path / "there")
        data = path.read_bytes()
        assert data.startswith(PNG) and len(data) > 5000, key
        assert data == drawn_here[key].read_bytes(), key


def test_a_failing_figure_is_named_and_the_others_are_drawn(tmp_path):
    for where, figures in (("worker", FigureWorker()), ("here", InlineFigures())):
        good = _jobs(tmp_path / where / "result.json")[0]
        bad_path = tmp_path / where / "result_errors.png"
        bad = FigureJob("errors_png", "plot_error_bars", ([{"dataset": "d", "f1": 1.0}], bad_path), bad_path)
        with figures:
            figures.submit([good, bad])
            with pytest.raises(FigureError) as e:
                figures.wait()
        assert str(e.value) == "figure 'errors_png' (plot_error_bars): ValueError: no row has error counts", where
        assert good.path.read_bytes().startswith(PNG) and not bad_path.exists(), where


def test_figures_of_a_worker_killed_mid_run_are_drawn_here(tmp_path, caplog):
    jobs = _jobs(tmp_path / "result.json")
    second = jobs[1].path
    with FigureWorker() as worker:
        worker.submit(jobs)
        deadline = time.monotonic() + 120
        # the second PNG is opened after the first was answered: the kill lands with one figure drawn there at least
        while not second.exists() and time.monotonic() < deadline:
            time.sleep(0.002)
        assert second.exists()
        os.kill(worker.pid, signal.SIGKILL)
        with caplog.at_level(logging.WARNING, logger="reasoning_ner.figures"):
            drawn = worker.wait()
    m = re.search(r"figure worker exited with status -9: drawing (\d+) figure\(s\) in this process", caplog.text)
    assert m and 1 <= int(m.group(1)) < len(jobs), caplog.text  # some drawn there, the rest here
    again = InlineFigures()
    again.submit(_jobs(tmp_path / "again" / "result.json"))
    expected = again.wait()
    assert drawn.keys() == expected.keys() == {j.key for j in jobs}
    for key, path in drawn.items():  # a PNG the kill cut short was drawn again here
        assert path.read_bytes() == expected[key].read_bytes(), key


def test_a_worker_that_cannot_start_leaves_its_figures_to_this_process(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(sys, "executable", "")  # an embedded Python: no interpreter to start
    with caplog.at_level(logging.WARNING, logger="reasoning_ner.figures"), FigureWorker() as worker:
        assert worker.pid is None
        worker.submit(_jobs(tmp_path / "result.json")[:2])
        drawn = worker.wait()
    assert "could not be started" in caplog.text and "drawing 2 figure(s) in this process" in caplog.text
    assert sorted(p.name for p in drawn.values()) == ["result_errors.png", "result_f1.png"]


def test_a_key_submitted_again_is_skipped_with_the_same_data_only(tmp_path):
    first = _jobs(tmp_path / "a" / "result.json")
    figures = InlineFigures()
    figures.submit(first[:1])
    figures.submit(first[:2])  # the F1 bars again (skipped), the error classes (new)
    assert figures.wait() == {"png": first[0].path, "errors_png": first[1].path}
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["result_errors.png", "result_f1.png"]
    rows = _rows()
    rows[0]["f1"] += 1.0
    reference, to_plot, _ = load_reference(None)
    other = figure_jobs(rows, tmp_path / "a" / "result.json", reference, to_plot)
    with pytest.raises(ValueError, match="figure 'png' submitted again with other data"):
        figures.submit(other)
    # the error classes do not depend on F1: the same job whatever the F1 (each job carries only its own fields)
    assert other[1].to_json() == first[1].to_json()


def test_one_cpu_draws_here_more_than_one_starts_the_worker():
    probe = (
        "import os, sys; from reasoning_ner.figures import start_figures\n"
        "if sys.argv[1] == 'one': os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})\n"
        "with start_figures() as f: print(type(f).__name__)"
    )
    got = {}
    for cpus in ("one", "all"):
        r = subprocess.run([sys.executable, "-c", probe, cpus], env=base_env(), capture_output=True, text=True)
        assert r.returncode == 0, r.stderr[-2000:]
        got[cpus] = r.stdout.strip()
    assert got["one"] == "InlineFigures"
    assert got["all"] == ("FigureWorker" if len(os.sched_getaffinity(0)) > 1 else "InlineFigures")


def test_only_the_plotting_functions_can_be_asked_for(tmp_path):
    with pytest.raises(ValueError, match="unknown function 'savefig'"):
        FigureJob("x", "savefig", (), tmp_path / "x.png")


def _predictions(ner_data, path, limit: int) -> list[str]:
    """Completions for the first `limit` test examples of the seven test sets (gold with a missed type and a spurious
    or mistyped mention here and there, reasoning of varying length, token counts); returns the dataset names."""
    from reasoning_ner.data import load_dataset_config
    from reasoning_ner.paths import CONFIG_DIR
    from reasoning_ner.prompts import render_answer
    from reasoning_ner.scoring import get_protocol, gold_answer, load_splits

    names = load_dataset_config(CONFIG_DIR / "dataset" / "cross_ner.json")
    with path.open("w", encoding="utf-8") as f:
        for split in load_splits(ner_data, names, limit=limit):
            for i, ex in enumerate(split.examples):
                answer = gold_answer(ex, split.labels, get_protocol("paper"))
                if i % 3 == 0 and answer:
                    answer.pop(next(iter(answer)))  # a missed type
                if i % 2 == 0:
                    answer.setdefault(split.labels[-1], []).append(ex.sentence.split()[0])  # spurious or wrong type
                line = {"dataset": split.name, "index": i, "completion": "<think>\n" + "r " * (5 * i) + "</think>\n"}
                line |= {"completion_tokens": 5 * i + 9, "latency_s": 0.1 * i}
                line["completion"] += render_answer(answer)
                f.write(json.dumps(line) + "\n")
    return names


def test_evaluate_draws_what_its_final_result_draws(ner_data, tmp_path):
    """The PNGs `evaluate.py` writes (submitted from rows without intervals, some before the taxonomy) equal those drawn
    here from the result.json it writes at the end."""
    preds = tmp_path / "predictions.jsonl"
    names = _predictions(ner_data, preds, limit=12)
    result = tmp_path / "run" / "result.json"
    cmd = [sys.executable, "evaluate.py", "--predictions_file", preds, "--base_path", ner_data, "--limit", "12"]
    r = subprocess.run(
        [*map(str, cmd), "--result_file", str(result), "--plot_confusion", "true", "--bootstrap", "200"],
        cwd=ROOT,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    rows = json.loads(result.read_text())["rows"]
    assert all("f1_ci" in row for row in rows) and any(row.get("errors", {}).get("wrong_type") for row in rows)
    reference, to_plot, _ = load_reference(None)
    again = figure_jobs(rows, tmp_path / "again" / "result.json", reference, to_plot, plot_confusion=True)
    assert {"png", "errors_png", "cost_png"} <= {j.key for j in again} and len(again) == 3 + len(names)
    figures = InlineFigures()
    figures.submit(again)
    for key, path in figures.wait().items():
        early = result.parent / path.relative_to(tmp_path / "again")
        assert early.read_bytes() == path.read_bytes(), key


def test_evaluate_submits_each_figure_as_soon_as_its_numbers_are_known(ner_data, tmp_path, monkeypatch):
    """evaluate.py hands the F1 bars and the reasoning cost to its executor after the counting pass, before any
    sentence is classified, the error classes after the taxonomy, and nothing new at the end (write_reports' own
    submission finds them all there, with the same data). Recorded on the real in-process executor."""
    import evaluate
    from reasoning_ner.generation import GenerationArguments
    from reasoning_ner.scoring import DatasetScore

    stages: list[tuple[list[str], bool]] = []  # (keys new in this submission, whether any dataset is classified yet)
    scores: list[DatasetScore] = []
    count = evaluate.count_dataset

    def counting(*a, **kw):
        scores.append(count(*a, **kw))
        return scores[-1]

    class Recording(InlineFigures):
        def submit(self, jobs):
            before = {j.key for j in self.jobs}
            super().submit(jobs)
            stages.append((sorted({j.key for j in self.jobs} - before), any(s.errors is not None for s in scores)))

    monkeypatch.setattr(evaluate, "start_figures", Recording)
    monkeypatch.setattr(evaluate, "count_dataset", counting)
    preds = tmp_path / "predictions.jsonl"
    _predictions(ner_data, preds, limit=8)
    args = evaluate.EvalArguments(
        predictions_file=str(preds), base_path=str(ner_data), result_file=str(tmp_path / "r" / "result.json"), limit=8
    )
    args.bootstrap = 50
    assert evaluate.main(args, GenerationArguments()) == 0
    assert len(scores) == 7
    assert stages == [(["cost_png", "png"], False), (["errors_png"], True), ([], True)]
    assert sorted(p.name for p in (tmp_path / "r").glob("*.png")) == [
        "result_cost.png",
        "result_errors.png",
        "result_f1.png",
    ]
