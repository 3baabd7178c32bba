"""SFT data for the paper's other experiments (fast, no model): seeded subsets, InstructUIE / UniNER / CoNLL inputs to
NER-CoT records without `cot` (`make_sft_data.py`), NER-CoT from a dataset folder laid out like the Hub release, the
seed table and the ladder spec."""

from __future__ import annotations

import json
import statistics
import sys

import pytest
from helpers.common import ROOT, ent, write_instructuie

from reasoning_ner.data import DataError, is_hub_dataset_id, read_ner_cot, read_sft_source
from reasoning_ner.sft_data import subset_indices, subset_size

sys.path.insert(0, str(ROOT / "scripts"))


# ----------------------------------------------------------------------------------------------------------------------
# subsets


def test_subset_sizes_and_nesting():
    assert subset_size(1000, fraction=0.01) == 10 and subset_size(5, fraction=0.01) == 1 and subset_size(0, 0.5) == 0
    assert subset_size(10, count=3) == 3 and subset_size(2, count=3) == 2 and subset_size(7) == 7
    for bad in ({"fraction": 0}, {"fraction": 1.5}, {"count": -1}, {"fraction": 0.1, "count": 2}):
        with pytest.raises(ValueError):
            subset_size(10, **bad)
    one, five, ten = (set(subset_indices(1000, fraction=f, seed=1, key="CoNLL 2003")) for f in (0.01, 0.05, 0.1))
    assert len(one) == 10 and len(five) == 50 and len(ten) == 100
    assert one <= five <= ten  # nested for one seed
    again = subset_indices(1000, fraction=0.05, seed=1, key="CoNLL 2003")
    assert again == sorted(five)  # deterministic, in file order
    assert set(subset_indices(1000, fraction=0.05, seed=2, key="CoNLL 2003")) != five  # another seed, another draw
    assert subset_indices(1000, count=50, seed=1, key="CoNLL 2003") == again  # count and fraction agree


def _data(tmp_path):
    s1, s2, s3 = "Ada Lovelace met Charles Babbage in London .", "Nothing here .", "Paris is in France ."
    write_instructuie(
        tmp_path,
        "news_sample_100",
        ["Person", "location", "else", "organisation"],
        {
            "train": [
                {"sentence": s1, "entities": [ent(s1, "Ada Lovelace", "person"), ent(s1, "London", "location")]},
                {"sentence": s2, "entities": []},
                {"sentence": s3, "entities": [ent(s3, "Paris", "location"), ent(s3, "France", "misc")]},
                {"sentence": s1, "entities": [ent(s1, "Charles Babbage", "writer")]},
            ]
        },
    )
    return tmp_path


def test_make_sft_data_from_instructuie(tmp_path, caplog):
    from make_sft_data import MakeSftDataArguments, main

    base = _data(tmp_path)
    out = tmp_path / "out" / "train.jsonl"
    assert main(MakeSftDataArguments(output=str(out), base_path=str(base), datasets=["news_sample_100"])) == 0
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["guid"] for r in recs] == [f"news_sample_100-train-{i}" for i in range(4)]
    assert all("cot" not in r and r["dataset"] == "news" for r in recs)  # no reasoning; `_sample_N` stripped
    # schema: labels.json under the default policy (lower-cased, `else` dropped, organisation -> organization)
    assert recs[0]["schema"] == ["person", "location", "organization"]
    assert recs[0]["entities"] == [
        {"text": "Ada Lovelace", "label": "person", "start": 0, "end": 12},
        {"text": "London", "label": "location", "start": 36, "end": 42},
    ]
    assert recs[2]["entities"] == [{"text": "Paris", "label": "location", "start": 0, "end": 5}]  # misc dropped
    stats = json.loads((tmp_path / "out" / "train.jsonl.stats.json").read_text())
    assert stats["dropped_gold"] == {"news/writer": 1}  # not in the schema: left out and counted
    exs = read_ner_cot(out)  # what sft.py reads; the target is the JSON answer alone
    from reasoning_ner.prompts import render_target

    assert render_target(exs[0]).startswith('{\n  "entities"')
    # generate_cot.py --input_format jsonl --hint true sees the gold annotation
    from reasoning_ner.cot import read_cot_inputs

    (x,) = read_cot_inputs(out, "jsonl", limit=1)
    assert x.gold == {"person": ["Ada Lovelace"], "location": ["London"]}
    # a subset, as an InstructUIE folder (records unchanged) and as records
    sub = tmp_path / "sub"
    args = MakeSftDataArguments(output=str(sub), base_path=str(base), datasets=["news_sample_100"], count=2, seed=3)
    args.format = "instructuie"
    assert main(args) == 0
    picked = subset_indices(4, count=2, seed=3, key="news_sample_100")
    src = json.loads((base / "news_sample_100" / "train.json").read_text())
    assert json.loads((sub / "news_sample_100" / "train.json").read_text()) == [src[i] for i in picked]
    assert (sub / "news_sample_100" / "labels.json").read_text() == (
        base / "news_sample_100" / "labels.json"
    ).read_text()
    args.format, args.output = "ner_cot", str(tmp_path / "sub.jsonl")
    assert main(args) == 0
    assert [json.loads(x)["guid"] for x in (tmp_path / "sub.jsonl").read_text().splitlines()] == [
        f"news_sample_100-train-{i}" for i in picked
    ]


