"""Zero-shot evaluation on InstructUIE test sets: generate with a model (optional), then score.

Score saved completions (no model needed):

    python evaluate.py --predictions_file preds.jsonl --base_path ../shared/ner-data \\
        --dataset_config config/dataset/cross_ner.json --result_file results.json [--protocol paper]

Generate, then score — with the vLLM offline engine (the paper's setup), any OpenAI-compatible endpoint, or transformers:

    python evaluate.py --model outputs/grpo/qwen3-8b --backend vllm --result_file outputs/eval/8b/result.json
    OPENAI_API_KEY=... python evaluate.py --backend openai --api_base https://api.deepseek.com/v1 \\
        --model deepseek-chat --concurrency 32 --result_file outputs/eval/deepseek/result.json
    python evaluate.py --model outputs/demo/sft --backend hf --limit 20 --result_file outputs/eval/cpu/result.json

Generations are appended to the predictions file (default: `predictions.jsonl` beside the result file) in example
order as they finish, one `{"dataset", "index", "completion", "reasoning_content"?, "completion_tokens",
"latency_s"}` line each. Run the same command after an interruption and only the missing examples are generated.

Prompts: the prompt spec recorded in the model's directory by `sft.py`/`grpo.py` (template, schema order, source
line) unless `--prompt_template` (a template file, or the directory of a model whose recorded spec to use),
`--schema_order` or `--add_source` say otherwise; without either, the project's template with types sorted.
Decoding defaults are the paper's: greedy, 4096 new tokens, stop at the chat template's end-of-turn token.

Outputs beside `--result_file`: the JSON (`{"meta": {...}, "rows": [...]}`: the run's settings, prompt template path
and hash, schema order, a fingerprint of the scored sentences, the bootstrap settings; per dataset P/R/F1 with 95%
bootstrap intervals over sentences (`--bootstrap N`, default 1000, `--bootstrap_seed`; the Average row's F1 interval
too), counts, the error taxonomy (`errors`, per type, `confusion`), per-type scores, parse statuses, mean completion
tokens and latency, reasoning cost), `<result>.md` (the tables, the paper's Table 1 rows beside this run, errors,
reasoning cost, per-type scores), `<result>.html` (the error browser, with each dataset's type confusion;
`--html false`: none), and with `--plot` (default; `--plot false`: no PNG) `<result>_f1.png` (per-dataset F1 bars with
the paper's rows), `<result>_errors.png` (error classes per dataset) and `<result>_cost.png` (reasoning cost, when
token counts are known: a tokenizer or the lines' `completion_tokens`). `--plot_confusion true` adds one
type-confusion PNG per dataset, `<result>_confusion/<dataset>.png` — the slowest figures (~0.2 s each, numbers in
every cell), so they are not drawn by default. The figures are drawn by a child process (`reasoning_ner.figures`) that
imports matplotlib while this one scores and draws each figure as soon as its numbers are known; on a single CPU, and
for what a failed child left undrawn, this process draws them itself, after writing the other files. Re-scoring the
seven test sets with every default report: 0.89–0.98 s against 1.31–1.50 s drawn in one process, JSON and Markdown
alone 0.42–0.47 s, side by side on a 2-core machine (BENCHMARKS.md, "Whole processes"). Protocols: `paper`
reproduces the reference implementation; `default` adds the alias map, keeps and reports gold types missing from
labels.json, and parses leniently (README, "Evaluation" and "Reading a result"). Compare runs with
`python -m reasoning_ner.compare A/result.json B/result.json --out DIR`.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

from reasoning_ner.chat_client import APIError
from reasoning_ner.data import DataError, load_dataset_config
from reasoning_ner.figures import start_figures
from reasoning_ner.generation import GenerationArguments
from reasoning_ner.paths import CONFIG_DIR, ner_data_dir
from reasoning_ner.reports import figure_jobs, load_reference, markdown_table, usage_stats, write_reports
from reasoning_ner.resumable import LockedError
from reasoning_ner.scoring import (
    count_dataset,
    data_fingerprint,
    get_protocol,
    load_prediction_records,
    load_splits,
    result_rows,
)


@dataclass
class EvalArguments:
    predictions_file: str | None = field(
        default=None,
        metadata={"help": "JSONL of {dataset, index, completion}; default with --model: next to result_file."},
    )
    base_path: str = field(default=str(ner_data_dir()), metadata={"help": "Folder of InstructUIE datasets."})
    dataset_config: str = field(default=str(CONFIG_DIR / "dataset" / "cross_ner.json"))
    result_file: str = field(default="outputs/eval/result.json")
    protocol: str = field(default="default", metadata={"help": "default or paper."})
    split: str = field(default="test")
    limit: int | None = field(default=None, metadata={"help": "Only the first N examples of each dataset."})
    alias_file: str | None = field(default=None, metadata={"help": "Alias map (default protocol)."})
    keep_uninformative: bool = field(
        default=False, metadata={"help": "Default protocol: keep misc/else/... gold types."}
    )
    prompt_template: str | None = field(
        default=None, metadata={"help": "Template file, or a model dir with a recorded prompt (default: the model's)."}
    )
    schema_order: str | None = field(
        default=None, metadata={"help": "sorted | given (default: the model's, else sorted)."}
    )
    add_source: bool | None = field(default=None, metadata={"help": "Name the source dataset in the prompt."})
    reference_file: str | None = field(
        default=None, metadata={"help": "Published rows to show beside the result (default: the paper's Table 1)."}
    )
    plot: bool = field(
        default=True,
        metadata={"help": "Write the PNG plots: F1, error classes, reasoning cost (when token counts are known)."},
    )
    plot_confusion: bool = field(
        default=False,
        metadata={
            "help": "With --plot, also one type-confusion PNG per dataset (<result>_confusion/<dataset>.png; ~0.2 s "
            "each). The matrices are in result.html and, as counts, in result.json either way."
        },
    )
    bootstrap: int = field(
        default=1000, metadata={"help": "Bootstrap samples for the 95%% intervals of P/R/F1 (0: no intervals)."}
    )
    bootstrap_seed: int = field(default=0, metadata={"help": "Seed of the bootstrap."})
    tokenizer: str | None = field(
        default=None,
        metadata={
            "help": "Local tokenizer dir for reasoning/answer token counts (default: --model for hf/vllm; else the "
            "server's completion_tokens split by character share)."
        },
    )
    html: bool = field(
        default=True, metadata={"help": "Write the HTML error browser (<result>.html; with the type confusion tables)."}
    )
    html_max_reasoning_chars: int = field(
        default=2000, metadata={"help": "Reasoning/answer characters kept per sentence in the HTML browser."}
    )


def main(args: EvalArguments, gen: GenerationArguments | None = None) -> int:
    gen = gen or GenerationArguments()
    with contextlib.ExitStack() as stack:  # stops the figure worker on every way out
        return _main(args, gen, stack)


def _main(args: EvalArguments, gen: GenerationArguments, stack: contextlib.ExitStack) -> int:
    pred_file = None
    figures = None
    try:
        # The figures need only each dataset's F1, error counts and token costs. A child process (the figure worker,
        # reasoning_ner.figures; on a single CPU, none: the figures are drawn here) imports matplotlib while this one
        # reads and scores, and draws each figure as soon as its numbers are known, while this one goes on with the
        # taxonomy, the intervals, the browser and the files. Re-scoring starts it first of all; with --model, after
        # generation (see below).
        if args.plot and not gen.model:
            figures = stack.enter_context(start_figures())
        names = load_dataset_config(args.dataset_config)
        if args.protocol == "paper":
            protocol = get_protocol("paper")
        else:
            protocol = get_protocol(args.protocol, args.alias_file, not args.keep_uninformative)
        pred_file = Path(args.predictions_file) if args.predictions_file else None
        splits = load_splits(args.base_path, names, args.split, args.limit)  # a missing folder fails before any model
        prompt = None
        if gen.model:
            from reasoning_ner.generation import generate_to_file, generation_items
            from reasoning_ner.labels import LabelPolicy
            from reasoning_ner.prompts import resolve_prompt

            local = gen.model if gen.backend != "openai" else None
            prompt = resolve_prompt(args.prompt_template, args.schema_order, args.add_source, local)
            pred_file = pred_file or Path(args.result_file).with_name("predictions.jsonl")
            items = generation_items(splits, LabelPolicy.default(), prompt)
            # the backend (a model load, a server check) is built only once the predictions file is locked and only
            # if something is missing: a second run on the same file stops at once, a finished one loads nothing
            generate_to_file(gen.make_backend, items, pred_file, gen.decoding())
        if pred_file is None:
            print("error: give --predictions_file (saved completions) or --model (generate)", file=sys.stderr)
            return 2
        if args.plot and figures is None:  # after generation, so that its engine's processes do not inherit the pipes
            figures = stack.enter_context(start_figures())
        records = load_prediction_records(pred_file, splits, limited=args.limit is not None)
        scores = [count_dataset(s, [r["completion"] for r in records[s.name]], protocol) for s in splits]
        usage = usage_stats(records)
        tok_path = args.tokenizer or (gen.model if gen.model and gen.backend != "openai" else None)
        costs, tokens, source = reasoning_costs(splits, scores, records, tok_path)

        def rows_with(bootstrap: int = 0) -> list[dict]:
            rows = result_rows(scores, bootstrap, args.bootstrap_seed)
            for r in rows:
                r.update(usage.get(r["dataset"], {}))
                if r["dataset"] in costs:
                    r["reasoning_cost"] = costs[r["dataset"]]
            return rows

        def draw_what_is_known() -> None:
            if figures is not None:
                figures.submit(figure_jobs(rows_with(), args.result_file, reference, to_plot, args.plot_confusion))

        reference, to_plot, _ = load_reference(args.reference_file)
        draw_what_is_known()  # after the counting pass: the F1 bars, the reasoning cost
        for score, split in zip(scores, splits, strict=True):
            score.classify(split, details=args.html)  # the error taxonomy (with --html, every mention located)
        draw_what_is_known()  # the error classes (with --plot_confusion, the confusion matrices)
        rows = rows_with(args.bootstrap)
        meta = {
            "predictions": str(pred_file),
            "protocol": protocol.name,
            "base_path": str(args.base_path),
            "datasets": names,
            "split": args.split,
        }
        if protocol.name == "default":
            meta.update(alias_file=args.alias_file, keep_uninformative=args.keep_uninformative)
        meta["data_fingerprint"] = data_fingerprint(splits)
        if args.bootstrap > 0:
            meta["bootstrap"] = {"samples": args.bootstrap, "seed": args.bootstrap_seed, "confidence": 0.95}
        meta["token_counts"] = f"tokenizer {tok_path}" if source == "tokenizer" else source
        if gen.model:
            meta.update(model=gen.model, backend=gen.backend, max_new_tokens=gen.max_new_tokens)
            meta.update(temperature=gen.temperature, prompt=prompt.record())
        if args.limit:
            meta["limit"] = args.limit
        browser = None
        if args.html:
            from reasoning_ner.html_report import build_data

            browser = build_data(
                rows,
                {s.name: [ex.sentence for ex in s.examples] for s in splits},
                {s.dataset: s.outcomes for s in scores},
                records,
                {s.dataset: s.statuses for s in scores},
                {k: [t[0] if t else None for t in v] for k, v in tokens.items()},
                meta,
                args.html_max_reasoning_chars,
            )
        paths = write_reports(
            rows, args.result_file, args.reference_file, meta, args.plot, browser, args.plot_confusion, figures
        )
    except (DataError, ValueError, APIError, LockedError) as e:
        hint = ""
        if isinstance(e, APIError) and pred_file is not None and pred_file.exists():
            hint = f" (the examples already generated are kept in {pred_file}: run the same command again to resume)"
        print(f"error: {e}{hint}", file=sys.stderr)
        return 2
    print(markdown_table(rows))
    for s in scores:
        if s.unknown_gold_types:
            print(f"note: {s.dataset}: gold types not in labels.json were kept: {dict(s.unknown_gold_types)}")
    n = sum(s.n_examples for s in scores)
    parsed = n - sum(s.n_unparsed for s in scores)
    print(f"parsed answers: {parsed}/{n} ({100 * parsed / max(1, n):.1f}%); protocol: {protocol.name}")
    errors = sum(r.get("n_request_errors", 0) for r in rows)
    if errors:
        print(f"requests refused by the endpoint (scored as empty predictions): {errors}")
    print(f"predictions: {pred_file}")
    print("reports: " + ", ".join(str(p) for p in paths.values()))
    return 0


def reasoning_costs(splits, scores, records, tokenizer_path):
    """Per dataset the `reasoning_cost` dict of `reasoning_ner.cost`, per dataset the (reasoning, answer) token counts
    of each example, and where the counts come from."""
    from reasoning_ner.cost import dataset_cost, load_tokenizer, token_counts

    tokenizer = load_tokenizer(tokenizer_path)
    costs, tokens, sources = {}, {}, set()
    for split, score in zip(splits, scores, strict=True):
        recs = records[split.name]
        toks, src = token_counts(recs, tokenizer)
        tokens[split.name] = toks
        sources.add(src)
        costs[split.name] = dataset_cost(recs, score.sentence_counts, toks, src)
    known = sorted(s for s in sources if s)
    return costs, tokens, (known[0] if len(known) == 1 else ", ".join(known) or None)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from reasoning_ner.arguments import DataclassParser

    eval_args, gen_args = DataclassParser((EvalArguments, GenerationArguments)).parse_args_and_config()
    if not gen_args.model:
        # re-scoring saved completions: a short process that builds millions of small objects (entities, pairs,
        # outcomes, the browser's data) and no garbage worth collecting before it exits; the cyclic collector's
        # repeated passes over them were ~10 % of its time (issue 16). Generation keeps the collector.
        gc.disable()
    code = main(eval_args, gen_args)
    gc.freeze()  # else the interpreter's exit collects once more over every object still alive: ~0.2 s of nothing
    sys.exit(code)
