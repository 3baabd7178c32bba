"""End to end with real entities: the tiny model behind the session's real vLLM server is made to write a chosen
completion with vLLM structured outputs (`--extra_body '{"structured_outputs": {"regex": ...}}'`), so that
evaluate.py scores a known non-zero F1 (computed here independently), predict.py returns the right character offsets
(repeated mentions, a one-letter mention that also occurs inside words, windows), and generate_cot.py keeps a known
number of examples."""

from __future__ import annotations

import json
import re
import string
import sys

import pytest
from helpers.common import ROOT, base_env, ent, run, write_instructuie
from helpers.structured import completion, forced, max_tokens_for

pytestmark = [pytest.mark.vllm, pytest.mark.slow]

ANSWER = completion(
    "Ada Lovelace is a person and London is a location", {"person": ["Ada Lovelace"], "location": ["London"]}
)
SENTENCES = {
    "people": [
        ("Ada Lovelace visited London .", [("Ada Lovelace", "person"), ("London", "location")]),
        ("Ada Lovelace wrote notes .", [("Ada Lovelace", "person")]),
        ("London is large .", [("London", "location")]),
        ("Charles Babbage lived in London .", [("Charles Babbage", "person"), ("London", "location")]),
    ],
    "places": [
        ("Nothing here .", []),
        ("London Bridge fell .", [("London Bridge", "location")]),
        ("Lovelace met Ada .", [("Lovelace", "person")]),
    ],
}


def _norm(s: str) -> str:  # SQuAD-style, written again here
    s = "".join(c for c in s.lower() if c not in string.punctuation)
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", s).split())


def test_evaluate_scores_a_known_f1(vllm_server, tiny, tmp_path):
    base = tmp_path / "data"
    for name, items in SENTENCES.items():
        recs = [{"sentence": s, "entities": [ent(s, m, t) for m, t in gold]} for s, gold in items]
        write_instructuie(base, name, ["person", "location"], {"test": recs})
    cfg = tmp_path / "datasets.json"
    cfg.write_text(json.dumps(list(SENTENCES)))
    out = tmp_path / "eval" / "result.json"
    cmd = [sys.executable, ROOT / "evaluate.py", "--base_path", base, "--dataset_config", cfg, "--result_file", out]
    cmd += ["--backend", "openai", "--api_base", vllm_server, "--model", "tiny", "--concurrency", "4"]
    cmd += ["--max_new_tokens", max_tokens_for(ANSWER), "--extra_body", forced(ANSWER), "--tokenizer", tiny]
    cmd += ["--plot_confusion", "true"]  # every figure, the per-dataset confusion PNGs too
    r = run(cmd, timeout=600, env=base_env(threads=2))
    preds = [json.loads(x) for x in out.with_name("predictions.jsonl").read_text().splitlines()]
    assert len(preds) == 7 and all(p["completion"] == ANSWER for p in preds)

    # the expected scores, independently: the same two predicted pairs in every sentence
    pred = {("ada lovelace", "person"), ("london", "location")}
    expected = {}
    for name, items in SENTENCES.items():
        g = p = m = 0
        for _, gold in items:
            gs = {(_norm(x), t) for x, t in gold}
            g, p, m = g + len(gs), p + len(pred), m + len(gs & pred)
        expected[name] = (m, p, g)
    assert expected == {"people": (5, 8, 6), "places": (0, 6, 2)}
    rows = {row["dataset"]: row for row in json.loads(out.read_text())["rows"]}
    for name, (m, p, g) in expected.items():
        row = rows[name]
        assert (row["n_match"], row["n_pred"], row["n_gold"]) == (m, p, g)
        assert row["f1"] == round(100 * 2 * m / (p + g), 2)
    assert rows["people"]["f1"] == 71.43 and rows["places"]["f1"] == 0.0 and rows["Average"]["f1"] == 35.71
    assert "parsed answers: 7/7" in r.stdout
    # the taxonomy of the same run, by hand. people: 5 correct; London (sentence 2), Ada Lovelace (sentences 3 and 4)
    # are nowhere in their sentences; Charles Babbage is missed. places: London overlaps London Bridge (boundary);
    # both mentions are nowhere in "Nothing here", Ada Lovelace nowhere in sentences 6 and 7 (which has "Lovelace ...
    # Ada"), London nowhere in 7; Lovelace is missed
    assert rows["people"]["errors"] == {
        "correct": 5,
        "wrong_type": 0,
        "boundary": 0,
        "boundary_type": 0,
        "spurious_hallucinated": 3,
        "spurious_in_text": 0,
        "missed": 1,
    }
    assert rows["places"]["errors"] == {
        "correct": 0,
        "wrong_type": 0,
        "boundary": 1,
        "boundary_type": 0,
        "spurious_hallucinated": 5,
        "spurious_in_text": 0,
        "missed": 1,
    }
    # reasoning cost from the tokenizer of the served model
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny)
    think = ANSWER[: ANSWER.index("</think>") + len("</think>")]
    cost = rows["people"]["reasoning_cost"]
    assert cost["token_source"] == "tokenizer"
    assert cost["mean_reasoning_tokens"] == len(tok(think, add_special_tokens=False)["input_ids"])
    assert cost["mean_answer_tokens"] == len(tok(ANSWER[len(think) :], add_special_tokens=False)["input_ids"])
    assert [b["n_examples"] for b in cost["buckets"]] == [4] and cost["latency_s"]["mean"] > 0
    md = out.with_suffix(".md").read_text()
    assert "## Error taxonomy" in md and "## Reasoning cost" in md and "Token counts: tokenizer." in md
    for f in ("result.html", "result_errors.png", "result_cost.png", "result_confusion/people.png"):
        assert (out.parent / f).stat().st_size > 1000, f


