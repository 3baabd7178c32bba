"""predict.py: offset alignment, windowing, assembling entities from completions, and the CLI against real backends."""

from __future__ import annotations

import json
import sys

import pytest
from helpers.common import ROOT, run
from hypothesis import given, settings
from hypothesis import strategies as st

from reasoning_ner.alignment import align
from reasoning_ner.prediction import WindowOutput, assemble, split_windows


def spans_text(text, spans):
    return [text[s:e] for s, e in spans]


def test_align_every_verbatim_occurrence():
    t = "Paris is in France. Paris Hilton is not in Paris, Texas."
    spans, how = align(t, "Paris")
    assert how == "exact" and spans_text(t, spans) == ["Paris"] * 3 and spans[0] == (0, 5)


def test_align_respects_word_boundaries():
    t = "BUSINESS news from the US and USA."
    assert align(t, "US") == ([(23, 25)], "exact")
    assert align("the USSR", "US") == ([], "unaligned")


def test_align_case_and_spacing_differences_are_fuzzy():
    t = "He moved to New   York\nCity and then to new york city."
    spans, how = align(t, "New York City")
    assert how == "exact" or how == "fuzzy"
    assert spans_text(t, spans) == ["New   York\nCity", "new york city"] and how == "fuzzy"
    assert align("the Apple's store", "apple 's")[1] == "fuzzy"


def test_align_unicode():
    t = "Un café à Zürich, puis le Cafe\u0301 de Flore. ＩＢＭ et 北京大学在北京。"
    spans, how = align(t, "Cafe")  # accents dropped when folding; the decomposed é keeps its combining mark
    assert how == "fuzzy" and spans_text(t, spans) == ["café", "Cafe\u0301"]
    assert spans_text(t, align(t, "zurich")[0]) == ["Zürich"]
    assert spans_text(t, align(t, "IBM")[0]) == ["ＩＢＭ"]  # full-width compatibility characters
    assert spans_text(t, align(t, "北京")[0]) == ["北京", "北京"]  # no word boundaries in CJK


def test_align_korean_particles_and_overlapping_candidates():
    assert align("서울에서 만났다", "서울") == ([(0, 2)], "exact")
    assert align("xab ab ab", "ab ab") == ([(4, 9)], "exact")  # the rejected 'ab ab' inside 'xab ab' hides nothing


def test_align_unaligned_and_blank():
    assert align("Ada met Bob.", "Carol") == ([], "unaligned")
    assert align("Ada met Bob.", "   ") == ([], "unaligned")


@given(st.text(min_size=1, max_size=60), st.text(min_size=1, max_size=10))
@settings(max_examples=300, deadline=None)
def test_align_spans_are_in_range_ordered_and_disjoint(text, mention):
    spans, how = align(text, mention)
    assert (how == "unaligned") == (not spans)
    prev = 0
    for s, e in spans:
        assert prev <= s < e <= len(text)
        prev = e
    if how == "exact":
        assert all(text[s:e] == mention.strip() for s, e in spans)


def test_split_windows_cover_text_under_budget():
    text = "First sentence here. Second one is a bit longer! Third?\nFourth line without end " + "x" * 50
    windows = split_windows(text, 30)
    assert all(len(w) <= 30 for _, w in windows)
    assert all(text[o : o + len(w)] == w for o, w in windows)  # offsets index the original
    assert "".join("".join(w.split()) for _, w in windows) == "".join(text.split())  # only whitespace dropped
    assert len(windows) == 5
    assert split_windows("short", 30) == [(0, "short")]
    assert split_windows("\n" * 10, 5) == [(0, "\n" * 10)]
    with pytest.raises(ValueError):
        split_windows("x", 0)


def test_assemble_maps_window_offsets_types_and_unaligned():
    text = "Ada met Bob. Later Bob met ada in Paris."
    w1, w2 = (0, "Ada met Bob."), (13, "Later Bob met ada in Paris.")
    outs = [
        WindowOutput(*w1, '<think>two people</think>{"entities": {"person": ["Ada", "Bob"]}}'),
        WindowOutput(*w2, '{"entities": {"person": ["Bob", "ada", "Zed"], "city": ["Paris"]}}', reasoning="r2"),
    ]
    res = assemble(text, ["Person", "Location"], outs)
    ents = {(e["type"], e["mention"]): e for e in res["entities"]}
    assert ents[("Person", "Bob")]["spans"] == [[8, 11], [19, 22]]
    assert ents[("Person", "Ada")]["spans"] == [[0, 3]]  # exact match in window 1; 'ada' is its own mention
    assert ents[("Person", "ada")]["spans"] == [[27, 30]] and ents[("Person", "ada")]["match"] == "exact"
    assert ents[("Person", "Zed")] == {
        "type": "Person",
        "mention": "Zed",
        "spans": [],
        "match": "unaligned",
        "in_schema": True,
        "aligned": False,
    }
    assert ents[("city", "Paris")]["in_schema"] is False  # kept, flagged
    assert res["reasoning"] == ["two people", "r2"] and res["windows"] == 2 and res["parse_status"] == "ok"
    for e in res["entities"]:
        for s, t in e["spans"]:
            assert text[s:t].lower() == e["mention"].lower()


def test_assemble_invalid_completion_is_empty_with_status():
    res = assemble("Ada.", ["person"], [WindowOutput(0, "Ada.", "no json here")])
    assert res["entities"] == [] and res["parse_status"] == "no_answer"


def _predict(*args, timeout=600):
    return run([sys.executable, ROOT / "predict.py", *args], timeout=timeout, check=False)


@pytest.mark.slow
def test_predict_input_errors_name_file_line_and_field(tmp_path):
    bad = tmp_path / "in.jsonl"
    bad.write_text('{"text": "a", "labels": "x"}\n{"txt": "b"}\n')
    r = _predict("--input", bad, "--backend", "hf", "--model", "m")
    assert r.returncode == 2 and str(bad) in r.stderr and "line 2" in r.stderr and "text" in r.stderr
    r = _predict("--text", "hello", "--backend", "hf", "--model", "m")
    assert r.returncode == 2 and "--text needs --labels" in r.stderr


@pytest.mark.vllm
@pytest.mark.slow
def test_predict_cli_openai_windows_and_resume(vllm_server, tmp_path):
    inp = tmp_path / "in.jsonl"
    texts = [
        {"id": "a", "text": "Ada Lovelace met Charles Babbage in London. " * 6, "labels": ["person", "location"]},
        {"text": "Short one about Paris."},
    ]
    inp.write_text("\n".join(json.dumps(t) for t in texts) + "\n")
    out = tmp_path / "out.jsonl"
    args = ["--input", inp, "--labels", "location", "--output", out, "--window_chars", "100", "--return_reasoning"]
    args += ["--backend", "openai", "--api_base", vllm_server, "--model", "tiny", "--max_new_tokens", "8"]
    r = _predict(*args)
    assert r.returncode == 0, r.stderr[-3000:]
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["id"] for x in recs] == ["a", 1]
    assert recs[0]["windows"] == 3 and recs[1]["windows"] == 1
    assert all("reasoning" in x and isinstance(x["entities"], list) for x in recs)
    gens = out.with_name(out.name + ".generations.jsonl")
    assert len(gens.read_text().splitlines()) == 4
    before = gens.read_text()
    r = _predict(*args)  # everything done: nothing generated again, same output
    assert r.returncode == 0 and gens.read_text() == before
    assert [json.loads(x) for x in out.read_text().splitlines()] == recs
