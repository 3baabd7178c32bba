"""Multi-column CoNLL (CoNLL-2003, MultiCoNER) conversion and text alignment in the scripts of MultiCoNER.

Every sentence here was written for these tests (no MultiCoNER or CoNLL-2003 text): short sentences in Chinese,
Hindi, Bangla, Farsi, Korean, Russian, Turkish (and German, Spanish, Dutch, English), in MultiCoNER's layout
(`# id <id> domain=<lang>` then `token _ _ tag`) and in CoNLL-2003's (`token POS chunk tag`, IOB1).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.common import ROOT

from reasoning_ner.alignment import align, occurrences, written_without_spaces
from reasoning_ner.convert import SPAN_FORMATS, convert_conll, join_tokens
from reasoning_ner.convert import main as convert_main
from reasoning_ner.data import DataError, read_instructuie
from reasoning_ner.formats import ReadOptions, read_examples

MULTICONER_MAP = ROOT / "config" / "labels" / "multiconer2022_bio.yaml"
CONLL03_MAP = ROOT / "config" / "labels" / "conll03_bio.yaml"

# (language, [(token, tag), ...]) — one sentence each; MultiCoNER writes Chinese one character per token
SENTENCES: dict[str, list[list[tuple[str, str]]]] = {
    "zh": [
        [("李", "B-PER"), ("明", "I-PER"), ("在", "O"), ("上", "B-LOC"), ("海", "I-LOC"), ("的", "O"),
         ("华", "B-CORP"), ("为", "I-CORP"), ("工", "O"), ("作", "O"), ("。", "O")],
        [("《", "O"), ("哈", "B-CW"), ("利", "I-CW"), ("·", "I-CW"), ("波", "I-CW"), ("特", "I-CW"), ("》", "O"),
         ("用", "O"), ("Python", "B-PROD"), ("写", "O"), ("了", "O"), ("2008", "O"), ("年", "O")],
    ],
    "hi": [
        [("राम", "B-PER"), ("दिल्ली", "B-LOC"), ("में", "O"), ("रहता", "O"), ("है", "O"), ("।", "O")],
        [("रामायण", "B-CW"), ("एक", "O"), ("प्रसिद्ध", "O"), ("ग्रंथ", "O"), ("है", "O"), ("।", "O")],
    ],
    "bn": [
        [("রবীন্দ্রনাথ", "B-PER"), ("ঠাকুর", "I-PER"), ("কলকাতায়", "B-LOC"), ("জন্মগ্রহণ", "O"), ("করেন", "O"),
         ("।", "O")],
    ],
    "fa": [
        [("علی", "B-PER"), ("در", "O"), ("تهران", "B-LOC"), ("زندگی", "O"), ("می\u200cکند", "O"), (".", "O")],
    ],
    "ko": [
        [("김민수", "B-PER"), ("는", "O"), ("서울", "B-LOC"), ("에서", "O"), ("삼성전자", "B-CORP"), ("에", "O"),
         ("다닌다", "O"), (".", "O")],
    ],
    "ru": [
        [("Иван", "B-PER"), ("Петров", "I-PER"), ("живёт", "O"), ("в", "O"), ("Москве", "B-LOC"), (".", "O")],
    ],
    "tr": [
        [("Ahmet", "B-PER"), ("Yılmaz", "I-PER"), ("İstanbul'da", "B-LOC"), ("yaşıyor", "O"), (".", "O")],
    ],
    "de": [
        [("Angela", "B-PER"), ("Merkel", "I-PER"), ("besuchte", "O"), ("die", "O"), ("Siemens", "B-CORP"),
         ("AG", "I-CORP"), ("in", "O"), ("München", "B-LOC"), (".", "O")],
    ],
    "es": [
        [("Gabriel", "B-PER"), ("García", "I-PER"), ("Márquez", "I-PER"), ("nació", "O"), ("en", "O"),
         ("Aracataca", "B-LOC"), (".", "O")],
    ],
    "nl": [
        [("Vincent", "B-PER"), ("van", "I-PER"), ("Gogh", "I-PER"), ("werd", "O"), ("geboren", "O"), ("in", "O"),
         ("Zundert", "B-LOC"), (".", "O")],
    ],
    "en": [
        [("Barack", "B-PER"), ("Obama", "I-PER"), ("visited", "O"), ("Microsoft", "B-CORP"), ("in", "O"),
         ("Seattle", "B-LOC"), (".", "O")],
        [("The", "B-GRP"), ("Beatles", "I-GRP"), ("recorded", "O"), ("Abbey", "B-CW"), ("Road", "I-CW"), ("in", "O"),
         ("London", "B-LOC"), (".", "O")],
        [("Samsung", "B-CORP"), ("released", "O"), ("the", "O"), ("Galaxy", "B-PROD"), ("S10", "I-PROD"),
         ("in", "O"), ("Seoul", "B-LOC"), (".", "O")],
        [("Taylor", "B-PER"), ("Swift", "I-PER"), ("sang", "O"), ("with", "O"), ("Coldplay", "B-GRP"), (".", "O")],
        [("Toyota", "B-CORP"), ("opened", "O"), ("a", "O"), ("factory", "O"), ("in", "O"), ("Texas", "B-LOC"),
         (".", "O")],
        [("Harry", "B-CW"), ("Potter", "I-CW"), ("was", "O"), ("written", "O"), ("by", "O"), ("Joanne", "B-PER"),
         ("Rowling", "I-PER"), (".", "O")],
    ],
}  # fmt: skip

# the sentence each language's first sentence becomes, and its gold (mention, type)
EXPECTED = {
    "zh": ("李明在上海的华为工作。", [("李明", "person"), ("上海", "location"), ("华为", "corporation")]),
    "hi": ("राम दिल्ली में रहता है ।", [("राम", "person"), ("दिल्ली", "location")]),
    "bn": ("রবীন্দ্রনাথ ঠাকুর কলকাতায় জন্মগ্রহণ করেন ।", [("রবীন্দ্রনাথ ঠাকুর", "person"), ("কলকাতায়", "location")]),
    "fa": ("علی در تهران زندگی می\u200cکند .", [("علی", "person"), ("تهران", "location")]),
    "ko": (
        "김민수 는 서울 에서 삼성전자 에 다닌다 .",
        [("김민수", "person"), ("서울", "location"), ("삼성전자", "corporation")],
    ),
    "ru": ("Иван Петров живёт в Москве .", [("Иван Петров", "person"), ("Москве", "location")]),
    "tr": ("Ahmet Yılmaz İstanbul'da yaşıyor .", [("Ahmet Yılmaz", "person"), ("İstanbul'da", "location")]),
}


def multiconer_text(lang: str, sentences: list[list[tuple[str, str]]] | None = None) -> str:
    """A file in MultiCoNER 2022's layout: `# id <id> domain=<lang>`, then `token _ _ tag` lines, a blank line."""
    out = []
    for i, sent in enumerate(sentences if sentences is not None else SENTENCES[lang]):
        out.append(f"# id {lang}-{i:04d}\tdomain={lang}")
        out += [f"{tok} _ _ {tag}" for tok, tag in sent]
        out.append("")
    return "\n".join(out) + "\n"


