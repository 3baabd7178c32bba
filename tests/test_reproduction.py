"""Reproduction mode: the `qwen3-*` recipes reproduce the authors' run as it ran, and the README's deviation table says
exactly where they do not.

The fixture below is written by hand from the authors' public repository (HuiResearch/ReasoningIE: config/sft/*.yaml,
config/grpo/*.yaml, rner/*.py) and from the GRPOConfig / SFTTrainer of the TRL they ran (0.19.x; their README pins
vLLM 0.9.1). It is not read from any file of this project.
"""

from __future__ import annotations

import json
import re
import sys

import pytest
import yaml
from helpers.common import ROOT, base_env, run, write_instructuie

pytestmark = pytest.mark.usefixtures("fresh_accelerate_state")

# ----------------------------------------------------------------------------------------------------------------------
# The authors' values

AUTHORS_SFT = {  # their YAML, key for key
    "qwen3-8b": {
        "torch_dtype": "bfloat16",
        "attn_implementation": "flash_attention_2",
        "add_source": True,
        "add_cot": True,
        "bf16": True,
        "per_device_eval_batch_size": 1,
        "per_device_train_batch_size": 16,
        "padding_free": True,
        "gradient_accumulation_steps": 2,
        "gradient_checkpointing": True,
        "gradient_checkpointing_kwargs": {"use_reentrant": False},
        "learning_rate": 2.0e-5,
        "log_level": "info",
        "logging_steps": 1,
        "save_strategy": "epoch",
        "save_total_limit": 1,
        "lr_scheduler_type": "cosine",
        "max_grad_norm": 1.0,
        "max_length": 8192,
        "num_train_epochs": 5,
        "report_to": "none",
        "seed": 42,
        "use_liger_kernel": True,
        "warmup_ratio": 0.03,
    },
}
AUTHORS_SFT["qwen3-1.7b"] = dict(
    AUTHORS_SFT["qwen3-8b"], add_source=False, per_device_train_batch_size=32, gradient_accumulation_steps=1
)
# Facts of their SFT run beyond the YAML: their reader takes the source line from a `source` field, which the public
# NER-CoT release does not have (it has `dataset`); with use_liger_kernel, their TRL keeps only `input_ids` of the
# tokenized dataset, so the collator trains on every token; their code cut over-long examples keeping the end.
AUTHORS_SFT_EFFECTIVE = {  # what their run did, under the names of our settings
    "add_source": False,  # no source line reached the prompts
    "completion_only_loss": False,  # every token trained
    "overlong": "truncate_left",  # their tokenizer code kept the last max_length tokens
    "schema_order": "sorted",  # labels lower-cased and sorted in every prompt
}

