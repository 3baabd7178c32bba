"""Stage logic of `sft.py` and `grpo.py`: datasets, end of turn, length policies, model loading, train and save.

The scripts only parse arguments and call `build_sft_trainer` / `build_grpo_trainer`, then `train_and_save`:

* SFT: `load_sft_dataset` (NER-CoT records → conversational prompt/completion pairs under a `PromptSpec`),
  `set_sft_eos` (the chat template's end-of-turn token becomes EOS), the `SFTTrainer`, then `apply_overlong` on the
  trainer's own tokenized datasets (one tokenization: the lengths are those of the trained token ids).
* GRPO: `load_grpo_dataset` (records of `sample_grpo.py`, prompts rendered under the model's `PromptSpec`),
  `drop_long_prompts` (measured once, on the main process), the vLLM work-arounds for CPU runs, the `GRPOTrainer`.

Logging: `setup_logging` gives the main process INFO and the other ranks WARNING, each line prefixed with its rank.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .data import DataError, Example, read_json_records, read_sft_source
from .prompts import PromptSpec, end_of_turn_token, render_target

logger = logging.getLogger(__name__)

OVERLONG_POLICIES = ("drop", "truncate", "truncate_left")


def setup_logging(name: str) -> logging.Logger:
    """INFO on the main process (rank 0), WARNING on the others; every line names its rank in multi-process runs."""
    rank = int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    level = os.environ.get("LOGLEVEL", "INFO") if rank == 0 else "WARNING"
    prefix = f"[rank {rank}] " if world > 1 else ""
    logging.basicConfig(level=level, format=f"%(asctime)s {prefix}%(levelname)s %(name)s: %(message)s", force=True)
    if rank != 0:
        import transformers

        transformers.logging.set_verbosity_warning()
    return logging.getLogger(name)


# ----------------------------------------------------------------------------------------------------------------------
# SFT data


def sft_records(examples: Sequence[Example], add_cot: bool = True, prompt: PromptSpec | None = None) -> list[dict]:
    """Conversational prompt/completion pairs: user = the prompt of `prompt` (the default spec if None), assistant =
    `<think>` reasoning + JSON."""
    prompt = prompt or PromptSpec.from_file()
    return [
        {
            "prompt": prompt.messages(ex.sentence, ex.schema, ex.dataset),
            "completion": [{"role": "assistant", "content": render_target(ex, add_cot=add_cot)}],
            "id": ex.id,
        }
        for ex in examples
    ]


def load_sft_dataset(
    paths: Sequence[str | Path], add_cot: bool = True, prompt: PromptSpec | None = None, split: str = "train"
):
    """The SFT pairs of NER-CoT sources: each a JSON/JSONL file, a local dataset folder or a Hub dataset id such as
    `HuiHuang/NER-CoT` (`split` of the last two; `reasoning_ner.data.read_sft_source`)."""
    import datasets

    examples: list[Example] = []
    for p in paths:
        examples.extend(read_sft_source(p, split))
    if not examples:
        raise ValueError(f"no examples in {list(map(str, paths))}")
    return datasets.Dataset.from_list(sft_records(examples, add_cot, prompt))


def apply_chat_template_file(tokenizer: Any, training_args: Any) -> None:
    """`chat_template_path` naming a `.jinja` file: put the template on the tokenizer now, as TRL will, so that the
    end-of-turn probe (`set_sft_eos`) reads the template the model is trained with. A tokenizer with no chat template
    at all (base checkpoints such as Llama-2-7b-hf) is refused with the flag to pass."""
    path = getattr(training_args, "chat_template_path", None)
    if path and Path(path).is_file() and str(path).endswith((".jinja", ".j2")):
        tokenizer.chat_template = Path(path).read_text(encoding="utf-8")
    if not getattr(tokenizer, "chat_template", None) and not path:
        raise SystemExit(
            "error: the tokenizer has no chat template: pass --chat_template_path FILE.jinja "
            "(e.g. config/chat_templates/llama2.jinja) or a model id whose template TRL should copy"
        )


def set_sft_eos(tokenizer: Any, training_args: Any) -> str | None:
    """Make the chat template's end-of-turn token the EOS SFT trains and generation stops on (base models such as
    Qwen3-*-Base have `<|endoftext|>` as EOS while their turns end with `<|im_end|>`). An explicit `eos_token` wins.
    Returns the EOS token used."""
    eot = end_of_turn_token(tokenizer)
    if training_args.eos_token is None and eot is not None and eot != tokenizer.eos_token:
        logger.info("chat turns end with %s: using it as EOS (the tokenizer's was %s)", eot, tokenizer.eos_token)
        training_args.eos_token = eot
    return training_args.eos_token or tokenizer.eos_token


def apply_overlong(dataset, max_tokens: int | None, policy: str, what: str = "train"):
    """Enforce `max_tokens` on a dataset TRL has tokenized (`input_ids`, `labels`): `drop` removes longer examples,
    `truncate` keeps their first `max_tokens` tokens, `truncate_left` their last (the authors' code did this). Examples
    left with no trained token are dropped. Returns the dataset; the number over the limit is logged."""
    if policy not in OVERLONG_POLICIES:
        raise ValueError(f"overlong must be one of {OVERLONG_POLICIES}, not {policy!r}")
    if max_tokens is None or dataset is None:
        return dataset
    lengths = [len(x) for x in dataset["input_ids"]]
    over = [i for i, n in enumerate(lengths) if n > max_tokens]
    if not over:
        logger.info("%s: all %d examples fit in %d tokens (longest %d)", what, len(lengths), max_tokens, max(lengths))
        return dataset
    longest = max(lengths)
    if policy == "drop":
        drop = set(over)
        dataset = dataset.select([i for i in range(len(lengths)) if i not in drop])
    else:
        sl = slice(None, max_tokens) if policy == "truncate" else slice(-max_tokens, None)
        cols = [c for c in ("input_ids", "labels", "completion_mask", "assistant_masks") if c in dataset.column_names]

        def cut(example):
            return {c: example[c][sl] for c in cols} if len(example["input_ids"]) > max_tokens else {}

        dataset = dataset.map(cut, desc=f"truncating {what} examples")
        if "labels" in dataset.column_names:
            dataset = dataset.filter(lambda ex: any(t != -100 for t in ex["labels"]))
    logger.warning(
        "%s: %d of %d examples are longer than %d tokens (longest %d): %s",
        what,
        len(over),
        len(lengths),
        max_tokens,
        longest,
        {"drop": "dropped", "truncate": "truncated (start kept)", "truncate_left": "truncated (end kept)"}[policy],
    )
    return dataset


# ----------------------------------------------------------------------------------------------------------------------
# GRPO data

GRPO_COLUMNS = ("prompt", "answer", "schema")


def load_grpo_dataset(path: str | Path, prompt: PromptSpec | None = None):
    """The GRPO records of `sample_grpo.py`. With `prompt`, each record that has `sentence` and `schema` gets its
    prompt rendered under that spec (so GRPO prompts are those the model was trained and will be evaluated with);
    other records keep their `prompt`. Every column reaches the reward functions."""
    import datasets

    records = read_json_records(path)
    if not isinstance(records, list):
        raise DataError(path, None, None, "expected JSONL records (write GRPO data with sample_grpo.py)")
    rerendered = 0
    for i, r in enumerate(records):
        for key in GRPO_COLUMNS:
            if not isinstance(r, dict) or key not in r:
                raise DataError(path, i, key, "missing (write GRPO data with sample_grpo.py)")
        if prompt is not None and isinstance(r.get("sentence"), str) and isinstance(r.get("schema"), list):
            new = prompt.messages(r["sentence"], r["schema"], r.get("dataset"))
            rerendered += new != r["prompt"]
            r["prompt"] = new
    if rerendered:
        logger.info("%s: %d of %d prompts rendered anew with the model's prompt spec", path, rerendered, len(records))
    return datasets.Dataset.from_list(records)


def prompt_lengths(dataset, tokenizer, chat_template_kwargs: dict | None = None) -> list[int]:
    """Token length of every conversational prompt, generation prompt included."""
    out = []
    for prompt in dataset["prompt"]:
        ids = tokenizer.apply_chat_template(
            prompt, tokenize=True, add_generation_prompt=True, **(chat_template_kwargs or {})
        )
        if isinstance(ids, dict) or hasattr(ids, "keys"):
            ids = ids["input_ids"]
        out.append(len(ids))
    return out


def drop_long_prompts(dataset, tokenizer, max_tokens: int | None, chat_template_kwargs=None, what: str = "train"):
    """Drop prompts longer than `max_tokens` (TRL 1.16 no longer truncates prompts), counted and logged. The lengths
    are measured once, on the main process, and broadcast to the others. Returns the dataset."""
    if max_tokens is None or dataset is None:
        return dataset
    from accelerate import PartialState
    from accelerate.utils import broadcast_object_list

    state = PartialState()
    box = [prompt_lengths(dataset, tokenizer, chat_template_kwargs) if state.is_main_process else None]
    if state.num_processes > 1:
        broadcast_object_list(box, from_process=0)
    lengths = box[0]
    keep = [i for i, n in enumerate(lengths) if n <= max_tokens]
    dropped = len(lengths) - len(keep)
    if dropped:
        logger.warning(
            "%s: dropped %d of %d prompts longer than %d tokens (longest %d)",
            what,
            dropped,
            len(lengths),
            max_tokens,
            max(lengths),
        )
        dataset = dataset.select(keep)
    else:
        logger.info("%s: all %d prompts fit in %d tokens (longest %d)", what, len(lengths), max_tokens, max(lengths))
    return dataset


# ----------------------------------------------------------------------------------------------------------------------
# Model, tokenizer, saving


def load_tokenizer(model_args: Any, training_args: Any) -> Any:
    """The model's tokenizer (revision and remote-code policy from the configs), with a pad token."""
    from transformers import AutoTokenizer

    from .lora import require_full_model

    require_full_model(model_args.model_name_or_path, "training")
    tokenizer = AutoTokenizer.from_pretrained(
        model_args.model_name_or_path,
        revision=model_args.model_revision,
        trust_remote_code=training_args.trust_remote_code,
    )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def set_model_init_kwargs(training_args: Any, model_args: Any) -> None:
    """Fold ModelConfig's loading options into the trainer config's `model_init_kwargs` (explicit ones win),
    quantization included (`--load_in_4bit` / `--load_in_8bit`: bitsandbytes, CUDA only; refused clearly elsewhere)."""
    kw = dict(training_args.model_init_kwargs or {})
    kw.setdefault("revision", model_args.model_revision)
    kw.setdefault("trust_remote_code", training_args.trust_remote_code)
    if model_args.attn_implementation:
        kw.setdefault("attn_implementation", model_args.attn_implementation)
    if model_args.dtype:
        kw.setdefault("dtype", model_args.dtype)
    if model_args.load_in_4bit or model_args.load_in_8bit:
        import torch

        flag = "--load_in_4bit" if model_args.load_in_4bit else "--load_in_8bit"
        if not torch.cuda.is_available():
            raise SystemExit(f"error: {flag} quantizes with bitsandbytes, which needs a CUDA GPU; none is visible here")
        from trl import get_kbit_device_map, get_quantization_config

        kw.setdefault("quantization_config", get_quantization_config(model_args))
        kw.setdefault("device_map", get_kbit_device_map())
    training_args.model_init_kwargs = kw


def train_and_save(trainer: Any, tokenizer: Any, training_args: Any, prompt: PromptSpec, stage: str) -> None:
    """Train (resuming if asked), then write to `output_dir`: the model (the gathered full weights under ZeRO-3, or the
    adapter with `--use_peft`), tokenizer, generation config, the prompt spec, `trainer_state.json` (every logged step,
    for the plots) and `train_results.json`."""
    out = training_args.output_dir
    if trainer.accelerator.is_main_process:
        prompt.save(out, stage)  # also before training, so evaluating a checkpoint-* folder finds it
    result = trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    trainer.save_model(out)
    trainer.log_metrics("train", result.metrics)
    trainer.save_metrics("train", result.metrics)
    trainer.save_state()
    if trainer.accelerator.is_main_process:
        tokenizer.save_pretrained(out)
        trainer.model.generation_config.save_pretrained(out)
        prompt.save(out, stage)
        logger.info("model saved to %s (generation EOS ids %s)", out, trainer.model.generation_config.eos_token_id)
        if (Path(out) / "adapter_config.json").exists():
            logger.warning(
                "%s holds a LoRA adapter, not full weights; the next stage, the vLLM server and evaluation need full "
                "weights: python -m reasoning_ner.lora merge %s %s-merged",
                out,
                out,
                out,
            )


# ----------------------------------------------------------------------------------------------------------------------
# The stages


def _check_eval(script_args: Any, training_args: Any) -> None:
    """An eval set with evaluation switched off would be loaded and never used: say so instead."""
    if (
        script_args.eval_path
        and str(getattr(training_args.eval_strategy, "value", training_args.eval_strategy)) == "no"
    ):
        raise SystemExit(
            f"error: eval_path {script_args.eval_path} is given but eval_strategy is 'no': add "
            "--eval_strategy steps --eval_steps N (or --eval_strategy epoch)"
        )


def _trainer(cls, model_args, training_args, train, evald, tokenizer, callbacks, **kwargs):
    """A TRL trainer on the model named in ModelConfig (its loading options already in `model_init_kwargs`)."""
    from trl import get_peft_config

    return cls(
        model=model_args.model_name_or_path,
        args=training_args,
        train_dataset=train,
        eval_dataset=evald,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
        callbacks=callbacks,
        **kwargs,
    )


def build_sft_trainer(script_args: Any, training_args: Any, model_args: Any, callbacks: list | None = None):
    """Everything `sft.py` does before training: (trainer, tokenizer, prompt spec)."""
    from trl import SFTTrainer

    from .prompts import resolve_prompt

    if not script_args.dataset_path:
        raise SystemExit("error: dataset_path is required (NER-CoT JSON/JSONL files, dataset folders or Hub ids)")
    if script_args.overlong not in OVERLONG_POLICIES:
        raise SystemExit(f"error: overlong must be one of {OVERLONG_POLICIES}, not {script_args.overlong!r}")
    if script_args.max_seq_length and training_args.max_length is not None:
        raise SystemExit("error: give max_seq_length (enforced here, with `overlong`) or max_length (TRL's), not both")
    prompt = resolve_prompt(script_args.prompt_template, script_args.schema_order, script_args.add_source)
    tokenizer = load_tokenizer(model_args, training_args)
    apply_chat_template_file(tokenizer, training_args)
    if getattr(tokenizer, "chat_template", None):
        set_sft_eos(tokenizer, training_args)
    train = load_sft_dataset(script_args.dataset_path, script_args.add_cot, prompt, script_args.dataset_split)
    if script_args.max_train_samples:
        train = train.select(range(min(script_args.max_train_samples, len(train))))
    evald = None
    if script_args.eval_path:
        evald = load_sft_dataset([script_args.eval_path], script_args.add_cot, prompt, script_args.eval_split)
    _check_eval(script_args, training_args)
    set_model_init_kwargs(training_args, model_args)
    trainer = _trainer(SFTTrainer, model_args, training_args, train, evald, tokenizer, callbacks)
    limit, policy = script_args.max_seq_length, script_args.overlong
    trainer.train_dataset = apply_overlong(trainer.train_dataset, limit, policy, "train")
    if trainer.eval_dataset is not None:
        trainer.eval_dataset = apply_overlong(trainer.eval_dataset, limit, policy, "eval")
    return trainer, tokenizer, prompt


def build_grpo_trainer(script_args: Any, training_args: Any, model_args: Any, callbacks: list | None = None):
    """Everything `grpo.py` does before training: (trainer, tokenizer, prompt spec)."""
    from trl import GRPOTrainer

    from .prompts import resolve_prompt
    from .rewards import get_reward_funcs

    if not script_args.dataset_path:
        raise SystemExit("error: dataset_path is required (train.jsonl from sample_grpo.py)")
    try:
        reward_funcs = get_reward_funcs(script_args.reward_funcs, script_args.reward_parser)
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None
    if training_args.reward_weights is not None and len(training_args.reward_weights) != len(reward_funcs):
        raise SystemExit(
            f"error: {len(training_args.reward_weights)} reward_weights for {len(reward_funcs)} reward_funcs"
        )
    tokenizer = load_tokenizer(model_args, training_args)
    prompt = resolve_prompt(
        script_args.prompt_template, script_args.schema_order, script_args.add_source, model_args.model_name_or_path
    )
    train = load_grpo_dataset(script_args.dataset_path, prompt)
    if script_args.max_train_samples:
        train = train.select(range(min(script_args.max_train_samples, len(train))))
    evald = load_grpo_dataset(script_args.eval_path, prompt) if script_args.eval_path else None
    _check_eval(script_args, training_args)
    kw, limit = training_args.chat_template_kwargs, script_args.max_prompt_length
    train = drop_long_prompts(train, tokenizer, limit, kw, "train")
    evald = drop_long_prompts(evald, tokenizer, limit, kw, "eval")
    if limit and training_args.use_vllm and training_args.vllm_max_model_length is None:
        training_args.vllm_max_model_length = limit + training_args.max_completion_length
    set_model_init_kwargs(training_args, model_args)
    if training_args.use_vllm:
        import torch

        if not torch.cuda.is_available():  # vLLM on CPU: the work-arounds of `compat` (CUDA runs are untouched)
            from . import compat

            if training_args.vllm_mode == "colocate":
                compat.keep_vllm_cpu_linear_weights()
            else:
                compat.use_cpu_weight_transfer()
    trainer = _trainer(
        GRPOTrainer, model_args, training_args, train, evald, tokenizer, callbacks, reward_funcs=reward_funcs
    )
    return trainer, tokenizer, prompt
