"""Tests of `reasoning_ner.convert`: canned BIO/UniNER inputs, the CLI, and agreement with the real InstructUIE files.

The real-data tests read `reasoning_ner.paths.ner_data_dir()` (`$REASONING_NER_DATA` overrides) and assert the exact
differences measured between the converted CrossNER BIO / UniNER files and the InstructUIE JSON files (see
docs/converters.md), so any other difference fails.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from helpers.common import run
from hypothesis import given, settings
from hypothesis import strategies as st

from reasoning_ner.alignment import occurrences
from reasoning_ner.convert import (
    convert_bio,
    convert_uniner,
    detect_tag_column,
    load_label_map,
    main,
)
from reasoning_ner.data import DataError, read_instructuie_file
from reasoning_ner.paths import CONFIG_DIR, ner_data_dir

CROSSNER_MAP = CONFIG_DIR / "labels" / "crossner_bio.yaml"
MIT_MAP = CONFIG_DIR / "labels" / "mit_bio.yaml"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def ents(record: dict[str, Any]) -> list[tuple[str, str, tuple[int, int]]]:
    return [(e["name"], e["type"], tuple(e["pos"])) for e in record["entities"]]


def check_offsets(records: list[dict[str, Any]]) -> None:
    for r in records:
        for e in r["entities"]:
            start, end = e["pos"]
            assert r["sentence"][start:end] == e["name"]


# ----------------------------------------------------------------------------------------------------------------------
# BIO, canned inputs


def test_bio_token_tag_basic(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", "John\tB-per\nSmith\tI-per\nvisited\tO\nNew\tB-loc\nYork\tI-loc\n\nHi\tO\n")
    recs = convert_bio(path)
    assert [r["sentence"] for r in recs] == ["John Smith visited New York", "Hi"]
    assert ents(recs[0]) == [("John Smith", "per", (0, 10)), ("New York", "loc", (19, 27))]
    assert recs[1]["entities"] == []


def test_bio_tag_token_order_detected_and_mit_map(tmp_path: Path) -> None:
    text = "O\tshow\nO\tme\nB-ACTOR\tsteve\nI-ACTOR\tmcqueen\nB-RATINGS_AVERAGE\tbest\nO\tmovies\n\nB-Restaurant_Name\tdennys\n"
    path = write(tmp_path, "engtest.bio", text)
    recs = convert_bio(path, label_map=MIT_MAP)
    assert recs[0]["sentence"] == "show me steve mcqueen best movies"
    assert ents(recs[0]) == [("steve mcqueen", "actor", (8, 21)), ("best", "average ratings", (22, 26))]
    assert ents(recs[1]) == [("dennys", "Restaurant Name", (0, 6))]


def test_detect_tag_column_majority() -> None:
    # a token that looks like a tag ("O", "B-52") does not flip the decision
    assert detect_tag_column([["O", "B-x"], ["B-52", "O"], ["plane", "O"]]) == 1
    assert detect_tag_column([["O", "the"], ["B-x", "O"], ["I-x", "B-52"]]) == 0
    assert detect_tag_column([["O", "O"]]) == 1


def test_bio_iob1(tmp_path: Path) -> None:
    # IOB1: entities start with I-; B- only separates adjacent entities of the same type
    path = write(tmp_path, "iob1.txt", "I-PER\tJohn\nI-PER\tSmith\nB-PER\tMary\nO\tand\nI-LOC\tParis\n")
    recs = convert_bio(path)
    assert ents(recs[0]) == [("John Smith", "PER", (0, 10)), ("Mary", "PER", (11, 15)), ("Paris", "LOC", (20, 25))]


def test_bio_orphan_i_and_type_change(tmp_path: Path) -> None:
    path = write(tmp_path, "o.txt", "a\tO\nb\tI-x\nc\tI-x\nd\tI-y\ne\tB-y\nf\tI-x\n")
    assert ents(convert_bio(path)[0]) == [
        ("b c", "x", (2, 5)),
        ("d", "y", (6, 7)),
        ("e", "y", (8, 9)),
        ("f", "x", (10, 11)),
    ]


def test_bio_adjacent_b_same_type(tmp_path: Path) -> None:
    path = write(tmp_path, "b.txt", "Alice\tB-per\nBob\tB-per\nCarol\tB-per\nDan\tI-per\n")
    assert ents(convert_bio(path)[0]) == [
        ("Alice", "per", (0, 5)),
        ("Bob", "per", (6, 9)),
        ("Carol Dan", "per", (10, 19)),
    ]


def test_bio_bioes(tmp_path: Path) -> None:
    path = write(tmp_path, "e.txt", "a\tS-x\nb\tB-x\nc\tE-x\nd\tI-x\ne\tE-x\nf\tE-x\n")
    assert ents(convert_bio(path)[0]) == [
        ("a", "x", (0, 1)),
        ("b c", "x", (2, 5)),
        ("d e", "x", (6, 9)),
        ("f", "x", (10, 11)),
    ]


def test_bio_sentence_final_entity_and_no_trailing_blank(tmp_path: Path) -> None:
    path = write(tmp_path, "f.txt", "in\tO\nNew\tB-loc\nYork\tI-loc\n\n\n\nParis\tB-loc")
    recs = convert_bio(path)
    assert [ents(r) for r in recs] == [[("New York", "loc", (3, 11))], [("Paris", "loc", (0, 5))]]


def test_bio_whitespace(tmp_path: Path) -> None:
    # columns separated by several spaces (no tab), trailing spaces and CRLF line ends, a blank line of spaces
    path = write(tmp_path, "w.txt", "New   B-loc \r\nYork\tI-loc  \r\n   \r\nis  O\r\n")
    recs = convert_bio(path)
    assert [r["sentence"] for r in recs] == ["New York", "is"]
    assert ents(recs[0]) == [("New York", "loc", (0, 8))]


def test_bio_unicode(tmp_path: Path) -> None:
    path = write(tmp_path, "u.txt", "Über\tO\n東京\tB-loc\nZürich\tB-loc\n🙂\tO\nŁódź\tB-loc\n")
    rec = convert_bio(path)[0]
    assert rec["sentence"] == "Über 東京 Zürich 🙂 Łódź"
    assert ents(rec) == [("東京", "loc", (5, 7)), ("Zürich", "loc", (8, 14)), ("Łódź", "loc", (17, 21))]
    check_offsets([rec])


def test_bio_docstart(tmp_path: Path) -> None:
    path = write(tmp_path, "d.txt", "-DOCSTART- -X- O O\n\nA\tB-x\n-DOCSTART-\tO\nB\tB-x\n")
    recs = convert_bio(path)
    assert [r["sentence"] for r in recs] == ["A", "B"]


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ("a\tO\nb\tO\tX\n", "line 2", "columns"),
        ("a\tO\n\nb\n", "line 3", "columns"),
        ("a\tO\nb\tB-\n", "line 2", "tag"),
        ("a\tO\nb\tX-per\n", "line 2", "tag"),
        ("a\tO\n\tB-x\n", "line 2", "token"),
    ],
)
def test_bio_malformed(tmp_path: Path, text: str, line: str, field: str) -> None:
    path = write(tmp_path, "bad_file.txt", text)
    with pytest.raises(DataError) as info:
        convert_bio(path)
    msg = str(info.value)
    assert "bad_file.txt" in msg and line in msg and repr(field) in msg
    assert info.value.record == line and info.value.field == field


def test_label_map_unmapped_warned_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path, "m.txt", "a\tB-misc\nb\tB-foo\nc\tB-foo\nd\tB-organisation\n\ne\tB-foo\n")
    with caplog.at_level(logging.WARNING, logger="reasoning_ner.convert"):
        recs = convert_bio(path, label_map=CROSSNER_MAP)
    assert [e["type"] for r in recs for e in r["entities"]] == ["else", "foo", "foo", "organization", "foo"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "'foo': 3" in warnings[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="reasoning_ner.convert"):
        assert [e["type"] for e in convert_bio(path)[0]["entities"]] == ["misc", "foo", "foo", "organisation"]
    assert not caplog.records  # no label map: raw tags, nothing to report


def test_load_label_map(tmp_path: Path) -> None:
    assert load_label_map(CROSSNER_MAP)["programlang"] == "program language"
    assert load_label_map(write(tmp_path, "l.yaml", "labels:\n  PER: person\n")) == {"PER": "person"}
    with pytest.raises(DataError, match="bad.yaml.*'PER'"):
        load_label_map(write(tmp_path, "bad.yaml", "PER: [1, 2]\n"))
    with pytest.raises(DataError, match="list.yaml"):
        load_label_map(write(tmp_path, "list.yaml", "- a\n- b\n"))


def test_shipped_label_maps_match_labels_json() -> None:
    """Every value of the shipped maps is a type of the InstructUIE labels.json files (when the data is present)."""
    base = ner_data_dir()
    if not base.is_dir():
        pytest.skip(f"real NER data not found at {base} (set REASONING_NER_DATA)")
    for map_path, names in ((CROSSNER_MAP, "CrossNER_*"), (MIT_MAP, "mit-*")):
        known = {t for p in base.glob(f"{names}/labels.json") for t in json.loads(p.read_text(encoding="utf-8"))}
        values = set(load_label_map(map_path).values())
        assert values == known, (map_path, values ^ known)


_TOKENS = st.text(alphabet=st.characters(blacklist_categories=("Z", "C")), min_size=1, max_size=6)
_TAGS = st.sampled_from(["O", "B-a", "I-a", "B-b", "I-b"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_TOKENS, _TAGS), min_size=1, max_size=12))
def test_bio_property_offsets_and_token_cover(tmp_path_factory: pytest.TempPathFactory, rows: list) -> None:
    path = tmp_path_factory.mktemp("prop") / "p.txt"
    path.write_text("".join(f"{tok}\t{tag}\n" for tok, tag in rows), encoding="utf-8")
    rec = convert_bio(path)[0]
    assert rec["sentence"] == " ".join(tok for tok, _ in rows)
    check_offsets([rec])
    # every non-O token is inside exactly one entity of its type, O tokens in none
    starts, pos = [], 0
    for tok, _ in rows:
        starts.append(pos)
        pos += len(tok) + 1
    for (tok, tag), s in zip(rows, starts):
        covering = [e for e in rec["entities"] if e["pos"][0] <= s and s + len(tok) <= e["pos"][1]]
        assert len(covering) == (0 if tag == "O" else 1)
        if covering:
            assert covering[0]["type"] == tag[2:]


# ----------------------------------------------------------------------------------------------------------------------
# UniNER, canned inputs


def conversation(text: str, *qa: tuple[str, str], rid: str = "x") -> dict[str, Any]:
    conv = [{"from": "human", "value": f"Text: {text}"}, {"from": "gpt", "value": "I've read this text."}]
    for etype, answer in qa:
        conv.append({"from": "human", "value": f"What describes {etype} in the text?"})
        conv.append({"from": "gpt", "value": answer})
    return {"id": rid, "conversations": conv}


def write_json(tmp_path: Path, name: str, data: Any) -> Path:
    return write(tmp_path, name, json.dumps(data, ensure_ascii=False))


def test_uniner_eval_format_merged(tmp_path: Path) -> None:
    text = "Paris  and Paris , not Parisian , in Île-de-France"
    data = [
        conversation("Berlin", ("city", '["Berlin"]')),
        conversation(text, ("city", '["Paris", "Paris"]')),
        conversation(text, ("region", '["Île-de-France"]'), ("person", "[]")),
        conversation("Berlin", ("person", "[]")),
    ]
    recs = convert_uniner(write_json(tmp_path, "u.json", data))
    assert [r["sentence"] for r in recs] == ["Berlin", text]
    assert ents(recs[0]) == [("Berlin", "city", (0, 6))]
    # every non-overlapping occurrence (also inside "Parisian"), the same (type, span) once, sorted by offset
    assert ents(recs[1]) == [
        ("Paris", "city", (0, 5)),
        ("Paris", "city", (11, 16)),
        ("Paris", "city", (23, 28)),
        ("Île-de-France", "region", (37, 50)),
    ]
    check_offsets(recs)


def test_uniner_pile_ner_format_and_same_span_two_types(tmp_path: Path) -> None:
    data = [conversation("Apple sued Apple Inc.", ("company", '["Apple Inc.", "Apple"]'), ("fruit", '["Apple"]'))]
    recs = convert_uniner(write_json(tmp_path, "pile.json", data), label_map={"company": "organization"})
    assert ents(recs[0]) == [
        ("Apple", "organization", (0, 5)),
        ("Apple", "fruit", (0, 5)),
        ("Apple", "organization", (11, 16)),
        ("Apple", "fruit", (11, 16)),
        ("Apple Inc.", "organization", (11, 21)),
    ]


def test_uniner_overlapping_occurrences_of_one_mention() -> None:
    assert occurrences("aaaa", "aa", whole_words=False) == [(0, 2), (2, 4)]
    assert occurrences("abc", "", whole_words=False) == []


def test_uniner_not_verbatim_and_non_strings_counted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = [conversation("Obama met Merkel", ("person", '["Obama", "Barack Obama", "merkel", 3, null, ""]'))]
    with caplog.at_level(logging.WARNING, logger="reasoning_ner.convert"):
        recs = convert_uniner(write_json(tmp_path, "nv.json", data))
    assert ents(recs[0]) == [("Obama", "person", (0, 5))]
    messages = " | ".join(r.getMessage() for r in caplog.records)
    assert "2 mentions do not occur verbatim" in messages and "'person': 2" in messages
    assert "3 answer items are not non-empty strings" in messages


@pytest.mark.parametrize(
    ("mutate", "record", "field"),
    [
        (lambda d: d[1]["conversations"][3].update(value='["a", '), 1, "conversations[3].value"),
        (lambda d: d[1]["conversations"][3].update(value='{"a": 1}'), 1, "conversations[3].value"),
        (lambda d: d[1]["conversations"][0].update(value="Passage: a"), 1, "conversations[0].value"),
        (lambda d: d[1]["conversations"][2].update(value="Which?"), 1, "conversations[2].value"),
        (lambda d: d[1]["conversations"][1].update({"from": "human"}), 1, "conversations[1].from"),
        (lambda d: d[1]["conversations"].pop(), 1, "conversations"),
        (lambda d: d[0].pop("conversations"), 0, "conversations"),
    ],
)
def test_uniner_malformed(tmp_path: Path, mutate: Any, record: int, field: str) -> None:
    data = [conversation("a b", ("x", '["a"]')), conversation("c d", ("x", '["c"]'))]
    mutate(data)
    path = write_json(tmp_path, "bad_uniner.json", data)
    with pytest.raises(DataError) as info:
        convert_uniner(path)
    msg = str(info.value)
    assert "bad_uniner.json" in msg and f"record {record}" in msg and repr(field) in msg


def test_uniner_invalid_file_json(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="broken.json"):
        convert_uniner(write(tmp_path, "broken.json", "[{"))


# ----------------------------------------------------------------------------------------------------------------------
# Command line


def test_main_in_process(tmp_path: Path) -> None:
    src = write(tmp_path, "in.txt", "Zürich\tB-misc\nis\tO\n")
    out = tmp_path / "out" / "train.jsonl"
    assert main(["bio", str(src), str(out), "--label_map", str(CROSSNER_MAP)]) == 0
    assert [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] == [
        {"sentence": "Zürich is", "entities": [{"name": "Zürich", "type": "else", "pos": [0, 6]}]}
    ]
    assert not (out.parent / "labels.json").exists()
    assert main(["bio", str(write(tmp_path, "bad.txt", "a\tB-\n")), str(tmp_path / "x.json")]) == 1


@pytest.mark.slow
def test_cli_end_to_end(tmp_path: Path) -> None:
    train = write(tmp_path, "train.txt", "Zürich\tB-organisation\nis\tO\nnice\tB-misc\n")
    dev = write(tmp_path, "dev.txt", "Alan\tB-researcher\nTuring\tI-researcher\n\nC\tB-programlang\n\nhi\tO\n")
    out = tmp_path / "MyData"

    def convert(*args: str) -> subprocess.CompletedProcess:
        # run outside the project (cwd tmp_path); base_env puts the project first on PYTHONPATH
        return run([sys.executable, "-m", "reasoning_ner.convert", *args], cwd=tmp_path, timeout=60, check=False)

    for split, src in (("train", train), ("dev", dev)):
        proc = convert("bio", str(src), str(out / f"{split}.json"), "--label_map", str(CROSSNER_MAP), "--write_labels")
        assert proc.returncode == 0, proc.stderr
    text = (out / "train.json").read_text(encoding="utf-8")
    assert "Zürich" in text and text.startswith('[\n {\n  "sentence"')  # indent=1, ensure_ascii=False
    assert json.loads(text) == [
        {
            "sentence": "Zürich is nice",
            "entities": [
                {"name": "Zürich", "type": "organization", "pos": [0, 6]},
                {"name": "nice", "type": "else", "pos": [10, 14]},
            ],
        }
    ]
    dev_recs = read_instructuie_file(out / "dev.json")  # the project's own reader validates every offset
    assert [(e.text, e.label, e.start) for ex in dev_recs for e in ex.entities] == [
        ("Alan Turing", "researcher", 0),
        ("C", "program language", 0),
    ]
    assert json.loads((out / "labels.json").read_text(encoding="utf-8")) == [
        "organization",
        "else",
        "researcher",
        "program language",
    ]

    uni = write_json(tmp_path, "u.json", [conversation("a b a", ("x", '["a"]'))])
    proc = convert("uniner", str(uni), str(tmp_path / "u_out.json"))
    assert proc.returncode == 0, proc.stderr
    assert ents(json.loads((tmp_path / "u_out.json").read_text(encoding="utf-8"))[0]) == [
        ("a", "x", (0, 1)),
        ("a", "x", (4, 5)),
    ]

    bad = write(tmp_path, "bad.txt", "a\tO\nb\tO\tO\n")
    proc = convert("bio", str(bad), str(tmp_path / "bad.json"))
    assert proc.returncode == 1
    assert "bad.txt" in proc.stderr and "line 2" in proc.stderr and "'columns'" in proc.stderr
    assert not (tmp_path / "bad.json").exists()


# ----------------------------------------------------------------------------------------------------------------------
# Real data: converted files vs the InstructUIE files

# (dataset, split) -> measured differences between the converted BIO file and <dataset>/<split>.json:
#   trailing: sentences at the end of the BIO file that the JSON file does not have (its last sentence is dropped)
#   final_dropped: sentences whose last token ends an entity; the JSON file lacks that sentence-final entity
#   shifted: entities whose JSON `pos` is a substring match inside another word (e.g. "p" inside "compute")
BIO_DIFFERENCES: dict[tuple[str, str], dict[str, int]] = {
    ("CrossNER_AI", "train"): {"trailing": 0, "final_dropped": 1, "shifted": 0},
    ("CrossNER_AI", "dev"): {"trailing": 0, "final_dropped": 3, "shifted": 3},
    ("CrossNER_AI", "test"): {"trailing": 0, "final_dropped": 5, "shifted": 0},
    ("CrossNER_literature", "train"): {"trailing": 0, "final_dropped": 0, "shifted": 0},
    ("CrossNER_literature", "dev"): {"trailing": 0, "final_dropped": 5, "shifted": 0},
    ("CrossNER_literature", "test"): {"trailing": 0, "final_dropped": 3, "shifted": 0},
    ("CrossNER_politics", "train"): {"trailing": 1, "final_dropped": 1, "shifted": 0},
    ("CrossNER_politics", "dev"): {"trailing": 1, "final_dropped": 2, "shifted": 0},
    ("CrossNER_politics", "test"): {"trailing": 1, "final_dropped": 1, "shifted": 0},
}


def _data_file(*parts: str) -> Path:
    base = ner_data_dir()
    path = base.joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"real NER data file {path} not found (set REASONING_NER_DATA to the ner-data folder)")
    return path


def _token_aligned(sentence: str, start: int, end: int) -> bool:
    return (start == 0 or sentence[start - 1] == " ") and (end == len(sentence) or sentence[end] == " ")


@pytest.mark.parametrize(("dataset", "split"), sorted(BIO_DIFFERENCES))
def test_crossner_bio_matches_instructuie(dataset: str, split: str) -> None:
    bio_path = _data_file(dataset, "bio", f"{split}.txt")
    json_path = _data_file(dataset, f"{split}.json")
    converted = convert_bio(bio_path, label_map=CROSSNER_MAP)
    reference = json.loads(json_path.read_text(encoding="utf-8"))
    check_offsets(converted)
    labels = set(json.loads(_data_file(dataset, "labels.json").read_text(encoding="utf-8")))
    assert {e["type"] for r in converted for e in r["entities"]} == labels

    found = {"trailing": len(converted) - len(reference), "final_dropped": 0, "shifted": 0}
    assert [r["sentence"] for r in converted[: len(reference)]] == [r["sentence"] for r in reference]
    for i, (conv, ref) in enumerate(zip(converted, reference)):
        ec, ej = ents(conv), ents(ref)
        if ec == ej:
            continue
        sentence = conv["sentence"]
        if ec[:-1] == ej and ec[-1][2][1] == len(sentence):
            found["final_dropped"] += 1
            continue
        assert [x[:2] for x in ec] == [x[:2] for x in ej], f"sentence {i}: entities differ: {ec} vs {ej}"
        for x, y in zip(ec, ej):
            if x != y:
                assert not _token_aligned(sentence, *y[2]), f"sentence {i}: unexpected offset difference {x} vs {y}"
                found["shifted"] += 1
    assert found == BIO_DIFFERENCES[(dataset, split)]


def test_uniner_crossner_ai_matches_instructuie(caplog: pytest.LogCaptureFixture) -> None:
    uniner_path = _data_file("CrossNER_AI", "uniner", "CrossNER_AI.json")
    reference = json.loads(_data_file("CrossNER_AI", "test.json").read_text(encoding="utf-8"))
    with caplog.at_level(logging.WARNING, logger="reasoning_ner.convert"):
        converted = convert_uniner(uniner_path)
    assert not caplog.records  # every mention occurs verbatim, every answer item is a string
    check_offsets(converted)

    # one sentence occurs twice in test.json; UniNER keys records by passage, so it becomes one record (431 -> 430)
    assert (len(reference), len(converted)) == (431, 430)
    assert [r["sentence"] for r in converted] == list(dict.fromkeys(r["sentence"] for r in reference))

    def span_set(recs: list[dict[str, Any]]) -> set[tuple[str, str, str, tuple[int, int]]]:
        return {(r["sentence"], e["name"], e["type"], tuple(e["pos"])) for r in recs for e in r["entities"]}

    conv_spans, ref_spans = span_set(converted), span_set(reference)
    ref_total = sum(len(r["entities"]) for r in reference)
    assert (ref_total, len(ref_spans), len(conv_spans)) == (1804, 1802, 1677)
    # UniNER asks for 13 types: labels.json minus "else", so all 180 "else" entities are missing
    missing = ref_spans - conv_spans
    assert Counter(k[2] for k in missing) == Counter({"else": 180})
    # every occurrence of a mention is taken: 55 extra spans, 16 of them inside a longer word ("R" in "Rserve")
    extra = conv_spans - ref_spans
    assert len(extra) == 55
    assert sum(not _token_aligned(s, *pos) for s, _, _, pos in extra) == 16
    # at the level of (sentence, mention, type) UniNER is a subset: only the 177 distinct "else" triples are missing
    conv_triples = {k[:3] for k in conv_spans}
    ref_triples = {k[:3] for k in ref_spans}
    assert conv_triples <= ref_triples
    assert Counter(k[2] for k in ref_triples - conv_triples) == Counter({"else": 177})