def test_make_sft_data_from_uniner_and_errors(tmp_path, capsys):
    from make_sft_data import MakeSftDataArguments, main

    conv = [
        {"from": "human", "value": "Text: Ada met Bob in Rome ."},
        {"from": "gpt", "value": "I've read this text."},
        {"from": "human", "value": "What describes person in the text?"},
        {"from": "gpt", "value": '["Ada", "Bob"]'},
        {"from": "human", "value": "What describes city in the text?"},
        {"from": "gpt", "value": "[]"},
    ]
    src = tmp_path / "pile.json"
    src.write_text(json.dumps([{"id": "0", "conversations": conv}]))
    out = tmp_path / "raw.jsonl"
    a = MakeSftDataArguments(output=str(out), input=str(src), input_format="uniner", dataset_name="pile-ner")
    assert main(a) == 0
    (rec,) = [json.loads(x) for x in out.read_text().splitlines()]
    assert rec["schema"] == ["person", "city"]  # the negative question stays in the schema
    assert [e["text"] for e in rec["entities"]] == ["Ada", "Bob"] and rec["dataset"] == "pile-ner"
    assert main(MakeSftDataArguments(output=str(out))) == 2
    assert "give --input FILE" in capsys.readouterr().err
    assert main(MakeSftDataArguments(output=str(out), base_path=str(tmp_path), datasets=["missing"])) == 2
    assert "dataset folder not found" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------------------------------
# NER-CoT from the Hub release's layout (offline: a local folder built with `datasets`)

RELEASE_README = """---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*
---
# NER-CoT (test copy)
"""


def _release_records(n=6):
    return [json.loads(x) for x in (ROOT / "data/sample/ner_cot.jsonl").read_text().splitlines()[:n]]


def hub_folder(tmp_path, records, kind="parquet"):
    """A folder laid out like the Hub repository HuiHuang/NER-CoT: README.md with `configs:` and the data files."""
    import datasets

    folder = tmp_path / "NER-CoT"
    (folder / "data").mkdir(parents=True)
    (folder / "README.md").write_text(RELEASE_README)
    if kind == "parquet":
        datasets.Dataset.from_list(records).to_parquet(str(folder / "data" / "train-00000-of-00001.parquet"))
    else:
        (folder / "data" / "train-00000-of-00001.json").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return folder


