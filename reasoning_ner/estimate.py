"""What a reproduction costs: GPU-hours, wall time, memory per GPU and price of an SFT or GRPO recipe, plus evaluation.

    python -m reasoning_ner.estimate --recipe config/sft/qwen3-8b.yaml --gpus 8 --gpu h100 \\
        [--model_config PATH] [--data FILE] [--tokenizer PATH] [--json] [assumption flags] [recipe overrides]

Recipe overrides are recipe keys as flags (`--per_device_train_batch_size 8`, `--num_train_epochs 3`, ...), applied to
the YAML the way `TrlParser` applies them to `sft.py` / `grpo.py`. Keys the recipe leaves out take TRL 1.16's defaults
(read from TRL's and the scripts' dataclasses, `stage_defaults`).

What is computed, and how:

* **Model.** From `config.json` (`--model_config`, else `model_name_or_path/config.json`, else the public config of a
  known Qwen3 size matched by name): N = the weights of every matmul — per layer q, k, v, o (hidden × heads·head_dim,
  hidden × kv_heads·head_dim twice, heads·head_dim × hidden) and gate, up, down (3 · hidden × intermediate) — plus the
  LM head (vocab × hidden, counted once when tied to the input embedding). Norms and the input embedding do no matmul.
  The total parameter count adds the input embedding, the untied head, the RMSNorm weights (2 · hidden per layer, the
  final norm, Qwen3's per-head q/k norms) and biases.
* **FLOPs per token** (`flops_per_token`, the one formula this project uses, imported by `bench/gpu/`): trained token
  6·N + 6·L·d·s̄, forward-only (generated or scored) token 2·N + 2·L·d·s̄, with L layers, d = heads × head_dim and s̄ the
  token-weighted mean sequence length Σsᵢ²/Σsᵢ (causal attention: QKᵀ and AV cost 2·2·s²·d/2 per layer forward).
  Padding and gradient-checkpointing recomputation are not counted: they are waste, which the MFU absorbs.
* **Tokens.** With `--data` and a tokenizer, measured: SFT rows go through `training.load_sft_dataset` (the prompt spec
  of the recipe) and the tokenizer's `apply_chat_template(prompt + completion)` — the sequences `SFTTrainer` trains —,
  then the recipe's `max_seq_length` / `overlong` policy; GRPO records go through `training.load_grpo_dataset` and
  `training.prompt_lengths`, and prompts over `max_prompt_length` are dropped. Without them, the number of examples and
  the mean tokens per example are ASSUMPTIONS (printed as such).
* **SFT time.** Optimizer steps = epochs × ⌈⌈examples / (per_device × GPUs)⌉ / grad_accum⌉ (the Trainer's count);
  trained tokens = epochs × Σ tokens; FLOPs = tokens × FLOPs/token; GPU-seconds = FLOPs / (MFU × peak).
* **GRPO time.** Generation batch = per_device × training GPUs × steps_per_generation (default grad_accum) completions
  = that / num_generations prompts per round; rounds = ⌊prompts / prompts per round⌋ × epochs (TRL's sampler drops the
  incomplete last one); optimizer steps = rounds × num_iterations × steps_per_generation / grad_accum. Per round:
  generation time = completion tokens / (generation tokens/s per GPU × generating GPUs); update time = FLOPs /
  (MFU × peak × training GPUs), with FLOPs per sequence token = num_iterations × (6N + 6Lds̄) + (2N + 2Lds̄) for the old
  log-probs when TRL computes them (grad_accum not a multiple of steps_per_generation × num_iterations, or vLLM
  importance sampling) + (2N + 2Lds̄) for the reference model when beta ≠ 0. TRL alternates generation and update
  (neither overlaps the other), so a round takes their sum and the larger one is the bottleneck; every GPU of the job
  (trainers and vLLM server) is billed for the whole wall time.
* **Generation tokens/s per GPU** (unless `--gen_tokens_per_s`): a decode roofline times an efficiency. One decode step
  of B concurrent sequences reads the bf16 weights (2 · total params bytes) and their KV caches
  (2 · L · kv_heads · head_dim · 2 bytes per token of context, mean context prompt + completion / 2): tokens/s =
  efficiency × B × memory bandwidth / bytes per step; B = the sequences sent at once (GRPO: the generation batch per
  generating GPU; evaluation: `evaluate.py`'s vLLM batch, 256), capped by the KV cache that fits in 90 % of the memory
  left by the weights (GRPO colocate: `vllm_gpu_memory_utilization` of it). The efficiency (default 0.25) stands for
  everything the roofline leaves out, above all the long tail of a round (it ends with its longest completion).
* **Evaluation.** The seven zero-shot test sets (6,467 examples) with `evaluate.py --backend vllm` on one GPU: completion
  tokens = examples × completion fraction × 4096 (the paper's `max_new_tokens`), at the generation rate above.
* **Memory per training GPU under ZeRO-3** (GB = 10⁹ bytes; P = total parameters, n = training GPUs): parameters
  2P/n (bf16) + gradients 2P/n (bf16) + AdamW 12P/n (fp32 master weights, first and second moments) + the GRPO
  reference model 2P/n when beta ≠ 0 + ZeRO-3's gathered working set 2 · 2 · max(one layer, vocab × hidden) bytes (the
  module in use and the prefetched one, bf16) + activations + the fused LM head of TRL 1.16 (a 4096 × 32768 bf16 tile,
  the fp32 LM-head weight gradient 4 · vocab · hidden, the fp32 hidden-state gradient 4 · hidden per token) + vLLM's
  share in colocate mode + a fixed overhead (CUDA context, NCCL buffers, allocator slack; assumed). Activations, bf16,
  T tokens in the micro-batch: a = 16h + 10·heads·head_dim + 10·kv_heads·head_dim + 8·I bytes per token per layer
  (what autograd keeps in HF's Qwen3 layer with flash attention: the two RMSNorms' fp32 inputs and bf16 outputs, q/k
  norm inputs in fp32, the attention's q, k, v and output, the MLP's gate, up, SiLU and product; within 2 % of the
  tensors autograd saves, measured on CPU), plus 8h for the final norm: without gradient checkpointing T · (L·a + 8h);
  with it (non-reentrant, per layer) T · (2h·L + a + 8h) — the layer inputs plus one layer recomputed in backward.
  T = micro-batch × sequence length: SFT padding-free, per_device × s̄ (typical) and per_device × the longest sequence
  (worst case); SFT padded, per_device × the mean longest of per_device sequences drawn from the data (typical);
  GRPO, per_device × (longest prompt + max_completion_length) (typical: one completion that runs to the budget pads its
  micro-batch to it) and per_device × (max_prompt_length + max_completion_length) (worst case). A WARNING line is
  printed when the typical total exceeds the GPU's memory (a note when only the worst case does).

Not counted: model loading, tokenization, checkpoint writes, weight sync to the vLLM server, evaluation during
training, restarts. Liger's kernels (RMSNorm, SwiGLU) save activation memory this formula does not credit.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

# ----------------------------------------------------------------------------------------------------------------------
# GPUs: vendor datasheet figures. Peak = dense BF16 Tensor Core TFLOP/s (the datasheets print the 2:4-sparsity figure,
# twice the dense one). Prices are ASSUMPTIONS (USD per GPU-hour, on-demand at GPU clouds; hyperscalers charge 2-4x).


@dataclass(frozen=True)
class GPU:
    name: str
    datasheet: str
    sparse_tflops: float  # the datasheet's BF16 Tensor Core figure, with 2:4 sparsity
    peak_tflops: float  # dense bf16: half of it
    memory_gb: float
    memory_type: str
    bandwidth_tb_s: float
    price_per_hour: float  # an ASSUMPTION, not a datasheet figure
    note: str = ""

    def source(self, what: str) -> str:
        return {
            "peak_tflops": f"{self.datasheet}: BF16 Tensor Core {self.sparse_tflops:,.0f} TFLOPS with 2:4 sparsity, "
            f"{self.peak_tflops:,.0f} dense",
            "memory_gb": f"{self.datasheet}: {self.memory_gb:.0f} GB {self.memory_type}",
            "bandwidth_tb_s": f"{self.datasheet}: {self.bandwidth_tb_s * 1000:,.0f} GB/s{self.note}",
        }[what]


def _config_table(name: str) -> dict:
    import yaml

    from .paths import CONFIG_DIR

    return yaml.safe_load((CONFIG_DIR / "estimate" / name).read_text(encoding="utf-8"))


GPUS: dict[str, GPU] = {k: GPU(**v) for k, v in _config_table("gpus.yaml").items()}
# Public config.json values of the Qwen3 sizes the recipes name (used when no config.json is at hand).
KNOWN_SHAPES: dict[str, dict[str, Any]] = _config_table("model_shapes.yaml")


@cache
def stage_defaults(stage: str) -> dict[str, Any]:
    """The defaults a recipe key falls back to: the script's arguments, TRL's config class, ModelConfig."""
    import dataclasses

    from trl import GRPOConfig, ModelConfig, SFTConfig

    from .arguments import GRPOScriptArguments, SFTScriptArguments

    classes = (SFTScriptArguments, SFTConfig) if stage == "sft" else (GRPOScriptArguments, GRPOConfig)
    out: dict[str, Any] = {}
    for cls in (ModelConfig, *classes[::-1]):  # the script's own arguments win a name both have
        for f in dataclasses.fields(cls):
            has_factory = f.default_factory is not dataclasses.MISSING
            out[f.name] = (
                f.default_factory() if has_factory else (None if f.default is dataclasses.MISSING else f.default)
            )
    return out


# The assumptions, with their defaults and why. Every one is a flag.
DEFAULT_MFU = {"sft": 0.30, "grpo": 0.20}
ASSUMPTION_DOC = {
    "mfu": "model FLOPs utilisation of training (useful FLOPs / peak; padding and recomputation are waste). Default "
    "SFT 0.30 (ZeRO-3, gradient checkpointing, padding-free FlashAttention-2 on one node), GRPO update 0.20 (padded "
    "micro-batches: each pads to its longest completion). Replace with the MFU `make bench-gpu` measures",
    "gen_efficiency": "fraction of the decode roofline vLLM reaches over a whole generation round (scheduling, "
    "sampling, prefill and above all the long tail: a round ends with its longest completion)",
    "gen_tokens_per_s": "generated tokens/s per GPU (vLLM); default: gen_efficiency x the decode roofline",
    "completion_fraction": "mean completion length / the completion budget (GRPO max_completion_length, evaluation "
    "max_new_tokens 4096): 0.125 = 512 of 4096 tokens, about an NER-CoT reasoning chain + answer",
    "price": "USD per GPU-hour (on-demand at GPU clouds; hyperscalers charge 2-4x)",
    "memory_gb": "GPU memory (vendor datasheet)",
    "peak_tflops": "dense bf16 Tensor Core peak (vendor datasheet, the sparsity figure halved)",
    "bandwidth_tb_s": "GPU memory bandwidth (vendor datasheet)",
    "tokens_per_example": "mean tokens per SFT example (prompt + reasoning + answer, chat template included)",
    "examples": "training examples (SFT rows / GRPO prompts)",
    "prompt_tokens": "mean prompt tokens (chat template and generation prompt included) of GRPO and evaluation",
    "eval_examples": "evaluation examples: the seven zero-shot test sets (CrossNER x5, MIT Movie, MIT Restaurant)",
    "overhead_gb": "memory per GPU outside the model: CUDA context, NCCL buffers, allocator slack",
    "server_gpus": "GPUs running the vLLM server (GRPO server mode: the paper's 7 training + 1 vLLM GPU)",
}
DEFAULT_EXAMPLES = {"sft": 45_800, "grpo": 5_000}
DEFAULT_TOKENS_PER_EXAMPLE = 650
DEFAULT_PROMPT_TOKENS = 150
DEFAULT_EVAL_EXAMPLES = 6_467
EVAL_MAX_NEW_TOKENS = 4096
EVAL_BATCH = 256  # evaluate.py's vLLM batch
LM_HEAD_TILE = (4096, 32768)  # TRL 1.16's chunked log-prob tile (tokens x vocab), bf16
KV_MEMORY_FRACTION = 0.9  # vLLM's default gpu_memory_utilization (server, evaluation)
GB = 1e9


# ----------------------------------------------------------------------------------------------------------------------
# Model shape, parameters, FLOPs


@dataclass(frozen=True)
class ModelShape:
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    vocab_size: int
    tie_word_embeddings: bool
    qk_norm: bool = True  # Qwen3's per-head RMSNorm on q and k
    attention_bias: bool = False

    @classmethod
    def from_config(cls, config: Any) -> ModelShape:
        """From a `config.json` dict or a transformers config object."""

        def get(key: str, default: Any = None) -> Any:
            v = config.get(key, default) if isinstance(config, dict) else getattr(config, key, default)
            return default if v is None else v

        heads = int(get("num_attention_heads"))
        hidden = int(get("hidden_size"))
        return cls(
            hidden_size=hidden,
            intermediate_size=int(get("intermediate_size")),
            num_hidden_layers=int(get("num_hidden_layers")),
            num_attention_heads=heads,
            num_key_value_heads=int(get("num_key_value_heads", heads)),
            head_dim=int(get("head_dim", hidden // heads)),
            vocab_size=int(get("vocab_size")),
            tie_word_embeddings=bool(get("tie_word_embeddings", False)),
            qk_norm=str(get("model_type", "qwen3")).startswith("qwen3"),
            attention_bias=bool(get("attention_bias", False)),
        )

    @property
    def attn_dim(self) -> int:
        """d = heads × head_dim (the width of q and of the attention output)."""
        return self.num_attention_heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.num_key_value_heads * self.head_dim

    def layer_matmul_params(self) -> int:
        h, q, kv, inter = self.hidden_size, self.attn_dim, self.kv_dim, self.intermediate_size
        return h * q + 2 * h * kv + q * h + 3 * h * inter

    def layer_params(self) -> int:
        extra = 2 * self.hidden_size + (2 * self.head_dim if self.qk_norm else 0)
        if self.attention_bias:
            extra += self.attn_dim + 2 * self.kv_dim
        return self.layer_matmul_params() + extra

    @property
    def embedding_params(self) -> int:
        return self.vocab_size * self.hidden_size

    @property
    def matmul_params(self) -> int:
        """N: every matmul weight (layers + the LM head, once even when tied); not norms, not the input embedding."""
        return self.num_hidden_layers * self.layer_matmul_params() + self.embedding_params

    @property
    def total_params(self) -> int:
        head = 0 if self.tie_word_embeddings else self.embedding_params
        return self.num_hidden_layers * self.layer_params() + self.hidden_size + self.embedding_params + head

    def kv_bytes_per_token(self) -> int:
        """bf16 K and V of every layer for one token of context."""
        return 2 * self.num_hidden_layers * self.kv_dim * 2

    def activation_bytes_per_layer_token(self) -> int:
        """What autograd keeps per token and layer (bf16, flash attention): see the module docstring."""
        h = self.hidden_size
        return 16 * h + 10 * self.attn_dim + 10 * self.kv_dim + 8 * self.intermediate_size


def flops_per_token(shape: ModelShape, s_bar: float, training: bool = True) -> float:
    """Model FLOPs per token: 6·N + 6·L·d·s̄ trained (forward + backward), 2·N + 2·L·d·s̄ forward only (a generated or
    scored token). N = `shape.matmul_params`, L layers, d = heads × head_dim, s̄ = Σsᵢ²/Σsᵢ (token-weighted mean
    sequence length). Padding and recomputation are not counted."""
    k = 6 if training else 2
    return k * shape.matmul_params + k * shape.num_hidden_layers * shape.attn_dim * s_bar


def token_weighted_mean(lengths: Sequence[int]) -> float:
    """s̄ = Σsᵢ²/Σsᵢ: the mean length of the sequence a token belongs to."""
    total = sum(lengths)
    return sum(s * s for s in lengths) / total if total else 0.0


def shape_from_name(name: str | None) -> tuple[str, dict] | None:
    """A known Qwen3 size from a model name or path (`Qwen/Qwen3-8B-Base`, `outputs/sft/qwen3-8b`)."""
    if not name:
        return None
    key = Path(str(name)).name.lower().removesuffix("-base")
    return (key, KNOWN_SHAPES[key]) if key in KNOWN_SHAPES else None


# ----------------------------------------------------------------------------------------------------------------------
# Token counts (the project's own rendering)


def _ids(out: Any) -> list[int]:
    return list(out["input_ids"] if isinstance(out, dict) or hasattr(out, "keys") else out)


def sft_lengths(dataset: Any, tokenizer: Any) -> list[int]:
    """Token length of every conversation of `training.load_sft_dataset`'s output, as `SFTTrainer` tokenizes it:
    `apply_chat_template(prompt + completion)`."""
    return [
        len(_ids(tokenizer.apply_chat_template(p + c, tokenize=True)))
        for p, c in zip(dataset["prompt"], dataset["completion"])
    ]


def load_tokenizer(path: str | Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path), local_files_only=True)


# ----------------------------------------------------------------------------------------------------------------------
# Throughput and memory models


def decode_tokens_per_s(
    shape: ModelShape,
    bandwidth_tb_s: float,
    memory_gb: float,
    concurrent: int,
    prompt_tokens: float,
    completion_tokens: float,
    efficiency: float,
    memory_fraction: float = KV_MEMORY_FRACTION,
) -> dict[str, float]:
    """Decode roofline of one GPU (see the module docstring) × efficiency."""
    weights = 2 * shape.total_params
    kv_tok = shape.kv_bytes_per_token()
    free = memory_fraction * memory_gb * GB - weights
    per_seq = kv_tok * (prompt_tokens + completion_tokens)
    cap = max(1, int(free // per_seq)) if free > 0 else 1
    batch = max(1, min(int(concurrent), cap))
    step_bytes = weights + batch * kv_tok * (prompt_tokens + completion_tokens / 2)
    roofline = batch * bandwidth_tb_s * 1e12 / step_bytes
    return {
        "tokens_per_s": efficiency * roofline,
        "roofline_tokens_per_s": roofline,
        "concurrent": batch,
        "kv_capacity_sequences": cap,
        "weights_gb": weights / GB,
        "kv_kb_per_token": kv_tok / 1e3,
    }


def memory_per_gpu(
    shape: ModelShape,
    n_shards: int,
    micro_tokens: float,
    grad_ckpt: bool,
    ref_model: bool = False,
    overhead_gb: float = 4.0,
    vllm_gb: float = 0.0,
) -> dict[str, float]:
    """Memory per training GPU under ZeRO-3, in GB (module docstring). Returns every term and both activation
    variants (`activations_ckpt`, `activations_no_ckpt`); `total` uses `grad_ckpt`."""
    p, h, L = shape.total_params, shape.hidden_size, shape.num_hidden_layers
    a = shape.activation_bytes_per_layer_token()
    act_no = micro_tokens * (L * a + 8 * h)
    act_ck = micro_tokens * (2 * h * L + a + 8 * h)
    lm_head = 2 * min(micro_tokens, LM_HEAD_TILE[0]) * LM_HEAD_TILE[1] + 4 * shape.embedding_params
    lm_head += 4 * h * micro_tokens
    terms = {
        "parameters (bf16)": 2 * p / n_shards,
        "gradients (bf16)": 2 * p / n_shards,
        "AdamW states (fp32 master + 2 moments)": 12 * p / n_shards,
        "reference model (bf16)": 2 * p / n_shards if ref_model else 0.0,
        "ZeRO-3 gathered working set": 2 * 2 * max(shape.layer_params(), shape.embedding_params),
        "activations": act_ck if grad_ckpt else act_no,
        "fused LM head (tile + fp32 grads)": lm_head,
        "vLLM (colocate)": vllm_gb * GB,
        "overhead (assumed)": overhead_gb * GB,
    }
    out = {k: v / GB for k, v in terms.items()}
    out["total"] = sum(terms.values()) / GB
    out["activations_ckpt"] = act_ck / GB
    out["activations_no_ckpt"] = act_no / GB
    out["total_other_ckpt"] = (sum(terms.values()) - terms["activations"] + (act_no if grad_ckpt else act_ck)) / GB
    return out


# ----------------------------------------------------------------------------------------------------------------------
# Recipe, overrides, assumptions


def stage_of(recipe: dict, path: str | Path) -> str:
    parts = {p.lower() for p in Path(path).parts}
    if "grpo" in parts or any(k in recipe for k in ("num_generations", "reward_funcs", "max_completion_length")):
        return "grpo"
    return "sft"


def parse_overrides(tokens: Sequence[str]) -> dict[str, Any]:
    """`--key value` / `--key=value` pairs; values are read as YAML (`true`, `8`, `[a, b]`)."""
    import yaml

    out: dict[str, Any] = {}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if not tok.startswith("--"):
            raise SystemExit(f"error: unexpected argument {tok!r} (recipe overrides are --key value)")
        if "=" in tok:
            key, value = tok[2:].split("=", 1)
            i += 1
        else:
            if i + 1 >= len(tokens) or tokens[i + 1].startswith("--"):
                raise SystemExit(f"error: {tok} needs a value")
            key, value = tok[2:], tokens[i + 1]
            i += 2
        out[key] = yaml.safe_load(value)
    return out


class Assumptions:
    """Values the estimate cannot measure: each has a default with its reason, and a flag that replaces it."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def set(self, name: str, value: Any, unit: str, given: Any, why: str, flag: str | None = None) -> Any:
        v = value if given is None else given
        flag = flag or name
        self.items[name] = {
            "value": v,
            "unit": unit,
            "flag": f"--{flag}",
            "source": f"given (--{flag})" if given is not None else "assumed",
            "why": why,
        }
        return v