TRL_019_GRPO_DEFAULTS = {  # GRPOConfig defaults of their TRL, for the keys their YAML does not set
    "scale_rewards": True,
    "vllm_mode": "server",
    "top_p": 1.0,
    "top_k": None,
    "mask_truncated_completions": False,
    "shuffle_dataset": True,
    "disable_dropout": False,
    "steps_per_generation": None,
    "vllm_server_timeout": 240.0,
    # not in their TRL at all, i.e. off: importance-sampling correction, bias-corrected KL; rewards weighted, summed,
    # then normalised per group
    "vllm_importance_sampling_correction": False,
    "use_bias_correction_kl": False,
    "multi_objective_aggregation": "sum_then_normalize",
}
AUTHORS_GRPO = {
    "qwen3-8b": {
        "torch_dtype": "bfloat16",
        "attn_implementation": "flash_attention_2",
        "add_source": False,
        "max_prompt_length": 2048,
        "max_completion_length": 4096,
        "per_device_train_batch_size": 4,
        "gradient_accumulation_steps": 16,
        "learning_rate": 1.0e-6,
        "weight_decay": 0.0,
        "max_grad_norm": 1.0,
        "num_train_epochs": 1,
        "epsilon": 0.2,
        "epsilon_high": 0.28,
        "num_iterations": 4,
        "lr_scheduler_type": "cosine",
        "loss_type": "dr_grpo",
        "warmup_ratio": 0.1,
        "logging_steps": 1,
        "save_strategy": "epoch",
        "save_total_limit": 1,
        "seed": 42,
        "bf16": True,
        "gradient_checkpointing": True,
        "gradient_checkpointing_kwargs": {"use_reentrant": False},
        "use_vllm": True,
        "vllm_server_host": "127.0.0.1",
        "vllm_server_port": 5407,
        "beta": 0.04,
        "temperature": 0.9,
        "num_generations": 16,
        "report_to": "swanlab",
        "log_completions": False,
        "reward_weights": [10, 1],
    }
    | TRL_019_GRPO_DEFAULTS,
}
AUTHORS_GRPO["qwen3-1.7b"] = dict(
    AUTHORS_GRPO["qwen3-8b"], per_device_train_batch_size=16, gradient_accumulation_steps=4
)
AUTHORS_GRPO_EFFECTIVE = {"reward_parser": "paper"}  # their rewards parsed the answer strictly (tests/test_parsing.py)
AUTHORS_EVAL = {"temperature": 0.0, "max_tokens": 4096, "max_length": 8192, "stop": "end of turn"}

# How each of their keys is written for TRL 1.16 / our scripts, and what does not change the run.
RENAMED = {"torch_dtype": "dtype", "warmup_ratio": "warmup_steps"}
NOT_THE_RUN = {"report_to", "vllm_server_port", "vllm_server_timeout"}  # logging and plumbing only
SIZES = ["qwen3-8b", "qwen3-1.7b"]


def parse(kind: str, size: str):
    from trl import GRPOConfig, ModelConfig, SFTConfig, TrlParser

    if kind == "sft":
        from sft import SFTScriptArguments as Script
    else:
        from grpo import GRPOScriptArguments as Script
    config = ROOT / "config" / kind / f"{size}.yaml"
    types = (Script, SFTConfig if kind == "sft" else GRPOConfig, ModelConfig)
    # use_cpu lets TrainingArguments accept bf16 on a machine without a GPU; every recipe value is kept
    objs = TrlParser(types).parse_args_and_config(args=["--config", str(config), "--use_cpu", "true"])
    merged = {}
    for o in objs:
        merged.update(vars(o))
    return merged


def _value(v):
    return v.value if hasattr(v, "value") else v


@pytest.mark.parametrize("size", SIZES)
def test_sft_recipe_reproduces_the_authors_run(size):
    ours = parse("sft", size)
    for key, theirs in AUTHORS_SFT[size].items():
        if key in NOT_THE_RUN:
            continue
        if key == "add_source":  # no source line reached their prompts (see AUTHORS_SFT_EFFECTIVE)
            assert ours["add_source"] is AUTHORS_SFT_EFFECTIVE["add_source"]
        elif key == "max_length":  # enforced by sft.py (TRL 1.16 refuses max_length with padding_free)
            assert ours["max_seq_length"] == theirs and ours["max_length"] is None
        else:
            got = _value(ours[RENAMED.get(key, key)])
            assert got == pytest.approx(theirs) if isinstance(theirs, float) else got == theirs, key
    assert ours["completion_only_loss"] is False  # every token trained, as in their run
    assert ours["schema_order"] == "sorted"
    assert ours["model_name_or_path"] == {"qwen3-8b": "Qwen/Qwen3-8B-Base", "qwen3-1.7b": "Qwen/Qwen3-1.7B-Base"}[size]
    assert ours["per_device_train_batch_size"] * ours["gradient_accumulation_steps"] * 8 == 256  # one node of 8


