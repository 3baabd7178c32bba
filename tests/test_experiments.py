"""The paper's other experiments, each command sequence of the README run end to end on the tiny model (CPU, one or
two optimizer steps, a couple of test sentences): supervised, zero-shot on the in-domain list, low-resource with seeds
and the seed table, cross-lingual on MultiCoNER-layout files in ten languages, the ablation ladder (`make ladder`), and
stage 1 with the gold annotation as hint on converted data (vLLM). F1 values are not meaningful; the plumbing is."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from helpers.common import ROOT, run, trainer_env

pytestmark = pytest.mark.slow

PY = sys.executable
EXP = ROOT / "config" / "experiments"
# evaluation on CPU: transformers generation, two sentences per test set, short completions, no PNG
TINY_EVAL = ["--backend", "hf", "--limit", "2", "--max_new_tokens", "16", "--batch_size", "8", "--plot", "false"]
ONE_STEP = ["--max_steps", "1"]


def sft(recipe: Path, model, data, out, *extra) -> Path:
    cmd = [PY, "sft.py", "--config", recipe, "--model_name_or_path", model, "--dataset_path", data]
    run([*cmd, "--output_dir", out, *ONE_STEP, *extra], env=trainer_env(), timeout=600)
    assert (Path(out) / "config.json").exists() and (Path(out) / "reasoning_ner_prompt.json").exists()
    return Path(out)


def evaluate(config: Path, model, base, datasets, result, *extra) -> tuple[list[dict], dict]:
    from reasoning_ner.reports import load_result

    cmd = [PY, "evaluate.py", "--config", config, "--model", model, "--base_path", base]
    cmd += ["--dataset_config", datasets, "--result_file", result, *TINY_EVAL, *extra]
    run(cmd, env=trainer_env(), timeout=600)
    rows, meta = load_result(result)
    assert meta["model"] == str(model) and meta["prompt"]["template_sha256"]
    return rows, meta


def names_file(path: Path, names: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(names))
    return path


def test_supervised_sequence(tiny, ner_data, tmp_path):
    """InstructUIE train sets -> answer-only records -> SFT -> the in-domain test sets (real CrossNER folders stand in
    for the 20 InstructUIE datasets)."""
    names = ["CrossNER_AI", "CrossNER_literature"]
    data = tmp_path / "supervised" / "train.jsonl"
    run([PY, "make_sft_data.py", "--base_path", ner_data, "--datasets", *names, "--count", "8", "--seed", "42"]
        + ["--output", data])  # fmt: skip
    recs = [json.loads(x) for x in data.read_text().splitlines()]
    assert len(recs) == 16 and {r["dataset"] for r in recs} == set(names) and all("cot" not in r for r in recs)
    model = sft(EXP / "supervised" / "tiny-cpu.yaml", tiny, data, tmp_path / "supervised" / "sft")
    lst = names_file(tmp_path / "in_domain.json", names)
    rows, meta = evaluate(EXP / "supervised" / "eval-qwen3-8b.yaml", model, ner_data, lst, tmp_path / "ev" / "r.json")
    assert [r["dataset"] for r in rows] == [*names, "Average"] and meta["protocol"] == "paper"
    assert all(r["n_examples"] == 2 for r in rows[:-1])


CONLL03 = [  # (tokens, IOB1 tags): CoNLL-2003's layout, sentences written for this test
    ("Marta Ortiz joined Blue Harbor in Lisbon .", "I-PER I-PER O I-ORG I-ORG O I-LOC O"),
    ("Tom Reyes left Quill Press last year .", "I-PER I-PER O I-ORG I-ORG O O O"),
    ("Oslo and Bergen voted on Monday .", "I-LOC O I-LOC O O O O"),
    ("The Danish team beat Norway .", "O I-MISC O O I-LOC O"),
    ("Ana Lind works for Nordwind in Malmo .", "I-PER I-PER O O I-ORG O I-LOC O"),
    ("Rain fell in Porto .", "O O O I-LOC O"),
    ("Kestrel Bank hired Ivo Petrov .", "I-ORG I-ORG O I-PER I-PER O"),
    ("Nothing happened .", "O O O"),
    ("Lena Berg visited Vienna and Graz .", "I-PER I-PER O I-LOC O I-LOC O"),
    ("Grey Fox Media sold its stake .", "I-ORG I-ORG I-ORG O O O O"),
]


def conll03_file(path: Path, sentences) -> Path:
    lines = ["-DOCSTART- -X- -X- O", ""]
    for text, tags in sentences:
        lines += [f"{t} NNP I-NP {g}" for t, g in zip(text.split(), tags.split(), strict=True)] + [""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_low_resource_sequence_with_seeds_and_table(tiny, tmp_path):
    """CoNLL-2003 files -> an InstructUIE folder -> a seeded fraction of its train split per seed -> SFT -> test set
    -> mean ± std over seeds."""
    base, raw = tmp_path / "ner", tmp_path / "raw"
    for split, sents in (("train", CONLL03), ("test", CONLL03[:4])):
        src = conll03_file(raw / f"eng.{split}", sents)
        out = base / "CoNLL 2003" / f"{split}.json"
        run([PY, "-m", "reasoning_ner.convert", "conll", src, out, "--label_map", "config/labels/conll03_bio.yaml"]
            + ["--write_labels"])  # fmt: skip
    assert json.loads((base / "CoNLL 2003" / "labels.json").read_text()) == [
        "person",
        "organization",
        "location",
        "else",
    ]
    results = []
    for seed in (1, 2):
        data = tmp_path / "data" / f"conll03-0.5-seed{seed}.jsonl"
        run([PY, "make_sft_data.py", "--base_path", base, "--datasets", "CoNLL 2003", "--fraction", "0.5"]
            + ["--seed", seed, "--output", data])  # fmt: skip
        assert len(data.read_text().splitlines()) == 5
        run_dir = tmp_path / "runs" / "conll03-0.5" / f"seed{seed}"
        model = sft(EXP / "low_resource" / "tiny-cpu.yaml", tiny, data, run_dir, "--seed", seed)
        result = run_dir / "eval" / "result.json"
        rows, _ = evaluate(
            EXP / "low_resource" / "eval-qwen3-8b.yaml", model, base, EXP / "low_resource" / "conll03.json", result
        )
        assert [r["dataset"] for r in rows] == ["CoNLL 2003", "Average"] and rows[0]["n_gold"] > 0
        results.append(rows[0]["f1"])
    firsts = [json.loads(x)["guid"] for x in (tmp_path / "data" / "conll03-0.5-seed1.jsonl").read_text().splitlines()]
    seconds = [json.loads(x)["guid"] for x in (tmp_path / "data" / "conll03-0.5-seed2.jsonl").read_text().splitlines()]
    assert firsts != seconds  # two seeds, two subsets
    table = tmp_path / "table"
    r = run([PY, "scripts/seed_table.py", f"50%={tmp_path}/runs/conll03-0.5/seed*/eval/result.json"]
            + ["--reported", EXP / "low_resource" / "reported.yaml", "--out", table])  # fmt: skip
    import statistics

    assert f"| 50% | 2 | {statistics.fmean(results):.2f} ± {statistics.stdev(results):.2f} |" in r.stdout
    assert json.loads(table.with_suffix(".json").read_text())["settings"][0]["f1"]["CoNLL 2003"]["values"] == results


def test_cross_lingual_sequence_ten_languages(tiny, tmp_path):
    """MultiCoNER-layout files -> InstructUIE folders per language -> SFT on English only -> one row per language of
    config/experiments/cross_lingual/languages.json."""
    from test_multilingual import SENTENCES, write_multiconer

    base, raw = tmp_path / "multiconer", tmp_path / "raw"
    langs = [n.removeprefix("MultiCoNER_") for n in json.loads((EXP / "cross_lingual" / "languages.json").read_text())]
    assert sorted(langs) == sorted(set(SENTENCES) - {"en"})
    for lang, split in [("en", "train")] + [(lang, "test") for lang in langs]:
        src = write_multiconer(raw, lang, split)
        out = base / f"MultiCoNER_{lang}" / f"{split}.json"
        cmd = [PY, "-m", "reasoning_ner.convert", "multiconer", src, out, "--write_labels"]
        run(cmd + ["--label_map", "config/labels/multiconer2022_bio.yaml"])
    zh = json.loads((base / "MultiCoNER_zh" / "test.json").read_text())
    assert zh[0]["sentence"] == "李明在上海的华为工作。"  # joined without MultiCoNER's spaces
    data = tmp_path / "en_train.jsonl"
    run([PY, "make_sft_data.py", "--base_path", base, "--datasets", "MultiCoNER_en", "--output", data])
    model = sft(EXP / "cross_lingual" / "tiny-cpu.yaml", tiny, data, tmp_path / "sft")
    rows, meta = evaluate(
        EXP / "cross_lingual" / "eval-qwen3-8b.yaml",
        model,
        base,
        EXP / "cross_lingual" / "languages.json",
        tmp_path / "ev" / "result.json",
    )
    assert [r["dataset"] for r in rows] == [f"MultiCoNER_{lang}" for lang in langs] + ["Average"]
    assert all(r["n_gold"] > 0 for r in rows[:-1]) and meta["split"] == "test"


def test_ablation_ladder_make_target_and_zero_shot_20(ner_data, tmp_path):
    """`make ladder` (scripts/ladder.py on ladder-tiny.yaml): five rows trained and evaluated, the table and the plot;
    then the zero-shot-20 evaluation command on the ladder's CoT-tuned model."""
    makefile = (ROOT / "Makefile").read_text()
    assert "scripts/ladder.py --spec config/experiments/ablation/ladder-tiny.yaml --train" in makefile
    out = tmp_path / "ladder"
    settings = ["sft_steps=1", "grpo_steps=1", "eval_limit=2", "max_new_tokens=16", "pile_ner_count=16"]
    cmd = [PY, "scripts/ladder.py", "--spec", "config/experiments/ablation/ladder-tiny.yaml", "--train", "--out", out]
    r = run(cmd + [x for s in settings for x in ("--set", s)], env=trainer_env(), timeout=1200)
    doc = json.loads((out / "ladder.json").read_text())
    names = ["base", "sft-pile-ner-raw", "sft-ner-cot-no-cot", "sft-ner-cot", "grpo"]
    assert [row["name"] for row in doc["rows"]] == names
    assert all(row["f1"] is not None and row["result"] for row in doc["rows"])
    assert [row["reported"] for row in doc["rows"]] == [31.9, 40.3, 60.6, 63.0, 65.1]
    assert (out / "ladder.png").read_bytes()[:4] == b"\x89PNG" and "| 5 | + GRPO | 65.1 |" in r.stdout
    raw = [json.loads(x) for x in (out / "data" / "pile_ner_raw.jsonl").read_text().splitlines()]
    assert len(raw) == 16 and all("cot" not in x for x in raw)  # raw UniNER conversations, no reasoning
    assert json.loads((out / "grpo" / "reasoning_ner_prompt.json").read_text())["written_by"] == "grpo.py"
    # running it again trains nothing (the models exist) and only rescores
    r = run(cmd + [x for s in settings for x in ("--set", s)], env=trainer_env(), timeout=600)
    assert r.stdout.count("exists, not trained again") == 5
    # zero-shot on the in-domain list: the CoT-tuned model (row 4) on test sets it never saw
    lst = names_file(tmp_path / "in_domain.json", ["CrossNER_AI", "mit-movie"])
    rows, meta = evaluate(
        EXP / "zero_shot_20" / "eval-qwen3-8b.yaml", out / "sft-ner-cot", ner_data, lst, tmp_path / "zs" / "r.json"
    )
    assert [r["dataset"] for r in rows] == ["CrossNER_AI", "mit-movie", "Average"] and meta["protocol"] == "paper"