def resolve(recipe: dict, stage: str, key: str) -> Any:
    return recipe[key] if key in recipe else stage_defaults(stage).get(key)


def resolve_shape(args: argparse.Namespace, recipe: dict) -> tuple[ModelShape, str]:
    name = recipe.get("model_name_or_path")
    cfg_path = None
    if args.model_config:
        cfg_path = Path(args.model_config)
        cfg_path = cfg_path / "config.json" if cfg_path.is_dir() else cfg_path
        if not cfg_path.exists():
            raise SystemExit(f"error: --model_config {args.model_config}: no config.json there")
    elif name and (Path(name) / "config.json").exists():
        cfg_path = Path(name) / "config.json"
    if cfg_path is not None:
        return ModelShape.from_config(json.loads(cfg_path.read_text())), str(cfg_path)
    known = shape_from_name(name)
    if known:
        return ModelShape.from_config(known[1]), f"built-in public config of {known[0]} (matched from {name!r})"
    raise SystemExit(
        f"error: no config.json for model {name!r}: pass --model_config PATH (a config.json or a model directory); "
        f"known sizes: {sorted(KNOWN_SHAPES)}"
    )


def resolve_tokenizer(args: argparse.Namespace, recipe: dict) -> tuple[Any, str | None]:
    if args.tokenizer:
        return load_tokenizer(args.tokenizer), args.tokenizer
    name = recipe.get("model_name_or_path")
    if name:
        try:  # a local directory, or the Hugging Face cache; never the network
            return load_tokenizer(name), name
        except Exception:  # noqa: BLE001 - any failure means: no tokenizer at hand
            return None, None
    return None, None


