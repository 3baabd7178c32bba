"""Prompt and target rendering.

The user prompt is rendered from a template file (`config/prompts/ner_user.txt`, `string.Template` syntax with the
fields `$schema` — the entity types as a JSON list —, `$sentence` and `$source_line`, an optional line naming the
source dataset). Chat formatting is always the tokenizer's own `apply_chat_template`; this module never writes
model-specific chat strings.

The training target is `<think>\\n{cot}\\n</think>\\n` followed by the JSON answer
`{"entities": {"<type>": ["<mention>", ...]}}` with types and mentions in first-occurrence order (indent=2,
ensure_ascii=False); without a `cot` it is the JSON answer alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Any

from .data import Example
from .paths import PROMPTS_DIR

DEFAULT_TEMPLATE = PROMPTS_DIR / "ner_user.txt"
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"


@lru_cache(maxsize=16)
def load_template(path: str | Path = DEFAULT_TEMPLATE) -> Template:
    text = Path(path).read_text(encoding="utf-8")
    tpl = Template(text)
    missing = {"schema", "sentence"} - set(tpl.get_identifiers())
    if missing:
        raise ValueError(f"{path}: prompt template lacks the field(s) {sorted(missing)}")
    return tpl


def render_prompt(
    sentence: str,
    schema: Sequence[str],
    source: str | None = None,
    template: str | Path = DEFAULT_TEMPLATE,
) -> str:
    """The user prompt for one sentence. `source` adds a line naming the source dataset."""
    tpl = load_template(str(template))
    source_line = f"Source dataset: {source}\n" if source else ""
    text = tpl.substitute(
        schema=json.dumps(list(schema), ensure_ascii=False),
        sentence=sentence,
        source_line=source_line,
    )
    return text.rstrip("\n")


def render_answer(entities: dict[str, list[str]]) -> str:
    return json.dumps({"entities": entities}, ensure_ascii=False, indent=2)


def render_target(example: Example, add_cot: bool = True) -> str:
    """The assistant turn: `<think>` reasoning (if any and `add_cot`) then the JSON answer."""
    answer = render_answer(example.answer())
    if add_cot and example.cot:
        return f"{THINK_OPEN}\n{example.cot.strip()}\n{THINK_CLOSE}\n{answer}"
    return answer


def build_messages(example: Example, add_source: bool = False, template: str | Path = DEFAULT_TEMPLATE) -> list[dict]:
    """The user turn of a conversation, as chat messages."""
    prompt = render_prompt(example.sentence, example.schema, example.dataset if add_source else None, template)
    return [{"role": "user", "content": prompt}]


def chat_prompt(tokenizer: Any, messages: list[dict], enable_thinking: bool | None = None) -> str:
    """Render chat messages with the tokenizer's own template, ending with the generation prompt.

    `enable_thinking` is passed to templates that know it (Qwen3); `None` leaves the template's default.
    """
    kwargs: dict[str, Any] = {"tokenize": False, "add_generation_prompt": True}
    if enable_thinking is not None:
        kwargs["enable_thinking"] = enable_thinking
    return tokenizer.apply_chat_template(messages, **kwargs)
