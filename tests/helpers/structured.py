"""Make the tiny (random-weight) model write a chosen completion through a real vLLM server: vLLM structured outputs
(the `structured_outputs` request field) with a regular expression that matches exactly one string. With it the
end-to-end tests see real entities instead of random text."""

from __future__ import annotations

import json
import re

_META = re.compile(r"([\\.^$*+?{}\[\]|()])")


def literal_regex(text: str) -> str:
    """A regular expression matching exactly `text` (metacharacters escaped; spaces and quotes left as they are)."""
    return _META.sub(r"\\\1", text)


def forced(text: str) -> str:
    """The `--extra_body` JSON that makes every completion equal `text`."""
    return json.dumps({"structured_outputs": {"regex": literal_regex(text)}})


def completion(reasoning: str, entities: dict) -> str:
    """A reasoning block and the JSON answer, as a reasoning model writes them."""
    return f"<think>{reasoning}</think>" + json.dumps({"entities": entities})


def max_tokens_for(text: str) -> int:
    """A completion budget that fits `text` whatever tokens the constrained decoder picks (one per byte at worst)."""
    return len(text.encode("utf-8")) + 16
