"""Stage 2, CoT tuning: supervised fine-tuning on NER-CoT with TRL's SFTTrainer.

    accelerate launch --config_file config/accelerate/zero3.yaml sft.py --config config/sft/qwen3-8b.yaml
    python sft.py --config config/sft/tiny-cpu.yaml            # CPU, tiny model

What it does, exactly:
1. Reads NER-CoT records (JSON array or JSONL; `dataset_path` may list several files).
2. Turns each into a conversational prompt/completion pair: the user turn is the project prompt (schema + sentence,
   plus the source dataset with `add_source`), the assistant turn is `<think>\\n{cot}\\n</think>\\n{json answer}`
   (the JSON alone with `add_cot: false`, the paper's ablation). The model's own chat template formats both; the loss
   is on the completion tokens only (TRL's `completion_only_loss`, default for prompt/completion data).
3. Over-long conversations are never cut silently: with `max_seq_length` set, those longer than it are dropped
   (`overlong: drop`, the default) or left to TRL to truncate (`overlong: truncate`), and the log says how many.
4. End of turn: for chat templates whose turns end with a dedicated token (Qwen's `<|im_end|>`), that token is made
   the tokenizer's EOS (`eos_token`) and added to the generation config's EOS ids, so base models (whose EOS is
   `<|endoftext|>`) learn to emit it and generation stops on it. It is part of every completion, hence trained.
5. Trains (resuming with `--resume_from_checkpoint`), saves model, tokenizer and generation config to `output_dir`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

logger = logging.getLogger("sft")


@dataclass
class SFTScriptArguments:
    dataset_path: list[str] = field(default_factory=list, metadata={"help": "NER-CoT file(s), JSON array or JSONL."})
    eval_path: str | None = field(default=None, metadata={"help": "Optional NER-CoT file for evaluation loss."})
    add_cot: bool = field(default=True, metadata={"help": "Train on <think> reasoning + answer (false: answer only)."})
    add_source: bool = field(default=False, metadata={"help": "Name the source dataset in the prompt."})
    max_seq_length: int | None = field(
        default=None, metadata={"help": "Longest conversation in tokens; longer ones are handled per `overlong`."}
    )
    overlong: str = field(default="drop", metadata={"help": "drop | truncate (what happens past max_seq_length)."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Use only the first N examples."})


def main(script_args: SFTScriptArguments, training_args, model_args, callbacks: list | None = None) -> None:
    from trl import SFTTrainer, get_peft_config

    from reasoning_ner.training import (
        conversation_lengths,
        end_of_turn_token,
        filter_by_length,
        load_sft_dataset,
        load_tokenizer,
        set_model_init_kwargs,
        train_and_save,
    )

    if not script_args.dataset_path:
        raise SystemExit("error: dataset_path is required (NER-CoT JSON/JSONL file or files)")
    if script_args.overlong not in ("drop", "truncate"):
        raise SystemExit(f"error: overlong must be 'drop' or 'truncate', not {script_args.overlong!r}")

    tokenizer = load_tokenizer(model_args, training_args)
    eot = end_of_turn_token(tokenizer)
    if training_args.eos_token is None and eot is not None and eot != tokenizer.eos_token:
        logger.info("chat turns end with %s: using it as EOS (the tokenizer's was %s)", eot, tokenizer.eos_token)
        training_args.eos_token = eot

    train = load_sft_dataset(script_args.dataset_path, script_args.add_cot, script_args.add_source)
    if script_args.max_train_samples:
        train = train.select(range(min(script_args.max_train_samples, len(train))))
    evald = (
        load_sft_dataset([script_args.eval_path], script_args.add_cot, script_args.add_source)
        if script_args.eval_path
        else None
    )

    num_proc = training_args.dataset_num_proc
    if script_args.max_seq_length:
        lengths = conversation_lengths(train, tokenizer, num_proc)
        if script_args.overlong == "drop":
            train, _ = filter_by_length(train, lengths, script_args.max_seq_length, "conversation")
            if evald is not None:
                evald, _ = filter_by_length(
                    evald,
                    conversation_lengths(evald, tokenizer, num_proc),
                    script_args.max_seq_length,
                    "eval conversation",
                )
        else:
            n = sum(1 for x in lengths if x > script_args.max_seq_length)
            logger.warning(
                "%d of %d conversations exceed %d tokens and will be truncated",
                n,
                len(lengths),
                script_args.max_seq_length,
            )
            training_args.max_length = script_args.max_seq_length
    elif training_args.max_length is not None:
        lengths = conversation_lengths(train, tokenizer, num_proc)
        n = sum(1 for x in lengths if x > training_args.max_length)
        if n:
            logger.warning(
                "%d of %d conversations exceed max_length=%d tokens and will be truncated by TRL (set max_seq_length "
                "to drop them instead)",
                n,
                len(lengths),
                training_args.max_length,
            )

    set_model_init_kwargs(training_args, model_args)

    trainer = SFTTrainer(
        model=model_args.model_name_or_path,
        args=training_args,
        train_dataset=train,
        eval_dataset=evald,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
        callbacks=callbacks,
    )
    train_and_save(trainer, tokenizer, training_args)


if __name__ == "__main__":
    from trl import ModelConfig, SFTConfig, TrlParser

    logging.basicConfig(
        level=os.environ.get("LOGLEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    script_args, training_args, model_args = TrlParser(
        (SFTScriptArguments, SFTConfig, ModelConfig)
    ).parse_args_and_config()
    main(script_args, training_args, model_args)
