"""Generation for evaluation and prediction: backends and a resumable driver.

Every backend takes chat messages (the project prompt as the user turn), renders them with the model's own chat
template, and returns one `Generation` (text, completion tokens, latency) per prompt. Defaults are the paper's
evaluation: greedy decoding, 4096 new tokens, generation stopped at the chat template's end-of-turn token.

* `HFBackend` — transformers `generate`, batched with left padding; runs on CPU.
* `VLLMBackend` — the vLLM offline engine (the paper's setup): prefix caching, `max_model_len`, tensor parallelism;
  each batch handed to the engine at once and scheduled by it.
* Both local backends send the same prompt token ids (`prompts.chat_prompt_ids`: the template rendered and tokenized
  in one step, so a BOS the template writes is never added twice) and stop at the end-of-turn token as well as the
  model's EOS.
* `OpenAIBackend` — any OpenAI-compatible chat endpoint (`reasoning_ner.chat_client.ChatClient`): bounded concurrency, retries
  with backoff, a per-request timeout, the key from an environment variable, `reasoning_content` kept. The server
  applies the model's chat template; the thinking switch is sent as `chat_template_kwargs` (vLLM) when set.

A request the endpoint refuses for that item alone (HTTP 400, e.g. over the context length) is written with an empty
completion and its `error`, so it is scored as an empty prediction and counted, and a later run with the same file
tries it again; refusals of the first 8 requests with no success stop the run as misconfigured. Anything that stops
the whole run (unreachable server, bad key, unknown model, retries exhausted) raises and leaves the file resumable;
the other requests then in flight stop retrying at once (`ChatClient.cancel`).
Each generated line stores a fingerprint of its prompt (`prompt_key`); on resume, a line whose prompt has changed
since (other data, labels or template under the same file name) is generated again instead of reused.

A backend is anything with the `Backend` protocol: built from the shared flags (`from_args(GenerationArguments)`),
it streams `(item, Generation)` pairs in item order (`stream(items, cfg)`). Local backends generate batch by batch
(`BatchedBackend`); the HTTP one keeps `concurrency` requests in flight. To add one: implement the protocol and add it
to `BACKENDS`.

`generate_to_file` is the driver: it appends one JSON line per finished item to the predictions file
(`{"dataset", "index", "completion", "reasoning_content"?, "prompt_tokens"?, "completion_tokens", "latency_s"}`)
through a `resumable.ResumableLog` (locked against a second run, a torn last line redone, a malformed middle line an
error), and generates only what is missing, so a killed run loses at most the batch in flight and never duplicates
a line.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from .data import DatasetSplit
    from .labels import LabelPolicy
    from .prompts import PromptSpec

logger = logging.getLogger(__name__)


@dataclass
class DecodingConfig:
    max_new_tokens: int = 4096
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    batch_size: int = 8
    enable_thinking: bool | None = None  # Qwen3 chat-template switch; None leaves the template's default
    concurrency: int = 8  # openai backend: requests in flight
    seed: int | None = None


@dataclass
class Generation:
    text: str
    completion_tokens: int
    latency_s: float
    reasoning_content: str | None = None
    error: str | None = None
    prompt_tokens: int | None = None
    prompt_token_ids: list[int] | None = None  # what the model was given (kept in memory, not written)


@dataclass
class Item:
    dataset: str
    index: int
    messages: list[dict]


def stop_token_ids(tokenizer: Any, eos: int | list[int] | None) -> set[int]:
    """The ids generation stops on: the model's EOS id(s) and the chat template's end-of-turn token."""
    from .prompts import end_of_turn_token

    ids = set([eos] if isinstance(eos, int) else (eos or []))
    eot = end_of_turn_token(tokenizer)
    if eot is not None:
        ids.add(tokenizer.convert_tokens_to_ids(eot))
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return ids


class Backend(Protocol):
    """What `generate_to_file` needs of a backend."""

    name: ClassVar[str]

    @classmethod
    def from_args(cls, args: GenerationArguments) -> Backend: ...

    def stream(self, items: Sequence[Item], cfg: DecodingConfig) -> Iterator[tuple[Item, Generation]]:
        """`(item, generation)` for every item, in item order."""
        ...


class BatchedBackend:
    """A backend that generates a whole batch at once: `stream` cuts the items into batches of `cfg.batch_size`."""

    def generate(self, batch: Sequence[list[dict]], cfg: DecodingConfig) -> list[Generation]:
        raise NotImplementedError

    def stream(self, items: Sequence[Item], cfg: DecodingConfig) -> Iterator[tuple[Item, Generation]]:
        for start in range(0, len(items), cfg.batch_size):
            batch = items[start : start + cfg.batch_size]
            yield from zip(batch, self.generate([it.messages for it in batch], cfg), strict=True)


def _local_model(args: GenerationArguments, backend: str) -> str:
    from .lora import require_full_model

    if not args.model:
        raise ValueError("give --model")
    require_full_model(args.model, f"the {backend} backend")
    return args.model


class HFBackend(BatchedBackend):
    """transformers `generate` (greedy unless temperature > 0), batched, left-padded."""

    name = "hf"

    @classmethod
    def from_args(cls, args: GenerationArguments) -> HFBackend:
        return cls(_local_model(args, cls.name), args.dtype, trust_remote_code=args.trust_remote_code)

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
        self.stop_ids = stop_token_ids(self.tokenizer, self.model.generation_config.eos_token_id)

    def generate(self, batch: Sequence[list[dict]], cfg: DecodingConfig) -> list[Generation]:
        from .prompts import chat_prompt_ids

        ids = [chat_prompt_ids(self.tokenizer, m, cfg.enable_thinking) for m in batch]
        enc = self.tokenizer.pad({"input_ids": ids}, return_tensors="pt", padding=True).to(self.device)
        eos = self.stop_ids
        kwargs: dict[str, Any] = {"max_new_tokens": cfg.max_new_tokens, "pad_token_id": self.tokenizer.pad_token_id}
        kwargs["eos_token_id"] = sorted(eos)
        if cfg.temperature > 0:
            kwargs.update(do_sample=True, temperature=cfg.temperature, top_p=cfg.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        t0 = time.perf_counter()
        with self.torch.no_grad():
            out = self.model.generate(**enc, **kwargs)
        latency = (time.perf_counter() - t0) / max(1, len(batch))
        new = out[:, enc["input_ids"].shape[1] :]
        gens = []
        for row in new.tolist():
            n = len(row)
            for i, t in enumerate(row):
                if t in eos:
                    n = i + 1
                    break
            text = self.tokenizer.decode(row[:n], skip_special_tokens=True)
            gens.append(
                Generation(text, n, latency, prompt_tokens=len(ids[len(gens)]), prompt_token_ids=ids[len(gens)])
            )
        return gens


class VLLMBackend(BatchedBackend):
    """The vLLM offline engine, given the same prompt token ids as `hf`; greedy unless temperature > 0."""

    name = "vllm"

    @classmethod
    def from_args(cls, args: GenerationArguments) -> VLLMBackend:
        return cls(
            _local_model(args, cls.name),
            dtype=args.dtype,
            tensor_parallel_size=args.tensor_parallel_size,
            max_model_len=args.max_model_len,
            gpu_memory_utilization=args.gpu_memory_utilization,
            enable_prefix_caching=args.enable_prefix_caching,
            trust_remote_code=args.trust_remote_code,
            seed=args.seed or 0,
        )

    def __init__(
        self,
        model: str,
        dtype: str = "auto",
        tensor_parallel_size: int = 1,
        max_model_len: int | None = None,
        gpu_memory_utilization: float = 0.9,
        enable_prefix_caching: bool = True,
        trust_remote_code: bool = False,
        seed: int = 0,
    ):
        from vllm import LLM

        self.llm = LLM(
            model=model,
            dtype=dtype,
            tensor_parallel_size=tensor_parallel_size,
            max_model_len=max_model_len,
            gpu_memory_utilization=gpu_memory_utilization,
            enable_prefix_caching=enable_prefix_caching,
            trust_remote_code=trust_remote_code,
            seed=seed,
        )
        self.tokenizer = self.llm.get_tokenizer()
        self.stop_ids = stop_token_ids(self.tokenizer, self.llm.llm_engine.model_config.hf_config.eos_token_id)

    def generate(self, batch: Sequence[list[dict]], cfg: DecodingConfig) -> list[Generation]:
        from vllm import SamplingParams, TokensPrompt

        from .prompts import chat_prompt_ids

        prompts = [
            TokensPrompt(prompt_token_ids=chat_prompt_ids(self.tokenizer, m, cfg.enable_thinking)) for m in batch
        ]
        sp = SamplingParams(
            max_tokens=cfg.max_new_tokens,
            temperature=cfg.temperature,
            top_p=cfg.top_p if cfg.temperature > 0 else 1.0,
            seed=cfg.seed,
            stop_token_ids=sorted(self.stop_ids),
        )
        t0 = time.perf_counter()
        outs = self.llm.generate(prompts, sp, use_tqdm=False)
        latency = (time.perf_counter() - t0) / max(1, len(batch))
        return [
            Generation(
                o.outputs[0].text,
                len(o.outputs[0].token_ids),
                latency,
                prompt_tokens=len(o.prompt_token_ids),
                prompt_token_ids=list(o.prompt_token_ids),
            )
            for o in outs
        ]


REFUSED_BEFORE_STOP = 8  # refusals with no success before the run is stopped as misconfigured


class OpenAIBackend:
    """An OpenAI-compatible chat endpoint; `stream` keeps `cfg.concurrency` requests in flight, results in order."""

    name = "openai"

    @classmethod
    def from_args(cls, args: GenerationArguments) -> OpenAIBackend:
        if not args.model:
            raise ValueError("give --model (the name the server serves)")
        if not args.api_base:
            raise ValueError("the openai backend needs --api_base (e.g. http://127.0.0.1:8000/v1)")
        return cls(
            args.model, args.api_base, args.api_key_env, args.request_timeout, args.max_retries, args.extra_body_dict()
        )

    def __init__(
        self,
        model: str,
        api_base: str,
        api_key_env: str = "OPENAI_API_KEY",
        request_timeout: float = 300.0,
        max_retries: int = 5,
        extra_body: dict | None = None,
    ):
        from .chat_client import ChatClient

        self.client = ChatClient(
            api_base, model, api_key_env, timeout=request_timeout, max_retries=max_retries, extra_body=extra_body or {}
        )
        self.client.check()
        self._lock = threading.Lock()
        self._ok = 0
        self._refused = 0

    def _one(self, messages: list[dict], cfg: DecodingConfig) -> Generation:
        from .chat_client import APIError, RequestRejected

        extra = {}
        if cfg.enable_thinking is not None:
            extra["chat_template_kwargs"] = {"enable_thinking": cfg.enable_thinking}
        try:
            r = self.client.chat(
                messages,
                max_tokens=cfg.max_new_tokens,
                temperature=cfg.temperature,
                top_p=cfg.top_p if cfg.temperature > 0 else None,
                seed=cfg.seed,
                extra=extra,
            )
        except RequestRejected as e:
            with self._lock:
                self._refused += 1
                if not self._ok and self._refused >= REFUSED_BEFORE_STOP:
                    raise APIError(
                        f"the endpoint refused the first {self._refused} requests; check the settings "
                        f"(max_new_tokens vs the context length, model options). Last: {e}"
                    ) from None
            logger.warning("%s", e)
            return Generation("", 0, 0.0, error=str(e))
        with self._lock:
            self._ok += 1
        return Generation(
            r.content,
            r.completion_tokens,
            r.latency_s,
            r.reasoning,
            prompt_tokens=r.prompt_tokens,
            prompt_token_ids=r.prompt_token_ids,
        )

    def generate(self, batch: Sequence[list[dict]], cfg: DecodingConfig) -> list[Generation]:
        return [g for _, g in self.stream([Item("", i, m) for i, m in enumerate(batch)], cfg)]

    def stream(self, items: Sequence[Item], cfg: DecodingConfig) -> Iterator[tuple[Item, Generation]]:
        from .parallel import ordered_map

        try:
            yield from ordered_map(lambda it: self._one(it.messages, cfg), items, cfg.concurrency)
        except BaseException:
            self.client.cancel()  # the run stops: requests still in flight stop retrying
            raise


BACKENDS: dict[str, type[Backend]] = {b.name: b for b in (HFBackend, VLLMBackend, OpenAIBackend)}


@dataclass
class GenerationArguments:
    """Model and decoding flags shared by evaluate.py and predict.py (also settable from a YAML `--config`)."""

    model: str | None = field(default=None, metadata={"help": "Model path or hub id; for openai, the served name."})
    backend: str = field(default="vllm", metadata={"help": "vllm (offline engine), openai (HTTP endpoint) or hf."})
    max_new_tokens: int = field(default=4096, metadata={"help": "Completion budget (reasoning + answer); paper 4096."})
    temperature: float = field(default=0.0, metadata={"help": "0 = greedy."})
    top_p: float = field(default=1.0)
    seed: int | None = field(default=None)
    batch_size: int | None = field(
        default=None, metadata={"help": "Prompts per engine call and per flush (hf default 8, vllm 256)."}
    )
    enable_thinking: bool | None = field(default=None, metadata={"help": "Qwen3 chat-template thinking switch."})
    dtype: str = field(default="auto")
    trust_remote_code: bool = field(default=False)
    # vllm
    tensor_parallel_size: int = field(default=1)
    max_model_len: int | None = field(default=None)
    gpu_memory_utilization: float = field(default=0.9)
    enable_prefix_caching: bool = field(default=True)
    # openai
    api_base: str | None = field(default=None, metadata={"help": "e.g. http://127.0.0.1:8000/v1"})
    api_key_env: str = field(default="OPENAI_API_KEY", metadata={"help": "Environment variable holding the key."})
    concurrency: int = field(default=16, metadata={"help": "openai: requests in flight."})
    request_timeout: float = field(default=300.0, metadata={"help": "openai: seconds per request."})
    max_retries: int = field(default=5, metadata={"help": "openai: retries on 429/5xx/timeouts."})
    extra_body: str | None = field(
        default=None, metadata={"help": 'openai: JSON object merged into every request, e.g. {"top_k": 20}.'}
    )

    def decoding(self) -> DecodingConfig:
        bs = self.batch_size or {"hf": 8, "vllm": 256}.get(self.backend, 64)
        return DecodingConfig(
            self.max_new_tokens, self.temperature, self.top_p, bs, self.enable_thinking, self.concurrency, self.seed
        )

    def extra_body_dict(self) -> dict:
        if not self.extra_body:
            return {}
        try:
            body = json.loads(self.extra_body) if isinstance(self.extra_body, str) else self.extra_body
        except ValueError as e:
            raise ValueError(f"--extra_body: not JSON ({e})") from None
        if not isinstance(body, dict):
            raise ValueError("--extra_body: expected a JSON object")
        return body

    def make_backend(self) -> Backend:
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r}; available: {', '.join(BACKENDS)}")
        return BACKENDS[self.backend].from_args(self)


def generation_items(splits: Sequence[DatasetSplit], policy: LabelPolicy, prompt: PromptSpec) -> list[Item]:
    """One chat prompt per test example under a `PromptSpec`: the dataset's schema under the label policy (in the
    spec's order), the sentence, and the source dataset when the spec names it."""
    from .data import source_name

    items = []
    for s in splits:
        schema = policy.schema(s.labels)
        for i, ex in enumerate(s.examples):
            items.append(Item(s.name, i, prompt.messages(ex.sentence, schema, source_name(s.name))))
    return items


