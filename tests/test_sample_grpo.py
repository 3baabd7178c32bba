import json
import random
import re
import sys

import pytest
from helpers.common import ROOT, ent, run

from reasoning_ner.rewards import compute_score, f1_reward, schema_reward
from reasoning_ner.sampling import quotas, sample_grpo


def test_quota_formula():
    capped, q = quotas({"a": 100, "b": 30, "c": 5}, num_samples=50, max_count=40)
    assert capped == {"a": 40, "b": 30, "c": 5}
    assert q == {"a": 26, "b": 20, "c": 3}  # floor(50 * c_i / 75)
    assert quotas({"a": 0}, 10, 5)[1] == {"a": 0}


def _records(n: int, prefix: str) -> list[dict]:
    out = []
    for i in range(n):
        s = f"{prefix} Ada{i} visited Rome{i} with Acme ."
        ents = [ent(s, f"Ada{i}", "person"), ent(s, f"Rome{i}", "location"), ent(s, "Acme", "misc")]
        out.append({"sentence": s, "entities": ents if i % 5 else []})
    return out


@pytest.fixture
def base(make_dataset):
    make_dataset(
        "big_sample_300", ["person", "location", "misc"], {"train": _records(60, "big"), "dev": _records(10, "bd")}
    )
    return make_dataset("small", ["Person", "location"], {"train": _records(12, "small"), "dev": _records(10, "sd")})


def test_sample_counts_records_and_determinism(base):
    recs, stats = sample_grpo(base, ["big_sample_300", "small"], num_samples=30, max_count=40, seed=1)
    assert stats.capped == {"big": 40, "small": 12}  # per source name (_sample_N stripped)
    assert stats.drawn == {"big": 23, "small": 6}  # int(30*40/52), int(30*12/52)
    assert len(recs) == 29 and [r["dataset"] for r in recs[:23]] == ["big"] * 23  # _sample_N stripped
    again, _ = sample_grpo(base, ["big_sample_300", "small"], num_samples=30, max_count=40, seed=1)
    assert again == recs
    other, _ = sample_grpo(base, ["big_sample_300", "small"], num_samples=30, max_count=40, seed=2)
    assert [r["id"] for r in other] != [r["id"] for r in recs]
    shuffled, _ = sample_grpo(base, ["big_sample_300", "small"], num_samples=30, max_count=40, seed=1, shuffle=True)
    assert sorted(r["id"] for r in shuffled) == sorted(r["id"] for r in recs) and shuffled != recs
    r = recs[0]
    assert set(r) == {"prompt", "answer", "schema", "dataset", "sentence", "id"}
    assert r["schema"] == ["location", "person"]  # misc dropped from the schema, types sorted ...
    assert r["prompt"][0]["role"] == "user" and r["sentence"] in r["prompt"][0]["content"]
    gold = json.loads(r["answer"])["entities"]
    assert "misc" not in gold  # ... and from the gold answer
    # the gold answer rendered as a completion earns the full reward
    completion = json.dumps({"entities": gold})
    if gold:
        assert f1_reward([completion], answer=[r["answer"]]) == [1.0]
    assert schema_reward([completion], schema=[r["schema"]]) == [1.0]


def _cli(*args, cwd=ROOT):
    """sample_grpo.py in a subprocess; the caller checks the exit."""
    return run([sys.executable, ROOT / "sample_grpo.py", *args], cwd=cwd, check=False)


@pytest.mark.slow
def test_cli_jsonl_leak_guard_and_verl(base, tmp_path):
    cfg = tmp_path / "train.json"
    cfg.write_text(json.dumps(["big_sample_300", "small"]))
    evals = tmp_path / "eval.json"
    evals.write_text(json.dumps(["small", "other"]))
    out = tmp_path / "out"
    common = [
        "--base_path",
        base,
        "--dataset_config",
        cfg,
        "--output_path",
        out,
        "--num_samples",
        20,
        "--max_count",
        40,
        "--eval_dataset_config",
        evals,
    ]
    r = _cli(*common)
    assert r.returncode == 2 and "small is also in the evaluation list" in r.stderr
    r = _cli(*common, "--allow_eval_overlap")
    assert r.returncode == 0, r.stderr
    lines = (out / "train.jsonl").read_text().splitlines()
    assert len(lines) == 19 and json.loads(lines[0])["prompt"][0]["role"] == "user"
    stats = json.loads((out / "sample_stats.json").read_text())
    assert stats["per_dataset"]["small"] == {"available": 12, "capped": 12, "drawn": 4}
    r = _cli(*common, "--allow_eval_overlap", "--format", "verl", "--num_dev_samples", 8)
    assert r.returncode == 0, r.stderr
    import datasets

    train = datasets.load_dataset("parquet", data_files=str(out / "train.parquet"), split="train")
    dev = datasets.load_dataset("parquet", data_files=str(out / "dev.parquet"), split="train")
    assert len(train) == 19 and len(dev) == 8
    row = next(r for r in train if json.loads(r["reward_model"]["ground_truth"])["entities"])
    assert row["ability"] == "ner" and row["reward_model"]["style"] == "rule"
    truth = row["reward_model"]["ground_truth"]
    assert compute_score(row["data_source"], truth, truth, row["extra_info"]) == 11.0


