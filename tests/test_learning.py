"""The pipeline teaches NER: a shortened, seeded `make learn` (config/learn/ci.yaml) on CPU.

A fresh tiny model scores 0 on the held-out sample test sets; after answer-only SFT through `sft.py` it must reach the
config's threshold; the GRPO runs (`grpo.py`, 10·F1 + schema and F1 weight 0) must log a total reward that is the
weighted sum of the logged rewards, with a non-zero F1 reward, so the reward weights and the gold answers reach the
trainer. The full run (config/learn/cpu.yaml, BENCHMARKS.md "Learning on CPU") also checks that the reward rises.
"""

from __future__ import annotations

import json
import sys

import pytest
import yaml
from helpers.common import ROOT, run

pytestmark = pytest.mark.slow

CONFIG = ROOT / "config" / "learn" / "ci.yaml"


@pytest.fixture(scope="module")
def learned(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("learn") / "run"
    cmd = [sys.executable, "scripts/learn.py", "--config", str(CONFIG), "--out", str(out)]
    run(cmd, timeout=1800)
    summary = json.loads((out / "summary.json").read_text())
    summary["_out"] = out
    return summary


def test_sft_teaches_the_task(learned):
    f1 = learned["f1"]
    threshold = yaml.safe_load(CONFIG.read_text())["targets"]["sft_f1"]
    assert learned["train_examples"] == 4500
    assert f1["untrained"] < 1.0
    assert f1["after SFT"] >= threshold, f1
    # the score is over real answers: most greedy answers parse, and every test set contributes
    sft = learned["sft_eval"]
    assert sft["examples"] == 90 and sft["parsed"] >= 60, sft
    assert set(sft["per_dataset"]) == {"sample-news", "sample-tech", "sample-food"}


def test_grpo_rewards_are_the_weighted_sum_with_real_f1(learned):
    grpo, abl = learned["rewards"]["grpo"], learned["rewards"]["ablation"]
    assert len(grpo["steps"]) == len(abl["steps"]) == 8
    assert learned["reward_is_weighted_sum"] == {"grpo": True, "ablation": True}
    # the SFT model finds entities, so sampled completions earn F1 reward, and it counts ten times in the total
    assert max(grpo["f1_reward"]) > 0.01, grpo["f1_reward"]
    assert max(t - s for t, s in zip(grpo["reward"], grpo["schema_reward"], strict=True)) > 0.1
    # with the F1 weight at 0, the total is the schema reward alone although F1 is still logged
    assert max(abl["f1_reward"]) > 0.01
    assert all(abs(t - s) < 1e-6 for t, s in zip(abl["reward"], abl["schema_reward"], strict=True))


def test_outputs_people_look_at(learned):
    out = learned["_out"]
    for name in ("summary.json", "f1_per_stage.png", "grpo_rewards.png"):
        assert (out / name).stat().st_size > 0, name
    assert set(learned["targets"]) >= {"sft_f1_reaches_target", "grpo_reward_rises", "ablation_shows_no_f1_gain"}