def prompt_key(messages: list[dict]) -> str:
    """A short fingerprint of a prompt, stored on each generated line so a resumed run can tell a stale line."""
    import hashlib

    return hashlib.sha1(json.dumps(messages, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:16]


def _resumable(path: str | Path, items: Sequence[Item] | None):
    """The predictions file as a `ResumableLog`. Redone: a line the endpoint refused (`error`), and a line whose stored
    prompt fingerprint differs from the prompt of the same (dataset, index) in `items` (data, labels or template
    changed since)."""
    from .resumable import ResumableLog

    want = {(it.dataset, it.index): prompt_key(it.messages) for it in items} if items is not None else {}

    def keep(rec: dict) -> bool:
        if "error" in rec:
            return False
        k = want.get((rec["dataset"], rec["index"]))
        return not (k and rec.get("prompt_key", k) != k)

    return ResumableLog(path, key=lambda r: (r["dataset"], r["index"]), required=("dataset", "index"), keep=keep)


def read_done(path: Path, items: Sequence[Item] | None = None) -> set[tuple[str, int]]:
    """(dataset, index) pairs already in a predictions file, after the repairs of `_resumable`."""
    with _resumable(path, items) as log:
        return set(log.done)


def generate_to_file(
    backend: Backend | Callable[[], Backend], items: Sequence[Item], path: str | Path, cfg: DecodingConfig
) -> int:
    """Generate the items missing from `path`, appending as they finish. Returns the number generated.

    `backend` may be a backend or a function that builds one (e.g. `GenerationArguments.make_backend`): it is then
    called only after the file is locked and read, and only when something is missing — so a second run on the same
    file stops before loading a model, and a finished run loads none."""
    from tqdm.auto import tqdm

    with _resumable(path, items) as log:
        todo = [it for it in items if (it.dataset, it.index) not in log.done]
        if len(todo) < len(items):
            logger.info(
                "%s: %d of %d items already generated, %d to go", path, len(items) - len(todo), len(items), len(todo)
            )
        if not todo:
            return 0
        if not hasattr(backend, "stream"):
            backend = backend()
        with tqdm(total=len(todo), desc="generating", unit="ex") as bar:
            for it, g in backend.stream(todo, cfg):
                rec = {
                    "dataset": it.dataset,
                    "index": it.index,
                    "completion": g.text,
                    "prompt_key": prompt_key(it.messages),
                }
                if g.reasoning_content is not None:
                    rec["reasoning_content"] = g.reasoning_content
                if g.error is not None:
                    rec["error"] = g.error
                if g.prompt_tokens is not None:
                    rec["prompt_tokens"] = g.prompt_tokens
                rec.update(completion_tokens=g.completion_tokens, latency_s=round(g.latency_s, 4))
                log.append(rec)
                bar.update(1)
    return len(todo)
