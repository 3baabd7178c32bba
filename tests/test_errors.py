"""The error taxonomy (reasoning_ner.errors) on hand-built predictions with counts written by hand, its accounting
identities on random sets, the bootstrap intervals and the paired significance test (reasoning_ner.stats), and the
reports that show them."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from helpers.common import ROOT, ent
from hypothesis import given, settings
from hypothesis import strategies as st

from reasoning_ner.data import read_instructuie
from reasoning_ner.errors import CLASSES, NONE, ErrorCounts, classify, identities_hold, locate
from reasoning_ner.reports import markdown_report, write_reports
from reasoning_ner.scoring import get_protocol, result_rows, score_dataset
from reasoning_ner.stats import bootstrap_ci, paired_test


def _answer(entities: dict) -> str:
    return "<think>\nsome reasoning\n</think>\n" + json.dumps({"entities": entities})


S = [
    "Ada Lovelace met Charles Babbage in London .",
    "The Hague hosts the ICC and Paris .",
    "No entities here .",
    "Bob slept .",
    "New York City is big .",
    "U.S. troops left London .",
    "Washington met Washington .",
]
GOLD = [
    [ent(S[0], "Ada Lovelace", "person"), ent(S[0], "Charles Babbage", "person"), ent(S[0], "London", "location")],
    [ent(S[1], "The Hague", "location"), ent(S[1], "ICC", "organization")],
    [],
    [ent(S[3], "Bob", "person")],
    [ent(S[4], "New York City", "location")],
    [ent(S[5], "U.S.", "location"), ent(S[5], "London", "location")],
    [ent(S[6], "Washington", "person", 0), ent(S[6], "Washington", "location", 1)],
]
COMPLETIONS = [
    # correct (Ada Lovelace), boundary (Babbage ~ Charles Babbage), wrong_type (London as organization)
    _answer({"person": ["Ada Lovelace", "Babbage"], "organization": ["London"]}),
    # boundary_type ("Hague hosts" person ~ "The Hague" location), spurious in text (Paris), hallucinated (Atlantis),
    # missed (ICC)
    _answer({"location": ["Paris", "Atlantis"], "person": ["Hague hosts"]}),
    _answer({"person": ["here"]}),  # spurious in text
    "I don't know.",  # unparsable: Bob missed
    # two predictions overlap one gold: the larger overlap (York City, 9 characters) wins, New York is spurious
    _answer({"location": ["New York", "York City"]}),
    # correct after normalisation (London.), wrong_type (U.S as person), spurious found by the token fallback (troops!)
    _answer({"location": ["London."], "person": ["U.S", "troops!"]}),
    # wrong_type takes the gold pair of the alphabetically first type (location); the person is missed
    _answer({"organization": ["Washington"]}),
]


@pytest.fixture
def hand(make_dataset):
    recs = [{"sentence": s, "entities": g} for s, g in zip(S, GOLD, strict=True)]
    base = make_dataset("hand", ["person", "location", "organization"], {"test": recs})
    return read_instructuie(base, "hand", "test", warn=False)


def test_hand_counts_for_every_class(hand):
    score = score_dataset(hand, COMPLETIONS, get_protocol("default"), details=True)
    d = score.to_dict()
    assert (d["n_pred"], d["n_gold"], d["n_match"]) == (13, 11, 2)
    assert d["errors"] == {
        "correct": 2,
        "wrong_type": 3,
        "boundary": 2,
        "boundary_type": 1,
        "spurious_hallucinated": 1,
        "spurious_in_text": 4,
        "missed": 3,
    }
    assert identities_hold(d["errors"], d["n_pred"], d["n_gold"])
    zero = dict.fromkeys(
        (
            "correct",
            "boundary",
            "wrong_type_gold",
            "wrong_type_pred",
            "boundary_type_gold",
            "boundary_type_pred",
            "spurious_hallucinated",
            "spurious_in_text",
            "missed",
        ),
        0,
    )
    person = zero | {"correct": 1, "boundary": 1, "wrong_type_pred": 1, "boundary_type_pred": 1}
    person |= {"spurious_in_text": 2, "missed": 2}
    location = zero | {"correct": 1, "boundary": 1, "wrong_type_gold": 3, "boundary_type_gold": 1}
    location |= {"spurious_in_text": 2, "spurious_hallucinated": 1}
    organization = zero | {"wrong_type_pred": 2, "missed": 1}
    assert d["per_type"]["person"]["errors"] == person
    assert d["per_type"]["location"]["errors"] == location
    assert d["per_type"]["organization"]["errors"] == organization
    for c in d["per_type"].values():  # both identities per type
        e = c["errors"]
        assert (
            c["n_pred"]
            == e["correct"]
            + e["boundary"]
            + e["wrong_type_pred"]
            + e["boundary_type_pred"]
            + e["spurious_hallucinated"]
            + e["spurious_in_text"]
        )
        assert (
            c["n_gold"] == e["correct"] + e["boundary"] + e["wrong_type_gold"] + e["boundary_type_gold"] + e["missed"]
        )
    assert d["confusion"] == {
        "location": {"location": 2, "organization": 2, "person": 2},
        "organization": {NONE: 1},
        "person": {"person": 2, NONE: 2},
        NONE: {"location": 3, "person": 2},
    }
    # the outcomes kept for the browser: which mention got which class, with spans in the sentence
    s5 = {o.cls: o for o in score.outcomes[4]}
    assert s5["boundary"].pred.text == "York City" and s5["boundary"].pred.spans == ((4, 13),)
    assert s5["spurious_in_text"].pred.text == "New York" and s5["spurious_in_text"].pred.spans == ((0, 8),)
    s2 = {o.cls: o for o in score.outcomes[1]}
    assert s2["spurious_hallucinated"].pred.text == "Atlantis" and s2["spurious_hallucinated"].pred.spans == ()
    assert s2["boundary_type"].gold.spans == ((0, 9),) and s2["boundary_type"].pred.spans == ((4, 15),)
    s6 = {o.pred.text: o for o in score.outcomes[5] if o.pred}
    assert s6["troops!"].cls == "spurious_in_text" and s6["troops!"].pred.spans == ((5, 11),)
    s7 = score.outcomes[6]
    assert {(o.cls, o.gold.type) for o in s7} == {("wrong_type", "location"), ("missed", "person")}
    assert score.statuses[3] != "ok"


def test_paper_protocol_same_identities(hand):
    d = score_dataset(hand, COMPLETIONS, get_protocol("paper")).to_dict()
    assert identities_hold(d["errors"], d["n_pred"], d["n_gold"]) and d["errors"]["correct"] == d["n_match"]


def test_reports_show_the_taxonomy(hand, tmp_path):
    score = score_dataset(hand, COMPLETIONS, get_protocol("default"))
    rows = result_rows([score], bootstrap=200)
    md = markdown_report(rows)
    assert "## Error taxonomy" in md and "| hand | 2 | 3 | 2 | 1 | 1 | 4 | 3 | 13 | 11 |" in md
    # per type: P R F1 gold pred match | boundary | wrong type gold/pred | boundary type gold/pred | spurious | missed
    assert "| person | 16.67 | 25.00 | 20.00 | 4 | 6 | 1 | 1 | 0 / 1 | 0 / 1 | 0 / 2 | 2 |" in md
    paths = write_reports(rows, tmp_path / "r" / "result.json")
    assert paths["errors_png"].read_bytes()[:4] == b"\x89PNG"
    assert not (tmp_path / "r" / "result_confusion").exists()  # the confusion PNGs are asked for
    written = paths["markdown"].read_text()
    assert "- `result_errors.png`" in written and "result_confusion" not in written
    paths = write_reports(rows, tmp_path / "c" / "result.json", plot_confusion=True)
    assert paths["confusion:hand"] == tmp_path / "c" / "result_confusion" / "hand.png"
    assert paths["confusion:hand"].read_bytes()[:4] == b"\x89PNG"
    assert "- `result_confusion/<dataset>.png`" in paths["markdown"].read_text()
    paths = write_reports(rows, tmp_path / "n" / "result.json", plot=False, plot_confusion=True)
    assert sorted(p.name for p in (tmp_path / "n").iterdir()) == ["result.json", "result.md"]  # --plot false: no PNG


def test_confusion_grid_of_the_hand_built_sentences(hand):
    from reasoning_ner.plots import confusion_grid

    d = score_dataset(hand, COMPLETIONS, get_protocol("default")).to_dict()
    types, grid = confusion_grid(d["confusion"])
    assert types == ["location", "organization", "person"]
    # rows: gold location / organization / person / (spurious); columns: the same predicted, then (missed)
    assert grid == [[2, 2, 2, 0], [0, 0, 0, 1], [0, 0, 2, 2], [3, 0, 2, 0]]
    assert confusion_grid(d["confusion"], max_types=1) == (["location"], [[2, 0], [3, 0]])  # the most frequent type


def test_locate_fallback_and_nothing():
    s = "The U.S. Army left ."
    assert locate(s, ["U.S. Army"], "us army") == ((4, 13),)
    assert locate(s, ["US Army!"], "us army") == ((4, 13),)  # not aligned verbatim or folded: normalised tokens
    assert locate(s, ["Navy"], "navy") == ()
    assert locate("a cat sat on a mat", ["a"], "") == ((0, 1), (13, 14))  # word-bounded, every occurrence


def test_taxonomy_on_the_real_test_sets(ner_data):
    """The seven real test sets with predictions perturbed the way a model errs (helpers/perturb.py): both identities
    per dataset and per type, every gold and predicted pair classified exactly once, spans inside the sentence and on
    the mention's text, and every invented name (in no test sentence) hallucinated."""
    import random

    from helpers.perturb import INVENTED, realistic_lines

    from reasoning_ner.data import load_dataset_config
    from reasoning_ner.scoring import gold_pairs, load_splits, normalize_mention, pred_pairs

    names = load_dataset_config(ROOT / "config" / "dataset" / "cross_ner.json")
    splits = load_splits(ner_data, names)
    proto = get_protocol("default")
    rng = random.Random(11)
    n_invented = n_sentences = 0
    for split in splits:
        lines = realistic_lines(split, rng)
        score = score_dataset(split, [x["completion"] for x in lines], proto, details=True)
        d = score.to_dict()
        assert identities_hold(d["errors"], d["n_pred"], d["n_gold"]), split.name
        assert d["errors"]["correct"] == d["n_match"] > 0 and all(d["errors"][c] > 0 for c in ("wrong_type", "missed"))
        for t, c in d["per_type"].items():
            e = c["errors"]
            assert c["n_pred"] == sum(e[k] for k in e if not k.endswith("_gold") and k != "missed"), (split.name, t)
            assert c["n_gold"] == sum(e[k] for k in e if not k.endswith("_pred") and not k.startswith("spurious")), t
        for ex, line, outs in zip(split.examples, lines, score.outcomes, strict=True):
            n_sentences += 1
            res = proto.parser(line["completion"])
            gold = gold_pairs(ex, split.labels, proto)
            pred = pred_pairs(res.entities, proto)
            assert sorted((o.gold.mention, o.gold.type) for o in outs if o.gold) == sorted(gold)
            assert sorted((o.pred.mention, o.pred.type) for o in outs if o.pred) == sorted(pred)
            for o in outs:
                for u in (o.gold, o.pred):
                    for s, e in (u.spans or ()) if u else ():
                        assert 0 <= s < e <= len(ex.sentence)
                        assert normalize_mention(ex.sentence[s:e]) == u.mention, (ex.sentence, u)
                if o.cls == "spurious_hallucinated":
                    # not in the sentence as whole words ("is r" is in "is rated r" only by cutting "rated")
                    whole = re.compile(rf"(?<!\w){re.escape(o.pred.text)}(?!\w)", re.IGNORECASE)
                    assert not o.pred.spans and not whole.search(ex.sentence), (ex.sentence, o)
                elif o.pred is not None:
                    assert o.pred.spans, (ex.sentence, o)
            invented = {m for ms in res.entities.values() for m in ms if m in INVENTED}
            n_invented += len(invented)
            assert invented <= {o.pred.text for o in outs if o.cls == "spurious_hallucinated"}
    assert n_sentences == 6467 and n_invented > 100


