"""`reasoning_ner.arguments.DataclassParser`, the parser of the light CLIs, against TRL's `TrlParser` (what the stage
scripts use and what the light CLIs used before): for every light CLI the same options (flags, types, defaults,
choices, help), the same help text, the same dataclasses from the project's configs and from command lines, and the
same failures (a config key or a flag no field takes, a bad value). Plus the fast `--help` of sft.py / grpo.py."""

from __future__ import annotations

import dataclasses
import enum
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Literal

import pytest
from helpers.common import ROOT, base_env

from reasoning_ner.arguments import DataclassParser, GRPOScriptArguments, SFTScriptArguments


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class EveryKind:
    """One field of each kind the parser distinguishes."""

    _argument_group_name = "every kind"

    required_str: str
    required_list: list[int]
    name: str = field(default="x", metadata={"help": "A string.", "aliases": ["-n"]})
    count: int = 3
    ratio: float = 0.5
    maybe_int: int | None = None
    maybe_float: float | None = 1.5
    maybe_str: str | None = None
    flag_off: bool = False
    flag_on: bool = field(default=True, metadata={"help": "On unless --no_flag_on."})
    maybe_flag: bool | None = None
    maybe_flag_on: bool | None = True
    choice: Literal["a", "b", 3] = "a"
    colour: Colour = Colour.RED
    items: list[str] = field(default_factory=lambda: ["p", "q"])
    numbers: list[float] = field(default_factory=list)
    hidden: int = field(default=0, init=False)


def _light_clis() -> dict[str, tuple]:
    from evaluate import EvalArguments
    from generate_cot import CotArguments
    from make_sft_data import MakeSftDataArguments
    from predict import PredictArguments
    from reasoning_ner.generation import GenerationArguments
    from sample_grpo import SampleArguments

    return {
        "evaluate": (EvalArguments, GenerationArguments),
        "predict": (PredictArguments, GenerationArguments),
        "sample_grpo": (SampleArguments,),
        "generate_cot": (CotArguments,),
        "make_sft_data": (MakeSftDataArguments,),
        "sft_script_arguments": (SFTScriptArguments,),  # sft.py's fast --help
        "grpo_script_arguments": (GRPOScriptArguments,),  # grpo.py's fast --help
        "every_kind": (EveryKind,),
    }


CLIS = list(_light_clis())
CONFIGS = {  # the project's YAML configs of each light CLI
    "evaluate": sorted((ROOT / "config" / "experiments").glob("*/eval-*.yaml")),
    "generate_cot": sorted((ROOT / "config" / "cot").glob("*.yaml")),
}
PROBES = ("true", "False", "yes", "0", "none", "NULL", "None", "3", "-2", "1.5", "x", "a", "b", "red", "")


def _parsers(types: tuple) -> tuple:
    from trl import TrlParser

    return TrlParser(types, prog="cli"), DataclassParser(types, prog="cli")


def _outcome(fn, value: str):
    try:
        return ("ok", fn(value))
    except Exception as e:  # noqa: BLE001 - the kind of failure is what is compared
        return ("raises", type(e).__name__)


def _signature(parser) -> list[tuple]:
    out = []
    for a in parser._actions:
        typ = a.type
        if typ is not None and not isinstance(typ, type):  # a converter function: compare what it does
            typ = tuple(_outcome(typ, v) for v in PROBES)
        out.append(
            (type(a).__name__, a.option_strings, a.dest, a.nargs, a.const, a.default, a.required, a.choices, a.help)
            + (a.metavar, typ)
        )
    return out


@pytest.mark.parametrize("cli", CLIS)
def test_same_options_and_help_as_trl(cli):
    trl_parser, ours = _parsers(_light_clis()[cli])
    assert _signature(ours) == _signature(trl_parser)
    assert ours.format_help() == trl_parser.format_help()
    assert len(ours._actions) > 2


def _both(types: tuple, argv: list[str]):
    """(TRL's result or exception type, ours); each parser is built afresh (a config changes the defaults)."""
    results = []
    for parser in _parsers(types):
        try:
            results.append(parser.parse_args_and_config(argv))
        except SystemExit as e:
            results.append(("exit", e.code))
        except ValueError:
            results.append(ValueError)
    return results


ARGVS = {
    "every_kind": [
        ["--required_str", "s", "--required_list", "1", "2"],
        ["--required-str", "s", "--required-list", "7", "-n", "y", "--count", "4", "--maybe_int", "none"],
        ["--required_str", "s", "--required_list", "1", "--maybe_int", "5", "--maybe_float", "null"],
        ["--required_str", "s", "--required_list", "1", "--flag_off", "--no_flag_on", "--maybe_flag", "yes"],
        ["--required_str", "s", "--required_list", "1", "--flag_off", "false", "--flag-on", "0", "--maybe_flag_on"],
        ["--required_str", "s", "--required_list", "1", "--choice", "3", "--colour", "blue", "--items", "a", "b"],
        ["--required_str", "s", "--required_list", "1", "--numbers", "1", "2.5", "--maybe_str", "None"],
        ["--required_str", "s", "--required_list", "1", "--choice", "c"],  # not a choice
        ["--required_str", "s", "--required_list", "1", "--flag_off", "maybe"],  # not a truth value
        ["--required_str", "s", "--required_list", "x"],  # not an int
        ["--required_str", "s"],  # a required field missing
        ["--required_str", "s", "--required_list", "1", "--unknown", "2"],  # a flag no field takes
        ["--required_str", "s", "--required_list", "1", "stray"],
    ],
    "evaluate": [
        ["--predictions_file", "p.jsonl", "--protocol", "paper", "--result_file", "r/result.json"],
        ["--plot", "false", "--html", "0", "--bootstrap", "0", "--limit", "none", "--add_source"],
        ["--model", "m", "--backend", "vllm", "--max_new_tokens", "64", "--temperature", "0.7", "--seed", "null"],
        ["--no_plot", "--keep-uninformative", "--enable_thinking", "false"],
        ["--protocol"],  # a value missing
        ["--bootstrap", "many"],
        ["--predictions", "p.jsonl"],  # a prefix of a flag: argparse's abbreviation rule, as TRL has it
        ["--no_such_flag", "1"],
    ],
    "predict": [["--text", "Paris is nice", "--labels", "city", "--window_chars", "10", "--return_reasoning"]],
    "sample_grpo": [["--num_samples", "5", "--shuffle", "false", "--add_source", "true", "--format", "verl"]],
    "generate_cot": [["--input", "x.json", "--teacher_temperature", "none", "--min_agreement", "0.5", "--hint"]],
    "make_sft_data": [["--output", "o.jsonl", "--datasets", "A", "B", "--fraction", "0.1", "--count", "null"]],
}