@pytest.mark.parametrize("size", SIZES)
def test_grpo_recipe_reproduces_the_authors_run(size):
    ours = parse("grpo", size)
    for key, theirs in AUTHORS_GRPO[size].items():
        if key in NOT_THE_RUN or key == "add_source":
            continue
        got = _value(ours[RENAMED.get(key, key)])
        if key == "scale_rewards":  # TRL 1.16 maps True/False to "group"/"none"
            assert got == ("group" if theirs else "none")
        elif key == "top_k":  # None then, 0 now: both mean no top-k filtering
            assert got in (0, None) and theirs is None
        elif key == "steps_per_generation":  # None: gradient_accumulation_steps
            assert got == ours["gradient_accumulation_steps"]
        elif key == "reward_weights":
            assert got == [float(x) for x in theirs]
        else:
            assert got == pytest.approx(theirs) if isinstance(theirs, float) else got == theirs, key
    assert ours["reward_parser"] == AUTHORS_GRPO_EFFECTIVE["reward_parser"]
    assert ours["reward_funcs"] == ["f1", "schema"]
    assert ours["add_source"] is None  # the prompt is the one sft.py recorded (theirs: no source line)
    sft_out = yaml.safe_load((ROOT / "config" / "sft" / f"{size}.yaml").read_text())["output_dir"]
    assert ours["model_name_or_path"] == sft_out


def test_evaluation_defaults_are_the_papers():
    from reasoning_ner.generation import GenerationArguments

    g = GenerationArguments()
    assert (g.temperature, g.max_new_tokens) == (AUTHORS_EVAL["temperature"], AUTHORS_EVAL["max_tokens"])


# ----------------------------------------------------------------------------------------------------------------------
# The README table: every row that names a recipe key states our value and theirs correctly

TABLE_HEADING = "## Reproduction: where these recipes differ from the authors' run"


