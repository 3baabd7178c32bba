"""Reasoning cost (reasoning_ner.cost): reasoning/answer texts of a predictions line, token counts split by character
share, F1 and latency by reasoning-length bucket, pooled over datasets, and their report and plot."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reasoning_ner.cost import SHARE, dataset_cost, pool_buckets, texts, token_counts
from reasoning_ner.plots import plot_reasoning_cost
from reasoning_ner.reports import cost_section


def test_texts_of_a_line():
    assert texts({"completion": "<think>\nabc\n</think>\n{}"}) == ("<think>\nabc\n</think>", "\n{}")
    assert texts({"completion": "{}", "reasoning_content": "server split"}) == ("server split", "{}")
    assert texts({"completion": "no reasoning {}"}) == ("", "no reasoning {}")
    assert texts({"completion": None}) == ("", "")


def test_token_counts_by_character_share():
    recs = [
        {"completion": "<think>" + "x" * 67 + "</think>" + "y" * 18, "completion_tokens": 100},  # 82 : 18 characters
        {"completion": "{}", "completion_tokens": 3},
        {"completion": "<think>a</think>{}"},  # no completion_tokens: unknown
    ]
    counts, source = token_counts(recs)
    assert source == SHARE and counts == [(82, 18), (0, 3), None]
    assert token_counts([{"completion": "x"}]) == ([None], None)


def _recs(reasoning_tokens, latencies):
    return [
        {"completion": "<think>" + "r" * 4 * n + "</think>" + "a" * 4, "completion_tokens": n + 1, "latency_s": lat}
        for n, lat in zip(reasoning_tokens, latencies, strict=True)
    ]


def test_buckets_and_pooling():
    # reasoning tokens ~ 0, 10, 70, 70 (character share); sentence counts (gold, pred, match)
    recs = _recs([0, 10, 70, 70], [0.1, 0.2, 1.0, 3.0])
    counts, source = token_counts(recs)
    assert [c[0] for c in counts] == [0, 10, 70, 70]
    cost = dataset_cost(recs, [(2, 2, 2), (2, 1, 1), (1, 2, 0), (3, 3, 3)], counts, source)
    assert cost["latency_s"] == {"mean": 1.075, "median": 0.6, "p90": 2.4}
    assert cost["mean_reasoning_tokens"] == 37.5 and cost["mean_answer_tokens"] == 1.0
    got = [(b["bucket"], b["n_examples"], b["n_gold"], b["n_pred"], b["n_match"], b["f1"]) for b in cost["buckets"]]
    assert got == [("none", 1, 2, 2, 2, 100.0), ("1-63", 1, 2, 1, 1, 66.67), ("64-127", 2, 4, 5, 3, 66.67)]
    assert cost["buckets"][2]["mean_latency_s"] == 2.0
    other = dataset_cost(_recs([70], [4.0]), [(1, 1, 1)], *token_counts(_recs([70], [4.0])))
    pooled = pool_buckets([cost, other])
    assert [(b["bucket"], b["n_examples"], b["n_match"]) for b in pooled] == [
        ("none", 1, 2),
        ("1-63", 1, 1),
        ("64-127", 3, 4),
    ]
    assert pooled[2]["f1"] == pytest.approx(round(100 * 2 * 4 / (5 + 6), 2)) and pooled[2]["mean_latency_s"] == 2.6667


def test_cost_report_and_plot(tmp_path):
    recs = _recs([0, 10, 70], [0.1, 0.2, 1.0])
    cost = dataset_cost(recs, [(1, 1, 1)] * 3, *token_counts(recs))
    rows = [{"dataset": "d", "reasoning_cost": cost}, {"dataset": "e", "reasoning_cost": cost}]
    md = "\n".join(cost_section(rows))
    assert f"Token counts: {SHARE}." in md and "| d | 26.7 | 1.0 |" in md
    assert "| 64-127 | 2 | 2 | 2 | 2 | 100.00 | 1.000 |" in md  # pooled over the two datasets
    png = plot_reasoning_cost(rows, pool_buckets([cost, cost]), tmp_path / "cost.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="reasoning_cost"):
        plot_reasoning_cost([{"dataset": "d"}], [], tmp_path / "x.png")


def test_cost_png_only_with_token_counts(tmp_path):
    """write_reports draws result_cost.png when there are token counts (here the lines' completion_tokens), and not
    for lines without any (saved completions from elsewhere): that figure would have no bar."""
    from reasoning_ner.reports import write_reports

    def rows(recs):
        cost = dataset_cost(recs, [(1, 1, 1)] * len(recs), *token_counts(recs))
        row = {"dataset": "d", "precision": 100.0, "recall": 100.0, "f1": 100.0, "n_gold": 3, "n_pred": 3}
        row |= {"n_match": 3, "n_examples": 3, "n_unparsed": 0, "reasoning_cost": cost}
        return [row, {"dataset": "Average", "f1": 100.0}]

    with_tokens = _recs([0, 10, 70], [0.1, 0.2, 1.0])
    paths = write_reports(rows(with_tokens), tmp_path / "a" / "result.json")
    assert paths["cost_png"] == tmp_path / "a" / "result_cost.png" and paths["cost_png"].read_bytes()[:4] == b"\x89PNG"
    assert "- `result_cost.png`" in paths["markdown"].read_text()
    without = [{k: v for k, v in r.items() if k != "completion_tokens"} for r in with_tokens]
    paths = write_reports(rows(without), tmp_path / "b" / "result.json")
    assert "cost_png" not in paths and not (tmp_path / "b" / "result_cost.png").exists()
    assert "No token counts" in paths["markdown"].read_text() and paths["png"].is_file()  # the F1 bars still


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.floats(min_value=0, max_value=1e4, allow_nan=False), min_size=1, max_size=40),
    st.floats(min_value=0, max_value=1),
)
def test_latency_quantiles_are_numpys(xs, q):
    """The latency median / p90 without numpy (the lean re-scoring imports none): numpy.quantile's numbers exactly."""
    import numpy as np

    from reasoning_ner.cost import _quantile

    assert _quantile(xs, q) == float(np.quantile(np.asarray(xs, dtype=float), q))
