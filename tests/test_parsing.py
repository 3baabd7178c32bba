import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reasoning_ner.parsing import ParseStatus, parse_completion, parse_completion_paper, split_reasoning

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
        (f"<answer>\n{ANS}", ({"person": ["Ada"]}, OK), ({}, BAD)),
        (f"Sure! The answer is {ANS} Hope this helps.", ({"person": ["Ada"]}, OK), ({}, BAD)),
        ('{"person": ["Ada", 3, null, ["x"]], "location": []}', ({"person": ["Ada"], "location": []}, OK), ({}, WRONG)),
        ('{"entities": {"person": ["Ada", 3]}}', ({"person": ["Ada"]}, OK), ({"person": ["Ada"]}, OK)),
        ('{"entities": {"person": "Ada"}}', ({"person": ["Ada"]}, OK), ({}, OK)),
        ('{"entities": {"person": ["Ada",]}}', ({"person": ["Ada"]}, OK), ({}, BAD)),
        (
            '[{"text": "Ada", "type": "person"}, {"mention": "Rome", "label": "city"}]',
            ({"person": ["Ada"], "city": ["Rome"]}, OK),
            ({}, WRONG),
        ),
        ('{"entities": {}}', ({}, OK), ({}, OK)),
        ('{"entities": [1, 2]}', ({}, WRONG), ({}, WRONG)),
        ('{"entities": {"person": {"name": "Ada"}}}', ({}, WRONG), ({}, OK)),
        ("no answer at all", ({}, NO), ({}, BAD)),
        ("", ({}, NO), ({}, NO)),
        ("<think>only thoughts</think>", ({}, NO), ({}, NO)),
        ("{not json}", ({}, BAD), ({}, BAD)),
        ('{"a": "brace } in string", "b": ["{"]} tail', ({"a": ["brace } in string"], "b": ["{"]}, OK), ({}, BAD)),
        ('{"a": 1} {"b": ["c"]}', ({"b": ["c"]}, OK), ({}, BAD)),
        ('{"a": 1}', ({}, WRONG), ({}, WRONG)),
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
