"""The arguments of `sft.py` and `grpo.py` beside TRL's own (`SFTConfig` / `GRPOConfig`, `ModelConfig`): what a recipe
may set besides TRL's keys. `TrlParser((SFTScriptArguments, SFTConfig, ModelConfig))` parses a recipe exactly as the
script does; the estimator and the benchmarks read the defaults from here too."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SFTScriptArguments:
    dataset_path: list[str] = field(default_factory=list, metadata={"help": "NER-CoT file(s), JSON array or JSONL."})
    eval_path: str | None = field(default=None, metadata={"help": "Optional NER-CoT file for evaluation loss."})
    add_cot: bool = field(default=True, metadata={"help": "Train on <think> reasoning + answer (false: answer only)."})
    add_source: bool = field(default=False, metadata={"help": "Name the source dataset in the prompt."})
    prompt_template: str | None = field(
        default=None, metadata={"help": "User prompt template file (default config/prompts/ner_user.txt)."}
    )
    schema_order: str = field(default="sorted", metadata={"help": "sorted | given: order of the types in the prompt."})
    max_seq_length: int | None = field(
        default=None, metadata={"help": "Longest conversation in tokens; longer ones are handled per `overlong`."}
    )
    overlong: str = field(
        default="drop", metadata={"help": "drop | truncate (keep the start) | truncate_left (keep the end)."}
    )
    max_train_samples: int | None = field(default=None, metadata={"help": "Use only the first N examples."})


@dataclass
class GRPOScriptArguments:
    dataset_path: str | None = field(default=None, metadata={"help": "train.jsonl from sample_grpo.py."})
    eval_path: str | None = field(default=None, metadata={"help": "Optional JSONL in the same format for evaluation."})
    reward_funcs: list[str] = field(default_factory=lambda: ["f1", "schema"], metadata={"help": "Names in rewards.py."})
    reward_parser: str = field(
        default="lenient",
        metadata={"help": "paper (the reference's strict rule) | lenient: how rewards parse answers."},
    )
    max_prompt_length: int | None = field(default=None, metadata={"help": "Drop prompts longer than this (tokens)."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Use only the first N prompts."})
    prompt_template: str | None = field(
        default=None, metadata={"help": "Template file or model dir (default: the model's recorded prompt)."}
    )
    schema_order: str | None = field(default=None, metadata={"help": "sorted | given (default: the model's)."})
    add_source: bool | None = field(default=None, metadata={"help": "Source line in prompts (default: the model's)."})
