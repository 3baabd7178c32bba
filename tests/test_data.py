import json
import logging

import pytest
from helpers.common import ent

from reasoning_ner.data import (
    DataError,
    Entity,
    Example,
    load_dataset_config,
    read_instructuie,
    read_ner_cot,
    source_name,
    write_ner_cot,
)


def test_ner_cot_roundtrip_jsonl_and_json(tmp_path):
    exs = [
        Example(
            "Ada met Bob .", ["person"], [Entity("Ada", "person"), Entity("Bob", "person")], "two people", "d1", "g1"
        ),
        Example("Nothing é here", ["location"], [], None, None, "g2"),
    ]
    for name in ("x.jsonl", "x.json"):
        write_ner_cot(tmp_path / name, exs)
        back = read_ner_cot(tmp_path / name)
        assert [b.to_record() for b in back] == [e.to_record() for e in exs]
    assert (tmp_path / "x.json").read_text().lstrip().startswith("[")


def test_ner_cot_source_alias_and_defaults(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_text(json.dumps({"sentence": "s", "schema": ["a"], "entities": [], "source": "pile"}) + "\n")
    (ex,) = read_ner_cot(p)
    assert ex.dataset == "pile" and ex.cot is None and ex.id == "a-0"


@pytest.mark.parametrize(
    "record, field",
    [
        ({"schema": [], "entities": []}, "sentence"),
        ({"sentence": 3, "entities": []}, "sentence"),
        ({"sentence": "s", "entities": [{"label": "x"}]}, "entities[0].text"),
        ({"sentence": "s", "entities": [{"text": "s", "label": 1}]}, "entities[0].label"),
        ({"sentence": "s", "entities": [], "cot": 5}, "cot"),
        ({"sentence": "s", "schema": [1], "entities": []}, "schema[0]"),
    ],
)
def test_ner_cot_errors_name_file_record_field(tmp_path, record, field):
    p = tmp_path / "bad.jsonl"
    p.write_text(json.dumps({"sentence": "ok", "entities": []}) + "\n" + json.dumps(record) + "\n")
    with pytest.raises(DataError) as e:
        read_ner_cot(p)
    msg = str(e.value)
    assert "bad.jsonl" in msg and "record 1" in msg and repr(field) in msg


def test_invalid_jsonl_line_is_named(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"sentence": "a", "entities": []}\n{oops\n')
    with pytest.raises(DataError, match=r"bad.jsonl, record at line 2: invalid JSON"):
        read_ner_cot(p)


GOOD = {"sentence": "Ada met Bob", "entities": [{"name": "Ada", "type": "person", "pos": [0, 3]}]}


@pytest.mark.parametrize(
    "mutate, field, problem",
    [
        (lambda r: r.pop("sentence"), "sentence", "missing"),
        (lambda r: r.update(entities={}), "entities", "expected list"),
        (lambda r: r["entities"][0].pop("pos"), "entities[0].pos", "missing"),
        (lambda r: r["entities"][0].update(type=7), "entities[0].type", "expected str"),
        (lambda r: r["entities"][0].update(pos=[0, 99]), "entities[0].pos", "out of range"),
        (lambda r: r["entities"][0].update(pos=[1, 4]), "entities[0].pos", "not name"),
        (lambda r: r["entities"][0].update(pos=[0]), "entities[0].pos", "expected [start, end]"),
    ],
)
def test_instructuie_errors(make_dataset, mutate, field, problem):
    bad = json.loads(json.dumps(GOOD))
    mutate(bad)
    base = make_dataset("My Set_sample_100", ["person"], {"test": [GOOD, GOOD, bad]})
    with pytest.raises(DataError) as e:
        read_instructuie(base, "My Set_sample_100", "test")
    msg = str(e.value)
    assert "My Set_sample_100/test.json" in msg and "record 2" in msg and repr(field) in msg and problem in msg


def test_instructuie_invalid_json_and_missing(make_dataset, tmp_path):
    base = make_dataset("d", ["person"], {"test": [GOOD]})
    (base / "d" / "test.json").write_text("[{]")
    with pytest.raises(DataError, match=r"d/test.json: invalid JSON at line 1"):
        read_instructuie(base, "d", "test")
    with pytest.raises(DataError, match="dataset folder not found"):
        read_instructuie(base, "nope", "test")
    with pytest.raises(DataError, match="file not found"):
        read_instructuie(base, "d", "train")


def test_unknown_gold_types_are_counted_and_warned(make_dataset, caplog):
    s = "Ada at ACME in Rome"
    recs = [
        {"sentence": s, "entities": [ent(s, "Ada", "Person"), ent(s, "ACME", "organisation"), ent(s, "Rome", "misc")]}
    ]
    base = make_dataset("d", ["person", "Organization"], {"test": recs})
    with caplog.at_level(logging.WARNING):
        split = read_instructuie(base, "d", "test")
    assert split.labels == ["person", "organization"]
    assert dict(split.unknown_types) == {"organisation": 1, "misc": 1}
    assert [e.label for e in split.examples[0].entities] == ["person", "organisation", "misc"]
    assert "'organisation': 1" in caplog.text and "2 gold entities" in caplog.text


def test_source_name_and_dataset_config(tmp_path):
    assert source_name("Ontonotes_sample_30000") == "Ontonotes"
    assert source_name("WikiANN en") == "WikiANN en"
    p = tmp_path / "c.json"
    for content in (
        ["a b", "c"],
        [{"name": "a b"}, {"dataset name": "c"}],
        {"NER": [{"sampling strategy": "random", "dataset name": "a b"}, {"dataset name": "c"}]},
        {"datasets": ["a b", "c"]},
    ):
        p.write_text(json.dumps(content))
        assert load_dataset_config(p) == ["a b", "c"]
    p.write_text(json.dumps([3]))
    with pytest.raises(DataError, match="record 0"):
        load_dataset_config(p)


def test_real_benchmark_reads(ner_data):
    names = load_dataset_config("config/dataset/cross_ner.json")
    sizes = {n: len(read_instructuie(ner_data, n, "test", warn=False).examples) for n in names}
    assert sizes == {
        "CrossNER_AI": 431,
        "CrossNER_literature": 416,
        "CrossNER_music": 465,
        "CrossNER_politics": 650,
        "CrossNER_science": 543,
        "mit-movie": 2442,
        "mit-restaurant": 1520,
    }