# ----------------------------------------------------------------------------------------------------------------------
# The estimate


def _data_paths(args: argparse.Namespace, recipe: dict, stage: str, notes: list[str]) -> list[str]:
    """`--data`, else the recipe's `dataset_path` if it is here (a note says so when it is not)."""
    if args.data:
        return list(args.data)
    v = resolve(recipe, stage, "dataset_path")
    paths = [v] if isinstance(v, str) else list(v or [])
    found = [p for p in paths if Path(p).exists()]
    if paths and not found:
        notes.append(f"note: the recipe's data ({', '.join(map(str, paths))}) is not here: counts are assumptions")
    return found


def _sft_data(args, recipe, A: Assumptions, stage: str, notes: list[str]) -> dict[str, Any]:
    paths = _data_paths(args, recipe, stage, notes)
    info: dict[str, Any] = {"files": paths}
    lengths = None
    if paths:
        tokenizer, tok_name = resolve_tokenizer(args, recipe)
        from .prompts import resolve_prompt
        from .training import load_sft_dataset

        prompt = resolve_prompt(
            resolve(recipe, stage, "prompt_template"),
            resolve(recipe, stage, "schema_order"),
            resolve(recipe, stage, "add_source"),
        )
        ds = load_sft_dataset(paths, resolve(recipe, stage, "add_cot"), prompt)
        limit = resolve(recipe, stage, "max_train_samples")
        if limit:
            ds = ds.select(range(min(int(limit), len(ds))))
        info["rows"] = len(ds)
        info["tokenizer"] = tok_name
        if tokenizer is not None:
            lengths = sft_lengths(ds, tokenizer)
            info["measured"] = True
    # length policies: TRL's max_length truncates; the project's max_seq_length drops or truncates (`overlong`)
    max_seq = resolve(recipe, stage, "max_seq_length")
    trl_max = resolve(recipe, stage, "max_length")
    if lengths is not None:
        n_over = 0
        if trl_max:
            lengths = [min(s, int(trl_max)) for s in lengths]
        if max_seq:
            n_over = sum(s > max_seq for s in lengths)
            if resolve(recipe, stage, "overlong") == "drop":
                lengths = [s for s in lengths if s <= max_seq]
            else:
                lengths = [min(s, int(max_seq)) for s in lengths]
        info["over_max_seq_length"] = n_over
        examples = A.set("examples", len(lengths), "examples", args.examples, "measured from the data")
        if args.examples is not None:  # scale the measured distribution to the given number of rows
            lengths = (lengths * math.ceil(args.examples / max(1, len(lengths))))[: args.examples]
        mean = sum(lengths) / len(lengths)
        A.set("tokens_per_example", round(mean, 1), "tokens", args.tokens_per_example, "measured from the data")
        if args.tokens_per_example is not None:
            lengths = None
        else:
            info["s_bar"] = token_weighted_mean(lengths)
            info["max_len"] = max(lengths)
            info["total_tokens"] = sum(lengths)
            info["lengths"] = lengths
    if lengths is None:
        rows = info.get("rows")
        examples = A.set(
            "examples",
            rows if rows is not None else DEFAULT_EXAMPLES["sft"],
            "examples",
            args.examples,
            "rows of the given data" if rows is not None else "the public NER-CoT release has ~45.8k rows (the paper)",
        )
        mean = A.set(
            "tokens_per_example",
            DEFAULT_TOKENS_PER_EXAMPLE,
            "tokens",
            args.tokens_per_example,
            "NOT MEASURED (needs --data and a tokenizer): an NER-CoT prompt + reasoning + answer under Qwen3's "
            "tokenizer assumed to average 650 tokens, every example that long (s̄ = mean)",
        )
        info["measured"] = False
        info["s_bar"] = float(mean)
        info["max_len"] = int(max_seq or trl_max or mean)
        info["total_tokens"] = examples * mean
    info["examples"] = examples
    info["mean_tokens"] = info["total_tokens"] / max(1, examples)
    return info