@pytest.mark.vllm
def test_supervised_records_get_reasoning_from_stage1_with_hints(vllm_server, ner_data, tmp_path):
    """The CoT route of the supervised setting: make_sft_data.py's records go to generate_cot.py --hint true as they
    are (the tiny model behind vLLM plays teacher and judge); the kept records are NER-CoT with `cot` for sft.py."""
    from reasoning_ner.data import read_ner_cot

    data = tmp_path / "train.jsonl"
    run(
        [PY, "make_sft_data.py", "--base_path", ner_data, "--datasets", "CrossNER_AI", "--count", "6", "--output", data]
    )
    out = tmp_path / "cot" / "train_cot.jsonl"
    cmd = [PY, "generate_cot.py", "--config", "config/cot/tiny-cpu.yaml", "--api_base", vllm_server, "--input", data]
    run(cmd + ["--input_format", "jsonl", "--hint", "true", "--output", out], timeout=600)
    ledger = [json.loads(x) for x in out.with_name(out.name + ".records.jsonl").read_text().splitlines()]
    assert len(ledger) == 6 and all(rec["agreement_f1"] is not None for rec in ledger)  # the gold annotation was read
    report = json.loads(out.with_suffix(".report.json").read_text())
    assert report["settings"]["hint"] is True
    kept = read_ner_cot(out)
    assert all(ex.cot for ex in kept) and {ex.id for ex in kept} <= {rec["id"] for rec in ledger}
