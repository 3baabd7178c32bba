"""Benchmark: scoring saved completions on the seven zero-shot test sets.

    python bench/bench_scoring.py [--repeats N] [--out FILE] [--base_path DIR] [--keep_preds FILE] [--seed S]

Builds, once and deterministically, a realistic predictions JSONL for every test example of the datasets in
`config/dataset/cross_ner.json` (real data: `reasoning_ner.paths.ner_data_dir()`): a `<think>` block of about 400
characters, then the JSON answer derived from the gold answer with perturbations — about 15% of the mentions dropped,
10% given a wrong type, 10% spurious mentions added, 3% of the completions unparsable (truncated JSON or no answer).
Then times `reasoning_ner.scoring.score_predictions(base, names, preds_file, protocol)` — reading the test sets,
reading the predictions, parsing and scoring, end to end — for the `default` and `paper` protocols: one warm-up, then
N timed repeats; reports the median and the minimum, examples/s, and the target (<= 0.25 s for the seven sets). A
per-stage breakdown (read test sets / read predictions / parse + score) of the median is reported too.

Prints a Markdown table; writes a JSON report (`--out`, default `outputs/bench/scoring.json`) with the machine (platform,
CPU model, nproc, Python), the date and the command. Standard library and the project only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, command_line, machine_info, perturb_answer, save_report

from reasoning_ner.data import Example, load_dataset_config
from reasoning_ner.paths import CONFIG_DIR, ner_data_dir
from reasoning_ner.prompts import render_answer
from reasoning_ner.scoring import (
    average_row,
    get_protocol,
    gold_answer,
    load_predictions,
    load_splits,
    normalize_mention,
    score_dataset,
    score_predictions,
)

TARGET_S = 0.25
PROTOCOLS = ("default", "paper")
P_DROP, P_WRONG_TYPE, P_SPURIOUS, P_UNPARSABLE = 0.15, 0.10, 0.10, 0.03
THINK_CHARS = 400

_FILLER = (
    "Each candidate span is checked against the schema definitions.",
    "Generic nouns are not named entities, so they are not extracted.",
    "Boundaries follow the surface form in the sentence, without extra words.",
    "Abbreviations keep the type of the entity they stand for.",
    "A span nested inside a longer name is not extracted on its own.",
    "Dates and numbers are only entities when the schema has a type for them.",
)


# ----------------------------------------------------------------------------------------------------------------------
# Synthetic predictions


def think_block(ex: Example, answer: dict[str, list[str]], rng: random.Random) -> str:
    """About THINK_CHARS characters of plausible reasoning about the sentence."""
    parts = [f'The sentence is: "{ex.sentence[:120]}". The schema asks for {", ".join(ex.schema[:6])}.']
    for typ, mentions in answer.items():
        for m in mentions[:3]:
            parts.append(f'"{m}" looks like a {typ} given its context.')
    text = " ".join(parts)
    while len(text) < THINK_CHARS:
        text += " " + rng.choice(_FILLER)
    return text[: THINK_CHARS + rng.randrange(-40, 41)].strip()


def completion_for(ex: Example, labels: list[str], protocol, rng: random.Random) -> str:
    gold = gold_answer(ex, labels, protocol)
    pred = perturb_answer(gold, ex.sentence, labels, rng, P_DROP, P_WRONG_TYPE, P_SPURIOUS)
    think = f"<think>\n{think_block(ex, pred, rng)}\n</think>\n"
    answer = render_answer(pred)
    if rng.random() < P_UNPARSABLE:
        if rng.random() < 0.5:  # cut off mid-answer (max_new_tokens)
            return think + answer[: max(1, len(answer) // 2)]
        return think.replace("</think>\n", "") + " and so the answer"  # stopped while thinking
    return think + answer


def build_predictions(base: Path, names: list[str], path: Path, seed: int, usage: bool = False) -> int:
    """Write the predictions file; returns its number of lines. With `usage`, each line also has what evaluate.py's
    generation records beside a completion: `completion_tokens` (here about one token per 4 characters) and
    `latency_s` (20 ms a token) — derived from the completion, so the completions are the same either way."""
    rng = random.Random(seed)
    proto = get_protocol("default")
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for split in load_splits(base, names):
            for i, ex in enumerate(split.examples):
                rec = {"dataset": split.name, "index": i, "completion": completion_for(ex, split.labels, proto, rng)}
                if usage:
                    tokens = max(1, round(len(rec["completion"]) / 4))
                    rec |= {"completion_tokens": tokens, "latency_s": round(0.02 * tokens, 3)}
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                n += 1
    return n


# ----------------------------------------------------------------------------------------------------------------------
# Timing


def timed(fn, repeats: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        normalize_mention.cache_clear()  # every repeat starts cold, as a fresh `evaluate.py` process does
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def stage_times(base: Path, names: list[str], preds: Path, protocol: str, repeats: int) -> dict[str, float]:
    """Median seconds of each stage of score_predictions (protocol object built once, outside)."""
    proto = get_protocol(protocol)
    splits = load_splits(base, names)
    by_name = load_predictions(preds, splits)
    stages = {
        "protocol": lambda: get_protocol(protocol),
        "read_test_sets": lambda: load_splits(base, names),
        "read_predictions": lambda: load_predictions(preds, splits),
        "parse_and_score": lambda: [score_dataset(s, by_name[s.name], proto) for s in splits],
    }
    return {k: statistics.median(timed(fn, max(3, repeats // 2))) for k, fn in stages.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=7, help="timed repeats after one warm-up (default 7)")
    ap.add_argument("--out", default=str(ROOT / "outputs" / "bench" / "scoring.json"), help="JSON report")
    ap.add_argument("--base_path", default=str(ner_data_dir()), help="InstructUIE datasets folder")
    ap.add_argument("--dataset_config", default=str(CONFIG_DIR / "dataset" / "cross_ner.json"))
    ap.add_argument("--keep_preds", default=None, help="also keep the synthetic predictions JSONL here")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")

    # read_instructuie warns (once per read) about gold types missing from labels.json; keep the output readable
    logging.getLogger("reasoning_ner").setLevel(logging.ERROR)
    base = Path(args.base_path)
    names = load_dataset_config(args.dataset_config)
    missing = [n for n in names if not (base / n / "test.json").is_file()]
    if missing:
        print(f"error: test sets not found under {base}: {missing} (set REASONING_NER_DATA)", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory() as tmp:
        preds = Path(args.keep_preds) if args.keep_preds else Path(tmp) / "predictions.jsonl"
        preds.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        n_examples = build_predictions(base, names, preds, args.seed)
        build_s = time.perf_counter() - t0
        preds_bytes = preds.stat().st_size

        results = []
        for protocol in PROTOCOLS:
            scores = score_predictions(base, names, preds, protocol)  # also checks the file is complete
            times = timed(lambda p=protocol: score_predictions(base, names, preds, p), args.repeats)
            med, best = statistics.median(times), min(times)
            n_unparsed = sum(s.n_unparsed for s in scores)
            results.append(
                {
                    "protocol": protocol,
                    "n_examples": n_examples,
                    "median_s": round(med, 4),
                    "min_s": round(best, 4),
                    "times_s": [round(t, 4) for t in times],
                    "examples_per_s_median": round(n_examples / med, 1),
                    "target_s": TARGET_S,
                    "meets_target": med <= TARGET_S,
                    "stages_median_s": {
                        k: round(v, 4) for k, v in stage_times(base, names, preds, protocol, args.repeats).items()
                    },
                    "average_f1": average_row(scores)["f1"],
                    "unparsed": n_unparsed,
                }
            )

    lines = [
        f"Scoring {n_examples} test examples of {len(names)} datasets ({preds_bytes / 1e6:.1f} MB of predictions), "
        f"{args.repeats} repeats after 1 warm-up; target <= {TARGET_S} s",
        "",
        "| protocol | median s | min s | examples/s | target | read test sets | read preds | parse+score | avg F1 | unparsed |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        st = r["stages_median_s"]
        ok = "meets" if r["meets_target"] else f"**misses** ({r['median_s'] / TARGET_S:.1f}x)"
        lines.append(
            f"| {r['protocol']} | {r['median_s']:.3f} | {r['min_s']:.3f} | {r['examples_per_s_median']:.0f} | "
            f"<= {TARGET_S} s: {ok} | {st['read_test_sets']:.3f} | {st['read_predictions']:.3f} | "
            f"{st['parse_and_score']:.3f} | {r['average_f1']:.2f} | {r['unparsed']} |"
        )
    info = machine_info()
    lines += ["", f"machine: {info['cpu_model']} ({info['nproc']} CPUs), Python {info['python']}, {info['platform']}"]
    print("\n".join(lines))

    report = {
        "benchmark": "scoring",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": command_line(),
        "machine": info,
        "config": {
            "base_path": str(base),
            "datasets": names,
            "repeats": args.repeats,
            "warmup": 1,
            "seed": args.seed,
            "perturbations": {
                "drop": P_DROP,
                "wrong_type": P_WRONG_TYPE,
                "spurious": P_SPURIOUS,
                "unparsable": P_UNPARSABLE,
                "think_chars": THINK_CHARS,
            },
            "predictions_bytes": preds_bytes,
            "build_predictions_s": round(build_s, 3),
        },
        "target_s": TARGET_S,
        "results": results,
    }
    save_report(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
