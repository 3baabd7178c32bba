"""Completion parsing: from a model's raw output to `{type: [mentions]}`.

Two parsers, one per evaluation protocol:

`parse_completion` (lenient, the default protocol, the rewards, prediction)
    1. Reasoning is removed: every complete `<think>...</think>` block; then, if a stray `</think>` remains (the
       chat template opened the block in the prompt), everything up to the last one; then, if an unterminated
       `<think>` remains (generation stopped while thinking), everything from it on.
    2. The answer region is the content of the first `<answer>...</answer>` (an unterminated `<answer>` runs to the
       end) if there is one, else of the first Markdown code fence (```json or plain ```), else the whole text.
    3. In that region the first balanced `{...}` that is valid JSON is the answer; prose around it is ignored.
       A second try removes trailing commas.
    4. Structure: `{"entities": {type: [mention, ...]}}`; also accepted are a top-level `{type: [...]}` without the
       `entities` key, a single string instead of a list, and a list of `{"text"/"mention"/"name", "type"/"label"}`
       objects. Non-string mentions are ignored.
    It never raises and its time is linear in the input (one bracket-matching pass, a bounded number of JSON tries).

`parse_completion_paper` (the reference implementation's rule, for the `paper` protocol and `reward_parser: paper`)
    1. If the text contains a think tag: remove every complete `<think>...</think>` block (shortest match, left to
       right), then every remaining `<think>` and `</think>` tag.
    2. If `<answer>` occurs: the content of the first `<answer>...</answer>` if there is one, else the text with the
       `<answer>`/`</answer>` tags removed.
    3. Then, if ```` ```json ```` occurs in what is left: the content of the first ```` ```json ... ``` ```` fence (an
       unterminated fence is a `wrong_structure` failure; the reference raises there). Steps 2 and 3 apply one after the
       other, as in the reference.
    4. The stripped rest must be, as a whole, valid JSON, else `invalid_json` (or `no_answer` when empty). A value that is
       not an object, or an object without `entities`, is a valid *empty* answer (status `ok`).
    5. `entities` must be an object whose values are iterable, else `wrong_structure` (the reference raises); every
       string item of a value is a mention. As in the reference, a string value counts character by character and an
       object value by its keys; other items are ignored.
    Equality with the reference's rules is tested against an independent rendering of them (`tests/test_parsing.py`).

Both return a `ParseResult(entities, status, reasoning)`; `status` is one of `ok`, `no_answer`, `invalid_json`,
`wrong_structure`, so callers can count failures. Types are returned as written; callers normalise them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"
MAX_JSON_TRIES = 16
_MENTION_KEYS = ("text", "mention", "name", "entity", "span")
_TYPE_KEYS = ("type", "label", "entity_type", "category")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


class ParseStatus(str, Enum):
    OK = "ok"
    NO_ANSWER = "no_answer"
    INVALID_JSON = "invalid_json"
    WRONG_STRUCTURE = "wrong_structure"


@dataclass
class ParseResult:
    entities: dict[str, list[str]] = field(default_factory=dict)
    status: ParseStatus = ParseStatus.OK
    reasoning: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is ParseStatus.OK


# ----------------------------------------------------------------------------------------------------------------------
# Think blocks


def _remove_complete_blocks(text: str, open_tag: str, close_tag: str) -> tuple[str, list[str]]:
    """Remove every complete `open...close` block, left to right, in linear time. Returns (rest, contents)."""
    out, contents, i = [], [], 0
    while True:
        a = text.find(open_tag, i)
        if a < 0:
            break
        b = text.find(close_tag, a + len(open_tag))
        if b < 0:
            break
        out.append(text[i:a])
        contents.append(text[a + len(open_tag) : b])
        i = b + len(close_tag)
    out.append(text[i:])
    return "".join(out), contents


def split_reasoning(text: str) -> tuple[str | None, str]:
    """Split a completion into (reasoning, rest) following step 1 of the lenient parser."""
    rest, thoughts = _remove_complete_blocks(text, THINK_OPEN, THINK_CLOSE)
    k = rest.rfind(THINK_CLOSE)
    if k >= 0:  # stray closing tag: the opening one was in the prompt
        thoughts.insert(0, rest[:k].replace(THINK_OPEN, ""))
        rest = rest[k + len(THINK_CLOSE) :]
    k = rest.find(THINK_OPEN)
    if k >= 0:  # unterminated block: generation stopped while thinking
        thoughts.append(rest[k + len(THINK_OPEN) :])
        rest = rest[:k]
    reasoning = "\n".join(t.strip() for t in thoughts if t.strip()) or None
    return reasoning, rest


# ----------------------------------------------------------------------------------------------------------------------
# Finding the answer


def _answer_region(text: str) -> str:
    a = text.find(ANSWER_OPEN)
    if a >= 0:
        b = text.find(ANSWER_CLOSE, a)
        return text[a + len(ANSWER_OPEN) : b if b >= 0 else len(text)]
    a = text.find("```")
    if a >= 0:
        start = text.find("\n", a)
        header = text[a + 3 : start if start >= 0 else len(text)].strip().lower()
        if start >= 0 and header in ("", "json", "json5", "javascript"):
            b = text.find("```", start)
            region = text[start + 1 : b if b >= 0 else len(text)]
            if "{" in region:
                return region
        elif start < 0 or header.startswith("{"):  # ```{"entities": ...}``` on one line
            b = text.find("```", a + 3)
            region = text[a + 3 : b if b >= 0 else len(text)]
            if region.lower().startswith("json"):
                region = region[4:]
            if "{" in region:
                return region
    return text


def _balanced_objects(text: str) -> list[tuple[int, int]]:
    """Top-level balanced `{...}` spans in order, one linear pass aware of JSON strings."""
    spans: list[tuple[int, int]] = []
    depth, start, in_str, escaped_at = 0, -1, False, -1
    for m in re.finditer(r'[{}"\\]', text):
        ch, i = m.group(), m.start()
        if in_str:
            if i == escaped_at:  # the character after a backslash inside a string
                continue
            if ch == "\\":
                escaped_at = i + 1
            elif ch == '"':
                in_str = False
            continue
        if ch == '"':
            if depth > 0:
                in_str = True
        elif ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                spans.append((start, i + 1))
                if len(spans) >= MAX_JSON_TRIES:
                    break
    return spans


def _loads(s: str) -> Any:
    try:
        return json.loads(s)
    except (ValueError, RecursionError):
        pass
    fixed = _TRAILING_COMMA.sub(r"\1", s)
    if fixed != s:
        try:
            return json.loads(fixed)
        except (ValueError, RecursionError):
            pass
    raise ValueError("invalid JSON")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _structure(obj: Any) -> dict[str, list[str]] | None:
    """Map a decoded JSON value onto `{type: [mentions]}`; None when it has no recognisable structure."""
    if isinstance(obj, dict) and "entities" in obj:
        obj = obj["entities"]
    if isinstance(obj, dict):
        out: dict[str, list[str]] = {}
        for k, v in obj.items():
            if isinstance(v, (list, str)):
                out.setdefault(str(k), []).extend(_strings(v))
            elif v is not None:
                return None
        return out
    if isinstance(obj, list):
        out = {}
        for item in obj:
            if not isinstance(item, dict):
                return None
            mention = next((item[k] for k in _MENTION_KEYS if isinstance(item.get(k), str)), None)
            typ = next((item[k] for k in _TYPE_KEYS if isinstance(item.get(k), str)), None)
            if mention is None or typ is None:
                continue
            out.setdefault(typ, []).append(mention)
        return out
    return None


def parse_completion(text: Any) -> ParseResult:
    """Lenient parser (see module docstring). Never raises."""
    try:
        if isinstance(text, list):  # chat messages
            text = text[-1].get("content", "") if text and isinstance(text[-1], dict) else ""
        if not isinstance(text, str):
            return ParseResult(status=ParseStatus.NO_ANSWER)
        reasoning, rest = split_reasoning(text)
        region = _answer_region(rest)
        # A whole-region array of entity objects ([{"text", "type"}]) is accepted too.
        stripped = region.strip()
        if stripped.startswith("["):
            try:
                obj = json.loads(stripped)
            except (ValueError, RecursionError):
                obj = None
            if obj is not None:
                ents = _structure(obj)
                if ents is not None:
                    return ParseResult(ents, ParseStatus.OK, reasoning)
                return ParseResult({}, ParseStatus.WRONG_STRUCTURE, reasoning)
        if stripped.startswith("{") and stripped.endswith("}"):  # fast path: the region is one JSON object
            try:
                ents = _structure(json.loads(stripped))
            except (ValueError, RecursionError):
                ents = None
            if ents is not None:
                return ParseResult(ents, ParseStatus.OK, reasoning)
        spans = _balanced_objects(region)
        if not spans:
            status = ParseStatus.INVALID_JSON if "{" in region else ParseStatus.NO_ANSWER
            return ParseResult({}, status, reasoning)
        wrong = False
        for a, b in spans:
            try:
                obj = _loads(region[a:b])
            except ValueError:
                continue
            ents = _structure(obj)
            if ents is not None:
                return ParseResult(ents, ParseStatus.OK, reasoning)
            wrong = True
        return ParseResult({}, ParseStatus.WRONG_STRUCTURE if wrong else ParseStatus.INVALID_JSON, reasoning)
    except Exception:  # pragma: no cover - last line of defence, the parser must never raise
        return ParseResult({}, ParseStatus.INVALID_JSON, None)


def _paper_answer_text(text: str) -> str | None:
    """Steps 1-3 of the paper parser: the stripped answer text, or None for an unterminated ```json fence."""
    if THINK_OPEN in text or THINK_CLOSE in text:
        text = _remove_complete_blocks(text, THINK_OPEN, THINK_CLOSE)[0]
        text = text.replace(THINK_OPEN, "").replace(THINK_CLOSE, "")
    a = text.find(ANSWER_OPEN)
    if a >= 0:
        b = text.find(ANSWER_CLOSE, a + len(ANSWER_OPEN))
        if b >= 0:
            text = text[a + len(ANSWER_OPEN) : b]
        else:
            text = text.replace(ANSWER_OPEN, "").replace(ANSWER_CLOSE, "")
    a = text.find("```json")
    if a >= 0:
        b = text.find("```", a + 7)
        if b < 0:
            return None
        text = text[a + 7 : b]
    return text.strip()


