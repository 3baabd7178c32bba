"""Build a tiny Qwen3-architecture model offline, in seconds: `python -m reasoning_ner.tiny OUTPUT_DIR`.

* Tokenizer: byte-level BPE trained with `tokenizers` on text bundled in the repo (`data/sample/corpus.txt` and the
  sample NER-CoT file), with Qwen3's special tokens (`<|endoftext|>`, `<|im_start|>`, `<|im_end|>`), the
  non-special added tokens `<think>` / `</think>`, and TRL's copy of the Qwen3 chat template.
* Model: `Qwen3ForCausalLM` from a small `Qwen3Config` (head_dim 32 so vLLM's CPU attention can serve it), randomly
  initialised with a fixed seed.
* Like Qwen3-*Base*, its tokenizer's EOS is `<|endoftext|>` while chat turns end with `<|im_end|>`: the SFT stage must
  (and does) train `<|im_end|>` and make it the generation EOS, exactly as for the real base models.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .paths import DATA_DIR

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# As in Qwen3's tokenizer, the reasoning tags are added tokens but not special ones: decoding with
# `skip_special_tokens=True` keeps them.
REASONING_TOKENS = ["<think>", "</think>"]
CORPUS_FILES = [DATA_DIR / "sample" / "corpus.txt", DATA_DIR / "sample" / "ner_cot.jsonl"]


def qwen3_chat_template() -> str:
    import trl

    return (Path(trl.__file__).parent / "chat_templates" / "qwen3.jinja").read_text(encoding="utf-8")


def _corpus_lines() -> list[str]:
    from .prompts import render_prompt

    lines: list[str] = []
    for path in CORPUS_FILES:
        if not path.exists():
            continue
        if path.suffix == ".jsonl":
            for line in path.read_text(encoding="utf-8").splitlines():
                rec = json.loads(line)
                lines.append(render_prompt(rec["sentence"], rec.get("schema") or []))
                lines.append(rec.get("cot") or "")
                lines.append(json.dumps({"entities": {}}, indent=2))
        else:
            lines.extend(path.read_text(encoding="utf-8").splitlines())
    if lines:
        lines.extend(["user assistant system"] * 50)
    if not lines:
        raise FileNotFoundError(f"no tokenizer corpus found (looked for {[str(p) for p in CORPUS_FILES]})")
    return lines


def build_tokenizer(vocab_size: int = 2048):
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS + REASONING_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus_lines(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=SPECIAL_TOKENS[1:],
        model_max_length=4096,
    )
    fast.add_tokens([AddedToken(t, special=False, normalized=False) for t in REASONING_TOKENS])
    fast.chat_template = qwen3_chat_template()
    return fast


def build_model(tokenizer, hidden_size: int = 128, layers: int = 2, seed: int = 0):
    import torch
    from transformers import GenerationConfig, Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(seed)
    config = Qwen3Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 3,
        num_hidden_layers=layers,
        num_attention_heads=hidden_size // 32,
        num_key_value_heads=max(1, hidden_size // 64),
        head_dim=32,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        pad_token_id=tokenizer.pad_token_id,
        dtype="float32",
    )
    model = Qwen3ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id, bos_token_id=None
    )
    return model


def build_tiny(output_dir: str | Path, hidden_size: int = 128, layers: int = 2, vocab_size: int = 2048) -> Path:
    output_dir = Path(output_dir)
    tokenizer = build_tokenizer(vocab_size)
    model = build_model(tokenizer, hidden_size, layers)
    output_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    return output_dir


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("output_dir")
    p.add_argument("--hidden_size", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--vocab_size", type=int, default=2048)
    a = p.parse_args(argv)
    out = build_tiny(a.output_dir, a.hidden_size, a.layers, a.vocab_size)
    n = sum(f.stat().st_size for f in out.iterdir())
    print(f"tiny Qwen3 written to {out} ({n / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
