"""Well-known paths of the project."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = PROJECT_ROOT / "config"
PROMPTS_DIR = CONFIG_DIR / "prompts"
DATA_DIR = PROJECT_ROOT / "data"

# Every command a user starts: the top-level scripts, scripts/*.py and the package's modules run with `python -m`
# (written `-m module`). tests/test_light_paths.py checks that the list is complete and that `--help` of each imports no
# torch, TRL or matplotlib; bench/bench_startup.py times `--help` of each.
COMMANDS = (
    "evaluate.py",
    "predict.py",
    "sample_grpo.py",
    "generate_cot.py",
    "make_sft_data.py",
    "sft.py",
    "grpo.py",
    "rewards.py",
    "-m reasoning_ner.convert",
    "-m reasoning_ner.estimate",
    "-m reasoning_ner.compare",
    "-m reasoning_ner.tiny",
    "-m reasoning_ner.lora",
    "scripts/demo.py",
    "scripts/ladder.py",
    "scripts/seed_table.py",
    "scripts/plot_training.py",
    "scripts/dryrun_recipe.py",
    "scripts/learn.py",
)


def ner_data_dir() -> Path:
    """The real zero-shot benchmark folder: `$REASONING_NER_DATA`, else `../shared/ner-data` beside the project."""
    env = os.environ.get("REASONING_NER_DATA")
    if env:
        return Path(env)
    return PROJECT_ROOT.parent / "shared" / "ner-data"
