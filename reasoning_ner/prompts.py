"""Prompt and target rendering, and the prompt specification every stage shares.

The user prompt is rendered from a template file (default `config/prompts/ner_user.txt`; `string.Template` syntax with
the fields `$schema` — the entity types as a JSON list —, `$sentence`, and optionally `$source_line`, a line naming the
source dataset when `add_source` is on). Chat formatting is always the tokenizer's own `apply_chat_template`; this
module never writes model-specific chat strings.

A `PromptSpec` is what makes a prompt: the template text, the schema order (`sorted`: types in alphabetical order, as
the authors' code and the public NER-CoT release have them; `given`: as the label file or record lists them) and
`add_source`. `sft.py` and `grpo.py` write the spec they trained with into the model's output directory
(`prompt_template.txt` and `reasoning_ner_prompt.json`); `evaluate.py`, `predict.py` and `grpo.py` given that model use
it unless told otherwise (`resolve_prompt`), so a sentence gets the same prompt string in training and at test time.
`--prompt_template` takes a template file or a model directory holding a recorded spec (to evaluate someone else's
checkpoint with its own template).

The training target is `<think>\\n{cot}\\n</think>\\n` followed by the JSON answer
`{"entities": {"<type>": ["<mention>", ...]}}` with types and mentions in first-occurrence order (indent=2,
ensure_ascii=False); without a `cot` it is the JSON answer alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Any

from .data import DataError, Example
from .paths import PROMPTS_DIR

logger = logging.getLogger(__name__)

DEFAULT_TEMPLATE = PROMPTS_DIR / "ner_user.txt"
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
SCHEMA_ORDERS = ("sorted", "given")
TEMPLATE_FIELDS = {"schema", "sentence", "source_line"}
RECORD_FILE = "reasoning_ner_prompt.json"  # the spec, written into a model's output directory
TEMPLATE_FILE = "prompt_template.txt"  # the template text beside it


def _check_template(text: str, where: str | Path) -> Template:
    tpl = Template(text)
    ids = set(tpl.get_identifiers())
    if not tpl.is_valid():
        raise DataError(where, None, None, "invalid template: a '$' that is not a field (write '$$' for a dollar sign)")
    missing, unknown = {"schema", "sentence"} - ids, ids - TEMPLATE_FIELDS
    if missing:
        raise DataError(where, None, None, f"prompt template lacks the field(s) {sorted(missing)}")
    if unknown:
        raise DataError(
            where, None, None, f"unknown template field(s) {sorted(unknown)}; known: {sorted(TEMPLATE_FIELDS)}"
        )
    return tpl


@lru_cache(maxsize=16)
def load_template(path: str | Path = DEFAULT_TEMPLATE) -> Template:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(path, None, None, "prompt template not found") from None
    return _check_template(text, path)


def render_prompt(
    sentence: str,
    schema: Sequence[str],
    source: str | None = None,
    template: str | Path = DEFAULT_TEMPLATE,
) -> str:
    """The user prompt for one sentence from a template file, the schema in the order given. `source` adds a line
    naming the source dataset."""
    return _render(load_template(str(template)), sentence, schema, source)


def _render(tpl: Template, sentence: str, schema: Sequence[str], source: str | None) -> str:
    source_line = f"Source dataset: {source}\n" if source else ""
    text = tpl.substitute(
        schema=json.dumps(list(schema), ensure_ascii=False), sentence=sentence, source_line=source_line
    )
    return text.rstrip("\n")


@dataclass(frozen=True)
class PromptSpec:
    """Everything that makes the user prompt of a sentence: template text, schema order, source line on or off."""

    template_text: str
    template_path: str = str(DEFAULT_TEMPLATE)
    schema_order: str = "sorted"
    add_source: bool = False

    def __post_init__(self) -> None:
        if self.schema_order not in SCHEMA_ORDERS:
            raise ValueError(f"schema_order must be one of {SCHEMA_ORDERS}, not {self.schema_order!r}")
        object.__setattr__(self, "_tpl", _check_template(self.template_text, self.template_path))

    @classmethod
    def from_file(cls, path: str | Path = DEFAULT_TEMPLATE, schema_order: str = "sorted", add_source: bool = False):
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise DataError(path, None, None, "prompt template not found") from None
        return cls(text, str(path), schema_order, add_source)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.template_text.encode("utf-8")).hexdigest()

    def order(self, schema: Sequence[str]) -> list[str]:
        return sorted(schema) if self.schema_order == "sorted" else list(schema)

    def render(self, sentence: str, schema: Sequence[str], source: str | None = None) -> str:
        """The user prompt: `schema` put in this spec's order, `source` shown only when `add_source` is on."""
        return _render(self._tpl, sentence, self.order(schema), source if self.add_source else None)

    def messages(self, sentence: str, schema: Sequence[str], source: str | None = None) -> list[dict]:
        return [{"role": "user", "content": self.render(sentence, schema, source)}]

    def record(self) -> dict[str, Any]:
        """What result files and model directories record about the prompt."""
        return {
            "template_path": self.template_path,
            "template_sha256": self.sha256,
            "schema_order": self.schema_order,
            "add_source": self.add_source,
        }

    def save(self, directory: str | Path, written_by: str) -> Path:
        """Write `prompt_template.txt` and `reasoning_ner_prompt.json` into a model's output directory."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / TEMPLATE_FILE).write_text(self.template_text, encoding="utf-8")
        rec = self.record() | {"template_file": TEMPLATE_FILE, "written_by": written_by}
        path = directory / RECORD_FILE
        path.write_text(json.dumps(rec, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory: str | Path) -> PromptSpec | None:
        """The spec recorded in a model directory (or, for a `checkpoint-N` folder, in its run directory); None when
        there is none."""
        directory = Path(directory)
        for d in (directory, directory.parent):
            path = d / RECORD_FILE
            if path.is_file():
                try:
                    rec = json.loads(path.read_text(encoding="utf-8"))
                    text = (d / rec.get("template_file", TEMPLATE_FILE)).read_text(encoding="utf-8")
                    return cls(
                        text, str(d / rec.get("template_file", TEMPLATE_FILE)), rec["schema_order"], rec["add_source"]
                    )
                except (OSError, ValueError, KeyError, TypeError) as e:
                    raise DataError(path, None, None, f"unreadable prompt record: {e}") from None
        return None


def resolve_prompt(
    template: str | Path | None = None,
    schema_order: str | None = None,
    add_source: bool | None = None,
    model: str | Path | None = None,
) -> PromptSpec:
    """The prompt spec a stage uses. Each setting comes from, in order: the explicit argument; the spec recorded in
    `template` when it is a directory; the spec recorded in `model` when it is a local directory; the defaults
    (`config/prompts/ner_user.txt`, `sorted`, no source line)."""
    recorded = None
    if template is not None and Path(template).is_dir():
        recorded = PromptSpec.load(template)
        if recorded is None:
            raise DataError(template, None, None, f"no recorded prompt ({RECORD_FILE}) in this directory")
        template = None
    elif model is not None and Path(model).is_dir():
        recorded = PromptSpec.load(model)
    base = recorded or PromptSpec.from_file(DEFAULT_TEMPLATE)
    spec = PromptSpec.from_file(template) if template is not None else base
    return PromptSpec(
        spec.template_text,
        spec.template_path,
        schema_order if schema_order is not None else base.schema_order,
        add_source if add_source is not None else base.add_source,
    )


def render_answer(entities: dict[str, list[str]]) -> str:
    return json.dumps({"entities": entities}, ensure_ascii=False, indent=2)


def render_target(example: Example, add_cot: bool = True) -> str:
    """The assistant turn: `<think>` reasoning (if any and `add_cot`) then the JSON answer."""
    answer = render_answer(example.answer())
    if add_cot and example.cot:
        return f"{THINK_OPEN}\n{example.cot.strip()}\n{THINK_CLOSE}\n{answer}"
    return answer


END_OF_TURN_CANDIDATES = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>")


def end_of_turn_token(tokenizer: Any) -> str | None:
    """The token that closes an assistant turn in the tokenizer's chat template (e.g. Qwen's `<|im_end|>`)."""
    vocab = tokenizer.get_vocab()
    probe = tokenizer.apply_chat_template(
        [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}], tokenize=False
    )
    for tok in END_OF_TURN_CANDIDATES:
        if tok in vocab and tok in probe:
            return tok
    return None


def chat_prompt_ids(tokenizer: Any, messages: list[dict], enable_thinking: bool | None = None) -> list[int]:
    """The prompt token ids: the chat template rendered and tokenized in one step, special tokens exactly as the
    template writes them (a BOS the template contains is not added a second time). Every local backend sends these."""
    kwargs: dict[str, Any] = {"tokenize": True, "add_generation_prompt": True}
    if enable_thinking is not None:
        kwargs["enable_thinking"] = enable_thinking
    ids = tokenizer.apply_chat_template(messages, **kwargs)
    if isinstance(ids, dict) or hasattr(ids, "keys"):
        ids = ids["input_ids"]
    return list(ids)


def chat_prompt(tokenizer: Any, messages: list[dict], enable_thinking: bool | None = None) -> str:
    """Render chat messages with the tokenizer's own template, ending with the generation prompt.

    `enable_thinking` is passed to templates that know it (Qwen3); `None` leaves the template's default.
    """
    kwargs: dict[str, Any] = {"tokenize": False, "add_generation_prompt": True}
    if enable_thinking is not None:
        kwargs["enable_thinking"] = enable_thinking
    return tokenizer.apply_chat_template(messages, **kwargs)