def _table_rows() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    assert TABLE_HEADING in text
    section = text.split(TABLE_HEADING, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", r.strip().strip("|"))] for r in rows]  # \| is a literal |


def _first_code(cell: str):
    m = re.search(r"`([^`]*)`", cell)
    return yaml.safe_load(m.group(1)) if m else None


def test_readme_table_matches_the_recipes_and_the_authors():
    rows = _table_rows()
    assert len(rows) >= 12 and all(len(r) == 5 for r in rows), "setting | authors' run | recipes | why | to change it"
    checked = 0
    for setting, authors, recipes, _why, change in rows:
        m = re.fullmatch(r"`(\w+)` \((SFT|GRPO)\)", setting)
        assert change, f"row {setting!r} names no switch"
        if not m:
            continue
        key, kind = m.group(1), m.group(2).lower()
        for size in SIZES:
            ours = parse(kind, size)
            assert _value(ours[key]) == _first_code(recipes), (setting, size)
            theirs = (AUTHORS_SFT if kind == "sft" else AUTHORS_GRPO)[size].get(key)
            effective = (AUTHORS_SFT_EFFECTIVE if kind == "sft" else AUTHORS_GRPO_EFFECTIVE).get(key)
            if key == "scale_rewards":
                theirs = "group" if theirs else "none"
            assert _first_code(authors) == (effective if effective is not None else theirs), (setting, size)
        checked += 1
    assert checked >= 8


# ----------------------------------------------------------------------------------------------------------------------
# Rewards: the parser switch


def test_reward_parser_paper_gives_nothing_for_prose_wrapped_json():
    from reasoning_ner.rewards import compute_score, compute_score_paper, get_reward_funcs

    gold = json.dumps({"entities": {"person": ["Ada"]}})
    bare = '<think>\nAda is a person.\n</think>\n{"entities": {"person": ["Ada"]}}'
    prose = '<think>\nAda is a person.\n</think>\nHere is the answer: {"entities": {"person": ["Ada"]}} Hope it helps.'
    paper = get_reward_funcs(["f1", "schema"], parser="paper")
    lenient = get_reward_funcs(["f1", "schema"], parser="lenient")
    cols = {"answer": [gold] * 2, "schema": [["person", "location"]] * 2}
    assert [f([bare, prose], **cols) for f in paper] == [[1.0, 0.0], [1.0, 0.0]]
    assert [f([bare, prose], **cols) for f in lenient] == [[1.0, 1.0], [1.0, 1.0]]
    assert [f.__name__ for f in paper] == [f.__name__ for f in lenient] == ["f1_reward", "schema_reward"]
    # verl: the same switch, and the authors' F1-only reward
    extra = {"schema": ["person"]}
    assert compute_score("d", prose, gold, extra, parser="paper") == 0.0
    assert compute_score("d", prose, gold, extra) == 11.0
    assert compute_score("d", prose, gold, dict(extra, reward_parser="paper")) == 0.0
    assert (compute_score_paper("d", bare, gold, extra), compute_score_paper("d", prose, gold, extra)) == (1.0, 0.0)


# ----------------------------------------------------------------------------------------------------------------------
# One prompt across stages


@pytest.mark.slow
def test_custom_template_travels_from_sft_to_evaluation(tiny, tmp_path):
    """SFT with a custom template; evaluate.py --model (hf) then uses it unasked and records it; the training prompt
    and the evaluation prompt of the same sentence are the same string."""
    from reasoning_ner.prompts import PromptSpec
    from reasoning_ner.training import load_sft_dataset

    template = tmp_path / "my_template.txt"
    template.write_text("CUSTOM TEMPLATE\nTypes: $schema\nText: $sentence\nAnswer in JSON.\n")
    sentence = "Ada Lovelace met Charles Babbage in London ."
    rec = {
        "guid": "x",
        "dataset": "d",
        "sentence": sentence,
        "schema": ["person", "location"],  # given unsorted: schema_order sorted must put location first
        "cot": "Ada Lovelace and Charles Babbage are people; London is a place.",
        "entities": [{"text": "Ada Lovelace", "label": "person"}, {"text": "London", "label": "location"}],
    }
    data = tmp_path / "cot.jsonl"
    data.write_text("\n".join(json.dumps(dict(rec, guid=str(i))) for i in range(4)) + "\n")
    out = tmp_path / "sft"
    env_run = [sys.executable, "sft.py", "--config", "config/sft/tiny-cpu.yaml", "--model_name_or_path", tiny]
    env_run += ["--dataset_path", data, "--output_dir", out, "--prompt_template", template, "--num_train_epochs", "1"]
    env_run += ["--save_strategy", "no", "--disable_tqdm", "true", "--report_to", "none"]
    r = run(env_run, timeout=600, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    spec = PromptSpec.load(out)
    assert spec is not None and spec.template_text == template.read_text() and spec.schema_order == "sorted"

    base = tmp_path / "data"
    write_instructuie(base, "d", ["person", "location"], {"test": [{"sentence": sentence, "entities": []}] * 2})
    (tmp_path / "d.json").write_text(json.dumps(["d"]))
    result = tmp_path / "eval" / "result.json"
    cmd = [sys.executable, "evaluate.py", "--model", out, "--backend", "hf", "--base_path", base]
    cmd += [
        "--dataset_config",
        tmp_path / "d.json",
        "--result_file",
        result,
        "--max_new_tokens",
        "8",
        "--plot",
        "false",
    ]
    r = run(cmd, timeout=600, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    from reasoning_ner.reports import load_result

    rows, meta = load_result(result)
    assert meta["prompt"]["template_sha256"] == spec.sha256 and meta["prompt"]["schema_order"] == "sorted"
    assert meta["prompt"]["template_path"].endswith("prompt_template.txt")
    assert spec.sha256 in result.with_suffix(".md").read_text()

    # the same sentence: the SFT prompt (what sft.py trained on) equals the evaluation prompt (what evaluate.py sent)
    train_prompt = load_sft_dataset([data], prompt=spec)[0]["prompt"][0]["content"]
    from reasoning_ner.data import read_instructuie
    from reasoning_ner.generation import generation_items
    from reasoning_ner.labels import LabelPolicy

    (item, _) = generation_items([read_instructuie(base, "d", "test")], LabelPolicy.default(), spec)
    assert item.messages[0]["content"] == train_prompt
    assert train_prompt.startswith('CUSTOM TEMPLATE\nTypes: ["location", "person"]')
    preds = [json.loads(x) for x in (result.parent / "predictions.jsonl").read_text().splitlines()]
    from reasoning_ner.generation import prompt_key

    assert len(preds) == 2 and preds[0]["prompt_key"] == prompt_key(item.messages)  # the evaluation really sent it


# ----------------------------------------------------------------------------------------------------------------------
# verl

AUTHORS_VERL = {  # their verl-grpo.sh
    "algorithm.adv_estimator": "grpo",
    "custom_reward_function.name": "compute_score",  # theirs: F1 alone = our compute_score_paper
    "data.train_batch_size": "256",
    "data.max_prompt_length": "1024",
    "data.max_response_length": "4096",
    "data.filter_overlong_prompts": "True",
    "data.truncation": "error",
    "actor_rollout_ref.actor.optim.lr": "1e-6",
    "actor_rollout_ref.model.use_remove_padding": "True",
    "actor_rollout_ref.actor.ppo_mini_batch_size": "64",
    "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu": "8",
    "actor_rollout_ref.actor.use_kl_loss": "True",
    "actor_rollout_ref.actor.kl_loss_coef": "0.001",
    "actor_rollout_ref.actor.kl_loss_type": "low_var_kl",
    "actor_rollout_ref.actor.entropy_coeff": "0",
    "actor_rollout_ref.actor.strategy": "fsdp2",
    "actor_rollout_ref.model.enable_gradient_checkpointing": "True",
    "actor_rollout_ref.actor.fsdp_config.param_offload": "False",
    "actor_rollout_ref.actor.fsdp_config.optimizer_offload": "False",
    "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu": "32",
    "actor_rollout_ref.rollout.tensor_model_parallel_size": "1",
    "actor_rollout_ref.rollout.name": "vllm",
    "actor_rollout_ref.rollout.gpu_memory_utilization": "0.6",
    "actor_rollout_ref.rollout.n": "16",
    "actor_rollout_ref.rollout.max_num_batched_tokens": "8192",
    "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu": "32",
    "actor_rollout_ref.ref.fsdp_config.param_offload": "True",
    "actor_rollout_ref.ref.strategy": "fsdp2",
    "algorithm.use_kl_in_reward": "False",
    "trainer.critic_warmup": "0",
    "trainer.n_gpus_per_node": "8",
    "trainer.nnodes": "1",
    "trainer.save_freq": "50",
    "trainer.test_freq": "50",
    "trainer.total_epochs": "15",
}


@pytest.mark.slow
def test_verl_script_has_the_authors_hyperparameters(tmp_path):
    import os

    stub = tmp_path / "python"
    stub.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n')
    stub.chmod(0o755)
    r = run(
        ["bash", ROOT / "scripts" / "verl_grpo.sh", "outputs/sft/qwen3-8b"],
        env=base_env(PATH=f"{tmp_path}:{os.environ['PATH']}"),
        timeout=30,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    argv = r.stdout.splitlines()
    assert argv[:2] == ["-m", "verl.trainer.main_ppo"]
    got = dict(a.split("=", 1) for a in argv[2:])
    for key, theirs in AUTHORS_VERL.items():
        if key == "custom_reward_function.name":
            assert got[key] == "compute_score_paper"  # their compute_score: F1 alone, their parser
        else:
            assert got[key] == theirs, key
    assert got["actor_rollout_ref.model.path"] == "outputs/sft/qwen3-8b"
    assert got["custom_reward_function.path"].endswith("/rewards.py")
    import rewards

    assert callable(getattr(rewards, got["custom_reward_function.name"]))
