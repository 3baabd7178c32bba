"""`make bench`'s CPU benchmarks (bench/run_all.py) run, each in its smallest setting, and write their JSON reports.
Nothing is timed here (the figures are BENCHMARKS.md's): these only keep the scripts working as the package changes —
three of them had broken on changed signatures before this test existed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers.common import ROOT, base_env


def run_bench(script: str, out, *args: str) -> dict:
    cmd = [sys.executable, f"bench/{script}", "--out", str(out), *args]
    r = subprocess.run(cmd, cwd=ROOT, env=base_env(), capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    report = json.loads(out.read_text())
    assert report["machine"]["nproc"] >= 1 and report["command"]
    return report


@pytest.mark.slow
def test_scoring_bench(ner_data, tmp_path):
    report = run_bench("bench_scoring.py", tmp_path / "s.json", "--repeats", "1")
    rows = report["results"]
    assert rows and all(r["median_s"] > 0 for r in rows), rows


@pytest.mark.slow
def test_startup_bench_runs_on_this_checkout_alone(ner_data, tmp_path):
    """Without --before (as `make bench` runs it) every case is timed on this checkout alone."""
    args = ["--repeats", "1", "--no_import_table", "--only", "reasoning_ner.convert", "JSON + Markdown only"]
    cases = run_bench("bench_startup.py", tmp_path / "s.json", *args)["cases"]
    assert len(cases) == 3  # `convert --help`, `convert bio`, the lean re-scoring
    for c in cases:
        assert list(c["sides"]) == ["after"], c
        assert c["sides"]["after"]["median_wall_s"] > 0


@pytest.mark.slow
def test_rewards_bench(ner_data, tmp_path):
    report = run_bench("bench_rewards.py", tmp_path / "r.json", "--repeats", "1", "--prompts", "2")
    assert report["batch"]["completions"] == 2 * 16
    assert 0 < report["batch"]["mean_f1_reward"] <= 1 and report["results"]


@pytest.mark.slow
def test_tokenize_bench(tmp_path):
    results = run_bench("bench_tokenize.py", tmp_path / "t.json", "--copies", "1", "--num_proc", "1")["results"]
    assert results["tokenize_num_proc_1"]["examples"] > 0 and results["tokenize_num_proc_1"]["mean_tokens"] > 0


@pytest.mark.slow
@pytest.mark.vllm
def test_backends_bench(ner_data, tmp_path):
    report = run_bench("bench_backends.py", tmp_path / "b.json", "--n", "4", "--max_new_tokens", "8")
    res = report["results"]
    assert set(res) == {"hf", "openai+vllm-cpu"}, res
    assert all(r["examples"] == 4 and r["completion_tokens"] == 4 * 8 for r in res.values()), res
