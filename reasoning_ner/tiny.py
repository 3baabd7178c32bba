"""Build a tiny model offline, in seconds: `python -m reasoning_ner.tiny OUTPUT_DIR [--arch qwen3|llama]`.

* Tokenizer: byte-level BPE trained with `tokenizers` on text bundled in the repo (`data/sample/corpus.txt` and the
  sample NER-CoT file), with the architecture's special tokens and TRL's copy of its chat template:
  * `qwen3` (default): `<|endoftext|>`, `<|im_start|>`, `<|im_end|>`, the non-special added tokens `<think>` /
    `</think>`, the Qwen3 template. Like Qwen3-*Base*, its EOS is `<|endoftext|>` while chat turns end with
    `<|im_end|>`: the SFT stage must (and does) train `<|im_end|>` and make it the generation EOS.
  * `llama`: Llama 3 style: `<|begin_of_text|>` (BOS, written by the chat template *and* added by the tokenizer to
    plain text, as Llama 3's does), `<|end_of_text|>` (EOS), `<|start_header_id|>`, `<|end_header_id|>`, `<|eot_id|>`
    (end of turn), the Llama 3 template. No `<think>` tokens: the model learns the reasoning tags as ordinary text.
* Model: `Qwen3ForCausalLM` / `LlamaForCausalLM` from a small config (head_dim 32 so vLLM's CPU attention can serve
  it), randomly initialised with a fixed seed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .paths import DATA_DIR

ARCHS = ("qwen3", "llama")
SPECIAL_TOKENS = {
    "qwen3": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
    "llama": ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
}
EOS = {"qwen3": "<|endoftext|>", "llama": "<|end_of_text|>"}
# As in Qwen3's tokenizer, the reasoning tags are added tokens but not special ones: decoding with
# `skip_special_tokens=True` keeps them. The Llama tokenizer has none.
REASONING_TOKENS = {"qwen3": ["<think>", "</think>"], "llama": []}
TEMPLATE_FILES = {"qwen3": "qwen3.jinja", "llama": "llama3.jinja"}
CORPUS_FILES = [DATA_DIR / "sample" / "corpus.txt", DATA_DIR / "sample" / "ner_cot.jsonl"]


def chat_template(arch: str = "qwen3") -> str:
    """TRL's copy of the architecture's chat template (read from the installed TRL, not shipped here)."""
    import trl

    return (Path(trl.__file__).parent / "chat_templates" / TEMPLATE_FILES[arch]).read_text(encoding="utf-8")


def qwen3_chat_template() -> str:
    return chat_template("qwen3")


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


def build_tokenizer(vocab_size: int = 2048, arch: str = "qwen3"):
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; choose one of {ARCHS}")
    special = SPECIAL_TOKENS[arch]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special + REASONING_TOKENS[arch],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus_lines(), trainer=trainer)
    kwargs: dict = {"eos_token": EOS[arch], "model_max_length": 4096}
    if arch == "llama":
        bos = special[0]
        # Llama 3's tokenizer puts BOS before any text it encodes with special tokens on
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, tok.token_to_id(bos))]
        )
        kwargs |= {"bos_token": bos, "pad_token": EOS[arch]}
        kwargs["additional_special_tokens"] = [t for t in special if t not in (bos, EOS[arch])]
    else:
        kwargs |= {"pad_token": EOS[arch], "additional_special_tokens": special[1:]}
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **kwargs)
    if REASONING_TOKENS[arch]:
        fast.add_tokens([AddedToken(t, special=False, normalized=False) for t in REASONING_TOKENS[arch]])
    fast.chat_template = chat_template(arch)
    return fast


def build_model(tokenizer, hidden_size: int = 128, layers: int = 2, seed: int = 0, arch: str = "qwen3"):
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(seed)
    config_cls, model_cls = (Qwen3Config, Qwen3ForCausalLM) if arch == "qwen3" else (LlamaConfig, LlamaForCausalLM)
    bos = tokenizer.bos_token_id
    config = config_cls(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 3,
        num_hidden_layers=layers,
        num_attention_heads=hidden_size // 32,
        num_key_value_heads=max(1, hidden_size // 64),
        head_dim=32,
        max_position_embeddings=8192,  # room for the paper recipes' 2048 + 4096 budget in dry runs
        tie_word_embeddings=True,
        bos_token_id=bos,
        eos_token_id=tokenizer.convert_tokens_to_ids(EOS[arch]),
        pad_token_id=tokenizer.pad_token_id,
        dtype="float32",
    )
    model = model_cls(config)
    model.generation_config = GenerationConfig(
        eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id, bos_token_id=bos
    )
    return model


def build_tiny(
    output_dir: str | Path, hidden_size: int = 128, layers: int = 2, vocab_size: int = 2048, arch: str = "qwen3"
) -> Path:
    output_dir = Path(output_dir)
    tokenizer = build_tokenizer(vocab_size, arch)
    model = build_model(tokenizer, hidden_size, layers, arch=arch)
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
    p.add_argument("--arch", choices=ARCHS, default="qwen3")
    a = p.parse_args(argv)
    out = build_tiny(a.output_dir, a.hidden_size, a.layers, a.vocab_size, a.arch)
    n = sum(f.stat().st_size for f in out.iterdir())
    print(f"tiny {a.arch} written to {out} ({n / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
