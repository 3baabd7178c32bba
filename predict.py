"""Extract entities of your own types from your own text, with character offsets.

    python predict.py --model outputs/grpo/qwen3-8b --labels "person,organization,location" \\
        --text "Ada Lovelace worked with Charles Babbage in London."
    python predict.py --model M --input texts.jsonl --output entities.jsonl [--return_reasoning]
    python predict.py --backend openai --api_base http://127.0.0.1:8000/v1 --model served-name --labels ... --text ...

`--input` is JSONL with one `{"text": ..., "labels": [...] | "a,b", "id"?: ...}` per line (`labels` may be left out
when `--labels` is given). Each output line is `{"id", "text", "entities": [{"type", "mention", "spans": [[start,
end], ...], "match": "exact"|"fuzzy"|"unaligned", "aligned", "in_schema"}], "parse_status", "windows"}` plus
`"reasoning"` with `--return_reasoning`; spans index the original text (every occurrence; see
`reasoning_ner/predict.py` for the alignment rules). Texts longer than `--window_chars` are split at sentence ends.

With `--output`, raw generations go to `<output>.generations.jsonl` as they finish, so an interrupted run started
again only generates what is missing; the output file is then written from them, and `<output>.meta.json` records the
model, decoding and prompt settings (template path and hash, schema order). The prompt is the one recorded in the
model's directory unless `--prompt_template` / `--schema_order` say otherwise. Backends and decoding flags are the
same as evaluate.py's (`--backend vllm|openai|hf`, ...).
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from reasoning_ner.chat_client import APIError
from reasoning_ner.data import DataError
from reasoning_ner.generation import GenerationArguments, Item, generate_to_file
from reasoning_ner.labels import LabelPolicy
from reasoning_ner.prediction import WindowOutput, assemble, read_inputs, split_windows
from reasoning_ner.prompts import resolve_prompt
from reasoning_ner.resumable import LockedError


@dataclass
class PredictArguments:
    labels: str | None = field(default=None, metadata={"help": "Comma-separated entity types."})
    text: str | None = field(default=None, metadata={"help": "One text to tag."})
    input: str | None = field(default=None, metadata={"help": "JSONL of {text, labels?, id?} (or --input_format)."})
    input_format: str = field(
        default="text", metadata={"help": "text (JSONL), or any reader of reasoning_ner.formats: instructuie, ..."}
    )
    split: str = field(default="test", metadata={"help": "instructuie input: which split."})
    output: str | None = field(default=None, metadata={"help": "Output JSONL (default: stdout)."})
    window_chars: int = field(default=2000, metadata={"help": "Longest text prompted at once, in characters."})
    return_reasoning: bool = field(default=False, metadata={"help": "Add the model's reasoning to each output."})
    prompt_template: str | None = field(
        default=None, metadata={"help": "Template file, or a model dir with a recorded prompt (default: the model's)."}
    )
    schema_order: str | None = field(
        default=None, metadata={"help": "sorted | given (default: the model's, else sorted)."}
    )


def main(args: PredictArguments, gen: GenerationArguments) -> int:
    try:
        records = read_inputs(args.text, args.labels, args.input, args.input_format, args.split)
        policy = LabelPolicy.default()
        prompt = resolve_prompt(
            args.prompt_template, args.schema_order, None, gen.model if gen.backend != "openai" else None
        )
        items, windows = [], []  # windows[k] = (record number, offset, window text)
        for r, rec in enumerate(records):
            # the user's labels, each normalised as in training (lower-case, alias map); none dropped
            schema = list(dict.fromkeys(policy.canonical(lab) for lab in rec["labels"]))
            for offset, chunk in split_windows(rec["text"], args.window_chars):
                items.append(Item("predict", len(windows), prompt.messages(chunk, schema)))
                windows.append((r, offset, chunk))
        tmp = None
        if args.output:
            raw = Path(args.output + ".generations.jsonl")
        else:
            tmp = tempfile.TemporaryDirectory()
            raw = Path(tmp.name) / "generations.jsonl"
        generate_to_file(gen.make_backend, items, raw, gen.decoding())
    except (DataError, ValueError, APIError, LockedError) as e:
        hint = ""
        if isinstance(e, APIError) and args.output and Path(args.output + ".generations.jsonl").exists():
            kept = f"{args.output}.generations.jsonl"
            hint = f" (finished windows are kept in {kept}: run the same command again to resume)"
        print(f"error: {e}{hint}", file=sys.stderr)
        return 2
    done = {}
    with raw.open(encoding="utf-8") as f:
        for line in f:
            g = json.loads(line)
            done[g["index"]] = g
    per_record: list[list[WindowOutput]] = [[] for _ in records]
    for k, (r, offset, chunk) in enumerate(windows):
        g = done[k]
        per_record[r].append(WindowOutput(offset, chunk, g["completion"], g.get("reasoning_content")))
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    try:
        for rec, outs in zip(records, per_record, strict=True):
            res = assemble(rec["text"], rec["labels"], outs)
            line = {"id": rec["id"], "text": rec["text"], "entities": res["entities"]}
            line.update(parse_status=res["parse_status"], windows=res["windows"])
            if args.return_reasoning:
                line["reasoning"] = "\n\n".join(res["reasoning"])
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    finally:
        if args.output:
            out.close()
        if tmp is not None:
            tmp.cleanup()
    if args.output:
        meta = {"model": gen.model, "backend": gen.backend, "max_new_tokens": gen.max_new_tokens}
        meta |= {"temperature": gen.temperature, "prompt": prompt.record(), "window_chars": args.window_chars}
        Path(args.output + ".meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        print(
            f"{len(records)} texts, {len(windows)} windows -> {args.output} (settings: {args.output}.meta.json)",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    from reasoning_ner.arguments import run_cli

    run_cli((PredictArguments, GenerationArguments), main, logging.WARNING)
