"""Reasoning cost of an evaluation run: reasoning and answer tokens per example, latency, and F1 by reasoning length.

Per predictions line (`evaluate.py`'s `{"completion", "reasoning_content"?, "completion_tokens"?, "latency_s"?}`):

* **Texts.** The reasoning is `reasoning_content` when the server returned it apart from the answer (vLLM with a
  reasoning parser, DeepSeek), else the `<think>` block(s) of the completion (`reasoning_ner.parsing.split_reasoning`);
  the answer is the rest of the completion (all of it when the reasoning came apart).
* **Tokens.** With a tokenizer (a local model directory: `evaluate.py --tokenizer`, or `--model` with a local backend),
  each text is tokenized without special tokens (`token_source: "tokenizer"`; the tags `<think>`/`</think>` count with
  the reasoning, the end-of-turn token nowhere). Without one, the line's `completion_tokens` (the backend's count: the
  server's `usage`) is split by the texts' share of characters, reasoning = round(completion_tokens · len(reasoning) /
  (len(reasoning) + len(answer))), answer = the rest (`token_source: "completion_tokens split by character share"`).
  Lines with neither have no token counts (`token_source: null`); their lengths are still reported in characters.
* **Latency** is the line's `latency_s`: for the openai backend the wall time of the request's successful attempt
  (with `concurrency` requests in flight, so it includes queueing on the server); for the batched `hf` / `vllm`
  backends the batch's time divided by its size.

Per dataset (`reasoning_cost`, one dict per result row): mean reasoning and answer tokens (and characters), latency mean
/ median / 90th percentile, and the examples grouped by reasoning tokens into `BUCKETS` (`[low, high)`; the first one
holds the examples without reasoning) with each bucket's example count, summed `(n_gold, n_pred, n_match)` of its
sentences, micro F1 (percent) and mean latency. Buckets of several datasets add up (`pool_buckets`) because the
counts, not the scores, are stored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .parsing import split_reasoning

logger = logging.getLogger(__name__)

BUCKETS: tuple[tuple[int, float], ...] = (
    (0, 1),
    (1, 64),
    (64, 128),
    (128, 256),
    (256, 512),
    (512, 1024),
    (1024, 2048),
    (2048, 4096),
    (4096, float("inf")),
)
SHARE = "completion_tokens split by character share"


def bucket_label(low: int, high: float) -> str:
    if low == 0 and high == 1:
        return "none"
    return f"{low}+" if high == float("inf") else f"{low}-{int(high) - 1}"


def texts(rec: dict[str, Any]) -> tuple[str, str]:
    """(reasoning, answer) of one predictions line."""
    completion = rec.get("completion")
    completion = completion if isinstance(completion, str) else ""
    rc = rec.get("reasoning_content")
    if isinstance(rc, str):
        return rc, completion
    reasoning, rest = split_reasoning(completion)
    if reasoning is None:
        return "", completion
    # the reasoning with its tags, the answer after them: their lengths add up to the completion's
    return completion[: len(completion) - len(rest)] if completion.endswith(rest) else reasoning, rest


def load_tokenizer(path: str | Path | None):
    """A tokenizer from a local directory, or None (no path, not a directory, or it does not load: logged)."""
    if not path or not Path(path).is_dir():
        return None
    try:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(path))
    except Exception as e:  # a model directory without a usable tokenizer: fall back to the server's counts
        logger.warning("no tokenizer loaded from %s (%s): token counts from completion_tokens", path, e)
        return None


def token_counts(records: Sequence[dict[str, Any]], tokenizer=None) -> tuple[list[tuple[int, int] | None], str | None]:
    """Per line (reasoning tokens, answer tokens) or None, and the source of the counts (see the module docstring)."""
    pairs = [texts(r) for r in records]
    if tokenizer is not None:
        flat = [t for p in pairs for t in p]
        ids = tokenizer(flat, add_special_tokens=False)["input_ids"] if flat else []
        return [(len(ids[2 * i]), len(ids[2 * i + 1])) for i in range(len(pairs))], "tokenizer"
    out: list[tuple[int, int] | None] = []
    any_known = False
    for (r, a), rec in zip(pairs, records, strict=True):
        n = rec.get("completion_tokens")
        if not isinstance(n, int) or isinstance(n, bool):
            out.append(None)
            continue
        any_known = True
        total = len(r) + len(a)
        rt = round(n * len(r) / total) if total else 0
        out.append((rt, n - rt))
    return out, SHARE if any_known else None


def _pct(m: int, g: int, p: int) -> float:
    return round(100.0 * 2 * m / (g + p), 2) if g + p else 0.0


def _quantile(xs: Sequence[float], q: float) -> float:
    """`numpy.quantile(xs, q)` (its default, linear interpolation, and its arithmetic) without importing numpy: the
    lean re-scoring (`--bootstrap 0 --plot false`) needs numpy for nothing else."""
    s = sorted(xs)
    h = (len(s) - 1) * q
    i = int(h)
    a, b = s[i], s[min(i + 1, len(s) - 1)]
    t = h - i
    return b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t


def dataset_cost(
    records: Sequence[dict[str, Any]],
    sentence_counts: Sequence[tuple[int, int, int]],
    tokens: Sequence[tuple[int, int] | None],
    source: str | None,
) -> dict[str, Any]:
    """The `reasoning_cost` dict of one dataset (see the module docstring)."""
    n = len(records)
    chars = [tuple(map(len, texts(r))) for r in records]
    lat = [float(r["latency_s"]) for r in records if isinstance(r.get("latency_s"), (int, float))]
    out: dict[str, Any] = {"token_source": source, "n_examples": n}
    known = [t for t in tokens if t is not None]
    if known:
        out["mean_reasoning_tokens"] = round(sum(t[0] for t in known) / len(known), 1)
        out["mean_answer_tokens"] = round(sum(t[1] for t in known) / len(known), 1)
    if n:
        out["mean_reasoning_chars"] = round(sum(c[0] for c in chars) / n, 1)
        out["mean_answer_chars"] = round(sum(c[1] for c in chars) / n, 1)
    if lat:
        out["latency_s"] = {
            "mean": round(sum(lat) / len(lat), 4),
            "median": round(_quantile(lat, 0.5), 4),
            "p90": round(_quantile(lat, 0.9), 4),
        }
    if known:
        buckets = []
        for low, high in BUCKETS:
            g = p = m = k = 0
            lat_sum, lat_n = 0.0, 0
            for rec, t, (ng, npred, nm) in zip(records, tokens, sentence_counts, strict=True):
                if t is None or not low <= t[0] < high:
                    continue
                k += 1
                g, p, m = g + ng, p + npred, m + nm
                if isinstance(rec.get("latency_s"), (int, float)):
                    lat_sum += float(rec["latency_s"])
                    lat_n += 1
            if k:
                buckets.append(
                    {
                        "bucket": bucket_label(low, high),
                        "n_examples": k,
                        "n_gold": g,
                        "n_pred": p,
                        "n_match": m,
                        "f1": _pct(m, g, p),
                        "mean_latency_s": round(lat_sum / lat_n, 4) if lat_n else None,
                        "latency_sum_s": round(lat_sum, 4),
                        "n_latency": lat_n,
                    }
                )
        out["buckets"] = buckets
    return out


def pool_buckets(costs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The buckets of several datasets added up (examples, counts, latency), in `BUCKETS` order, F1 recomputed."""
    order = [bucket_label(lo, hi) for lo, hi in BUCKETS]
    acc: dict[str, dict[str, float]] = {}
    for c in costs:
        for b in c.get("buckets", []):
            a = acc.setdefault(b["bucket"], dict.fromkeys(("n_examples", "n_gold", "n_pred", "n_match"), 0))
            a.setdefault("latency_sum_s", 0.0)
            a.setdefault("n_latency", 0)
            for k in ("n_examples", "n_gold", "n_pred", "n_match", "latency_sum_s", "n_latency"):
                a[k] += b.get(k, 0) or 0
    out = []
    for label in order:
        if label in acc:
            a = acc[label]
            out.append(
                {
                    "bucket": label,
                    "n_examples": int(a["n_examples"]),
                    "n_gold": int(a["n_gold"]),
                    "n_pred": int(a["n_pred"]),
                    "n_match": int(a["n_match"]),
                    "f1": _pct(int(a["n_match"]), int(a["n_gold"]), int(a["n_pred"])),
                    "mean_latency_s": round(a["latency_sum_s"] / a["n_latency"], 4) if a["n_latency"] else None,
                }
            )
    return out


__all__ = ["BUCKETS", "bucket_label", "dataset_cost", "load_tokenizer", "pool_buckets", "texts", "token_counts"]