@pytest.mark.parametrize("kind", ["parquet", "json"])
def test_ner_cot_from_a_hub_layout_folder(tmp_path, kind):
    from reasoning_ner.prompts import PromptSpec
    from reasoning_ner.training import load_sft_dataset

    recs = _release_records()
    folder = hub_folder(tmp_path, recs, kind)
    exs = read_sft_source(folder)
    assert [e.id for e in exs] == [r["guid"] for r in recs]
    assert [(e.sentence, e.schema, e.cot, e.dataset) for e in exs] == [
        (r["sentence"], r["schema"], r["cot"], r["dataset"]) for r in recs
    ]
    assert [[(x.text, x.label) for x in e.entities] for e in exs] == [
        [(x["text"], x["label"]) for x in r["entities"]] for r in recs
    ]
    # sft.py's loader: a folder and a file together, the same pairs as from the JSONL
    jsonl = tmp_path / "x.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    ds = load_sft_dataset([str(folder), str(jsonl)], prompt=PromptSpec.from_file())
    assert len(ds) == 2 * len(recs) and ds[0]["prompt"] == ds[len(recs)]["prompt"]
    assert ds[0]["completion"] == ds[len(recs)]["completion"]
    assert ds[0]["completion"][0]["content"].startswith("<think>\n")


RELEASE_CARD = """---
license: cc-by-nc-4.0
language:
- en
tags:
- ner
pretty_name: NER-CoT (test copy)
---
# A card without `configs:`: the data file is found by its name
"""


def test_ner_cot_release_records_with_null_dataset_in_a_root_json_file(tmp_path):
    """The release's card has no `configs:` and its records carry `"dataset": null` and string guids: a JSON array at
    the folder's root is found by `datasets` as the train split, and a null `dataset` is read as no source."""
    from reasoning_ner.prompts import PromptSpec
    from reasoning_ner.training import load_sft_dataset

    recs = _release_records(5)
    for i, r in enumerate(recs):
        r["guid"], r["dataset"] = str(i), None
    folder = tmp_path / "NER-CoT"
    folder.mkdir()
    (folder / "README.md").write_text(RELEASE_CARD)
    (folder / "ner_cot.json").write_text(json.dumps(recs, indent=2))
    exs = read_sft_source(folder)
    assert [e.id for e in exs] == ["0", "1", "2", "3", "4"] and all(e.dataset is None for e in exs)
    assert [[(x.text, x.label) for x in e.entities] for e in exs] == [
        [(x["text"], x["label"]) for x in r["entities"]] for r in recs
    ]
    assert [e.cot for e in exs] == [r["cot"] for r in recs] and all(e.cot for e in exs)
    ds = load_sft_dataset([str(folder)], prompt=PromptSpec.from_file())
    assert len(ds) == 5 and recs[0]["sentence"] in ds[0]["prompt"][0]["content"]


def test_hub_sources_and_their_errors(tmp_path):
    assert is_hub_dataset_id("HuiHuang/NER-CoT")
    assert not is_hub_dataset_id("data/ner_cot.jsonl") and not is_hub_dataset_id("a/b/c")
    with pytest.raises(DataError, match=r"HuiHuang/NER-CoT \[split train\].*cannot load the dataset \(offline"):
        read_sft_source("HuiHuang/NER-CoT")  # not in the cache here (HF_HUB_OFFLINE=1)
    with pytest.raises(DataError, match="not found: give an NER-CoT file"):
        read_sft_source(tmp_path / "missing.jsonl")
    recs = _release_records(3)
    recs[1]["entities"][0] = {"text": "x"}  # no label
    folder = hub_folder(tmp_path, recs, "json")
    with pytest.raises(DataError, match=r"NER-CoT \[split train\], record 1, field 'entities\[0\]\.label'"):
        read_sft_source(folder)
    with pytest.raises(DataError, match=r"\[split test\].*cannot load"):
        read_sft_source(folder, "test")
    # entities stored as a JSON string (some Hub exports do this) are decoded
    recs = _release_records(2)
    for r in recs:
        r["entities"] = json.dumps(r["entities"])
    folder2 = hub_folder(tmp_path / "s", recs)
    assert [len(e.entities) for e in read_sft_source(folder2)] == [len(json.loads(r["entities"])) for r in recs]


# ----------------------------------------------------------------------------------------------------------------------
# seed table and ladder spec


