"""The light paths import neither torch, TRL nor matplotlib (issue 16, §1): `--help` of every CLI, re-scoring a
predictions file with `evaluate.py` (its PNGs are drawn by a child process), `python -m reasoning_ner.convert` and
`sample_grpo.py` / `make_sft_data.py` on the shared benchmark data. Each runs in a fresh subprocess, as a user starts
it, and reports `sys.modules` at the end (no timing here: the timings are `bench/bench_startup.py`'s). Also: no
module of the package except `weight_transfer` (the vLLM weight sync) imports them, transformers or vLLM when
imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.common import ROOT, base_env

from reasoning_ner.paths import COMMANDS

HEAVY = ("torch", "trl", "matplotlib")
HEAVY_AT_TOP = {"weight_transfer"}  # imported only by the vLLM weight-sync path, which needs torch anyway

# Runs TARGET (a script path, or -mMODULE) as __main__ with the remaining arguments, then prints which of the heavy
# packages are in sys.modules.
PROBE = """
import json, runpy, sys
target, argv = sys.argv[1], sys.argv[2:]
sys.argv = [target, *argv]
code = 0
try:
    if target.startswith("-m"):
        runpy.run_module(target[2:], run_name="__main__", alter_sys=True)
    else:
        runpy.run_path(target, run_name="__main__")
except SystemExit as e:
    code = e.code