_mentions = st.sampled_from(["ada", "bob", "new york", "york", "the city", "city", "paris", "zed"])
_types = st.sampled_from(["person", "location", "org"])


@settings(max_examples=200, deadline=None)
@given(st.sets(st.tuples(_mentions, _types), max_size=6), st.sets(st.tuples(_mentions, _types), max_size=6))
def test_identities_hold_on_random_sets(gold, pred):
    sentence = "ada met bob in new york city , paris"
    g = {}
    for m, t in gold:
        start = sentence.find(m)
        g[(m, t)] = (m, [(start, start + len(m))] if start >= 0 else [])
    out = classify(sentence, g, {k: [k[0]] for k in pred})
    counts = ErrorCounts()
    counts.add(out)
    e = counts.to_dict()
    assert identities_hold(e, len(pred), len(gold))
    assert e["correct"] == len(gold & pred)
    assert sum(1 for o in out if o.gold) == len(gold) and sum(1 for o in out if o.pred) == len(pred)
    assert set(e) == set(CLASSES)


# ----------------------------------------------------------------------------------------------------------------------
# bootstrap intervals and the paired test


def _mixed(n: int) -> np.ndarray:
    """n sentences, two gold entities each: a third all right, a third half right, a third all wrong."""
    pattern = np.array([[2, 2, 2], [2, 2, 1], [2, 2, 0]])
    return np.tile(pattern, (n // 3, 1))


def test_more_sentences_narrower_interval():
    per, _ = bootstrap_ci({"small": _mixed(30), "medium": _mixed(300), "large": _mixed(3000)}, samples=1000, seed=1)
    widths = {k: v["f1"].high - v["f1"].low for k, v in per.items()}
    assert widths["small"] > widths["medium"] > widths["large"] > 0
    for v in per.values():  # every interval holds the point estimate (0.5)
        assert v["f1"].low < 0.5 < v["f1"].high and v["precision"].low < 0.5 < v["precision"].high


def test_bootstrap_distribution_is_resampling_sentences():
    """n sentences with one gold and one predicted entity each, m of them matched: a replicate drawing n sentences
    uniformly with replacement has X ~ Binomial(n, m/n) matches, so its P = R = F1 = X/n, whose 2.5 % and 97.5 %
    quantiles come from the binomial distribution, computed here by hand; the bootstrap's percentile interval must
    sit within one sentence (1/n) of them, for each of P, R and F1."""
    from math import comb

    n, m = 60, 42
    counts = np.array([[1, 1, 1]] * m + [[1, 1, 0]] * (n - m))

    def quantile(q: float) -> float:
        cdf = 0.0
        for x in range(n + 1):
            cdf += comb(n, x) * (m / n) ** x * (1 - m / n) ** (n - x)
            if cdf >= q:
                return x / n
        return 1.0

    lo, hi = quantile(0.025), quantile(0.975)
    assert (round(lo * n), round(hi * n)) == (35, 49)  # 42 ± 1.96·sqrt(60·0.7·0.3) ≈ 42 ± 7
    per, avg = bootstrap_ci({"d": counts}, samples=4000, seed=0)
    for k in ("precision", "recall", "f1"):
        assert abs(per["d"][k].low - lo) <= 1 / n and abs(per["d"][k].high - hi) <= 1 / n, (k, per["d"][k])
    assert avg == per["d"]["f1"]


def test_bootstrap_is_seeded_and_per_dataset_stable():
    a1, avg1 = bootstrap_ci({"x": _mixed(60), "y": _mixed(90)}, 500, seed=3)
    a2, avg2 = bootstrap_ci({"x": _mixed(60), "y": _mixed(90)}, 500, seed=3)
    b, _ = bootstrap_ci({"x": _mixed(60)}, 500, seed=3)
    c, _ = bootstrap_ci({"x": _mixed(60)}, 500, seed=4)
    assert a1 == a2 and avg1 == avg2 and a1["x"] == b["x"]  # another dataset beside it changes nothing
    assert c["x"] != b["x"]
    assert avg1.low < 0.5 < avg1.high


def test_result_rows_carry_intervals(hand):
    score = score_dataset(hand, COMPLETIONS, get_protocol("default"))
    rows = result_rows([score], bootstrap=300, seed=0)
    assert rows[0]["f1_ci"][0] <= rows[0]["f1"] <= rows[0]["f1_ci"][1]
    assert set(rows[0]) >= {"precision_ci", "recall_ci", "f1_ci"}
    assert rows[-1]["dataset"] == "Average" and rows[-1]["f1_ci"] == rows[0]["f1_ci"]  # one dataset: the same
    assert "f1_ci" not in result_rows([score])[-1]  # no bootstrap, no interval


def test_paired_test_clear_winner_and_identical_runs():
    n = 40
    worse = {"d": np.tile([[1, 1, 0]], (n, 1))}
    better = {"d": np.tile([[1, 1, 1]], (n, 1))}
    res = paired_test(worse, better, samples=2000, seed=0)
    assert res["d"].delta == pytest.approx(1.0) and res["d"].p_value < 0.05
    assert res["d"].ci.low > 0 and res["Average"].p_value < 0.05 and res["d"].n_differing == n
    same = paired_test(better, {"d": better["d"].copy()}, samples=2000, seed=0)
    assert same["d"].p_value > 0.5 and same["d"].delta == 0.0 and same["Average"].p_value > 0.5
    # a small difference on few sentences is not significant
    mixed = _mixed(30)
    nudged = mixed.copy()
    nudged[2, 2] = 1  # one sentence one entity better
    r = paired_test({"d": mixed}, {"d": nudged}, samples=2000, seed=0)["d"]
    assert r.delta > 0 and r.p_value > 0.5 and r.ci.low <= 0 <= r.ci.high
    with pytest.raises(ValueError, match="sentences"):
        paired_test({"d": mixed}, {"d": mixed[:-1]})
