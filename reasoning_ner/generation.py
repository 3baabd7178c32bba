"""Generation for evaluation and prediction: backends and a resumable driver.

Every backend takes chat messages (the project prompt as the user turn), renders them with the model's own chat
template, and returns one `Generation` (text, completion tokens, latency) per prompt.

* `HFBackend` — transformers `generate`, batched with left padding; runs on CPU.

`generate_to_file` is the driver: it appends one JSON line per finished item to the predictions file
(`{"dataset", "index", "completion", "reasoning_content"?, "completion_tokens", "latency_s"}`), flushing as it goes. Started
again with the same arguments it reads what is there (dropping a torn last line), and generates only what is
missing, so a killed run loses at most the batch in flight and never duplicates a line.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


@dataclass
class DecodingConfig:
    max_new_tokens: int = 1024
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    batch_size: int = 8
    enable_thinking: bool | None = None  # Qwen3 chat-template switch; None leaves the template's default


@dataclass
class Generation:
    text: str
    completion_tokens: int
    latency_s: float
    reasoning_content: str | None = None


@dataclass
class Item:
    dataset: str
    index: int
    messages: list[dict]


class HFBackend:
    """transformers `generate` (greedy unless temperature > 0), batched, left-padded."""

    def __init__(self, model: str, dtype: str = "auto", device: str | None = None, trust_remote_code: bool = False):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model, trust_remote_code=trust_remote_code)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model = AutoModelForCausalLM.from_pretrained(model, dtype=dtype, trust_remote_code=trust_remote_code)
        self.model.to(self.device).eval()

    def generate(self, batch: Sequence[list[dict]], cfg: DecodingConfig) -> list[Generation]:
        from .prompts import chat_prompt

        texts = [chat_prompt(self.tokenizer, m, cfg.enable_thinking) for m in batch]
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        kwargs: dict[str, Any] = {"max_new_tokens": cfg.max_new_tokens, "pad_token_id": self.tokenizer.pad_token_id}
        if cfg.temperature > 0:
            kwargs.update(do_sample=True, temperature=cfg.temperature, top_p=cfg.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        t0 = time.perf_counter()
        with self.torch.no_grad():
            out = self.model.generate(**enc, **kwargs)
        latency = (time.perf_counter() - t0) / max(1, len(batch))
        new = out[:, enc["input_ids"].shape[1] :]
        eos = self.model.generation_config.eos_token_id
        eos = set([eos] if isinstance(eos, int) else (eos or []))
        gens = []
        for row in new.tolist():
            n = len(row)
            for i, t in enumerate(row):
                if t in eos:
                    n = i + 1
                    break
            gens.append(Generation(self.tokenizer.decode(row[:n], skip_special_tokens=True), n, latency))
        return gens


def make_backend(name: str, model: str, **kwargs: Any):
    if name == "hf":
        return HFBackend(model, **kwargs)
    raise ValueError(f"unknown backend {name!r}; available: hf")


def read_done(path: Path) -> set[tuple[str, int]]:
    """(dataset, index) pairs already in a predictions file; a torn last line (killed mid-write) is removed."""
    if not path.exists():
        return set()
    raw = path.read_bytes()
    done: set[tuple[str, int]] = set()
    good_end = 0
    pos = 0
    for line in raw.splitlines(keepends=True):
        pos += len(line)
        if not line.endswith(b"\n"):
            break
        try:
            rec = json.loads(line)
            done.add((rec["dataset"], rec["index"]))
        except (ValueError, KeyError, TypeError):
            break
        good_end = pos
    if good_end < len(raw):
        logger.warning("%s: dropping %d bytes of an unfinished last line", path, len(raw) - good_end)
        with path.open("r+b") as f:
            f.truncate(good_end)
    return done


def generate_to_file(backend: Any, items: Sequence[Item], path: str | Path, cfg: DecodingConfig) -> int:
    """Generate the items missing from `path`, appending as they finish. Returns the number generated."""
    from tqdm.auto import tqdm

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    done = read_done(path)
    todo = [it for it in items if (it.dataset, it.index) not in done]
    if done:
        logger.info(
            "%s: %d of %d items already generated, %d to go", path, len(items) - len(todo), len(items), len(todo)
        )
    with path.open("a", encoding="utf-8") as f, tqdm(total=len(todo), desc="generating", unit="ex") as bar:
        for start in range(0, len(todo), cfg.batch_size):
            batch = todo[start : start + cfg.batch_size]
            gens = backend.generate([it.messages for it in batch], cfg)
            for it, g in zip(batch, gens, strict=True):
                rec = {"dataset": it.dataset, "index": it.index, "completion": g.text}
                if g.reasoning_content is not None:
                    rec["reasoning_content"] = g.reasoning_content
                rec.update(completion_tokens=g.completion_tokens, latency_s=round(g.latency_s, 4))
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
            bar.update(len(batch))
    return len(todo)