def test_shipped_dataset_configs():
    from reasoning_ner.data import load_dataset_config
    from reasoning_ner.sampling import check_overlap

    ev = load_dataset_config(ROOT / "config/dataset/cross_ner.json")
    ind = load_dataset_config(ROOT / "config/dataset/in_domain.json")
    safe = load_dataset_config(ROOT / "config/dataset/in_domain_no_eval.json")
    assert len(ev) == 7 and len(ind) == 20 and len(safe) == 18
    assert check_overlap(ind, ev) == ["mit-movie", "mit-restaurant"]
    assert check_overlap(safe, ev) == []


# ----------------------------------------------------------------------------------------------------------------------
# The authors' sampler (HuiResearch/ReasoningIE sample_grpo.py + rner/dataset.py load_data), rendered independently here
# from its description with plain calls of Python's global `random`, on folders written for the test.


def _authors_selection(base, names, num_samples, max_count, seed, shuffle, loader_seed=42):
    random.seed(seed)  # sample_for_grpo seeds ...
    random.seed(loader_seed)  # ... then load_data seeds again with its own default (42)
    examples = []  # (source, folder, index in train.json), in load order
    for name in names:
        data = json.loads((base / name / "train.json").read_text())
        examples += [(re.sub("_sample_[0-9]+", "", name), name, i) for i in range(len(data))]
    by_source, count = {}, {}
    for ex in examples:
        by_source.setdefault(ex[0], []).append(ex)
        count[ex[0]] = count.get(ex[0], 0) + 1
    total = 0
    for src in count:
        if max_count > 0:
            count[src] = min(count[src], max_count)
        total += count[src]
    out = []
    for src, samples in by_source.items():
        k = int(num_samples * (count[src] / total))
        random.shuffle(samples)
        out.extend(samples[:k])
    if shuffle:
        random.shuffle(out)
    return [f"{folder}-train-{i}" for _, folder, i in out]


@pytest.fixture
def many(make_dataset):
    sizes = {"news": 37, "Bio_sample_500": 120, "tiny": 3, "news_sample_20": 20, "web": 55}
    for name, n in sizes.items():
        base = make_dataset(name, ["person", "location", "misc"], {"train": _records(n, name.replace(" ", ""))})
    return base, list(sizes)


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("num_samples,max_count", [(100, 50), (61, 10000), (7, 0), (200, 30)])
def test_sampler_selects_what_the_authors_sampler_selects(many, shuffle, num_samples, max_count):
    base, names = many
    ours, stats = sample_grpo(base, names, num_samples, max_count, seed=42, shuffle=shuffle)
    theirs = _authors_selection(base, names, num_samples, max_count, 42, shuffle)
    assert theirs and [r["id"] for r in ours] == theirs  # same examples, same order
    # the cap bites and the _sample_N folders merge into their source, as in the reference
    assert stats.available["news"] == 57 and stats.available["Bio"] == 120
    if max_count == 50:
        assert stats.capped["Bio"] == 50


def test_sampler_seed_is_honoured_where_the_authors_was_not(many):
    """Their loader re-seeds with 42, so their --seed has no effect; ours uses the seed given."""
    base, names = many
    ours, _ = sample_grpo(base, names, 100, 50, seed=7, shuffle=True)
    assert [r["id"] for r in ours] == _authors_selection(base, names, 100, 50, 7, True, loader_seed=7)
    assert [r["id"] for r in ours] != _authors_selection(base, names, 100, 50, 7, True)
