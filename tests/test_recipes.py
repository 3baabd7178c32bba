"""Training recipes: every config/{sft,grpo}/*.yaml parses into the installed TRL dataclasses (and the scripts' own
argument classes) with every key kept and no unknown or removed key; a bad key fails parsing; TRL fields that moved.

Fast: nothing is trained, no model is loaded.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from helpers.common import ROOT, read_yaml

pytestmark = pytest.mark.usefixtures("fresh_accelerate_state")

SFT_DIR = ROOT / "config" / "sft"
GRPO_DIR = ROOT / "config" / "grpo"

SFT_YAMLS = sorted(SFT_DIR.glob("*.yaml"))
GRPO_YAMLS = sorted(GRPO_DIR.glob("*.yaml"))

SIZES = ["qwen3-8b", "qwen3-1.7b"]
# On a CPU-only machine TrainingArguments.__post_init__ refuses bf16 unless use_cpu is set. Overriding use_cpu (and
# nothing else) after --config keeps every recipe value, bf16 included, while letting __post_init__ run.
CPU_OVERRIDES = ["--use_cpu", "true"]


def _types(kind: str) -> tuple:
    from trl import GRPOConfig, ModelConfig, SFTConfig

    if kind == "sft":
        from sft import SFTScriptArguments

        return (SFTScriptArguments, SFTConfig, ModelConfig)
    from grpo import GRPOScriptArguments

    return (GRPOScriptArguments, GRPOConfig, ModelConfig)


def parse(kind: str, path: Path) -> tuple:
    """What `sft.py` / `grpo.py` get from `--config path`; raises on an unknown key (fail_with_unknown_args=True)."""
    from trl import TrlParser

    return TrlParser(_types(kind)).parse_args_and_config(args=["--config", str(path), *CPU_OVERRIDES])


def test_recipes_found():
    names = {p.name for p in SFT_YAMLS + GRPO_YAMLS}
    for size in SIZES:
        assert f"{size}.yaml" in {p.name for p in SFT_YAMLS}
        assert f"{size}.yaml" in {p.name for p in GRPO_YAMLS}
    assert "tiny-cpu.yaml" in names


@pytest.mark.parametrize(
    "kind,path",
    [("sft", p) for p in SFT_YAMLS] + [("grpo", p) for p in GRPO_YAMLS],
    ids=lambda v: v if isinstance(v, str) else f"{v.parent.name}/{v.name}",
)
def test_recipe_parses_with_no_unknown_key(kind, path):
    # Static check first: a clearer message than argparse's when a key is wrong.
    fields = {f.name for t in _types(kind) for f in dataclasses.fields(t)}
    unknown = sorted(set(read_yaml(path)) - fields - {"env"})
    assert not unknown, f"{path.relative_to(ROOT)}: keys unknown to {[t.__name__ for t in _types(kind)]}: {unknown}"
    # The real thing: TrlParser as the scripts call it (raises ValueError on keys left over).
    script_args, training_args, model_args = parse(kind, path)
    for key, value in read_yaml(path).items():
        if key in ("env", "use_cpu"):
            continue
        obj = next(o for o in (script_args, training_args, model_args) if hasattr(o, key))
        parsed = getattr(obj, key)
        if key == "report_to":  # normalised to a list
            assert parsed == ([] if value in ("none", None) else [value] if isinstance(value, str) else value)
        elif isinstance(value, float) or isinstance(parsed, float):
            assert float(parsed) == pytest.approx(float(value)), key
        elif hasattr(parsed, "value"):  # enums: save_strategy, lr_scheduler_type, ...
            assert parsed.value == value, key
        elif key != "scale_rewards":  # GRPOConfig maps True/False to "group"/"none"
            assert parsed == value, key


@pytest.mark.parametrize("kind,recipe", [("sft", "qwen3-8b"), ("grpo", "qwen3-8b"), ("sft", "tiny-cpu")])
@pytest.mark.parametrize(
    "bad_line,what",
    [
        ("learning_rat: 1.0e-5", "learning_rat"),  # misspelled
        ("warmup_ratio: 0.03", "warmup_ratio"),  # removed in transformers 5 (warmup_steps takes the ratio)
        ("per_device_batch_size: 4", "per_device_batch_size"),  # not a field anywhere
    ],
)
def test_bad_key_fails_parsing(tmp_path, kind, recipe, bad_line, what):
    src = (SFT_DIR if kind == "sft" else GRPO_DIR) / f"{recipe}.yaml"
    bad = tmp_path / src.name
    bad.write_text(src.read_text() + f"\n{bad_line}\n")
    with pytest.raises(ValueError, match=rf"Unknown arguments.*{what}"):
        parse(kind, bad)
    # and the static check of test_recipe_parses_with_no_unknown_key sees it too
    fields = {f.name for t in _types(kind) for f in dataclasses.fields(t)}
    assert what in set(read_yaml(bad)) - fields


def test_removed_grpo_max_prompt_length_is_a_script_argument():
    """TRL 1.x dropped GRPOConfig.max_prompt_length; grpo.py owns it (drops longer prompts)."""
    from trl import GRPOConfig

    from grpo import GRPOScriptArguments

    assert "max_prompt_length" not in {f.name for f in dataclasses.fields(GRPOConfig)}
    assert "max_prompt_length" in {f.name for f in dataclasses.fields(GRPOScriptArguments)}
