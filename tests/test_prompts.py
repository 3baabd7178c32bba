import json

from reasoning_ner.data import Entity, Example
from reasoning_ner.parsing import parse_completion, parse_completion_paper
from reasoning_ner.prompts import render_prompt, render_target


def test_prompt_has_schema_sentence_format_and_optional_source():
    p = render_prompt("Ada met Bob in Rome .", ["person", "location"])
    assert '["person", "location"]' in p
    assert "Ada met Bob in Rome ." in p
    assert '{"entities": {"<type>": ["<mention>", ...]}}' in p
    assert "Source dataset" not in p
    assert "Source dataset: CrossNER_AI" in render_prompt("x", ["a"], source="CrossNER_AI")


def test_target_groups_by_type_in_first_occurrence_order():
    ex = Example(
        "Rome , Ada , Bob , Rome , Milan",
        ["person", "location"],
        [
            Entity("Rome", "location"),
            Entity("Ada", "person"),
            Entity("Bob", "person"),
            Entity("Rome", "location"),
            Entity("Milan", "location"),
        ],
        cot="  Two people, two places.  ",
    )
    t = render_target(ex)
    assert t.startswith("<think>\nTwo people, two places.\n</think>\n{")
    body = t.split("</think>\n", 1)[1]
    assert body == json.dumps({"entities": {"location": ["Rome", "Milan"], "person": ["Ada", "Bob"]}}, indent=2)
    assert render_target(ex, add_cot=False) == body
    ex.cot = None
    assert render_target(ex) == body
    for parser in (parse_completion, parse_completion_paper):
        assert parser(t).entities == {"location": ["Rome", "Milan"], "person": ["Ada", "Bob"]}


def test_target_keeps_unicode():
    ex = Example("Zoë in Köln", ["person"], [Entity("Zoë", "person")])
    assert "Zoë" in render_target(ex)
