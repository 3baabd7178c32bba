"""Stage 2, CoT tuning: supervised fine-tuning on NER-CoT with TRL's SFTTrainer.

    accelerate launch --config_file config/accelerate/zero3.yaml sft.py --config config/sft/qwen3-8b.yaml
    python sft.py --config config/sft/tiny-cpu.yaml            # CPU, tiny model

What it does, exactly:
1. Reads NER-CoT records: JSON array or JSONL files, local dataset folders laid out like a Hub repository, or Hub
   dataset ids such as `HuiHuang/NER-CoT` (`datasets.load_dataset`, split `dataset_split`; offline, from the local
   cache); `dataset_path` may list several. Bad records raise an error naming the source, record and field.
2. Turns each into a conversational prompt/completion pair: the user turn is rendered from `prompt_template` with the
   record's schema in `schema_order` (`sorted` by default) and, with `add_source`, a line naming the source dataset;
   the assistant turn is `<think>\\n{cot}\\n</think>\\n{json answer}` (the JSON alone with `add_cot: false`, the
   paper's ablation). The model's own chat template formats both. The loss is on the completion tokens only
   (`completion_only_loss`, TRL's default for prompt/completion data) unless `completion_only_loss: false` (every
   token, as the authors' run had it: README, "Reproduction").
3. End of turn: for chat templates whose turns end with a dedicated token (Qwen's `<|im_end|>`), that token is made
   the tokenizer's EOS and the generation config's EOS, so base models (EOS `<|endoftext|>`) learn to emit it and
   generation stops on it. It is part of every completion, hence trained.
4. Over-long conversations are never cut silently: after TRL tokenizes them, those longer than `max_seq_length` tokens
   are dropped (`overlong: drop`) or truncated (`truncate` keeps the start, `truncate_left` the end), counted in the log.
5. Trains (resuming with `--resume_from_checkpoint`) and writes model, tokenizer, generation config, the prompt spec
   (`prompt_template.txt`, `reasoning_ner_prompt.json`: what evaluate.py and grpo.py reuse), `trainer_state.json` and
   `train_results.json` to `output_dir`.
"""

from __future__ import annotations

from reasoning_ner.arguments import SFTScriptArguments


def main(script_args: SFTScriptArguments, training_args, model_args, callbacks: list | None = None) -> None:
    from reasoning_ner.training import build_sft_trainer, train_and_save

    trainer, tokenizer, prompt = build_sft_trainer(script_args, training_args, model_args, callbacks)
    train_and_save(trainer, tokenizer, training_args, prompt, "sft.py")


if __name__ == "__main__":
    from reasoning_ner.arguments import stage_help

    # a fast --help, before TRL and torch are imported
    argv = stage_help(SFTScriptArguments, ["SFTConfig", "ModelConfig"], __doc__)

    from trl import ModelConfig, SFTConfig, TrlParser

    from reasoning_ner.training import setup_logging

    setup_logging("sft")
    script_args, training_args, model_args = TrlParser(
        (SFTScriptArguments, SFTConfig, ModelConfig)
    ).parse_args_and_config(argv)
    main(script_args, training_args, model_args)