def _grpo_data(args, recipe, A: Assumptions, stage: str, notes: list[str]) -> dict[str, Any]:
    paths = _data_paths(args, recipe, stage, notes)
    info: dict[str, Any] = {"files": paths[:1]}
    prompt_lengths_ = None
    limit = resolve(recipe, stage, "max_prompt_length")
    if paths:
        tokenizer, tok_name = resolve_tokenizer(args, recipe)
        from .prompts import resolve_prompt
        from .training import load_grpo_dataset, prompt_lengths

        prompt = resolve_prompt(
            resolve(recipe, stage, "prompt_template"),
            resolve(recipe, stage, "schema_order"),
            resolve(recipe, stage, "add_source"),
            recipe.get("model_name_or_path"),
        )
        ds = load_grpo_dataset(paths[0], prompt)
        n_limit = resolve(recipe, stage, "max_train_samples")
        if n_limit:
            ds = ds.select(range(min(int(n_limit), len(ds))))
        info["rows"] = len(ds)
        if tokenizer is not None:
            lengths = prompt_lengths(ds, tokenizer, recipe.get("chat_template_kwargs"))
            info["tokenizer"] = tok_name
            dropped = sum(n > limit for n in lengths) if limit else 0
            prompt_lengths_ = [n for n in lengths if not limit or n <= limit]
            info["dropped_long_prompts"] = dropped
    if prompt_lengths_:
        prompts = A.set("examples", len(prompt_lengths_), "prompts", args.examples, "measured from the data")
        mean_p = A.set(
            "prompt_tokens",
            round(sum(prompt_lengths_) / len(prompt_lengths_), 1),
            "tokens",
            args.prompt_tokens,
            "measured from the data",
        )
        info["max_prompt"] = max(prompt_lengths_) if args.prompt_tokens is None else mean_p
        info["measured"] = True
        info["prompt_lengths"] = prompt_lengths_ if args.prompt_tokens is None else None
    else:
        rows = info.get("rows")
        prompts = A.set(
            "examples",
            rows if rows is not None else DEFAULT_EXAMPLES["grpo"],
            "prompts",
            args.examples,
            "rows of the given data" if rows is not None else "the paper samples ~5k InstructUIE examples",
        )
        mean_p = A.set(
            "prompt_tokens",
            DEFAULT_PROMPT_TOKENS,
            "tokens",
            args.prompt_tokens,
            "NOT MEASURED (needs --data and a tokenizer): an NER prompt (instruction, schema, sentence) in Qwen3's "
            "chat template assumed to average 150 tokens",
        )
        info["max_prompt"] = mean_p
        info["measured"] = False
        info["prompt_lengths"] = None
    info["prompts"] = prompts
    info["mean_prompt"] = float(mean_p)
    return info


