"""The committed synthetic sample data under data/sample/ reads cleanly, is consistent and is reproducible."""

from __future__ import annotations

import json
import sys

import pytest
from helpers.common import ROOT, run

from reasoning_ner.alignment import occurrences
from reasoning_ner.data import read_instructuie, read_labels, read_ner_cot
from reasoning_ner.labels import normalize_label

SAMPLE = ROOT / "data" / "sample"
BUILD = SAMPLE / "build.py"
NER_COT = SAMPLE / "ner_cot.jsonl"
IUIE = SAMPLE / "instructuie"
IUIE_NAMES = ["sample-news", "sample-tech", "sample-food"]
SPLITS = {"train": 60, "dev": 20, "test": 30}
HAND_WRITTEN = {"build.py", "vocab.json", "README.md"}


def _word_occurrences(sentence: str, text: str) -> list[int]:
    """Starts of the whole-word occurrences, by the library's rule (`reasoning_ner.alignment.occurrences`)."""
    return [s for s, _ in occurrences(sentence, text)]


@pytest.fixture(scope="module")
def ner_cot():
    return read_ner_cot(NER_COT)


@pytest.fixture(scope="module")
def iuie():
    return {(n, s): read_instructuie(IUIE, n, s, warn=False) for n in IUIE_NAMES for s in SPLITS}


# ----------------------------------------------------------------------------------------------------------------------
# NER-CoT


def test_ner_cot_shape(ner_cot):
    assert len(ner_cot) == 240
    assert NER_COT.stat().st_size < 250_000
    assert len({ex.id for ex in ner_cot}) == 240
    assert len({ex.sentence for ex in ner_cot}) == 240
    datasets = sorted({ex.dataset for ex in ner_cot})
    assert len(datasets) == 8 and all(d.startswith("sample-") for d in datasets)
    raw = [json.loads(line) for line in NER_COT.read_text(encoding="utf-8").splitlines()]
    assert all(list(r) == ["guid", "dataset", "sentence", "schema", "cot", "entities"] for r in raw)
    assert all(list(e) == ["text", "label"] for r in raw for e in r["entities"])


def test_ner_cot_entities_and_schema(ner_cot):
    absent_type_records = 0
    for ex in ner_cot:
        assert 3 <= len(ex.schema) <= 7, ex.id
        assert len(set(ex.schema)) == len(ex.schema), ex.id
        assert all(t == normalize_label(t) for t in ex.schema), ex.id
        for e in ex.entities:
            assert e.text and e.text in ex.sentence, (ex.id, e.text)
            assert e.label in ex.schema, (ex.id, e.label)
        pairs = [(e.text, e.label) for e in ex.entities]
        assert len(pairs) == len(set(pairs)), ex.id
        if set(ex.schema) - {e.label for e in ex.entities}:
            absent_type_records += 1
    assert absent_type_records >= 0.3 * len(ner_cot)


def test_ner_cot_empty_fraction(ner_cot):
    empty = sum(1 for ex in ner_cot if not ex.entities)
    assert empty >= 0.10 * len(ner_cot)
    assert empty <= 0.20 * len(ner_cot)


def test_ner_cot_cot_mentions_every_entity(ner_cot):
    for ex in ner_cot:
        assert ex.cot and len(ex.cot) <= 600, ex.id
        for e in ex.entities:
            assert f'"{e.text}"' in ex.cot, (ex.id, e.text)
    assert len({ex.cot for ex in ner_cot}) == len(ner_cot)


def test_ner_cot_shapes_present(ner_cot):
    sents = [ex.sentence for ex in ner_cot]
    assert sum(s.endswith("?") for s in sents) >= 10
    assert sum(s == s.lower() for s in sents) >= 20  # query-style
    assert sum(any(ord(c) > 127 for c in s) for s in sents) >= 5
    assert any(len(_word_occurrences(ex.sentence, e.text)) >= 2 for ex in ner_cot for e in ex.entities)
    texts = {e.text for ex in ner_cot for e in ex.entities}
    assert any("." in t for t in texts) and any("+" in t or "#" in t for t in texts)


# ----------------------------------------------------------------------------------------------------------------------
# InstructUIE


