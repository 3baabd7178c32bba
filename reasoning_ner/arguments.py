"""Command-line arguments.

* The arguments of `sft.py` and `grpo.py` beside TRL's own (`SFTConfig` / `GRPOConfig`, `ModelConfig`): what a recipe
  may set besides TRL's keys. `TrlParser((SFTScriptArguments, SFTConfig, ModelConfig))` parses a recipe exactly as the
  script does; the estimator and the benchmarks read the defaults from here too.
* `DataclassParser`: the parser of the light command-line tools (`evaluate.py`, `predict.py`, `sample_grpo.py`,
  `generate_cot.py`, `make_sft_data.py`, `scripts/ladder.py`). It behaves as TRL's `TrlParser` does for its users —
  the same flags from the same dataclass fields (`--name` and `--name-with-dashes`, `--flag` / `--flag false` /
  `--no_flag` for booleans, `none`/`null` for optional numbers, several values for lists, the same help), a YAML
  `--config` whose keys become the defaults (any flag overrides them; an `env:` mapping is exported) and a ValueError
  for a key or flag no field takes — without importing TRL, whose import alone takes about half a second
  (`tests/test_arguments.py` checks it against `TrlParser` on every light CLI and the project's configs). One thing
  it does not do: read a `<script>.args` file of extra arguments beside the script.
* `run_cli` and `cli_errors`: the entry point of those light tools (logging set up, arguments parsed, exit code) and
  the way their `main` reports a bad input or option (`error: ...` on stderr, exit code 2).
* `stage_help`: a fast `--help` for `sft.py` and `grpo.py` (their own arguments; TRL's classes are named, and
  `--help_all` prints TRL's full help, which needs TRL and torch).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import logging
import os
import sys
import types
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, NoReturn, Union, get_type_hints


@dataclass
class SFTScriptArguments:
    dataset_path: list[str] = field(
        default_factory=list,
        metadata={
            "help": "NER-CoT sources: JSON array / JSONL files, local dataset folders (datasets.load_dataset) or Hub "
            "dataset ids such as HuiHuang/NER-CoT; several are concatenated."
        },
    )
    dataset_split: str = field(default="train", metadata={"help": "Split of the dataset folders / Hub datasets."})
    eval_path: str | None = field(default=None, metadata={"help": "Optional NER-CoT source for evaluation loss."})
    eval_split: str = field(default="test", metadata={"help": "Split of eval_path when it is a folder or Hub id."})
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


# ----------------------------------------------------------------------------------------------------------------------
# The parser of the light command-line tools


def string_to_bool(v: str | bool) -> bool:
    """`--flag VALUE` of a boolean field: yes/no, true/false, t/f, y/n, 1/0 (any case)."""
    if isinstance(v, bool):
        return v
    if v.lower() in ("yes", "true", "t", "y", "1"):
        return True
    if v.lower() in ("no", "false", "f", "n", "0"):
        return False
    raise argparse.ArgumentTypeError(
        f"Truthy value expected: got {v} but expected one of yes/no, true/false, t/f, y/n, 1/0 (case insensitive)."
    )


def _accept_none(inner: Callable[[str], Any]) -> Callable[[str], Any]:
    """`T | None` fields: `none` / `null` (any case) give None, anything else goes to `inner`."""

    def parse(v: str) -> Any:
        return None if v.lower() in ("none", "null") else inner(v)

    parse.__name__ = getattr(inner, "__name__", "value")  # argparse names the type in its error messages
    return parse


def _choice_type(choices: Sequence[Any]) -> Callable[[str], Any]:
    by_str = {str(c): c for c in choices}
    return lambda arg: by_str.get(arg, arg)


def _is_union(tp: Any) -> bool:
    origin = getattr(tp, "__origin__", tp)
    return origin is Union or isinstance(origin, types.UnionType)


def _add_field(parser: argparse._ActionsContainer, f: dataclasses.Field, tp: Any) -> None:
    """The argparse options of one dataclass field (TRL's rules, see the module docstring)."""
    options = [f"--{f.name}"]
    if "_" in f.name:
        options.append(f"--{f.name.replace('_', '-')}")
    kwargs = dict(f.metadata)
    aliases = kwargs.pop("aliases", [])
    if isinstance(aliases, str):
        aliases = [aliases]
    accepts_none = False
    if _is_union(tp):
        args = tp.__args__
        if str not in args and (len(args) != 2 or type(None) not in args):
            raise ValueError(
                f"field {f.name!r}: only `X | None` unions can be parsed (the parser takes one type per argument)"
            )
        if type(None) not in args:
            tp = args[0] if args[1] is str else args[1]
        elif bool not in args:
            tp = args[0] if isinstance(None, args[1]) else args[1]
            accepts_none = tp is not str
    origin = getattr(tp, "__origin__", tp)
    is_bool = tp is bool or tp == (bool | None)
    bool_kwargs: dict[str, Any] = {}
    if origin is Literal or (isinstance(tp, type) and issubclass(tp, Enum)):
        kwargs["choices"] = tp.__args__ if origin is Literal else [x.value for x in tp]
        kwargs["type"] = _choice_type(kwargs["choices"])
        if f.default is not dataclasses.MISSING:
            kwargs["default"] = f.default
        else:
            kwargs["required"] = True
    elif is_bool:
        bool_kwargs = dict(kwargs)
        kwargs["type"] = string_to_bool
        if tp is bool or (f.default is not None and f.default is not dataclasses.MISSING):
            kwargs["default"] = False if f.default is dataclasses.MISSING else f.default
            kwargs["nargs"] = "?"
            kwargs["const"] = True
    elif isinstance(origin, type) and issubclass(origin, list):
        kwargs["type"] = tp.__args__[0]
        kwargs["nargs"] = "+"
        if f.default_factory is not dataclasses.MISSING:
            kwargs["default"] = f.default_factory()
        elif f.default is dataclasses.MISSING:
            kwargs["required"] = True
    else:
        kwargs["type"] = _accept_none(tp) if accepts_none else tp
        if f.default is not dataclasses.MISSING:
            kwargs["default"] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            kwargs["default"] = f.default_factory()
        else:
            kwargs["required"] = True
    parser.add_argument(*options, *aliases, **kwargs)
    if f.default is True and is_bool:
        parser.add_argument(
            f"--no_{f.name}",
            f"--no-{f.name.replace('_', '-')}",
            action="store_false",
            dest=f.name,
            **(bool_kwargs | {"default": False}),
        )


class DataclassParser(argparse.ArgumentParser):
    """`DataclassParser(ArgsA)` or `DataclassParser((ArgsA, ArgsB))`, then `parse_args_and_config()` -> one instance of
    each dataclass: TRL's `TrlParser` without TRL (module docstring)."""

    def __init__(self, dataclass_types: type | Iterable[type] | None = None, **kwargs: Any):
        if dataclass_types is None:
            dataclass_types = []
        elif dataclasses.is_dataclass(dataclass_types) or not isinstance(dataclass_types, Iterable):
            dataclass_types = [dataclass_types]
        self.dataclass_types = list(dataclass_types)
        for dtype in self.dataclass_types:
            if "config" in dtype.__dataclass_fields__:
                raise ValueError(f"{dtype.__name__} has a field named 'config', the reserved --config flag")
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(**kwargs)
        for dtype in self.dataclass_types:
            group = (
                self.add_argument_group(dtype._argument_group_name) if hasattr(dtype, "_argument_group_name") else self
            )
            hints = get_type_hints(dtype)
            for f in dataclasses.fields(dtype):
                if f.init:
                    _add_field(group, f, hints[f.name])

    def parse_args_and_config(self, args: Sequence[str] | None = None) -> tuple[Any, ...]:
        """Parse `args` (default: the command line) with `--config FILE` read first: its keys become the defaults, its
        `env` mapping goes to the environment. ValueError for a config key or a flag no field takes."""
        args = list(args) if args is not None else sys.argv[1:]
        if "--config" in args:
            i = args.index("--config")
            args.pop(i)
            if i >= len(args):
                raise ValueError("--config needs the path of a YAML file")
            path = args.pop(i)
            import yaml

            with open(path, encoding="utf-8") as fh:
                config = yaml.safe_load(fh)
            if not isinstance(config, dict):
                raise ValueError(f"Config file {path} must contain a YAML mapping.")
            if "env" in config:
                env = config.pop("env", {})
                if not isinstance(env, dict):
                    raise ValueError(f"{path}: `env` field should be a dict in the YAML file.")
                for key, value in env.items():
                    os.environ[key] = str(value)
            unknown = self._set_config_defaults(config)
            if unknown:
                raise ValueError(
                    f"Unknown arguments from config file {path}: {unknown}. Please remove them or add them to the "
                    "dataclass."
                )
        namespace, remaining = self.parse_known_args(args=args)
        outputs: list[Any] = []
        for dtype in self.dataclass_types:
            keys = {f.name for f in dataclasses.fields(dtype) if f.init}
            outputs.append(dtype(**{k: v for k, v in vars(namespace).items() if k in keys}))
            for k in keys:
                delattr(namespace, k)
        if vars(namespace):
            outputs.append(namespace)
        if remaining:
            raise ValueError(f"Some specified arguments are not used by the parser: {remaining}")
        return tuple(outputs)

    def _set_config_defaults(self, config: dict[str, Any]) -> list[str]:
        """Make the config's values the defaults (no longer required); the keys no option takes, as `--key value`."""
        used: set[str] = set()

        def apply(parser: argparse.ArgumentParser) -> None:
            for action in parser._actions:
                if isinstance(action, argparse._SubParsersAction):
                    for sub in action.choices.values():
                        apply(sub)
                elif action.dest in config:
                    action.default = config[action.dest]
                    action.required = False
                    used.add(action.dest)

        apply(self)
        return [item for k, v in config.items() if k not in used for item in (f"--{k}", str(v))]


def run_cli(
    dataclass_types: type | Iterable[type], main: Callable[..., int], log_level: int = logging.WARNING
) -> NoReturn:
    """The `if __name__ == "__main__":` of a light command-line tool: log records from `log_level` up go to stderr as
    `LEVEL name: message`, the command line (and its `--config`) is parsed into one instance of each dataclass by
    `DataclassParser`, and the process exits with the code of `main(*instances)`."""
    logging.basicConfig(level=log_level, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(main(*DataclassParser(dataclass_types).parse_args_and_config()))


def cli_errors(main: Callable[..., int]) -> Callable[..., int]:
    """Decorator of a light tool's `main`: a `ValueError` it raises (a bad option, or a `reasoning_ner.data.DataError`
    naming the file, record and field of bad input) is printed as `error: <message>` on stderr, without a traceback,
    and `main` returns 2."""

    @functools.wraps(main)
    def wrapped(*args: Any, **kwargs: Any) -> int:
        try:
            return main(*args, **kwargs)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2

    return wrapped


def stage_help(script_args: type, trl_classes: Sequence[str], doc: str, argv: Sequence[str] | None = None) -> list[str]:
    """For `sft.py` / `grpo.py`, before TRL is imported: on `-h` / `--help`, print the script's own arguments and exit
    (TrlParser's help needs TRL's config classes, whose import takes torch and several seconds); `--help_all` becomes
    `--help` for TrlParser's full help. Returns the arguments to give TrlParser."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--help_all" in argv:
        return ["--help" if a == "--help_all" else a for a in argv]
    if "-h" in argv or "--help" in argv:
        prog = os.path.basename(sys.argv[0]) or "script"
        names = " and ".join(f"`{c}`" for c in trl_classes)
        parser = DataclassParser(
            script_args,
            prog=prog,
            usage=f"{prog} [--config RECIPE.yaml] [--KEY VALUE ...]",
            description=doc.strip().split("\n\n")[0],
            epilog=f"Every field of TRL's {names} is accepted too, as a flag or a recipe key; `{prog} --help_all` lists "
            "them (it imports TRL and torch: several seconds).",
        )
        parser.print_help()
        raise SystemExit(0)
    return argv
