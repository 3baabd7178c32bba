"""The recipes, evaluation configs and dataset lists of config/experiments/ (fast: nothing is trained).

* every training recipe parses into the scripts' argument classes with no unknown key (as tests/test_recipes.py does
  for config/sft and config/grpo);
* every GPU recipe is its base paper recipe with only the keys whose comment says `experiment` changed, so the
  experiments cannot drift from the recipes they are derived from;
* every evaluation config parses into evaluate.py's arguments and names a dataset list that exists.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from helpers.common import ROOT, read_yaml

pytestmark = pytest.mark.usefixtures("fresh_accelerate_state")

EXP = ROOT / "config" / "experiments"
RECIPES = sorted(p for p in EXP.glob("*/*.yaml") if not p.name.startswith(("eval-", "reported", "ladder")))
BASES = {  # derived GPU recipe -> the paper recipe it changes
    "supervised/sft-qwen3-8b.yaml": "sft/qwen3-8b.yaml",
    "low_resource/sft-qwen3-8b.yaml": "sft/qwen3-8b.yaml",
    "cross_lingual/sft-qwen3-8b.yaml": "sft/qwen3-8b.yaml",
    "ablation/sft-pile-ner-raw-qwen3-1.7b.yaml": "sft/qwen3-1.7b.yaml",
    "ablation/sft-ner-cot-no-cot-qwen3-1.7b.yaml": "sft/qwen3-1.7b.yaml",
    "backbones/sft-llama3.1-8b.yaml": "sft/qwen3-8b.yaml",
    "backbones/sft-internlm2-7b.yaml": "sft/qwen3-8b.yaml",
    "backbones/sft-llama2-7b.yaml": "sft/qwen3-8b.yaml",
    "backbones/grpo-llama3.1-8b.yaml": "grpo/qwen3-8b.yaml",
    "backbones/grpo-internlm2-7b.yaml": "grpo/qwen3-8b.yaml",
    "backbones/grpo-llama2-7b.yaml": "grpo/qwen3-8b.yaml",
}


def _kind(path: Path) -> str:
    return "grpo" if "grpo" in path.name else "sft"


def _types(kind: str) -> tuple:
    from trl import GRPOConfig, ModelConfig, SFTConfig

    if kind == "sft":
        from sft import SFTScriptArguments

        return (SFTScriptArguments, SFTConfig, ModelConfig)
    from grpo import GRPOScriptArguments

    return (GRPOScriptArguments, GRPOConfig, ModelConfig)


def test_every_experiment_has_recipes_and_the_base_map_is_complete():
    gpu = {str(p.relative_to(EXP)) for p in RECIPES if "tiny" not in p.name}
    assert gpu == set(BASES)
    for name in ("supervised", "low_resource", "cross_lingual", "ablation", "backbones"):
        assert any(p.parent.name == name and "tiny" in p.name for p in RECIPES), name


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_recipe_parses_with_no_unknown_key(path):
    from trl import TrlParser

    kind = _kind(path)
    fields = {f.name for t in _types(kind) for f in dataclasses.fields(t)}
    unknown = sorted(set(read_yaml(path)) - fields)
    assert not unknown, f"{path.relative_to(ROOT)}: unknown keys {unknown}"
    script_args, training_args, model_args = TrlParser(_types(kind)).parse_args_and_config(
        args=["--config", str(path), "--use_cpu", "true"]
    )
    assert training_args.output_dir and model_args.model_name_or_path
    template = getattr(training_args, "chat_template_path", None)
    assert template is None or (ROOT / template).is_file()


def _experiment_keys(path: Path) -> set[str]:
    return {m.group(1) for m in re.finditer(r"^([a-z_0-9]+):[^\n]*#\s*experiment", path.read_text(), re.M)}


@pytest.mark.parametrize("derived", sorted(BASES))
def test_gpu_recipe_differs_from_its_base_only_where_marked(derived):
    path, base = EXP / derived, ROOT / "config" / BASES[derived]
    ours, theirs = read_yaml(path), read_yaml(base)
    marked = _experiment_keys(path)
    assert marked, "no key marked `experiment`"
    changed = {k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k)}
    assert changed == marked, f"changed {sorted(changed)} but marked {sorted(marked)}"
    assert str(path.relative_to(ROOT)) in path.read_text()  # the header shows the command with this path


def test_evaluation_configs_parse_and_name_existing_lists():
    from trl import TrlParser

    from evaluate import EvalArguments
    from reasoning_ner.data import load_dataset_config
    from reasoning_ner.generation import GenerationArguments

    paths = sorted(EXP.glob("*/eval-*.yaml"))
    assert [p.parent.name for p in paths] == ["cross_lingual", "low_resource", "supervised", "zero_shot_20"]
    fields = {f.name for t in (EvalArguments, GenerationArguments) for f in dataclasses.fields(t)}
    for p in paths:
        assert set(read_yaml(p)) <= fields, p
        ev, gen = TrlParser((EvalArguments, GenerationArguments)).parse_args_and_config(args=["--config", str(p)])
        assert ev.protocol == "paper" and gen.backend == "vllm" and gen.max_new_tokens == 4096, p
        assert load_dataset_config(ROOT / ev.dataset_config), p


def test_dataset_lists_and_reported_figures():
    from reasoning_ner.experiments import load_reported

    langs = json.loads((EXP / "cross_lingual" / "languages.json").read_text())
    every = json.loads((EXP / "cross_lingual" / "all_languages.json").read_text())
    assert len(langs) == 10 and set(every) == set(langs) | {"MultiCoNER_en"} and "MultiCoNER_en" not in langs
    assert json.loads((EXP / "low_resource" / "conll03.json").read_text()) == ["CoNLL 2003"]
    in_domain = json.loads((ROOT / "config" / "dataset" / "in_domain.json").read_text())
    assert "CoNLL 2003" in in_domain and len(in_domain) == 20
    figures = {p.parent.name: load_reported(p)[0] for p in EXP.glob("*/reported.yaml")}
    assert figures == {
        "supervised": {"supervised (20 InstructUIE datasets)": 85.2},
        "zero_shot_20": {"CoT-tuned 8B (20 datasets, zero-shot)": 56.8},
        "low_resource": {"1%": 87.1, "5%": 91.0, "10%": 92.9},
        "cross_lingual": {"MultiCoNER 2022, nine unseen languages": 48.1},
    }