def _result(path, f1s: dict[str, float]):
    rows = [{"dataset": d, "f1": v} for d, v in f1s.items()]
    rows.append({"dataset": "Average", "f1": round(sum(f1s.values()) / len(f1s), 2)})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"meta": {}, "rows": rows}))
    return path


def test_seed_table(tmp_path, capsys):
    from seed_table import main

    for seed, f1 in ((1, 80.0), (2, 84.0), (3, 85.0)):
        _result(tmp_path / "0.01" / f"seed{seed}" / "result.json", {"CoNLL 2003": f1})
    _result(tmp_path / "0.05" / "seed1" / "result.json", {"CoNLL 2003": 90.5})
    reported = ROOT / "config/experiments/low_resource/reported.yaml"
    out = tmp_path / "table"
    args = [f"1%={tmp_path}/0.01/seed*/result.json", f"5%={tmp_path}/0.05/seed1/result.json"]
    assert main([*args, "--reported", str(reported), "--out", str(out)]) == 0
    md = out.with_suffix(".md").read_text()
    sd = statistics.stdev([80.0, 84.0, 85.0])
    assert f"| 1% | 3 | 83.00 ± {sd:.2f} | 87.1 |" in md
    assert "| 5% | 1 | 90.50 (1 run) | 91.0 |" in md and "not reproduced" in md
    doc = json.loads(out.with_suffix(".json").read_text())
    assert doc["settings"][0]["f1"]["CoNLL 2003"]["values"] == [80.0, 84.0, 85.0]
    assert main(["1%=nothing/*.json"]) == 2 and "no file matches" in capsys.readouterr().err
    _result(tmp_path / "x" / "result.json", {"other": 1.0})
    assert main([f"a={tmp_path}/0.01/seed1/result.json,{tmp_path}/x/result.json"]) == 2
    assert "differ from the group's" in capsys.readouterr().err


def test_ladder_specs_load_and_table(tmp_path):
    from reasoning_ner.experiments import LadderSpec, fill, flags, ladder_rows, write_ladder

    gpu = LadderSpec.load(ROOT / "config/experiments/ablation/ladder.yaml")
    assert [r.reported for r in gpu.rows] == [31.9, 40.3, 60.6, 63.0, 65.1]
    tiny = LadderSpec.load(ROOT / "config/experiments/ablation/ladder-tiny.yaml")
    assert [r.name for r in tiny.rows] == [r.name for r in gpu.rows]
    # every recipe and script the ladders name exists
    v = {"python": "py", "data": "D", "root": ".", "out": "O", **gpu.vars, **tiny.vars}
    for spec in (gpu, tiny):
        for row in spec.rows:
            for cmd in fill(row.train, v):
                for arg in cmd:
                    if arg.endswith((".yaml", ".py", ".json")) and not arg.startswith(("O/", "D/", "data/pile")):
                        assert (ROOT / arg).exists(), arg
    assert flags({"a": 1, "b": [2, 3], "c": None, "d": True}) == ["--a", "1", "--b", "2", "3", "--d", "true"]
    with pytest.raises(ValueError, match="unknown placeholder"):
        fill("{nope}", {})
    r1 = _result(tmp_path / "r1.json", {"x": 10.0, "y": 20.0})
    r3 = _result(tmp_path / "r3.json", {"x": 30.0, "y": 30.0})
    rows = ladder_rows(gpu, {"base": r1, "sft-ner-cot-no-cot": r3})
    assert [r["f1"] for r in rows] == [15.0, None, 30.0, None, None]
    assert rows[2]["gain"] == 15.0 and rows[1]["gain"] is None  # over the last row that ran
    assert [round(r["reported_gain"], 1) if r["reported_gain"] else None for r in rows] == [None, 8.4, 20.3, 2.4, 2.1]
    paths = write_ladder(gpu, rows, tmp_path / "out")
    md = paths["md"].read_text()
    assert "| 2 | SFT on raw Pile-NER | 40.3 | +8.4 | not run |" in md and "not reproduced here" in md
    assert paths["png"].read_bytes()[:4] == b"\x89PNG"
