import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reasoning_ner.parsing import ParseStatus, parse_completion, parse_completion_paper, split_reasoning
from reasoning_ner.scoring import normalize_mention

OK, NO, BAD, WRONG = ParseStatus.OK, ParseStatus.NO_ANSWER, ParseStatus.INVALID_JSON, ParseStatus.WRONG_STRUCTURE
ANS = '{"entities": {"person": ["Ada"]}}'


@pytest.mark.parametrize(
    "text, lenient, paper",
    [
        (f'<think>\nwho? {{"person": ["Bob"]}}\n</think>\n{ANS}', ({"person": ["Ada"]}, OK), ({"person": ["Ada"]}, OK)),
        # stray closing tag: Qwen3's template opened the block in the prompt
        (f'reasoning {{"x": ["y"]}}</think>\n\n{ANS}', ({"person": ["Ada"]}, OK), ({}, BAD)),
        # unterminated think: generation stopped while thinking
        (f"<think>I think {ANS}", ({}, NO), ({}, BAD)),
        (f"```json\n{ANS}\n```", ({"person": ["Ada"]}, OK), ({"person": ["Ada"]}, OK)),
        (f"Here you go:\n```json\n{ANS}\n```\nDone.", ({"person": ["Ada"]}, OK), ({"person": ["Ada"]}, OK)),
        (f"```\n{ANS}\n```", ({"person": ["Ada"]}, OK), ({}, BAD)),
        (f"<answer>{ANS}</answer> trailing", ({"person": ["Ada"]}, OK), ({"person": ["Ada"]}, OK)),
        # an unterminated <answer>: the reference drops the tags and reads the rest
        (f"<answer>\n{ANS}", ({"person": ["Ada"]}, OK), ({"person": ["Ada"]}, OK)),
        (f"Sure! The answer is {ANS} Hope this helps.", ({"person": ["Ada"]}, OK), ({}, BAD)),
        # valid JSON without "entities": the reference reads an empty answer (and its schema reward gives 1)
        ('{"person": ["Ada", 3, null, ["x"]], "location": []}', ({"person": ["Ada"], "location": []}, OK), ({}, OK)),
        ('{"entities": {"person": ["Ada", 3]}}', ({"person": ["Ada"]}, OK), ({"person": ["Ada"]}, OK)),
        # a string value: the reference iterates it character by character
        ('{"entities": {"person": "Ada"}}', ({"person": ["Ada"]}, OK), ({"person": ["A", "d", "a"]}, OK)),
        ('{"entities": {"person": ["Ada",]}}', ({"person": ["Ada"]}, OK), ({}, BAD)),
        (
            '[{"text": "Ada", "type": "person"}, {"mention": "Rome", "label": "city"}]',
            ({"person": ["Ada"], "city": ["Rome"]}, OK),
            ({}, OK),  # not an object: an empty answer for the reference
        ),
        ('{"entities": {}}', ({}, OK), ({}, OK)),
        ('{"entities": [1, 2]}', ({}, WRONG), ({}, WRONG)),
        ('{"entities": {"person": {"name": "Ada"}}}', ({}, WRONG), ({"person": ["name"]}, OK)),  # object keys
        ('{"entities": {"person": ["Ada"], "x": 5}}', ({}, WRONG), ({}, WRONG)),  # the reference raises
        (f"<answer>```json\n{ANS}\n```</answer>", ({"person": ["Ada"]}, OK), ({"person": ["Ada"]}, OK)),
        (f"```json\n{ANS}", ({"person": ["Ada"]}, OK), ({}, WRONG)),  # unterminated fence: the reference raises
        ("no answer at all", ({}, NO), ({}, BAD)),
        ("", ({}, NO), ({}, NO)),
        ("<think>only thoughts</think>", ({}, NO), ({}, NO)),
        ("{not json}", ({}, BAD), ({}, BAD)),
        ('{"a": "brace } in string", "b": ["{"]} tail', ({"a": ["brace } in string"], "b": ["{"]}, OK), ({}, BAD)),
        ('{"a": 1} {"b": ["c"]}', ({"b": ["c"]}, OK), ({}, BAD)),
        ('{"a": 1}', ({}, WRONG), ({}, OK)),
    ],
)
def test_canned(text, lenient, paper):
    r = parse_completion(text)
    assert (r.entities, r.status) == lenient
    p = parse_completion_paper(text)
    assert (p.entities, p.status) == paper


def test_string_with_braces_and_escapes():
    text = 'prose {"entities": {"work": ["The \\"Book\\" {vol. 1}", "a\\\\"]}} prose'
    assert parse_completion(text).entities == {"work": ['The "Book" {vol. 1}', "a\\"]}


def test_first_valid_object_wins_after_invalid_ones():
    text = '{oops} {"entities": {"a": ["b"]}} {"entities": {"c": ["d"]}}'
    assert parse_completion(text).entities == {"a": ["b"]}


def test_reasoning_is_returned():
    assert split_reasoning("<think>a</think>x") == ("a", "x")
    assert split_reasoning("b</think>x") == ("b", "x")
    assert split_reasoning("x<think>c") == ("c", "x")
    assert parse_completion(f"<think>why</think>{ANS}").reasoning == "why"


def test_chat_message_input():
    assert parse_completion([{"role": "assistant", "content": ANS}]).entities == {"person": ["Ada"]}
    assert parse_completion(None).status is NO