print("\\nLIGHT-PATH " + json.dumps({"code": code, "heavy": sorted(m for m in HEAVY_NAMES if m in sys.modules)}))
""".replace("HEAVY_NAMES", repr(HEAVY))


def run_light(target: str, *args: str) -> tuple[int, list[str], str]:
    """(exit code, heavy packages imported, stdout + stderr) of `python TARGET ARGS` run in the project root."""
    r = subprocess.run(
        [sys.executable, "-c", PROBE, target, *map(str, args)],
        cwd=ROOT,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = r.stdout + r.stderr
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("LIGHT-PATH ")]
    assert r.returncode == 0 and lines, out[-3000:]
    report = json.loads(lines[-1][len("LIGHT-PATH ") :])
    return report["code"], report["heavy"], out


CLIS = [c.replace("-m ", "-m") for c in COMMANDS]  # run_light's form of `-m module`


@pytest.mark.parametrize("cli", CLIS)
def test_help_is_light(cli):
    code, heavy, out = run_light(cli, "--help")
    assert code in (0, None), out[-3000:]
    assert "usage:" in out
    assert heavy == [], f"{cli} --help imported {heavy}"


def test_every_cli_is_listed():
    scripts = {p.name for p in ROOT.glob("*.py")} | {f"scripts/{p.name}" for p in (ROOT / "scripts").glob("*.py")}
    assert "evaluate.py" in scripts and "scripts/ladder.py" in scripts
    assert scripts <= set(CLIS), f"not in CLIS: {sorted(scripts - set(CLIS))}"


def test_package_modules_import_nothing_heavy_at_top():
    mods = sorted(p.stem for p in (ROOT / "reasoning_ner").glob("*.py") if p.stem != "__init__")
    assert "scoring" in mods and "weight_transfer" in mods
    code = (
        "import importlib, json, sys\n"
        f"heavy = {(*HEAVY, 'transformers', 'vllm')!r}\n"
        "bad = {}\n"
        f"for m in {sorted(set(mods) - HEAVY_AT_TOP)!r}:\n"
        "    importlib.import_module('reasoning_ner.' + m)\n"
        "    found = [h for h in heavy if h in sys.modules]\n"
        "    if found:\n"
        "        bad[m] = found\n"
        "        break\n"
        "print(json.dumps(bad))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=base_env(), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads(r.stdout.strip().splitlines()[-1]) == {}, "the first module importing these at its top"


@pytest.fixture(scope="module")
def predictions(ner_data, tmp_path_factory) -> Path:
    """Completions for the first 15 test examples of each of the seven test sets: the gold answer, with a spurious
    mention and a missed one here and there, and token counts, so that every report (errors, confusion, cost) has
    something to show."""
    from reasoning_ner.data import load_dataset_config
    from reasoning_ner.paths import CONFIG_DIR
    from reasoning_ner.prompts import render_answer
    from reasoning_ner.scoring import get_protocol, gold_answer, load_splits

    proto = get_protocol("paper")
    path = tmp_path_factory.mktemp("light") / "predictions.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for split in load_splits(ner_data, load_dataset_config(CONFIG_DIR / "dataset" / "cross_ner.json"), limit=15):
            for i, ex in enumerate(split.examples):
                answer = gold_answer(ex, split.labels, proto)
                if i % 3 == 0 and answer:
                    answer.pop(next(iter(answer)))
                if i % 4 == 0:
                    answer.setdefault(split.labels[0], []).append(ex.sentence.split()[0])
                think = f"<think>\nreasoning about sentence {i}\n</think>\n"
                line = {"dataset": split.name, "index": i, "completion": think + render_answer(answer)}
                f.write(json.dumps(line | {"completion_tokens": 20 + i, "latency_s": 0.5}))
                f.write("\n")
    return path


@pytest.mark.parametrize("plot", [False, True])
def test_rescoring_is_light(ner_data, predictions, tmp_path, plot):
    """evaluate.py on a predictions file imports no torch, TRL or matplotlib, even when it writes the PNGs: those are
    drawn by its figure worker, a child process (reasoning_ner.figures) — so this also shows the worker drew them.
    On a single CPU there is no worker, and matplotlib is imported to draw them."""
    result = tmp_path / "result.json"
    args = ["--predictions_file", predictions, "--base_path", ner_data, "--protocol", "paper", "--limit", "15"]
    code, heavy, out = run_light("evaluate.py", *args, "--result_file", result, "--plot", str(plot).lower())
    assert code == 0, out[-3000:]
    assert result.is_file() and result.with_suffix(".md").is_file()
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pngs == (["result_cost.png", "result_errors.png", "result_f1.png"] if plot else []), out[-3000:]
    assert all((tmp_path / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    one_cpu = len(os.sched_getaffinity(0)) == 1  # then no worker: the figures are drawn in the process itself
    assert heavy == (["matplotlib"] if plot and one_cpu else []), out[-3000:]


def test_convert_on_the_shared_data_is_light(ner_data, tmp_path):
    bio = ner_data / "CrossNER_AI" / "bio" / "test.txt"
    uniner = ner_data / "CrossNER_AI" / "uniner" / "CrossNER_AI.json"
    label_map = ROOT / "config" / "labels" / "crossner_bio.yaml"
    for args in (
        ["bio", bio, tmp_path / "bio.json", "--label_map", label_map],
        ["uniner", uniner, tmp_path / "u.json"],
    ):
        code, heavy, out = run_light("-mreasoning_ner.convert", *args)
        assert code in (0, None), out[-3000:]
        assert Path(args[2]).stat().st_size > 1000
        assert heavy == [], f"convert {args[0]} imported {heavy}"


def test_sampling_and_sft_data_on_the_shared_data_are_light(ner_data, tmp_path):
    names = tmp_path / "names.json"
    names.write_text(json.dumps(["CrossNER_AI", "CrossNER_literature"]))
    code, heavy, out = run_light(
        "sample_grpo.py",
        *("--base_path", ner_data, "--dataset_config", names, "--output_path", tmp_path / "grpo"),
        *("--num_samples", "40", "--allow_eval_overlap", "--shuffle"),
    )
    assert code == 0, out[-3000:]
    assert len((tmp_path / "grpo" / "train.jsonl").read_text().splitlines()) == 40
    assert heavy == [], f"sample_grpo.py imported {heavy}"
    out_file = tmp_path / "sft.jsonl"
    code, heavy, out = run_light(
        "make_sft_data.py",
        *("--base_path", ner_data, "--datasets", "CrossNER_AI", "--count", "20", "--output", out_file),
    )
    assert code == 0, out[-3000:]
    assert len(out_file.read_text().splitlines()) == 20
    assert heavy == [], f"make_sft_data.py imported {heavy}"