@pytest.mark.parametrize("cli", CLIS)
def test_same_dataclasses_from_command_lines(cli):
    argvs = ARGVS.get(cli, []) + [[]]
    if cli == "every_kind":
        argvs.remove([])  # required fields
    for argv in argvs:
        theirs, ours = _both(_light_clis()[cli], argv)
        assert ours == theirs, argv


@pytest.mark.parametrize(
    "cli,path",
    [(cli, p) for cli, paths in CONFIGS.items() for p in paths],
    ids=lambda x: x if isinstance(x, str) else f"{x.parent.name}/{x.name}",
)
def test_same_dataclasses_from_the_project_configs(cli, path):
    types = _light_clis()[cli]
    for argv in (["--config", str(path)], ["--config", str(path), "--limit", "3"] if cli == "evaluate" else []):
        theirs, ours = _both(types, argv)
        assert ours == theirs and isinstance(ours, tuple), argv


def test_config_files_exist():
    assert len(CONFIGS["generate_cot"]) >= 3 and len(CONFIGS["evaluate"]) >= 4


def test_config_overridden_by_flags_env_exported_unknown_key_named(tmp_path, monkeypatch):
    from evaluate import EvalArguments
    from reasoning_ner.generation import GenerationArguments

    cfg = tmp_path / "eval.yaml"
    cfg.write_text("protocol: paper\nbootstrap: 10\nplot: false\nenv:\n  REASONING_NER_TEST_VAR: 7\n")
    monkeypatch.delenv("REASONING_NER_TEST_VAR", raising=False)
    ev, gen = DataclassParser((EvalArguments, GenerationArguments)).parse_args_and_config(
        ["--config", str(cfg), "--bootstrap", "20"]
    )
    assert (ev.protocol, ev.bootstrap, ev.plot) == ("paper", 20, False)
    import os

    assert os.environ["REASONING_NER_TEST_VAR"] == "7"
    bad = tmp_path / "bad.yaml"
    bad.write_text("protocol: paper\nprotocl: default\n")
    with pytest.raises(ValueError, match=r"Unknown arguments from config file .*bad\.yaml.*protocl"):
        DataclassParser((EvalArguments, GenerationArguments)).parse_args_and_config(["--config", str(bad)])
    for text in ("- a\n- b\n", "env: 3\n"):
        bad.write_text(text)
        with pytest.raises(ValueError, match="bad.yaml"):
            DataclassParser(EvalArguments).parse_args_and_config(["--config", str(bad)])
    with pytest.raises(ValueError, match="--config needs"):
        DataclassParser(EvalArguments).parse_args_and_config(["--config"])
    with pytest.raises(ValueError, match="not used by the parser: \\['--protocl', 'paper'\\]"):
        DataclassParser(EvalArguments).parse_args_and_config(["--protocl", "paper"])


def test_a_config_field_is_refused_and_bad_unions_are_named():
    @dataclass
    class WithConfig:
        config: str = "x"

    @dataclass
    class BadUnion:
        value: int | float = 1

    with pytest.raises(ValueError, match="config"):
        DataclassParser(WithConfig)
    with pytest.raises(ValueError, match="'value'"):
        DataclassParser(BadUnion)


@pytest.mark.parametrize("script,cls", [("sft.py", "SFTConfig"), ("grpo.py", "GRPOConfig")])
def test_stage_script_help_lists_its_own_arguments(script, cls):
    """`--help` of sft.py / grpo.py comes from the script's dataclass alone (that it imports neither TRL nor torch is
    tests/test_light_paths.py's): it lists every field of it and names TRL's classes and `--help_all`."""
    r = subprocess.run([sys.executable, script, "--help"], cwd=ROOT, env=base_env(), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    fields = SFTScriptArguments if script == "sft.py" else GRPOScriptArguments
    for f in dataclasses.fields(fields):
        assert f"--{f.name}" in r.stdout
    assert cls in r.stdout and "ModelConfig" in r.stdout and "--help_all" in r.stdout


def test_stage_help_passes_other_arguments_on():
    from reasoning_ner.arguments import stage_help

    argv = ["--config", "config/sft/tiny-cpu.yaml", "--max_steps", "1"]
    assert stage_help(SFTScriptArguments, ["SFTConfig"], "doc", argv) == argv
    assert stage_help(SFTScriptArguments, ["SFTConfig"], "doc", ["--help_all"]) == ["--help"]
