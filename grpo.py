"""Stage 3, reasoning enhancement: GRPO with TRL's GRPOTrainer and the F1 + schema rewards.

    # terminal 1 (the paper's setup: vLLM server on its own GPU)
    CUDA_VISIBLE_DEVICES=7 bash scripts/serve_vllm.sh outputs/sft/qwen3-8b --max_model_len 5120
    # terminal 2
    CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6 accelerate launch --config_file config/accelerate/zero3.yaml --num_processes 7 \
        grpo.py --config config/grpo/qwen3-8b.yaml
    python grpo.py --config config/grpo/tiny-cpu.yaml          # CPU, tiny model, no vLLM

What it does, exactly:
1. Reads the `train.jsonl` written by `sample_grpo.py`: conversational `prompt`, gold `answer` (JSON string),
   `schema`, `dataset`, `sentence`, `id`. All columns reach the reward functions as keyword arguments.
2. Prompts longer than `max_prompt_length` tokens (chat template applied) are dropped and counted in the log (TRL 1.16
   no longer truncates prompts).
3. Rewards are taken by name from `rewards.py`'s registry (`reward_funcs`, default `[f1, schema]`), weighted by
   GRPOConfig's `reward_weights` (paper: `[10.0, 1.0]`); TRL logs each one's mean and std as `rewards/<name>/mean`.
4. Trains with TRL's GRPO loss as configured (`loss_type`, `beta`, `epsilon(_high)`, `num_iterations`, ...),
   generating with vLLM (`use_vllm`, `vllm_mode: server|colocate`) or transformers, and resumes from a checkpoint
   with `--resume_from_checkpoint`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

logger = logging.getLogger("grpo")


@dataclass
class GRPOScriptArguments:
    dataset_path: str | None = field(default=None, metadata={"help": "train.jsonl from sample_grpo.py."})
    eval_path: str | None = field(default=None, metadata={"help": "Optional JSONL in the same format for evaluation."})
    reward_funcs: list[str] = field(default_factory=lambda: ["f1", "schema"], metadata={"help": "Names in rewards.py."})
    max_prompt_length: int | None = field(default=None, metadata={"help": "Drop prompts longer than this (tokens)."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Use only the first N prompts."})


def load_grpo_dataset(path: str):
    import datasets

    from reasoning_ner.data import DataError, read_json_records

    records = read_json_records(path)
    for i, r in enumerate(records):
        for key in ("prompt", "answer", "schema"):
            if not isinstance(r, dict) or key not in r:
                raise DataError(path, i, key, "missing (write GRPO data with sample_grpo.py)")
    return datasets.Dataset.from_list(records)


def main(script_args: GRPOScriptArguments, training_args, model_args, callbacks: list | None = None) -> None:
    from trl import GRPOTrainer, get_peft_config

    from reasoning_ner.rewards import get_reward_funcs
    from reasoning_ner.training import (
        filter_by_length,
        load_tokenizer,
        prompt_lengths,
        set_model_init_kwargs,
        train_and_save,
    )

    if not script_args.dataset_path:
        raise SystemExit("error: dataset_path is required (train.jsonl from sample_grpo.py)")
    reward_funcs = get_reward_funcs(script_args.reward_funcs)
    if training_args.reward_weights is not None and len(training_args.reward_weights) != len(reward_funcs):
        raise SystemExit(
            f"error: {len(training_args.reward_weights)} reward_weights for {len(reward_funcs)} reward_funcs"
        )

    tokenizer = load_tokenizer(model_args, training_args)

    train = load_grpo_dataset(script_args.dataset_path)
    if script_args.max_train_samples:
        train = train.select(range(min(script_args.max_train_samples, len(train))))
    evald = load_grpo_dataset(script_args.eval_path) if script_args.eval_path else None
    if script_args.max_prompt_length:
        kw = training_args.chat_template_kwargs
        train, _ = filter_by_length(
            train, prompt_lengths(train, tokenizer, kw), script_args.max_prompt_length, "prompt"
        )
        if evald is not None:
            evald, _ = filter_by_length(
                evald, prompt_lengths(evald, tokenizer, kw), script_args.max_prompt_length, "eval prompt"
            )
    if script_args.max_prompt_length and training_args.use_vllm and training_args.vllm_max_model_length is None:
        training_args.vllm_max_model_length = script_args.max_prompt_length + training_args.max_completion_length

    set_model_init_kwargs(training_args, model_args)

    if training_args.use_vllm and training_args.vllm_mode == "colocate":
        import torch

        if not torch.cuda.is_available():
            from reasoning_ner.compat import keep_vllm_cpu_linear_weights

            keep_vllm_cpu_linear_weights()

    trainer = GRPOTrainer(
        model=model_args.model_name_or_path,
        reward_funcs=reward_funcs,
        args=training_args,
        train_dataset=train,
        eval_dataset=evald,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
        callbacks=callbacks,
    )
    train_and_save(trainer, tokenizer, training_args)


if __name__ == "__main__":
    from trl import GRPOConfig, ModelConfig, TrlParser

    logging.basicConfig(
        level=os.environ.get("LOGLEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    script_args, training_args, model_args = TrlParser(
        (GRPOScriptArguments, GRPOConfig, ModelConfig)
    ).parse_args_and_config()
    main(script_args, training_args, model_args)
