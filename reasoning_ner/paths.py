"""Well-known paths of the project."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = PROJECT_ROOT / "config"
PROMPTS_DIR = CONFIG_DIR / "prompts"
DATA_DIR = PROJECT_ROOT / "data"


def ner_data_dir() -> Path:
    """The real zero-shot benchmark folder: `$REASONING_NER_DATA`, else `../shared/ner-data` beside the project."""
    env = os.environ.get("REASONING_NER_DATA")
    if env:
        return Path(env)
    return PROJECT_ROOT.parent / "shared" / "ner-data"