def _spans(text: str, pattern: str) -> list[list[int]]:
    return [[m.start(), m.end()] for m in re.finditer(pattern, text)]


def test_predict_offsets(vllm_server, tmp_path):
    answer = completion("Ada is a person and a is a letter", {"person": ["Ada"], "letter": ["a"]})
    texts = [
        "Ada met Ada. A cat saw a dog and a bat near Ada.",  # repeated mentions; "a" alone twice, inside six words
        " ".join(["Ada ran far.", "Bob had a hat.", "Zed is here.", "Cal saw a fox.", "Ada sat."] * 3),  # windows
        "Bob sat.",  # neither mention
    ]
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts)))
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, ROOT / "predict.py", "--input", inp, "--labels", "person,letter", "--output", out]
    cmd += ["--window_chars", "60", "--backend", "openai", "--api_base", vllm_server, "--model", "tiny"]
    cmd += ["--max_new_tokens", max_tokens_for(answer), "--extra_body", forced(answer), "--concurrency", "4"]
    run(cmd, timeout=600, env=base_env(threads=2))
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["windows"] for r in recs][0] == 1 and recs[1]["windows"] > 1 and recs[2]["windows"] == 1
    for rec, text in zip(recs, texts, strict=True):
        got = {e["mention"]: e for e in rec["entities"]}
        assert set(got) == {"Ada", "a"} and rec["parse_status"] == "ok"
        assert got["Ada"]["type"] == "person" and got["a"]["type"] == "letter"
        ada = _spans(text, r"(?<!\w)Ada(?!\w)")
        alone = _spans(text, r"(?<!\w)a(?!\w)")  # never the a of cat, saw, and, bat, near, had, hat, far, Ada
        assert got["Ada"]["spans"] == ada and got["a"]["spans"] == alone
        assert all(text[s:e] == "a" for s, e in alone) and all(text[s:e] == "Ada" for s, e in ada)
        assert got["Ada"]["aligned"] == bool(ada) and got["a"]["aligned"] == bool(alone)
    assert len(recs[0]["entities"][0]["spans"]) == 3 and [e["spans"] for e in recs[2]["entities"]] == [[], []]
    assert len(_spans(texts[1], r"(?<!\w)a(?!\w)")) == 6 and len(_spans(texts[1], r"(?<!\w)Ada(?!\w)")) == 6


def test_generate_cot_keeps_a_known_number(vllm_server, tmp_path):
    teacher = completion("Ada Lovelace is a person named in the passage", {"person": ["Ada Lovelace"]})
    sentences = [
        "Ada Lovelace wrote the first program .",
        "Charles Babbage designed the engine .",
        "Ada Lovelace met Babbage in London .",
        "The engine was never finished .",
        "Ada Lovelace died in 1852 .",
        "Ada Lovelace was a mathematician .",
    ]
    inp = tmp_path / "in.jsonl"
    inp.write_text(
        "".join(
            json.dumps({"id": f"x{i}", "sentence": s, "schema": ["person", "location"]}) + "\n"
            for i, s in enumerate(sentences)
        )
    )
    out = tmp_path / "cot" / "ner_cot.jsonl"
    cmd = [sys.executable, ROOT / "generate_cot.py", "--input", inp, "--input_format", "jsonl", "--output", out]
    cmd += ["--teacher_model", "tiny", "--api_base", vllm_server, "--judge_model", "tiny", "--concurrency", "3"]
    cmd += ["--teacher_max_tokens", max_tokens_for(teacher), "--teacher_temperature", "0"]
    cmd += ["--teacher_extra_body", forced(teacher), "--judge_max_tokens", "24", "--judge_temperature", "0"]
    cmd += ["--judge_extra_body", json.dumps({"structured_outputs": {"choice": ["Score: 10"]}})]
    r = run(cmd, timeout=600, env=base_env(threads=2))
    kept = [json.loads(x) for x in out.read_text().splitlines()]
    with_ada = [f"x{i}" for i, s in enumerate(sentences) if "Ada Lovelace" in s]
    assert len(with_ada) == 4 and [k["guid"] for k in kept] == with_ada  # the count, not just "whatever was kept"
    for k in kept:
        assert k["entities"] == [{"text": "Ada Lovelace", "label": "person"}] and k["score"] == 10.0
        assert k["cot"] == "Ada Lovelace is a person named in the passage"
    report = json.loads(out.with_suffix(".report.json").read_text())
    assert report["kept"] == 4 and report["processed"] == 6
    assert report["rejections"]["mention_not_in_passage"] == 2 and report["score_histogram"]["10"] == 4
    assert "kept 4 of 6" in r.stdout
