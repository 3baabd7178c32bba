"""`python -m reasoning_ner.compare`: two evaluate.py results compared (table, plot, paired tests), runs given as
predictions files, and every refusal (other protocol, limit, datasets, data, a changed or missing predictions file)."""

from __future__ import annotations

import json
import shutil

import pytest
from helpers.common import ent, write_instructuie

from reasoning_ner.compare import main as compare_main

N = 24  # sentences per dataset


def _records(name: str) -> list[dict]:
    out = []
    for i in range(N):
        s = f"Ada{i} met Bob in Rome{i} ."
        out.append({"sentence": s, "entities": [ent(s, f"Ada{i}", "person"), ent(s, f"Rome{i}", "location")]})
    return out


@pytest.fixture
def setup(tmp_path):
    base = tmp_path / "data"
    for name in ("d1", "d2"):
        write_instructuie(base, name, ["person", "location"], {"test": _records(name)})
    cfg = tmp_path / "datasets.json"
    cfg.write_text(json.dumps(["d1", "d2"]))
    return base, cfg


def _write_preds(path, answer):
    """answer(dataset, i) -> {type: [mentions]}"""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for d in ("d1", "d2"):
            for i in range(N):
                completion = "<think>\nok\n</think>\n" + json.dumps({"entities": answer(d, i)})
                f.write(json.dumps({"dataset": d, "index": i, "completion": completion}) + "\n")
    return path


def perfect(d, i):
    return {"person": [f"Ada{i}"], "location": [f"Rome{i}"]}


def half(d, i):  # the location missed on every sentence
    return {"person": [f"Ada{i}"]}


def _evaluate(setup, preds, out, **kw):
    from evaluate import EvalArguments, main

    base, cfg = setup
    args = EvalArguments(
        predictions_file=str(preds),
        base_path=str(base),
        dataset_config=str(kw.pop("dataset_config", cfg)),
        result_file=str(out),
        plot=False,
        html=False,
        bootstrap=200,
        **kw,
    )
    assert main(args) == 0
    return out


def test_compare_two_results(setup, tmp_path, capsys):
    a = _evaluate(setup, _write_preds(tmp_path / "a" / "predictions.jsonl", half), tmp_path / "a" / "result.json")
    b = _evaluate(setup, _write_preds(tmp_path / "b" / "predictions.jsonl", perfect), tmp_path / "b" / "result.json")
    shutil.copytree(tmp_path / "a", tmp_path / "a2")  # the same run again (meta names a/predictions.jsonl: found)
    out = tmp_path / "cmp"
    capsys.readouterr()
    assert (
        compare_main([str(a), str(b), str(tmp_path / "a2" / "result.json"), "--out", str(out), "--samples", "2000"])
        == 0
    )
    printed = capsys.readouterr().out
    doc = json.loads((out / "comparison.json").read_text())
    assert [r["name"] for r in doc["runs"]] == ["a", "b", "a2"]
    assert doc["f1"]["a"]["d1"]["f1"] == pytest.approx(100 * 2 * 24 / (48 + 24))  # P 1, R 0.5
    assert doc["f1"]["b"]["Average"]["f1"] == pytest.approx(100.0)
    (ab, aa2, ba2) = doc["pairs"]
    assert (ab["a"], ab["b"]) == ("a", "b")
    for d in ("d1", "d2", "Average"):
        r = ab["results"][d]
        assert r["delta"] == pytest.approx(100 / 3) and r["p_value"] < 0.05 and r["delta_ci"][0] > 0
        assert aa2["results"][d]["p_value"] > 0.5 and aa2["results"][d]["delta"] == 0.0
    assert ab["results"]["d1"]["n_differing"] == N
    md = (out / "comparison.md").read_text()
    assert "## b − a" in md and "| **Average** | 66.67 | 100.00 | +33.33 * |" in md
    assert "approximate randomization" in md and "paired bootstrap" in md and md.strip() in printed
    assert (out / "comparison_f1.png").read_bytes()[:4] == b"\x89PNG"