def _gpu_assumptions(args, A: Assumptions) -> dict[str, float]:
    if args.gpu not in GPUS:
        raise SystemExit(
            f"error: unknown --gpu {args.gpu!r}; known: {sorted(GPUS)}. For another GPU, take the closest and give its "
            "--peak_tflops, --memory_gb, --bandwidth_tb_s and --price"
        )
    g = GPUS[args.gpu]
    return {
        "peak_tflops": A.set("peak_tflops", g.peak_tflops, "TFLOP/s", args.peak_tflops, g.source("peak_tflops")),
        "memory_gb": A.set("memory_gb", g.memory_gb, "GB", args.memory_gb, g.source("memory_gb")),
        "bandwidth_tb_s": A.set(
            "bandwidth_tb_s", g.bandwidth_tb_s, "TB/s", args.bandwidth_tb_s, g.source("bandwidth_tb_s")
        ),
        "price": A.set("price", g.price_per_hour, "USD/GPU-hour", args.price, ASSUMPTION_DOC["price"]),
    }


def _gen_rate(args, A, shape, gpu, concurrent, prompt_tokens, completion_tokens, memory_fraction, what):
    eff = A.set("gen_efficiency", 0.25, "", args.gen_efficiency, ASSUMPTION_DOC["gen_efficiency"])
    roof = decode_tokens_per_s(
        shape,
        gpu["bandwidth_tb_s"],
        gpu["memory_gb"],
        concurrent,
        prompt_tokens,
        completion_tokens,
        eff,
        memory_fraction,
    )
    if args.gen_tokens_per_s is not None:
        roof["tokens_per_s"] = float(args.gen_tokens_per_s)
        roof["source"] = "given (--gen_tokens_per_s)"
    else:
        roof["source"] = (
            f"{eff} x decode roofline {roof['roofline_tokens_per_s']:,.0f} tokens/s ({what}: "
            f"{roof['concurrent']} concurrent sequences, bf16 weights {roof['weights_gb']:.1f} GB + KV "
            f"{roof['kv_kb_per_token']:.0f} kB/token x {prompt_tokens + completion_tokens / 2:,.0f}-token mean context, "
            f"{gpu['bandwidth_tb_s']} TB/s)"
        )
    return roof


def _time(flops: float, gpus: int, mfu: float, peak_tflops: float) -> float:
    """Wall seconds for `flops` on `gpus` GPUs at `mfu` of `peak_tflops`."""
    return flops / (mfu * peak_tflops * 1e12 * gpus)


def _stage_row(name, gpus, wall_s, price, **extra) -> dict[str, Any]:
    gpu_h = wall_s * gpus / 3600
    return {"stage": name, "gpus": gpus, "wall_h": wall_s / 3600, "gpu_hours": gpu_h, "cost": gpu_h * price, **extra}


