"""Stage 3, reasoning enhancement: GRPO with TRL's GRPOTrainer and the F1 + schema rewards.

    # terminal 1 (the paper's setup: vLLM server on its own GPU)
    CUDA_VISIBLE_DEVICES=7 bash scripts/serve_vllm.sh outputs/sft/qwen3-8b
    # terminal 2
    CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6 accelerate launch --config_file config/accelerate/zero3.yaml --num_processes 7 \
        grpo.py --config config/grpo/qwen3-8b.yaml
    python grpo.py --config config/grpo/tiny-cpu.yaml          # CPU, tiny model, no vLLM

What it does, exactly:
1. Reads the `train.jsonl` written by `sample_grpo.py`: conversational `prompt`, gold `answer` (JSON string),
   `schema`, `dataset`, `sentence`, `id`. All columns reach the reward functions as keyword arguments.
2. Renders every prompt again from `sentence`, `schema` and `dataset` under the prompt spec: `prompt_template`,
   `schema_order` and `add_source` when given, else the spec recorded in the model's directory by `sft.py`, else the
   defaults — so the GRPO prompts are the SFT prompts and the evaluation prompts.
3. Prompts longer than `max_prompt_length` tokens (chat template applied) are dropped and counted in the log (TRL 1.16
   no longer truncates prompts); the lengths are measured once, on the main process.
4. Rewards are taken by name from `rewards.py`'s registry (`reward_funcs`, default `[f1, schema]`), parsing completions
   with `reward_parser` (`paper`: the reference's strict rule, as the faithful recipes; `lenient`), weighted by
   GRPOConfig's `reward_weights` (paper: `[10.0, 1.0]`); TRL logs each one's mean and std as `rewards/<name>/mean`.
5. Trains with TRL's GRPO loss as configured (`loss_type`, `beta`, `epsilon(_high)`, `num_iterations`, ...),
   generating with vLLM (`use_vllm`, `vllm_mode: server|colocate`) or transformers, and resumes from a checkpoint
   with `--resume_from_checkpoint`. Writes the model, the prompt spec, `trainer_state.json` and `train_results.json`.
"""

from __future__ import annotations

from reasoning_ner.arguments import GRPOScriptArguments


def main(script_args: GRPOScriptArguments, training_args, model_args, callbacks: list | None = None) -> None:
    from reasoning_ner.training import build_grpo_trainer, train_and_save

    trainer, tokenizer, prompt = build_grpo_trainer(script_args, training_args, model_args, callbacks)
    train_and_save(trainer, tokenizer, training_args, prompt, "grpo.py")


if __name__ == "__main__":
    from reasoning_ner.arguments import stage_help

    # a fast --help, before TRL and torch are imported
    argv = stage_help(GRPOScriptArguments, ["GRPOConfig", "ModelConfig"], __doc__)

    from trl import GRPOConfig, ModelConfig, TrlParser

    from reasoning_ner.training import setup_logging

    setup_logging("grpo")
    script_args, training_args, model_args = TrlParser(
        (GRPOScriptArguments, GRPOConfig, ModelConfig)
    ).parse_args_and_config(argv)
    main(script_args, training_args, model_args)
