"""Benchmark: GRPO reward throughput (completions/s of `f1_reward`, `schema_reward`, and both as GRPO calls them).

    python bench/bench_rewards.py [--repeats N] [--out FILE] [--prompts P] [--generations G] [--seed S]

Builds one GRPO-sized batch, deterministically: P prompts (default 16) drawn from the real CrossNER_AI test set
(`reasoning_ner.paths.ner_data_dir()`), turned into GRPO records exactly as `reasoning_ner.sampling.grpo_record` does
(gold `answer` JSON string, `schema` list), and G generations per prompt (default 16, so 256 completions) in TRL's
conversational format: a `<think>` block of about 1500 characters, then the JSON answer derived from the gold answer
with perturbations — about 15% of the mentions dropped, 10% wrong type, 10% spurious, 5% of the answers using a type
outside the schema, 15% of the answers in a ```json fence, 3% unparsable (truncated, or stopped while thinking).

Each reward is called the way TRL's GRPOTrainer calls it: `f(prompts=..., completions=..., completion_ids=...,
**dataset_columns)`; "f1 + schema" is the two calls in sequence, as in a GRPO step with `reward_funcs: [f1, schema]`.
One warm-up, then N timed repeats (default 50); reports the median and minimum seconds per batch and completions/s.

Prints a Markdown table; writes a JSON report (`--out`, default `outputs/bench/rewards.json`) with the machine (platform,
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
import time
from pathlib import Path

from _common import ROOT, command_line, machine_info, perturb_answer, save_report

from reasoning_ner.data import read_instructuie
from reasoning_ner.labels import LabelPolicy
from reasoning_ner.paths import ner_data_dir
from reasoning_ner.prompts import PromptSpec, render_answer
from reasoning_ner.rewards import f1_reward, schema_reward
from reasoning_ner.sampling import grpo_record

DATASET = "CrossNER_AI"
THINK_CHARS = 1500
P_DROP, P_WRONG_TYPE, P_SPURIOUS, P_OFF_SCHEMA, P_FENCE, P_UNPARSABLE = 0.15, 0.10, 0.10, 0.05, 0.15, 0.03
OFF_SCHEMA_TYPES = ("misc", "technology", "method", "concept")

_REASONING = (
    "Let me go through the sentence span by span and decide, for each candidate, whether it names a specific entity.",
    "The schema lists the allowed types, so every extracted mention must take one of them.",
    "Generic nouns such as 'model' or 'approach' are not named entities and are left out.",
    "Boundaries follow the surface form in the sentence exactly, without adding articles or trailing words.",
    "An acronym takes the type of the entity it abbreviates; here the context makes that clear.",
    "A name nested in a longer name is not extracted on its own when the longer span is the entity.",
    "Where a span could be either a product or an algorithm, the verb around it decides: it is run or applied.",
    "Conference names are usually followed by a year or preceded by 'at'; people are the subjects of verbs.",
    "Let me double-check the remaining tokens for entities I may have missed before writing the answer.",
)


# ----------------------------------------------------------------------------------------------------------------------
# Synthetic batch


def think_block(sentence: str, schema: list[str], answer: dict[str, list[str]], rng: random.Random) -> str:
    """About THINK_CHARS characters of reasoning about the sentence and the chosen mentions."""
    parts = [f'The sentence is: "{sentence[:300]}"', f"Allowed types: {', '.join(schema)}."]
    for typ, mentions in answer.items():
        for m in mentions:
            parts.append(f'"{m}" refers to a specific {typ} here, so it is extracted with type {typ}.')
    steps = list(_REASONING)
    rng.shuffle(steps)
    text = " ".join(parts)
    for s in steps:
        if len(text) >= THINK_CHARS:
            break
        text += " " + s
    while len(text) < THINK_CHARS:
        text += " " + rng.choice(_REASONING)
    return text[: THINK_CHARS + rng.randrange(-150, 151)].strip()


def perturbed_answer(gold: dict[str, list[str]], sentence: str, schema: list[str], rng: random.Random) -> dict:
    out = perturb_answer(gold, sentence, schema, rng, P_DROP, P_WRONG_TYPE, P_SPURIOUS)
    words = sentence.split()
    if rng.random() < P_OFF_SCHEMA and words:
        out.setdefault(rng.choice(OFF_SCHEMA_TYPES), []).append(rng.choice(words))
    return out


def completion_text(record: dict, rng: random.Random) -> str:
    gold = json.loads(record["answer"])["entities"]
    pred = perturbed_answer(gold, record["sentence"], record["schema"], rng)
    think = f"<think>\n{think_block(record['sentence'], record['schema'], pred, rng)}\n</think>\n\n"
    answer = render_answer(pred)
    if rng.random() < P_FENCE:
        answer = f"```json\n{answer}\n```"
    if rng.random() < P_UNPARSABLE:
        if rng.random() < 0.5:
            return think + answer[: max(1, len(answer) // 2)]  # cut off by max_completion_length
        return think[: len(think) // 2]  # stopped while thinking
    return think + answer


def build_batch(base: Path, n_prompts: int, n_generations: int, seed: int) -> tuple[dict, list[dict]]:
    """TRL-style reward kwargs for one batch (columns repeated per generation) and the records used."""
    rng = random.Random(seed)
    split = read_instructuie(base, DATASET, "test", warn=False)
    policy = LabelPolicy.default()
    schema = policy.schema(split.labels)
    examples = rng.sample(split.examples, n_prompts)
    prompt = PromptSpec.from_file()
    records = [grpo_record(ex, schema, policy, prompt) for ex in examples]
    prompts, completions, cols = [], [], {k: [] for k in ("answer", "schema", "dataset", "sentence", "id")}
    for rec in records:
        for _ in range(n_generations):
            prompts.append(rec["prompt"])
            completions.append([{"role": "assistant", "content": completion_text(rec, rng)}])
            for k in cols:
                cols[k].append(rec[k])
    kwargs = {"prompts": prompts, "completions": completions, "completion_ids": None, **cols}
    return kwargs, records


# ----------------------------------------------------------------------------------------------------------------------
# Timing


def timed(fn, repeats: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=50, help="timed repeats after one warm-up (default 50)")
    ap.add_argument("--out", default=str(ROOT / "outputs" / "bench" / "rewards.json"), help="JSON report")
    ap.add_argument("--base_path", default=str(ner_data_dir()), help="InstructUIE datasets folder")
    ap.add_argument("--prompts", type=int, default=16, help="prompts per batch (default 16)")
    ap.add_argument("--generations", type=int, default=16, help="generations per prompt (default 16)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.repeats < 1 or args.prompts < 1 or args.generations < 1:
        ap.error("--repeats, --prompts and --generations must be >= 1")

    logging.getLogger("reasoning_ner").setLevel(logging.ERROR)
    base = Path(args.base_path)
    if not (base / DATASET / "test.json").is_file():
        print(f"error: {base / DATASET / 'test.json'} not found (set REASONING_NER_DATA)", file=sys.stderr)
        return 2
    kwargs, _ = build_batch(base, args.prompts, args.generations, args.seed)
    n = len(kwargs["completions"])
    texts = [c[-1]["content"] for c in kwargs["completions"]]

    def both() -> None:
        f1_reward(**kwargs)
        schema_reward(**kwargs)

    cases = {
        "f1_reward": lambda: f1_reward(**kwargs),
        "schema_reward": lambda: schema_reward(**kwargs),
        "f1 + schema": both,
    }
    f1s, sch = f1_reward(**kwargs), schema_reward(**kwargs)
    results = []
    for name, fn in cases.items():
        times = timed(fn, args.repeats)
        med, best = statistics.median(times), min(times)
        results.append(
            {
                "reward": name,
                "batch": n,
                "median_s": round(med, 5),
                "min_s": round(best, 5),
                "completions_per_s_median": round(n / med, 1),
                "us_per_completion_median": round(1e6 * med / n, 1),
                "times_s": [round(t, 5) for t in times],
            }
        )

    batch_stats = {
        "completions": n,
        "mean_chars": round(statistics.mean(map(len, texts)), 1),
        "mean_think_chars": round(statistics.mean(len(t.split("</think>")[0]) for t in texts), 1),
        "mean_f1_reward": round(statistics.mean(f1s), 4),
        "mean_schema_reward": round(statistics.mean(sch), 4),
    }
    info = machine_info()
    lines = [
        f"Rewards on one GRPO batch: {args.prompts} prompts x {args.generations} generations = {n} completions "
        f"({DATASET} test, ~{batch_stats['mean_chars']:.0f} chars each); {args.repeats} repeats after 1 warm-up",
        "",
        "| reward | median s / batch | min s / batch | completions/s | µs / completion |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['reward']} | {r['median_s']:.4f} | {r['min_s']:.4f} | {r['completions_per_s_median']:.0f} | "
            f"{r['us_per_completion_median']:.1f} |"
        )
    lines += [
        "",
        f"batch: mean f1 reward {batch_stats['mean_f1_reward']:.3f}, mean schema reward "
        f"{batch_stats['mean_schema_reward']:.3f}",
        f"machine: {info['cpu_model']} ({info['nproc']} CPUs), Python {info['python']}, {info['platform']}",
    ]
    print("\n".join(lines))

    report = {
        "benchmark": "rewards",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": command_line(),
        "machine": info,
        "config": {
            "base_path": str(base),
            "dataset": DATASET,
            "prompts": args.prompts,
            "generations": args.generations,
            "repeats": args.repeats,
            "warmup": 1,
            "seed": args.seed,
            "format": "conversational",
            "perturbations": {
                "drop": P_DROP,
                "wrong_type": P_WRONG_TYPE,
                "spurious": P_SPURIOUS,
                "off_schema": P_OFF_SCHEMA,
                "fenced": P_FENCE,
                "unparsable": P_UNPARSABLE,
                "think_chars": THINK_CHARS,
            },
        },
        "batch": batch_stats,
        "results": results,
    }
    save_report(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