def write_multiconer(folder: Path, lang: str, split: str, sentences=None) -> Path:
    """`<folder>/<lang>_<split>.conll` in MultiCoNER's layout."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{lang}_{split}.conll"
    path.write_text(multiconer_text(lang, sentences), encoding="utf-8")
    return path


def ents(rec: dict) -> list[tuple[str, str]]:
    for e in rec["entities"]:
        assert rec["sentence"][e["pos"][0] : e["pos"][1]] == e["name"]
    return [(e["name"], e["type"]) for e in rec["entities"]]


# ----------------------------------------------------------------------------------------------------------------------
# conversion


@pytest.mark.parametrize("lang", sorted(EXPECTED))
def test_multiconer_layout_per_script(tmp_path, lang):
    path = write_multiconer(tmp_path, lang, "test")
    recs = convert_conll(path, label_map=MULTICONER_MAP)
    assert len(recs) == len(SENTENCES[lang])
    sentence, gold = EXPECTED[lang]
    assert recs[0]["sentence"] == sentence and ents(recs[0]) == gold
    assert recs[0]["meta"] == {"id": f"{lang}-0000", "domain": lang}
    # every gold mention is found by the alignment rules at the converter's offsets (what prediction and the CoT
    # validation of stage 1 use), and nowhere else in its sentence
    for rec in recs:
        for e in rec["entities"]:
            spans, how = align(rec["sentence"], e["name"])
            assert how == "exact" and tuple(e["pos"]) in spans, (lang, e, spans)


def test_multiconer_chinese_is_joined_without_spaces_and_latin_keeps_them(tmp_path):
    path = write_multiconer(tmp_path, "zh", "test")
    recs = convert_conll(path, label_map=MULTICONER_MAP)
    assert recs[1]["sentence"] == "《哈利·波特》用 Python 写了 2008 年"
    assert ents(recs[1]) == [("哈利·波特", "creative work"), ("Python", "product")]
    spaced = convert_conll(path, label_map=MULTICONER_MAP, join="space")
    assert spaced[0]["sentence"] == "李 明 在 上 海 的 华 为 工 作 。" and ents(spaced[0])[0] == ("李 明", "person")


def test_join_tokens_rules():
    assert join_tokens(["北", "京", "大", "学"], "auto") == ("北京大学", [0, 1, 2, 3])
    assert join_tokens(["東京", "タワー", "へ", "行く", "。"], "auto")[0] == "東京タワーへ行く。"
    assert join_tokens(["서울", "에서", "만났다"], "auto")[0] == "서울 에서 만났다"  # Hangul keeps its spaces
    assert join_tokens(["a", "·", "b"], "auto")[0] == "a · b"  # the middle dot glues only between CJK characters
    assert join_tokens(["New", "York"], "auto") == ("New York", [0, 4])
    assert join_tokens(["北", "京"], "space") == ("北 京", [0, 2])
    assert written_without_spaces("。") and written_without_spaces("ｶ") and not written_without_spaces("한")
    with pytest.raises(ValueError, match="join must be one of"):
        join_tokens(["a"], "none")


def test_conll2003_layout_iob1_docstart_and_hash_token(tmp_path):
    text = (
        "-DOCSTART- -X- -X- O\n\n"
        "Marta NNP I-NP I-PER\nOrtiz NNP I-NP I-PER\njoined VBD I-VP O\nBlue NNP I-NP I-ORG\nHarbor NNP I-NP I-ORG\n"
        "# NN I-NP O\n2 CD I-NP O\n. . O O\n\n"
        "Lisbon NNP I-NP I-LOC\nParis NNP I-NP B-LOC\nand CC O O\nEuropean JJ I-NP I-MISC\n"
    )
    path = tmp_path / "train.txt"
    path.write_text(text, encoding="utf-8")
    recs = convert_conll(path, label_map=CONLL03_MAP)
    assert [r["sentence"] for r in recs] == ["Marta Ortiz joined Blue Harbor # 2 .", "Lisbon Paris and European"]
    assert ents(recs[0]) == [("Marta Ortiz", "person"), ("Blue Harbor", "organization")]
    # IOB1: B- only where an entity follows one of the same type
    assert ents(recs[1]) == [("Lisbon", "location"), ("Paris", "location"), ("European", "else")]
    assert "meta" not in recs[0]


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ("a _ _ O\nb\n", "line 2", "columns"),
        ("a _ _ O\nb _ _ X-PER\n", "line 2", "tag"),
        ("# id 1 domain=en\na _ _ _\n", "line 2", "tag"),
    ],
)
def test_conll_malformed(tmp_path, text, line, field):
    path = tmp_path / "bad.conll"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as info:
        convert_conll(path)
    assert info.value.record == line and info.value.field == field and "bad.conll" in str(info.value)


def test_reader_registered_and_cli(tmp_path):
    assert {"conll", "multiconer"} <= set(SPAN_FORMATS)
    path = write_multiconer(tmp_path / "raw", "ko", "test")
    exs = read_examples("multiconer", path, ReadOptions(label_map=str(MULTICONER_MAP)))
    assert [e.id for e in exs] == ["ko-0000"] and exs[0].dataset == "ko_test"
    assert exs[0].schema == ["person", "location", "corporation"]
    out = tmp_path / "MultiCoNER_ko" / "test.json"
    assert convert_main(["multiconer", str(path), str(out), "--label_map", str(MULTICONER_MAP), "--write_labels"]) == 0
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written[0]["sentence"] == EXPECTED["ko"][0] and set(written[0]) == {"sentence", "entities"}
    assert json.loads((out.parent / "labels.json").read_text()) == ["person", "location", "corporation"]
    s = read_instructuie(tmp_path, "MultiCoNER_ko", "test")  # what evaluate.py reads
    assert [(e.text, e.label) for e in s.examples[0].entities] == EXPECTED["ko"][1]


# ----------------------------------------------------------------------------------------------------------------------
# alignment: word boundaries and folding per script


def test_alignment_hindi_and_bangla_marks_belong_to_their_letter():
    hi = "रामायण एक प्रसिद्ध ग्रंथ है और राम उसके नायक हैं"
    assert align(hi, "राम") == ([(hi.rindex("राम"), hi.rindex("राम") + 3)], "exact")  # not the start of रामायण
    assert align("वह दिल्ली में रहता है", "दिल्ल") == ([], "unaligned")  # would cut ी off its letter
    assert align("नई  दिल्ली में", "नई दिल्ली") == ([(0, 10)], "fuzzy")  # whitespace folded, vowel signs kept
    assert align("प्रसिद्ध", "प्रसिद") == ([], "unaligned")  # a virama is part of the word
    bn = "রবীন্দ্রনাথ ঠাকুর কলকাতায় জন্মগ্রহণ করেন ।"
    assert align(bn, "কলকাতা") == ([], "unaligned")  # the locative suffix is part of the word, as Paris/Parisian
    assert align("সে ঢাকা যায়", "ঢাকা") == ([(3, 7)], "exact")
    assert align("সন ১৩৯৯", "1399") == ([(3, 7)], "fuzzy")  # Bengali digits fold to ASCII


def test_alignment_farsi_zwnj_and_arabic_letters():
    fa = "علی در تهران زندگی می\u200cکند ."
    assert align(fa, "تهران") == ([(7, 12)], "exact")
    assert align(fa, "می") == ([], "unaligned")  # the zero-width non-joiner is inside the word
    assert align(fa, "علي") == ([(0, 3)], "fuzzy")  # Arabic Yeh written for the Persian one
    assert align("کتابخانه ملی", "كتابخانه") == ([(0, 8)], "fuzzy")  # Arabic Kaf for Keheh
    assert align("سال ۱۳۹۹", "1399") == ([(4, 8)], "fuzzy")


def test_alignment_korean_chinese_russian_turkish():
    assert align("김민수는 서울에서 일한다", "서울") == ([(5, 7)], "exact")  # particles glued to the noun
    assert align("설날에 만났다", "서") == ([], "unaligned")  # never part of a syllable (서 is inside 설 as jamo)
    assert align("李明在上海的华为工作。", "上海") == ([(3, 5)], "exact")
    ru = "Пётр Ковалёв живёт в Москве. Книга Петрова"
    assert align(ru, "Петр Ковалев") == ([(0, 12)], "fuzzy")  # ё folded to е
    assert align(ru, "Петров") == ([], "unaligned")  # not inside Петрова
    assert align(ru, "Москва") == ([], "unaligned")  # inflected forms are other strings
    tr = "Ahmet Yılmaz İstanbul'da yaşıyor, Iğdır'a gitti."
    assert align(tr, "İstanbul") == ([(13, 21)], "exact")  # the apostrophe ends the name
    assert align(tr, "ISTANBUL")[1] == "fuzzy" and align(tr, "IĞDIR") == ([(34, 39)], "fuzzy")  # I is the capital of ı
    assert align(tr, "YILMAZ") == ([(6, 12)], "fuzzy")


def test_occurrences_without_word_rule_unchanged_for_uniner():
    # the UniNER converter takes every occurrence, inside words too
    assert occurrences("रामायण और राम", "राम", whole_words=False) == [(0, 3), (10, 13)]
