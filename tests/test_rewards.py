import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewards
from reasoning_ner.rewards import REWARD_RANGES, compute_score, f1_reward, get_reward_funcs, schema_reward

GOLD = json.dumps({"entities": {"person": ["Ada Lovelace", "Charles Babbage"], "location": ["London"]}})
SCHEMA = ["person", "location", "organization"]
SENTENCE = "Ada Lovelace met Charles Babbage in London ."


def answer(ents: dict) -> str:
    return "<think>\nthinking\n</think>\n" + json.dumps({"entities": ents})


HONEST = answer({"person": ["Ada Lovelace", "Charles Babbage"], "location": ["London"]})


def test_f1_values():
    comps = [
        HONEST,
        answer({"person": ["Ada Lovelace"]}),  # P=1, R=1/3 -> 0.5
        answer({"location": ["Ada Lovelace"]}),  # wrong type -> 0
        "garbage",
        [{"role": "assistant", "content": HONEST}],  # conversational completion
    ]
    got = f1_reward(comps, answer=[GOLD] * 5, schema=[SCHEMA] * 5)
    assert got == [1.0, 0.5, 0.0, 0.0, 1.0]


def test_schema_values():
    comps = [HONEST, answer({"city": ["London"]}), "garbage", answer({}), answer({"Person": ["Ada Lovelace"]})]
    assert schema_reward(comps, schema=[SCHEMA] * 5) == [1.0, 0.0, 0.0, 1.0, 1.0]


def test_empty_gold_policy():
    empty = json.dumps({"entities": {}})
    comps = [answer({}), answer({"person": ["x"]}), "garbage"]
    assert f1_reward(comps, answer=[empty] * 3) == [0.0, 0.0, 0.0]  # reference: no F1 credit
    assert get_reward_funcs(["f1_empty_match"])[0](comps, answer=[empty] * 3) == [1.0, 0.0, 0.0]


def test_not_gameable_by_repetition_or_flooding():
    honest = f1_reward([HONEST], answer=[GOLD])[0]
    repeated = answer({"person": ["Ada Lovelace"] * 50 + ["Charles Babbage"] * 50, "location": ["London"] * 50})
    words = SENTENCE.split()
    flood = answer({t: words + [" ".join(words[i : i + 2]) for i in range(len(words))] for t in SCHEMA})
    flood_plus = answer({t: words for t in SCHEMA} | {"person": ["Ada Lovelace", "Charles Babbage"] + words})
    scores = f1_reward([repeated, flood, flood_plus], answer=[GOLD] * 3)
    assert scores[0] == honest == 1.0
    assert scores[1] < honest and scores[2] < honest
    # a partially right answer padded with every word never beats the same answer without padding
    partial = answer({"person": ["Ada Lovelace"]})
    padded = answer({"person": ["Ada Lovelace"] + words, "location": words})
    assert f1_reward([padded], answer=[GOLD])[0] < f1_reward([partial], answer=[GOLD])[0]


def test_registry_and_top_level_module():
    assert rewards.get_reward_funcs(["f1", "schema"]) == [rewards.f1_reward, rewards.schema_reward]
    assert get_reward_funcs(["f1_empty_match"])[0].__name__ == "f1_empty_match"
    with pytest.raises(ValueError, match="unknown reward function"):
        get_reward_funcs(["accuracy"])


def test_compute_score_verl():
    assert compute_score("CrossNER_AI", HONEST, GOLD, {"schema": SCHEMA}) == 11.0
    assert compute_score("x", answer({"person": ["Ada Lovelace"]}), GOLD, {"schema": SCHEMA}) == 5.0 + 1.0
    assert compute_score("x", "garbage", GOLD) == 0.0
    assert compute_score("x", HONEST, json.loads(GOLD)) == 11.0  # dict ground truth; schema from gold types
    assert compute_score("x", HONEST, GOLD, {"schema": SCHEMA, "f1_weight": 1, "schema_weight": 0}) == 1.0


completions_st = st.one_of(
    st.text(max_size=300),
    st.builds(
        lambda d: json.dumps({"entities": d}),
        st.dictionaries(st.text(max_size=8), st.lists(st.text(max_size=8), max_size=3), max_size=3),
    ),
    st.lists(st.fixed_dictionaries({"role": st.just("assistant"), "content": st.text(max_size=100)}), max_size=2),
    st.none(),
    st.integers(),
)
answers_st = st.one_of(st.text(max_size=60), st.just(GOLD), st.just('{"entities": {}}'), st.none(), st.integers())


@settings(max_examples=300, deadline=None)
@given(
    st.lists(completions_st, min_size=1, max_size=4),
    answers_st,
    st.one_of(st.just(SCHEMA), st.text(max_size=10), st.none()),
)
def test_rewards_total_in_range_and_deterministic(comps, gold, schema):
    for name, fn in rewards.REWARD_REGISTRY.items():
        lo, hi = REWARD_RANGES[name]
        out = fn(comps, answer=gold, schema=schema, prompts=None)
        assert len(out) == len(comps)
        assert all(isinstance(x, float) and not math.isnan(x) and lo <= x <= hi for x in out)
        assert fn(comps, answer=gold, schema=schema) == out
    assert 0.0 <= compute_score("d", comps[0], gold) <= 11.0
