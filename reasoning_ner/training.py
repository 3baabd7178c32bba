"""Helpers shared by `sft.py` and `grpo.py`: dataset building, length accounting, end-of-turn handling."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .data import Example, read_ner_cot
from .prompts import build_messages, render_target

logger = logging.getLogger(__name__)

END_OF_TURN_CANDIDATES = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>")


def sft_records(examples: Sequence[Example], add_cot: bool = True, add_source: bool = False) -> list[dict[str, Any]]:
    """Conversational prompt/completion pairs: user = rendered prompt, assistant = `<think>` reasoning + JSON."""
    return [
        {
            "prompt": build_messages(ex, add_source=add_source),
            "completion": [{"role": "assistant", "content": render_target(ex, add_cot=add_cot)}],
            "id": ex.id,
        }
        for ex in examples
    ]


def load_sft_dataset(paths: Sequence[str | Path], add_cot: bool = True, add_source: bool = False):
    import datasets

    examples: list[Example] = []
    for p in paths:
        examples.extend(read_ner_cot(p))
    if not examples:
        raise ValueError(f"no examples in {list(map(str, paths))}")
    return datasets.Dataset.from_list(sft_records(examples, add_cot, add_source))


def end_of_turn_token(tokenizer: Any) -> str | None:
    """The token that closes an assistant turn in the tokenizer's chat template (e.g. Qwen's `<|im_end|>`)."""
    vocab = tokenizer.get_vocab()
    probe = tokenizer.apply_chat_template(
        [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}], tokenize=False
    )
    for tok in END_OF_TURN_CANDIDATES:
        if tok in vocab and tok in probe:
            return tok
    return None


def conversation_lengths(dataset, tokenizer, num_proc: int | None = None) -> list[int]:
    """Token length of every prompt+completion conversation, rendered by the tokenizer's chat template."""

    def _len(batch):
        out = []
        for prompt, completion in zip(batch["prompt"], batch["completion"]):
            ids = tokenizer.apply_chat_template(prompt + completion, tokenize=True)
            if isinstance(ids, dict) or hasattr(ids, "keys"):
                ids = ids["input_ids"]
            out.append(len(ids))
        return {"_len": out}

    return dataset.map(_len, batched=True, num_proc=num_proc, desc="measuring lengths")["_len"]


def prompt_lengths(
    dataset, tokenizer, chat_template_kwargs: dict | None = None, num_proc: int | None = None
) -> list[int]:
    def _len(batch):
        out = []
        for prompt in batch["prompt"]:
            ids = tokenizer.apply_chat_template(
                prompt, tokenize=True, add_generation_prompt=True, **(chat_template_kwargs or {})
            )
            if isinstance(ids, dict) or hasattr(ids, "keys"):
                ids = ids["input_ids"]
            out.append(len(ids))
        return {"_len": out}

    return dataset.map(_len, batched=True, num_proc=num_proc, desc="measuring prompt lengths")["_len"]


def filter_by_length(dataset, lengths: Sequence[int], max_tokens: int, what: str):
    """Drop rows longer than `max_tokens`, and say how many and why. Returns (dataset, n_dropped)."""
    keep = [i for i, n in enumerate(lengths) if n <= max_tokens]
    dropped = len(lengths) - len(keep)
    if dropped:
        longest = max(lengths)
        logger.warning(
            "dropped %d of %d examples whose %s is longer than %d tokens (longest: %d tokens)",
            dropped,
            len(lengths),
            what,
            max_tokens,
            longest,
        )
        dataset = dataset.select(keep)
    else:
        logger.info(
            "all %d examples fit in %d tokens (%s; longest: %d)",
            len(lengths),
            max_tokens,
            what,
            max(lengths, default=0),
        )
    return dataset, dropped


def set_generation_eos(model: Any, tokenizer: Any, token: str) -> list[int]:
    """Make `token` (the end-of-turn token) a generation EOS of the model, keeping the existing ones."""
    tid = tokenizer.convert_tokens_to_ids(token)
    gc = model.generation_config
    existing = gc.eos_token_id
    ids = [] if existing is None else ([existing] if isinstance(existing, int) else list(existing))
    ids = [tid] + [i for i in ids if i != tid]
    gc.eos_token_id = ids
    if gc.pad_token_id is None and tokenizer.pad_token_id is not None:
        gc.pad_token_id = tokenizer.pad_token_id
    return ids


def load_tokenizer(model_args: Any, training_args: Any) -> Any:
    """The model's tokenizer (revision and remote-code policy from the configs), with a pad token."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(
        model_args.model_name_or_path,
        revision=model_args.model_revision,
        trust_remote_code=training_args.trust_remote_code,
    )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def set_model_init_kwargs(training_args: Any, model_args: Any) -> None:
    """Fold ModelConfig's loading options into the trainer config's `model_init_kwargs` (explicit ones win)."""
    kw = dict(training_args.model_init_kwargs or {})
    kw.setdefault("revision", model_args.model_revision)
    kw.setdefault("trust_remote_code", training_args.trust_remote_code)
    if model_args.attn_implementation:
        kw.setdefault("attn_implementation", model_args.attn_implementation)
    if model_args.dtype:
        kw.setdefault("dtype", model_args.dtype)
    training_args.model_init_kwargs = kw


def train_and_save(trainer: Any, tokenizer: Any, training_args: Any) -> None:
    """Train (resuming if asked), then save model, tokenizer and generation config to `output_dir`."""
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    trainer.save_model(training_args.output_dir)
    if trainer.accelerator.is_main_process:
        tokenizer.save_pretrained(training_args.output_dir)
        trainer.model.generation_config.save_pretrained(training_args.output_dir)
        logger.info(
            "model saved to %s (generation EOS ids %s)",
            training_args.output_dir,
            trainer.model.generation_config.eos_token_id,
        )