def test_instructuie_reads_and_offsets(iuie):
    for (name, split), ds in iuie.items():
        assert len(ds.examples) == SPLITS[split], (name, split)
        assert not ds.unknown_types, (name, split, ds.unknown_types)
        assert 1 <= sum(1 for ex in ds.examples if not ex.entities) <= 0.2 * len(ds.examples)
        for ex in ds.examples:
            assert ex.schema == ds.labels
            for e in ex.entities:
                assert ex.sentence[e.start : e.end] == e.text
                assert e.label in ds.labels
            # every occurrence of a mention is listed
            for text in {e.text for e in ex.entities}:
                listed = sorted(e.start for e in ex.entities if e.text == text)
                assert _word_occurrences(ex.sentence, text) == listed, (name, split, ex.sentence, text)


def test_instructuie_labels():
    assert read_labels(IUIE / "sample-news") == ["person", "organization", "location", "else"]
    assert read_labels(IUIE / "sample-tech") == [
        "programming language",
        "algorithm",
        "product",
        "organization",
        "person",
    ]
    assert read_labels(IUIE / "sample-food") == ["dish", "cuisine", "location", "price", "restaurant name"]


def test_instructuie_news_has_some_else(iuie):
    n_else = sum(1 for s in SPLITS for ex in iuie["sample-news", s].examples for e in ex.entities if e.label == "else")
    assert 1 <= n_else


def test_instructuie_held_out(ner_cot, iuie):
    cot_sents = {ex.sentence for ex in ner_cot}
    for (name, split), ds in iuie.items():
        for ex in ds.examples:
            assert ex.sentence not in cot_sents, (name, split, ex.sentence)
    for name in IUIE_NAMES:
        train = {ex.sentence for ex in iuie[name, "train"].examples}
        for split in ("dev", "test"):
            assert not train & {ex.sentence for ex in iuie[name, split].examples}


# ----------------------------------------------------------------------------------------------------------------------
# Corpus and reproducibility


def test_corpus():
    text = (SAMPLE / "corpus.txt").read_text(encoding="utf-8")
    assert 150_000 <= len(text.encode("utf-8")) <= 260_000
    for word in ("<think>", "</think>", '{"entities":', "JSON", "entity", "types", "Sentence:"):
        assert word in text, word


@pytest.mark.slow
def test_build_is_deterministic(tmp_path):
    res = run([sys.executable, BUILD, "--out", tmp_path], timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    generated = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(
        p.relative_to(SAMPLE).as_posix()
        for p in SAMPLE.rglob("*")
        if p.is_file() and p.name not in HAND_WRITTEN and "__pycache__" not in p.parts
    )
    assert generated == committed
    for rel in generated:
        assert (tmp_path / rel).read_bytes() == (SAMPLE / rel).read_bytes(), rel


@pytest.mark.slow
def test_learning_draw_is_held_out_and_reproducible(tmp_path, ner_cot, iuie):
    n = 40
    outs = []
    for draw in ("a", "b"):
        out = tmp_path / f"learning-{draw}.jsonl"
        res = run([sys.executable, BUILD, "--learning", n, out], timeout=60, check=False)
        assert res.returncode == 0, res.stderr
        assert f"{8 * n} records" in res.stdout
        outs.append(out)
    assert outs[0].read_bytes() == outs[1].read_bytes()

    examples = read_ner_cot(outs[0])
    assert len(examples) == 8 * n
    assert len({ex.id for ex in examples}) == len(examples)
    assert len({ex.sentence for ex in examples}) == len(examples)
    assert sorted({ex.dataset for ex in examples}) == sorted({ex.dataset for ex in ner_cot})
    held_out = {ex.sentence for ex in ner_cot}
    held_out |= {ex.sentence for (_name, split), ds in iuie.items() if split in ("dev", "test") for ex in ds.examples}
    assert not held_out & {ex.sentence for ex in examples}
    empty = sum(1 for ex in examples if not ex.entities)
    assert 0.08 * len(examples) <= empty <= 0.16 * len(examples)
    for ex in examples:
        assert 3 <= len(ex.schema) <= 7, ex.id
        assert ex.cot and len(ex.cot) <= 600, ex.id
        for e in ex.entities:
            assert e.text and e.text in ex.sentence, (ex.id, e.text)
            assert e.label in ex.schema, (ex.id, e.label)
            assert f'"{e.text}"' in ex.cot, (ex.id, e.text)
