"""Any chat model, not only Qwen: the tiny Llama-architecture model (Llama 3 chat template, `<|eot_id|>` ends a turn,
BOS written by the template, no `<think>` token) through SFT -> GRPO -> evaluation, with the end of turn, the loss mask
and the reasoning split checked as tests/test_training.py checks them for Qwen3; a Llama 2 style template given by
file (`chat_template_path`) for base checkpoints without one; SFT data read from a folder laid out like the Hub
release of NER-CoT."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from helpers.common import ROOT, run, trainer_env

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("fresh_accelerate_state")]

PY = sys.executable
LLAMA_SFT = ROOT / "config" / "experiments" / "backbones" / "tiny-llama-sft.yaml"
LLAMA_GRPO = ROOT / "config" / "experiments" / "backbones" / "tiny-llama-grpo.yaml"


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory) -> Path:
    from reasoning_ner.tiny import build_tiny

    return build_tiny(tmp_path_factory.mktemp("tiny_llama") / "model", arch="llama")


def _sft_trainer(model, out, *flags):
    from trl import ModelConfig, SFTConfig, TrlParser

    from reasoning_ner.training import build_sft_trainer
    from sft import SFTScriptArguments

    argv = ["--config", str(LLAMA_SFT), "--model_name_or_path", str(model), "--output_dir", str(out)]
    args = TrlParser((SFTScriptArguments, SFTConfig, ModelConfig)).parse_args_and_config([*argv, *map(str, flags)])
    return build_sft_trainer(*args)


def _prompt_ids(tok, messages):
    ids = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    return ids["input_ids"] if hasattr(ids, "keys") else ids


def test_llama_sft_loss_mask_eos_and_reasoning_split(tiny_llama, tmp_path):
    from reasoning_ner.data import read_ner_cot
    from reasoning_ner.generation import stop_token_ids
    from reasoning_ner.parsing import parse_completion, split_reasoning
    from reasoning_ner.prompts import render_answer, render_target
    from reasoning_ner.training import sft_records

    trainer, tok, prompt = _sft_trainer(tiny_llama, tmp_path, "--max_train_samples", 8)
    examples = read_ner_cot(ROOT / "data/sample/ner_cot.jsonl")[:8]
    records = sft_records(examples, prompt=prompt)
    eot, bos = tok.convert_tokens_to_ids("<|eot_id|>"), tok.bos_token_id
    assert tok.eos_token == "<|eot_id|>"  # the chat template's end of turn became the EOS (was <|end_of_text|>)
    assert "<think>" not in tok.get_vocab()  # no reasoning token: the block is learnt as text
    assert stop_token_ids(tok, tok.convert_tokens_to_ids("<|end_of_text|>")) >= {eot}
    for row, ex, rec in zip(trainer.train_dataset, examples, records, strict=True):
        ids, labels = row["input_ids"], row["labels"]
        prompt_ids = _prompt_ids(tok, rec["prompt"])
        n = len(prompt_ids)
        assert ids[:n] == prompt_ids and ids.count(bos) == 1 and ids[0] == bos  # one BOS, the template's
        assert labels == [-100] * n + ids[n:]  # loss on exactly the completion tokens
        target = render_target(ex)
        assert tok.decode(ids[n:]) == f"{target}<|eot_id|>" and ids[-1] == eot  # end of turn trained
        completion = tok.decode(ids[n:], skip_special_tokens=True)
        reasoning, rest = split_reasoning(completion)
        assert reasoning == ex.cot.strip() and rest.strip() == render_answer(ex.answer())
        assert parse_completion(completion).entities == ex.answer()


def test_llama2_style_template_file_and_missing_template(tiny_llama, tmp_path):
    from reasoning_ner.data import read_ner_cot
    from reasoning_ner.prompts import render_target

    template = ROOT / "config" / "chat_templates" / "llama2.jinja"
    trainer, tok, _ = _sft_trainer(tiny_llama, tmp_path, "--max_train_samples", 4, "--chat_template_path", template)
    assert tok.chat_template == template.read_text() and tok.eos_token == "<|end_of_text|>"  # no end-of-turn token
    ex = read_ner_cot(ROOT / "data/sample/ner_cot.jsonl")[0]
    row = trainer.train_dataset[0]
    n = row["labels"].count(-100)
    assert tok.decode(row["input_ids"][:n]).endswith(" [/INST]")
    assert tok.decode(row["input_ids"][n:]) == f" {render_target(ex)}<|end_of_text|>"  # the reply, then the EOS
    # a checkpoint without any chat template is refused with the flag to pass
    from transformers import AutoTokenizer

    bare = tmp_path / "bare"
    tok = AutoTokenizer.from_pretrained(tiny_llama)
    tok.chat_template = None
    tok.save_pretrained(bare)
    for f in ("config.json", "model.safetensors", "generation_config.json"):
        (bare / f).write_bytes((tiny_llama / f).read_bytes())
    (bare / "chat_template.jinja").unlink(missing_ok=True)
    with pytest.raises(SystemExit, match="no chat template: pass --chat_template_path"):
        _sft_trainer(bare, tmp_path / "x")


def test_llama_sft_grpo_evaluate_from_a_hub_layout_folder(tiny_llama, tmp_path):
    """sft.py reads NER-CoT from a folder laid out like the Hub release; then GRPO and evaluation on the Llama model."""
    from test_sft_data import _release_records, hub_folder
    from transformers import AutoTokenizer, GenerationConfig

    from reasoning_ner.generation import HFBackend

    folder = hub_folder(tmp_path, _release_records(32))
    sft_out = tmp_path / "sft"
    cmd = [PY, "sft.py", "--config", LLAMA_SFT, "--model_name_or_path", tiny_llama, "--dataset_path", folder]
    run(cmd + ["--output_dir", sft_out, "--max_steps", "2"], env=trainer_env(), timeout=600)
    state = json.loads((sft_out / "trainer_state.json").read_text())
    assert state["global_step"] == 2
    tok = AutoTokenizer.from_pretrained(sft_out)
    eot = tok.convert_tokens_to_ids("<|eot_id|>")
    assert tok.eos_token == "<|eot_id|>"
    eos = GenerationConfig.from_pretrained(sft_out).eos_token_id
    assert eot in (eos if isinstance(eos, list) else [eos])
    assert eot in HFBackend(str(sft_out)).stop_ids  # generation stops at the end of turn
    grpo_data, grpo_out = tmp_path / "grpo_data", tmp_path / "grpo"
    run([PY, "sample_grpo.py", "--base_path", "data/sample/instructuie", "--dataset_config", "config/dataset/sample.json"]
        + ["--output_path", grpo_data, "--num_samples", "16", "--max_count", "60"])  # fmt: skip
    cmd = [PY, "grpo.py", "--config", LLAMA_GRPO, "--model_name_or_path", sft_out, "--dataset_path"]
    cmd += [grpo_data / "train.jsonl", "--output_dir", grpo_out, "--max_steps", "1", "--max_completion_length", "16"]
    run(cmd, env=trainer_env(), timeout=600)
    logs = json.loads((grpo_out / "trainer_state.json").read_text())["log_history"]
    assert any("rewards/f1_reward/mean" in h for h in logs)
    assert AutoTokenizer.from_pretrained(grpo_out).eos_token == "<|eot_id|>"
    result = tmp_path / "eval" / "result.json"
    run([PY, "evaluate.py", "--model", grpo_out, "--backend", "hf", "--base_path", "data/sample/instructuie"]
        + ["--dataset_config", "config/dataset/sample.json", "--limit", "2", "--max_new_tokens", "16"]
        + ["--result_file", result, "--plot", "false"], env=trainer_env(), timeout=600)  # fmt: skip
    from reasoning_ner.reports import load_result

    rows, meta = load_result(result)
    assert [r["dataset"] for r in rows] == ["sample-news", "sample-tech", "sample-food", "Average"]
    preds = [json.loads(x) for x in (tmp_path / "eval" / "predictions.jsonl").read_text().splitlines()]
    assert len(preds) == 6 and all(p["completion_tokens"] <= 16 for p in preds)
    assert (
        meta["prompt"]["template_sha256"]
        == json.loads((sft_out / "reasoning_ner_prompt.json").read_text())["template_sha256"]
    )  # one prompt from SFT to evaluation