def parse_completion_paper(text: Any) -> ParseResult:
    """The reference implementation's parsing rule (see module docstring). Never raises."""
    try:
        if not isinstance(text, str):
            return ParseResult(status=ParseStatus.NO_ANSWER)
        reasoning = "\n".join(t.strip() for t in _remove_complete_blocks(text, THINK_OPEN, THINK_CLOSE)[1]) or None
        rest = _paper_answer_text(text)
        if rest is None:
            return ParseResult({}, ParseStatus.WRONG_STRUCTURE, reasoning)
        if not rest:
            return ParseResult({}, ParseStatus.NO_ANSWER, reasoning)
        try:
            obj = json.loads(rest)
        except (ValueError, RecursionError):
            return ParseResult({}, ParseStatus.INVALID_JSON, reasoning)
        if not isinstance(obj, dict):
            return ParseResult({}, ParseStatus.OK, reasoning)
        ents = obj.get("entities", {})
        if not isinstance(ents, dict):
            return ParseResult({}, ParseStatus.WRONG_STRUCTURE, reasoning)
        out: dict[str, list[str]] = {}
        for k, v in ents.items():
            if not isinstance(v, (list, str, dict)):
                return ParseResult({}, ParseStatus.WRONG_STRUCTURE, reasoning)
            out.setdefault(k, []).extend(m for m in v if isinstance(m, str))
        return ParseResult(out, ParseStatus.OK, reasoning)
    except Exception:  # pragma: no cover
        return ParseResult({}, ParseStatus.INVALID_JSON, None)
