"""TRL's GRPO colocate mode on CPU really syncs the trained weights into the vLLM engine it generates with.

The same proof as tests/test_server_mode.py, for an engine that lives in the training process: the engine's prompt
log-probs of a fixed text (read by tests/helpers/colocate_probe.py at the start and at the end of training) are
compared with transformers on the saved checkpoints. TRL loads the weights into the engine before each step's
generation, so after N steps the engine holds the weights after step N-1 = `checkpoint-(N-1)`.
"""

from __future__ import annotations

import json
import sys

import pytest
from helpers.common import ACCELERATE, run, trainer_env
from test_server_mode import STEPS, TEXT, gap, hf_logprobs

pytestmark = [pytest.mark.slow, pytest.mark.vllm]

# |engine - transformers| on the same weights, in nats per token. TRL builds the colocated engine with vLLM's default
# dtype, which on CPU turns a float32 model into bfloat16: the engine's weights are the trainer's rounded to bfloat16
# (at load and at every sync) and it computes in bfloat16. Measured up to 4.5e-3 on this machine (a float32 engine,
# as in server mode, gives 1e-6); TOL leaves 4x. Weights of another step differ by ~1 nat here.
TOL = 2e-2


def test_grpo_colocate_syncs_weights_into_the_engine(tiny, grpo_data, tmp_path):
    out = tmp_path / "grpo"
    probe = tmp_path / "probe.json"
    run(
        [
            *ACCELERATE,
            "--num_processes",
            "1",
            "--cpu",
            "tests/helpers/colocate_probe.py",
            probe,
            TEXT,
            "--config",
            "config/grpo/tiny-cpu.yaml",
            "--model_name_or_path",
            tiny,
            "--dataset_path",
            grpo_data,
            "--output_dir",
            out,
            "--use_vllm",
            "true",
            "--vllm_mode",
            "colocate",
            "--vllm_max_model_length",
            "1024",
            "--max_steps",
            STEPS,
            "--save_steps",
            1,
            # as in the server-mode test: large constant steps with weight decay, so that every step moves the weights
            "--learning_rate",
            "0.02",
            "--weight_decay",
            "2.0",
            "--lr_scheduler_type",
            "constant",
            "--warmup_steps",
            "0",
            "--max_completion_length",
            "32",
            "--disable_tqdm",
            "true",
        ],
        env=trainer_env(vllm=True),
    )
    seen = json.loads(probe.read_text())
    assert seen["global_step"] == STEPS
    ids, before, after = seen["ids"], seen["before"], seen["after"]
    assert seen["engine_dtype"] in ("bfloat16", "float16", "float32")  # TOL is set for 16-bit

    start = hf_logprobs(tiny, ids)
    ckpt = {n: hf_logprobs(out / f"checkpoint-{n}", ids) for n in range(1, STEPS + 1)}
    report = {
        "engine before vs step 0": gap(before, start),
        f"engine after vs checkpoint-{STEPS - 1}": gap(after, ckpt[STEPS - 1]),
        "engine after vs before": gap(after, before),
        **{f"engine after vs checkpoint-{n}": gap(after, ckpt[n]) for n in ckpt if n != STEPS - 1},
    }
    print(report, file=sys.stderr)
    assert report["engine before vs step 0"] <= TOL, report
    assert report[f"engine after vs checkpoint-{STEPS - 1}"] <= TOL, report
    assert report["engine after vs before"] > 10 * TOL, report
    for n in ckpt:
        if n != STEPS - 1:
            assert report[f"engine after vs checkpoint-{n}"] > 10 * TOL, report