ADVERSARIAL = [
    "{" * 1_000_000,
    "[" * 1_000_000,
    "}" * 1_000_000,
    '"' * 1_000_000,
    "\\" * 1_000_000,
    '{"a":' * 200_000,
    "<think>" * 150_000,
    "</think>" * 150_000,
    "```" * 300_000,
    "<answer>" * 120_000,
    "{}" * 500_000,
    '{"a": [' + "[" * 100_000 + "]" * 100_000 + "]}",
    '{"entities": {"p": [' + ",".join(f'"m{i}"' for i in range(100_000)) + "]}}",
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("text", ADVERSARIAL, ids=[t[:12] for t in ADVERSARIAL])
def test_adversarial_inputs_terminate(text):
    # bounded work: one linear scan and at most a few JSON decodes; the timeout guards against a regression.
    for parser in (parse_completion, parse_completion_paper):
        r = parser(text)
        assert isinstance(r.entities, dict)
    if text.startswith('{"entities": {"p"'):
        assert len(parse_completion(text).entities["p"]) == 100_000


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_never_raises_on_arbitrary_text(text):
    for parser in (parse_completion, parse_completion_paper):
        r = parser(text)
        assert r.status in ParseStatus
        assert all(isinstance(k, str) and all(isinstance(m, str) for m in v) for k, v in r.entities.items())
        assert parser(text) == r  # deterministic


@settings(max_examples=200, deadline=None)
@given(json_values, st.text(max_size=30), st.text(max_size=30))
def test_never_raises_on_json_in_prose(value, before, after):
    text = before.replace("{", "") + json.dumps(value) + after
    for parser in (parse_completion, parse_completion_paper):
        parser(text)


# Texts without the tag characters '<' and '`' (a type literally named "<think>" is not an answer we can recover).
plain = st.text(alphabet=st.characters(blacklist_characters="<`"), max_size=10)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(plain.filter(bool), st.lists(plain, max_size=4), max_size=4))
def test_roundtrip_of_well_formed_answers(ents):
    text = "<think>\nreasoning\n</think>\n" + json.dumps({"entities": ents}, ensure_ascii=False, indent=2)
    assert parse_completion(text).entities == ents
    assert parse_completion_paper(text).entities == ents


# ----------------------------------------------------------------------------------------------------------------------
# The paper parser against an independent rendering of the reference implementation's rules (HuiResearch/ReasoningIE:
# `process_completion`, then `json.loads`, then `InputExample.from_completion`), written here with `re` as described.


def _reference_answer_text(c: str) -> str:
    if "<think>" in c or "</think>" in c:
        c = re.sub("<think>.*?</think>", "", c, flags=re.S).replace("<think>", "").replace("</think>", "")
    if "<answer>" in c:
        found = re.findall("<answer>(.*?)</answer>", c, flags=re.S)
        c = found[0] if found else c.replace("<answer>", "").replace("</answer>", "")
    if "```json" in c:
        found = re.findall("```json(.*?)```", c, flags=re.S)
        if not found:
            raise TypeError("the reference calls .strip() on an empty list here")
        c = found[0]
    return c.strip()


def _reference(c: str, schema: list[str]) -> tuple[set | None, float]:
    """(pairs the reference's evaluation reads, or None where it raises; its schema reward)."""
    try:
        text = _reference_answer_text(c)
    except TypeError:
        return None, 0.0
    try:
        data = json.loads(text)
        decoded = True
        data = data if isinstance(data, dict) else {}
    except (ValueError, RecursionError):
        data, decoded = {}, False
    try:
        pairs = set()
        for label, spans in data.get("entities", {}).items():
            for span in spans:
                if isinstance(span, str):
                    pairs.add((normalize_mention(span.strip()), label.lower().strip()))
    except (AttributeError, TypeError):
        return None, 0.0
    ok = decoded and all(t in schema for _, t in pairs)
    return pairs, float(ok)


FRAGMENTS = [
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
    "```json",
    "```",
    "\n",
    " ",
    "prose ",
    '{"entities": {"person": ["Ada", " Bob "]}}',
    '{"entities": {"Person ": ["the Ada"]}}',
    '{"entities": {"a": "xy"}}',
    '{"entities": {"a": {"k": 1}}}',
    '{"entities": {"a": 5}}',
    '{"entities": []}',
    '{"entities": null}',
    '{"entities": {}}',
    "[1, 2]",
    '"text"',
    "null",
    '{"a": 1}',
    '{"entities": {"location": ["Rome", 3, null]}}',
    '{"entities": {"bogus": []}}',
    "{broken",
]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=0, max_size=7))
def test_paper_parser_equals_the_reference_rules(parts):
    from reasoning_ner.rewards import reward_func

    text = "".join(parts)
    schema = ["person", "location"]
    ref_pairs, ref_schema = _reference(text, schema)
    res = parse_completion_paper(text)
    ours = {(normalize_mention(m), t.lower().strip()) for t, ms in res.entities.items() for m in ms}
    if ref_pairs is None:  # where the reference raises, we read nothing and reward nothing
        assert res.status is not OK and ours == set()
    else:
        assert ours == ref_pairs
    assert reward_func("schema", "paper")([text], schema=[schema]) == [ref_schema]
