"""LoRA adapters (`--use_peft`): recognise them, and merge them into full weights for the stages that need those.

`sft.py`/`grpo.py` with `--use_peft` write an adapter (`adapter_config.json` + `adapter_model.safetensors`), not a
model. The next training stage, the vLLM server and evaluation load full weights, so each of them calls
`require_full_model`, which stops with the command to run:

    python -m reasoning_ner.lora merge ADAPTER_DIR OUTPUT_DIR

`merge` loads the base model named in the adapter's config, applies the adapter, merges it into the weights
(`merge_and_unload`), and saves the full model, the tokenizer, the generation config and the recorded prompt spec
of the adapter's directory to OUTPUT_DIR.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

ADAPTER_CONFIG = "adapter_config.json"


def is_adapter_dir(path: str | Path) -> bool:
    p = Path(path)
    return p.is_dir() and (p / ADAPTER_CONFIG).is_file() and not (p / "config.json").is_file()


def require_full_model(path: str | Path | None, needed_by: str) -> None:
    """Raise SystemExit with the merge command when `path` is a LoRA adapter directory."""
    if path is not None and is_adapter_dir(path):
        raise SystemExit(
            f"error: {path} is a LoRA adapter, but {needed_by} needs full weights. Merge it first:\n"
            f"    python -m reasoning_ner.lora merge {path} {str(path).rstrip('/')}-merged\n"
            f"and use {str(path).rstrip('/')}-merged instead."
        )


def merge(adapter_dir: str | Path, output_dir: str | Path, dtype: str = "auto") -> Path:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    adapter_dir, output_dir = Path(adapter_dir), Path(output_dir)
    if not is_adapter_dir(adapter_dir):
        raise SystemExit(f"error: {adapter_dir} is not a LoRA adapter directory (no {ADAPTER_CONFIG})")
    base = json.loads((adapter_dir / ADAPTER_CONFIG).read_text())["base_model_name_or_path"]
    model = AutoModelForCausalLM.from_pretrained(base, dtype=dtype)
    model = PeftModel.from_pretrained(model, adapter_dir).merge_and_unload()
    tok_src = adapter_dir if (adapter_dir / "tokenizer_config.json").exists() else base
    tokenizer = AutoTokenizer.from_pretrained(tok_src)
    if (adapter_dir / "generation_config.json").exists():
        model.generation_config = GenerationConfig.from_pretrained(adapter_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    from .prompts import RECORD_FILE, TEMPLATE_FILE

    for name in (RECORD_FILE, TEMPLATE_FILE):
        if (adapter_dir / name).exists():
            shutil.copy(adapter_dir / name, output_dir / name)
    return output_dir


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m reasoning_ner.lora", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("merge", help="merge a LoRA adapter into full weights")
    m.add_argument("adapter_dir")
    m.add_argument("output_dir")
    m.add_argument("--dtype", default="auto")
    a = p.parse_args(argv)
    out = merge(a.adapter_dir, a.output_dir, a.dtype)
    print(f"merged model written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