def test_compare_predictions_files(setup, tmp_path, capsys):
    base, cfg = setup
    a = _write_preds(tmp_path / "a.jsonl", half)
    b = _write_preds(tmp_path / "b.jsonl", perfect)
    args = [str(a), str(b), "--out", str(tmp_path / "c"), "--base_path", str(base), "--dataset_config", str(cfg)]
    assert compare_main(args + ["--samples", "500", "--names", "half,perfect"]) == 0
    doc = json.loads((tmp_path / "c" / "comparison.json").read_text())
    assert doc["pairs"][0]["results"]["Average"]["delta"] == pytest.approx(100 / 3)
    lines = a.read_text().splitlines()
    a.write_text("\n".join(lines[:5] + lines[6:]) + "\n")  # one example missing
    assert compare_main(args) == 2
    assert "d1: 1 missing index(es): 5" in capsys.readouterr().err


def _refused(capsys, *runs, out) -> str:
    capsys.readouterr()
    assert compare_main([str(r) for r in runs] + ["--out", str(out), "--samples", "100"]) == 2
    return capsys.readouterr().err


def test_compare_refuses_what_is_not_comparable(setup, tmp_path, capsys):
    base, cfg = setup
    pa = _write_preds(tmp_path / "a" / "predictions.jsonl", half)
    a = _evaluate(setup, pa, tmp_path / "a" / "result.json")
    out = tmp_path / "cmp"

    paper = _evaluate(setup, pa, tmp_path / "paper" / "result.json", protocol="paper")
    err = _refused(capsys, a, paper, out=out)
    assert "protocol is 'default' for a" in err and "'paper' for paper" in err

    limited = _evaluate(setup, pa, tmp_path / "limited" / "result.json", limit=10)
    assert "limit is None for a" in _refused(capsys, a, limited, out=out)

    one = tmp_path / "one.json"
    one.write_text(json.dumps(["d1"]))
    p1 = tmp_path / "only" / "predictions.jsonl"
    p1.parent.mkdir()
    p1.write_text("".join(x + "\n" for x in pa.read_text().splitlines()[:N]))
    only = _evaluate(setup, p1, tmp_path / "only" / "result.json", dataset_config=one)
    assert "datasets is ['d1', 'd2'] for a" in _refused(capsys, a, only, out=out)

    aliased = _evaluate(setup, pa, tmp_path / "alias" / "result.json", keep_uninformative=True)
    assert "keep_uninformative is False for a" in _refused(capsys, a, aliased, out=out)

    # the predictions changed after the result was written
    b = _evaluate(setup, _write_preds(tmp_path / "b" / "predictions.jsonl", half), tmp_path / "b" / "result.json")
    _write_preds(tmp_path / "b" / "predictions.jsonl", perfect)
    err = _refused(capsys, a, b, out=out)
    assert "F1 recomputed from" in err and "the predictions file changed" in err

    # the predictions file is gone
    (tmp_path / "b" / "predictions.jsonl").unlink()
    assert "its predictions file" in _refused(capsys, a, b, out=out)

    # the data changed under both results
    c = _evaluate(setup, _write_preds(tmp_path / "c" / "predictions.jsonl", perfect), tmp_path / "c" / "result.json")
    recs = _records("d2")
    recs[3]["sentence"] = recs[3]["sentence"].replace("met", "saw")
    write_instructuie(base, "d2", ["person", "location"], {"test": recs})
    err = _refused(capsys, a, c, out=out)
    assert "scored on other sentences" in err and "d2" in err
    assert not out.exists()


def test_compare_refuses_a_malformed_result(setup, tmp_path, capsys):
    a = _evaluate(setup, _write_preds(tmp_path / "a" / "predictions.jsonl", half), tmp_path / "a" / "result.json")
    doc = json.loads(a.read_text())
    del doc["rows"][1]["f1"]
    bad = tmp_path / "bad" / "result.json"
    bad.parent.mkdir()
    bad.write_text(json.dumps(doc))
    assert f"{bad}, record rows[1] (d2), field 'f1': missing or not a number" in _refused(capsys, a, bad, out=tmp_path)
    bad.write_text("{")
    assert f"{bad}: invalid JSON" in _refused(capsys, a, bad, out=tmp_path)