def estimate(args: argparse.Namespace, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The whole estimate as a dict (what `--json` prints)."""
    import yaml

    recipe_path = Path(args.recipe)
    recipe = yaml.safe_load(recipe_path.read_text()) or {}
    stage = stage_of(recipe, recipe_path)
    overrides = overrides or {}
    known = set(stage_defaults(stage))
    for k in overrides:
        if k not in recipe and k not in known:
            raise SystemExit(f"error: --{k} is neither a key of {recipe_path} nor one this estimate reads")
    recipe = {**recipe, **overrides}
    A = Assumptions()
    gpu = _gpu_assumptions(args, A)
    shape, shape_src = resolve_shape(args, recipe)
    mfu = A.set("mfu", DEFAULT_MFU[stage], "", args.mfu, ASSUMPTION_DOC["mfu"])
    frac = A.set("completion_fraction", 0.125, "", args.completion_fraction, ASSUMPTION_DOC["completion_fraction"])
    overhead = A.set("overhead_gb", 4.0, "GB", args.overhead_gb, ASSUMPTION_DOC["overhead_gb"])
    eval_n = A.set(
        "eval_examples", DEFAULT_EVAL_EXAMPLES, "examples", args.eval_examples, ASSUMPTION_DOC["eval_examples"]
    )
    g = lambda k: resolve(recipe, stage, k)  # noqa: E731
    b, ga = int(g("per_device_train_batch_size")), int(g("gradient_accumulation_steps"))
    epochs, max_steps = float(g("num_train_epochs")), int(g("max_steps") or -1)
    ckpt = bool(g("gradient_checkpointing"))
    report: dict[str, Any] = {
        "recipe": str(recipe_path),
        "stage": stage,
        "overrides": overrides,
        "gpu": args.gpu,
        "gpu_name": GPUS[args.gpu].name,
        "gpus": args.gpus,
        "model": {
            "source": shape_src,
            "shape": asdict(shape),
            "total_params": shape.total_params,
            "matmul_params": shape.matmul_params,
        },
        "warnings": [],
        "notes": [],
    }
    stages: list[dict[str, Any]] = []
    if stage == "sft":
        n = args.gpus
        data = _sft_data(args, recipe, A, stage, report["notes"])
        per_epoch = math.ceil(math.ceil(data["examples"] / (b * n)) / ga)
        steps = max_steps if max_steps > 0 else math.ceil(epochs * per_epoch)
        frac_epochs = steps / per_epoch if max_steps > 0 else epochs
        tokens = frac_epochs * data["total_tokens"]
        fpt = flops_per_token(shape, data["s_bar"], training=True)
        flops = tokens * fpt
        wall = _time(flops, n, mfu, gpu["peak_tflops"])
        stages.append(_stage_row("SFT", n, wall, gpu["price"], steps=steps, tokens=tokens, pflops=flops / 1e15))
        report["batch"] = {
            "per_device": b,
            "grad_accum": ga,
            "gpus": n,
            "global_batch": b * ga * n,
            "steps_per_epoch": per_epoch,
            "epochs": frac_epochs,
            "optimizer_steps": steps,
        }
        report["flops_per_token"] = fpt
        padding_free = bool(g("padding_free"))
        if data.get("lengths") and not padding_free:  # a padded micro-batch is as long as its longest sequence
            rng = random.Random(0)
            seq = sum(max(rng.choices(data["lengths"], k=b)) for _ in range(200)) / 200
        else:
            seq = data["s_bar"]
        typical, worst = b * seq, b * data["max_len"]
        mem_ref = False
        vllm_gb = 0.0
        report["data"] = {k: v for k, v in data.items() if k != "lengths"}
    else:
        use_vllm, mode = bool(g("use_vllm")), str(g("vllm_mode"))
        server = A.set(
            "server_gpus",
            1 if use_vllm and mode == "server" else 0,
            "GPUs",
            args.server_gpus,
            ASSUMPTION_DOC["server_gpus"],
        )
        n = args.gpus - server
        if n < 1:
            raise SystemExit(f"error: --gpus {args.gpus} leaves no training GPU beside {server} vLLM server GPU(s)")
        data = _grpo_data(args, recipe, A, stage, report["notes"])
        G, iters = int(g("num_generations")), int(g("num_iterations"))
        spg = g("steps_per_generation")
        gen_batch = g("generation_batch_size")
        if spg is None and gen_batch is None:
            spg = ga
        if gen_batch is None:
            gen_batch = b * n * int(spg)
        elif spg is None:
            spg = int(gen_batch) // (b * n)
        spg, gen_batch = int(spg), int(gen_batch)
        if gen_batch % G:
            raise SystemExit(f"error: generation batch {gen_batch} is not divisible by num_generations {G} (TRL)")
        prompts_round = gen_batch // G
        steps_round = iters * spg / ga
        if max_steps > 0:
            rounds = math.ceil(max_steps / steps_round)
        else:
            rounds = math.floor(data["prompts"] / prompts_round) * epochs
        rounds = int(rounds)
        steps = int(max_steps if max_steps > 0 else rounds * steps_round)
        max_c = int(g("max_completion_length"))
        c_mean = frac * max_c
        p_mean = data["mean_prompt"]
        if data.get("prompt_lengths"):
            s_bar = token_weighted_mean([p + c_mean for p in data["prompt_lengths"]])
        else:
            s_bar = p_mean + c_mean
        seq_tokens = gen_batch * (p_mean + c_mean)
        comp_tokens = gen_batch * c_mean
        old_logps = ga % (spg * iters) != 0 or (use_vllm and bool(g("vllm_importance_sampling_correction")))
        beta = float(g("beta") or 0.0)
        f_train, f_fwd = flops_per_token(shape, s_bar, True), flops_per_token(shape, s_bar, False)
        per_tok = iters * f_train + (f_fwd if old_logps else 0) + (f_fwd if beta else 0)
        update_flops = seq_tokens * per_tok
        t_update = _time(update_flops, n, mfu, gpu["peak_tflops"])
        gen_gpus = server if (use_vllm and mode == "server") else n
        colocate_frac = float(g("vllm_gpu_memory_utilization")) if use_vllm and mode == "colocate" else 0.0
        rate = _gen_rate(
            args,
            A,
            shape,
            gpu,
            gen_batch / gen_gpus,
            p_mean,
            c_mean,
            colocate_frac or KV_MEMORY_FRACTION,
            "GRPO round",
        )
        A.set("gen_tokens_per_s", round(rate["tokens_per_s"]), "tokens/s/GPU", args.gen_tokens_per_s, rate["source"])
        t_gen = comp_tokens / (rate["tokens_per_s"] * gen_gpus)
        round_s = t_gen + t_update
        wall = rounds * round_s
        total_gpus = n + server
        gen_flops = gen_batch * (p_mean + c_mean) * f_fwd * rounds
        stages.append(
            _stage_row(
                "GRPO",
                total_gpus,
                wall,
                gpu["price"],
                steps=steps,
                tokens=rounds * seq_tokens * iters,
                pflops=(rounds * update_flops + gen_flops) / 1e15,
            )
        )
        report["batch"] = {
            "per_device": b,
            "grad_accum": ga,
            "training_gpus": n,
            "server_gpus": server,
            "vllm_mode": mode if use_vllm else "transformers (no vLLM)",
            "num_generations": G,
            "steps_per_generation": spg,
            "num_iterations": iters,
            "generation_batch": gen_batch,
            "prompts_per_round": prompts_round,
            "optimizer_steps_per_round": steps_round,
            "rounds": rounds,
            "optimizer_steps": steps,
            "max_prompt_length": g("max_prompt_length"),
            "max_completion_length": max_c,
            "mean_completion_tokens": c_mean,
        }
        report["grpo_round"] = {
            "generation_s": t_gen,
            "update_s": t_update,
            "round_s": round_s,
            "generation_per_step_s": t_gen / steps_round,
            "update_per_step_s": t_update / steps_round,
            "bottleneck": "generation" if t_gen > t_update else "update",
            "generating_gpus": gen_gpus,
            "generated_tokens_per_round": comp_tokens,
            "gen_tokens_per_s_per_gpu": rate["tokens_per_s"],
            "update_tokens_per_round": seq_tokens * iters,
            "update_flops_per_token": per_tok,
            "old_logps_forward": old_logps,
            "reference_forward": bool(beta),
            "server_busy": t_gen / round_s if mode == "server" else None,
            "trainers_busy": t_update / round_s,
        }
        report["flops_per_token"] = f_train
        if not use_vllm:
            report["notes"].append("use_vllm is false: generation with transformers is far slower than the rate used")
        # a completion that runs to the budget pads its micro-batch to it; prompts are left-padded to the longest
        typical = b * (data["max_prompt"] + max_c)
        worst = b * (int(g("max_prompt_length") or data["max_prompt"]) + max_c)
        mem_ref = bool(beta)
        vllm_gb = colocate_frac * gpu["memory_gb"]
        report["data"] = {k: v for k, v in data.items() if k != "prompt_lengths"}
    # evaluation of the trained model
    eval_p = data["mean_prompt"] if stage == "grpo" else A.items.get("prompt_tokens", {}).get("value")
    if eval_p is None:
        eval_p = A.set(
            "prompt_tokens", DEFAULT_PROMPT_TOKENS, "tokens", args.prompt_tokens, ASSUMPTION_DOC["prompt_tokens"]
        )
    eval_c = frac * EVAL_MAX_NEW_TOKENS
    if stage == "sft":
        erate = _gen_rate(args, A, shape, gpu, EVAL_BATCH, eval_p, eval_c, KV_MEMORY_FRACTION, "evaluation")
        A.set("gen_tokens_per_s", round(erate["tokens_per_s"]), "tokens/s/GPU", args.gen_tokens_per_s, erate["source"])
    else:
        erate = _gen_rate(args, A, shape, gpu, EVAL_BATCH, eval_p, eval_c, KV_MEMORY_FRACTION, "evaluation")
        A.set(
            "gen_tokens_per_s_eval",
            round(erate["tokens_per_s"]),
            "tokens/s/GPU",
            args.gen_tokens_per_s,
            erate["source"],
            flag="gen_tokens_per_s",
        )
    eval_wall = eval_n * eval_c / erate["tokens_per_s"]
    stages.append(
        _stage_row(
            "evaluation (7 test sets, 1 GPU)",
            1,
            eval_wall,
            gpu["price"],
            tokens=eval_n * eval_c,
            pflops=eval_n * (eval_p + eval_c) * flops_per_token(shape, eval_p + eval_c, False) / 1e15,
            gen_tokens_per_s=erate["tokens_per_s"],
        )
    )
    report["stages"] = stages
    report["total"] = {
        "gpu_hours": sum(s["gpu_hours"] for s in stages),
        "cost": sum(s["cost"] for s in stages),
        "wall_h": sum(s["wall_h"] for s in stages),
    }
    # memory
    mem = memory_per_gpu(shape, n, typical, ckpt, mem_ref, overhead, vllm_gb)
    mem_worst = memory_per_gpu(shape, n, worst, ckpt, mem_ref, overhead, vllm_gb)
    cap = gpu["memory_gb"]
    report["memory"] = {
        "micro_batch_tokens": typical,
        "worst_micro_batch_tokens": worst,
        "gradient_checkpointing": ckpt,
        "typical": mem,
        "worst": mem_worst,
        "gpu_memory_gb": cap,
        "fits": mem["total"] <= cap,
    }
    if mem["total"] > cap:
        report["warnings"].append(
            f"WARNING: {mem['total']:.1f} GB per training GPU exceeds the {cap:.0f} GB of a {args.gpu} "
            f"(micro-batch of {typical:,.0f} tokens, gradient checkpointing {'on' if ckpt else 'off'}): this run "
            "would run out of memory; lower per_device_train_batch_size (raise gradient_accumulation_steps), "
            "turn on gradient_checkpointing, or use more GPUs"
        )
    elif mem_worst["total"] > cap:
        report["notes"].append(
            f"note: the worst-case micro-batch ({worst:,.0f} tokens) needs {mem_worst['total']:.1f} GB, over the "
            f"{cap:.0f} GB of a {args.gpu}: an unlucky batch of the longest sequences can run out of memory"
        )
    if stage == "grpo" and report["batch"]["server_gpus"]:
        if 2 * shape.total_params / GB > KV_MEMORY_FRACTION * cap:
            report["warnings"].append("WARNING: the bf16 weights do not fit the vLLM server GPU")
    report["assumptions"] = A.items
    return report


# ----------------------------------------------------------------------------------------------------------------------
# Output


def _h(x: float) -> str:
    return f"{x:,.2f}" if x < 100 else f"{x:,.0f}"


def to_markdown(r: dict[str, Any]) -> str:
    L: list[str] = []
    shape = r["model"]["shape"]
    L.append(f"### Estimate: `{r['recipe']}` on {r['gpus']} × {r['gpu']} ({r['gpu_name']})")
    if r["overrides"]:
        L.append("Recipe overrides: " + ", ".join(f"`{k}={v}`" for k, v in r["overrides"].items()))
    L += ["", "**Assumptions** (each replaced by its flag):", ""]
    for name, a in r["assumptions"].items():
        v = a["value"]
        v = f"{v:,}" if isinstance(v, int) else v
        src = a["source"]
        why = a["why"]
        loud = "**NOT MEASURED** " if why.startswith("NOT MEASURED") and src == "assumed" else ""
        label = name if a["flag"] == f"--{name}" else f"{name}, {a['flag']}"
        unit = f" {a['unit']}" if a["unit"] else ""
        L.append(f"- {loud}`{label}` = {v}{unit} ({src}): {why}")
    m = r["model"]
    L += [
        "",
        f"**Model**: {m['source']}; {m['total_params'] / 1e9:.3f} B parameters, N = {m['matmul_params'] / 1e9:.3f} B "
        f"matmul weights (L={shape['num_hidden_layers']}, d={shape['num_attention_heads'] * shape['head_dim']}); "
        f"training FLOPs per token 6N + 6·L·d·s̄ = {r['flops_per_token'] / 1e9:.2f} GFLOP.",
    ]
    d, bt = r["data"], r["batch"]
    if r["stage"] == "sft":
        src = f"measured with {d['tokenizer']} on {', '.join(d['files'])}" if d.get("measured") else "ASSUMED"
        L.append(
            f"**Data** ({src}): {d['examples']:,} examples, {d['mean_tokens']:,.0f} tokens each on average, "
            f"s̄ = {d['s_bar']:,.0f}, {d['total_tokens'] / 1e6:,.1f} M tokens per epoch"
            + (f", {d['over_max_seq_length']} over max_seq_length" if d.get("over_max_seq_length") else "")
            + "."
        )
        L.append(
            f"**Batch**: {bt['per_device']} per device × {bt['grad_accum']} accumulation × {bt['gpus']} GPUs = "
            f"{bt['global_batch']} sequences per step; {bt['steps_per_epoch']:,} steps per epoch × {bt['epochs']:g} "
            f"epochs = {bt['optimizer_steps']:,} optimizer steps."
        )
    else:
        src = f"measured with {d['tokenizer']} on {d['files'][0]}" if d.get("measured") else "ASSUMED"
        L.append(
            f"**Data** ({src}): {d['prompts']:,} prompts, {d['mean_prompt']:,.0f} prompt tokens on average"
            + (f", {d['dropped_long_prompts']} dropped as too long" if d.get("dropped_long_prompts") else "")
            + "."
        )
        L.append(
            f"**Batch**: {bt['training_gpus']} training GPUs + {bt['server_gpus']} vLLM server GPU(s) "
            f"({bt['vllm_mode']}); generation batch {bt['per_device']} per device × {bt['training_gpus']} × "
            f"{bt['steps_per_generation']} steps_per_generation = {bt['generation_batch']} completions = "
            f"{bt['prompts_per_round']} prompts × {bt['num_generations']}; each round feeds {bt['num_iterations']} "
            f"iterations × {bt['steps_per_generation']}/{bt['grad_accum']} = {bt['optimizer_steps_per_round']:g} "
            f"optimizer steps; {bt['rounds']:,} rounds = {bt['optimizer_steps']:,} optimizer steps. Completions: "
            f"{bt['mean_completion_tokens']:,.0f} tokens on average (of {bt['max_completion_length']})."
        )
        gr = r["grpo_round"]
        L.append(
            f"**GRPO round**: generation {gr['generation_s']:,.1f} s ({gr['generated_tokens_per_round']:,.0f} tokens "
            f"at {gr['gen_tokens_per_s_per_gpu']:,.0f} tokens/s × {gr['generating_gpus']} GPU(s)) + update "
            f"{gr['update_s']:,.1f} s ({gr['update_tokens_per_round']:,.0f} trained tokens, "
            f"{gr['update_flops_per_token'] / 1e9:.1f} GFLOP per sequence token: {bt['num_iterations']} × training"
            + (" + old log-probs" if gr["old_logps_forward"] else "")
            + (" + reference" if gr["reference_forward"] else "")
            + f") = {gr['round_s']:,.1f} s; per optimizer step {gr['generation_per_step_s']:,.1f} s generation vs "
            f"{gr['update_per_step_s']:,.1f} s update: **bottleneck {gr['bottleneck']}**"
            + (
                f" (server busy {100 * gr['server_busy']:.0f} %, trainers {100 * gr['trainers_busy']:.0f} % of the time)"
                if gr["server_busy"] is not None
                else ""
            )
            + "."
        )
    L += [
        "",
        "| stage | GPUs | optimizer steps | PFLOP | wall h | GPU-hours | cost USD |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for s in r["stages"]:
        steps = f"{s['steps']:,}" if "steps" in s else ""
        L.append(
            f"| {s['stage']} | {s['gpus']} | {steps} | {s['pflops']:,.0f} | {_h(s['wall_h'])} | {_h(s['gpu_hours'])} | "
            f"{_h(s['cost'])} |"
        )
    t = r["total"]
    L.append(f"| **total** | | | | {_h(t['wall_h'])} | {_h(t['gpu_hours'])} | {_h(t['cost'])} |")
    mm = r["memory"]
    ty, wo = mm["typical"], mm["worst"]
    L += [
        "",
        f"**Memory per training GPU** (ZeRO-3 over {bt.get('gpus', bt.get('training_gpus'))} GPUs, GB; micro-batch "
        f"{mm['micro_batch_tokens']:,.0f} tokens typical, {mm['worst_micro_batch_tokens']:,.0f} worst case; gradient "
        f"checkpointing {'on' if mm['gradient_checkpointing'] else 'off'}):",
        "",
        "| term | typical | worst case |",
        "|---|---:|---:|",
    ]
    for k in ty:
        if k in ("total", "activations_ckpt", "activations_no_ckpt", "total_other_ckpt") or (ty[k] == 0 and wo[k] == 0):
            continue
        L.append(f"| {k} | {ty[k]:,.1f} | {wo[k]:,.1f} |")
    L.append(f"| **total** | **{ty['total']:,.1f}** | **{wo['total']:,.1f}** |")
    other = "off" if mm["gradient_checkpointing"] else "on"
    L.append(
        f"| (activations with checkpointing on / off) | {ty['activations_ckpt']:,.1f} / {ty['activations_no_ckpt']:,.1f} "
        f"| {wo['activations_ckpt']:,.1f} / {wo['activations_no_ckpt']:,.1f} |"
    )
    L.append(f"| (total with checkpointing {other}) | {ty['total_other_ckpt']:,.1f} | {wo['total_other_ckpt']:,.1f} |")
    L += ["", f"GPU memory: {mm['gpu_memory_gb']:.0f} GB."]
    for w in r["warnings"]:
        L.append("")
        L.append(w)
    for n_ in r["notes"]:
        L.append("")
        L.append(n_)
    return "\n".join(L) + "\n"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m reasoning_ner.estimate",
        description="GPU-hours, wall time, memory per GPU and cost of an SFT or GRPO recipe (and evaluation).",
        epilog="Any other --key value is a recipe override (e.g. --per_device_train_batch_size 8).",
    )
    p.add_argument("--recipe", required=True, help="config/sft/*.yaml or config/grpo/*.yaml")
    p.add_argument("--gpus", type=int, default=8, help="GPUs of the job (GRPO server mode: trainers + vLLM server)")
    p.add_argument("--gpu", default="h100", help=f"GPU type: {', '.join(GPUS)}")
    p.add_argument("--model_config", help="config.json (or a directory holding it) of the trained model")
    p.add_argument("--data", nargs="+", help="training data (NER-CoT JSON/JSONL, or GRPO train.jsonl)")
    p.add_argument("--tokenizer", help="tokenizer directory (default: the recipe's model, if available locally)")
    p.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    a = p.add_argument_group("assumptions (each replaces a default printed in the assumptions block)")
    a.add_argument("--mfu", type=float, help="training MFU (SFT; GRPO update)")
    a.add_argument("--gen_tokens_per_s", type=float, help="vLLM generated tokens/s per GPU")
    a.add_argument("--gen_efficiency", type=float, help="fraction of the decode roofline reached (default 0.25)")
    a.add_argument("--completion_fraction", type=float, help="mean completion / completion budget (default 0.125)")
    a.add_argument("--price", type=float, help="USD per GPU-hour")
    a.add_argument("--memory_gb", type=float, help="GPU memory, GB")
    a.add_argument("--peak_tflops", type=float, help="dense bf16 peak TFLOP/s per GPU")
    a.add_argument("--bandwidth_tb_s", type=float, help="GPU memory bandwidth, TB/s")
    a.add_argument("--tokens_per_example", type=float, help="mean tokens per SFT example")
    a.add_argument("--prompt_tokens", type=float, help="mean prompt tokens (GRPO, evaluation)")
    a.add_argument("--examples", type=int, help="training examples (SFT rows / GRPO prompts)")
    a.add_argument("--eval_examples", type=int, help="evaluation examples (default 6,467)")
    a.add_argument("--overhead_gb", type=float, help="memory per GPU outside the model (default 4)")
    a.add_argument("--server_gpus", type=int, help="vLLM server GPUs (GRPO server mode, default 1)")
    return p


def run(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args, rest = build_parser().parse_known_args(argv)
    return estimate(args, parse_overrides(rest))


def main(argv: Sequence[str] | None = None) -> int:
    args, rest = build_parser().parse_known_args(argv)
    report = estimate(args, parse_overrides(rest))
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(to_markdown(report), end="")
    for w in report["warnings"]:
        print(w, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
