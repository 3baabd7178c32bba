"""A client for OpenAI-compatible chat-completion endpoints (a local `vllm serve`, DeepSeek, OpenAI), used by the
`openai` generation backend and by CoT generation.

Why not the `openai` package: it arrives with vLLM but not with the core requirements (an API-only evaluation needs no
vLLM), and what this project needs beyond a POST is exactly what is written here: a fail-fast check of the server, the
key and the model name before any work; a refusal of one request (HTTP 400, e.g. over the context length) told apart
from a failure of the endpoint, so that the item is recorded and the run goes on; the reasoning that servers return
beside the answer under two different names; vLLM's `prompt_token_ids`; and `Retry-After`. httpx, already required,
does the transport.

What it does, exactly:

* `ChatClient.check()` asks `GET {api_base}/models` once, with a short timeout. A refused connection, a timeout, a 401/403
  or a model name the server does not list raises `APIError` with a message that says which; an endpoint without a
  models route (404) is accepted and the first request decides.
* `ChatClient.chat()` posts one `/chat/completions` request. 429, 5xx, timeouts and dropped connections are retried up to
  `max_retries` times with exponential backoff (`backoff * 2**attempt`, capped at `max_backoff`, plus up to 25% jitter;
  a `Retry-After` header wins when present). Any other 4xx is not retried: a 400 (e.g. a prompt over the context
  length) raises `RequestRejected`, which callers record per item; anything else raises `APIError`.
* `ChatClient.cancel()` is for a run that stops: requests still retrying on other threads give up at once (their wait
  between attempts is interrupted) with `APIError`, silently, instead of retrying on after the run reported its error.
* The reply's reasoning is kept when the server returns it apart from the answer: `reasoning_content` (DeepSeek,
  older vLLM) or `reasoning` (vLLM >= 0.10). Token usage comes from the reply's `usage`.
* The API key is read from the environment variable named by `api_key_env` and only ever sent in the
  `Authorization` header; it is never logged or written.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529}


class APIError(RuntimeError):
    """The endpoint cannot serve the run (unreachable, unauthorised, unknown model, retries exhausted)."""


class RequestRejected(APIError):
    """The endpoint refused this one request (HTTP 400/413/422, e.g. over the context length); other items may work."""


@dataclass
class ChatResult:
    content: str
    reasoning: str | None
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    finish_reason: str | None = None
    retries: int = 0
    prompt_token_ids: list[int] | None = None  # vLLM returns them when the request sets `return_token_ids`


@dataclass
class ChatClient:
    api_base: str
    model: str
    api_key_env: str = "OPENAI_API_KEY"
    timeout: float = 120.0
    connect_timeout: float = 10.0
    max_retries: int = 5
    backoff: float = 1.0
    max_backoff: float = 30.0
    extra_body: dict[str, Any] = field(default_factory=dict)
    _client: Any = field(default=None, init=False, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False, repr=False)

    def __post_init__(self) -> None:
        import httpx

        self.api_base = self.api_base.rstrip("/")
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
        timeout = httpx.Timeout(self.timeout, connect=min(self.connect_timeout, self.timeout))
        self._client = httpx.Client(headers=headers, timeout=timeout, limits=limits)
        self._has_key = bool(key)

    def close(self) -> None:
        self._client.close()

    def cancel(self) -> None:
        """Stop retrying: every `chat` call in progress or to come raises `APIError` at its next attempt or wait."""
        self._stop.set()

    # ------------------------------------------------------------------------------------------------------------------
    def check(self) -> list[str]:
        """Fail fast (within `connect_timeout`) on an unreachable server, a rejected key or an unknown model name."""
        import httpx

        url = f"{self.api_base}/models"
        try:
            r = self._client.get(url, timeout=httpx.Timeout(self.connect_timeout))
        except httpx.HTTPError as e:
            raise APIError(f"cannot reach the server at {self.api_base}: {type(e).__name__}: {e}") from None
        if r.status_code in (401, 403):
            hint = f"set the key in ${self.api_key_env}" if not self._has_key else f"check ${self.api_key_env}"
            raise APIError(f"{self.api_base} refused the API key (HTTP {r.status_code}); {hint}")
        if r.status_code == 404:  # no models route here (or a wrong base URL: the first request will say)
            return []
        if r.status_code >= 400:
            raise APIError(f"{url} answered HTTP {r.status_code}: {r.text[:300]}")
        try:
            served = [m["id"] for m in r.json().get("data", [])]
        except (ValueError, AttributeError, KeyError, TypeError):
            return []
        if served and self.model not in served:
            raise APIError(f"model {self.model!r} is not served at {self.api_base}; it serves: {', '.join(served)}")
        return served

    def chat(
        self,
        messages: list[dict[str, Any]],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> ChatResult:
        import httpx

        body: dict[str, Any] = {"model": self.model, "messages": messages}
        for k, v in (("max_tokens", max_tokens), ("temperature", temperature), ("top_p", top_p), ("seed", seed)):
            if v is not None:
                body[k] = v
        body.update(self.extra_body)
        body.update(extra or {})
        url = f"{self.api_base}/chat/completions"
        attempt = 0
        while True:
            if self._stop.is_set():
                raise APIError(f"{url}: cancelled (the run is stopping)")
            t0 = time.perf_counter()
            wait: float | None = None
            try:
                r = self._client.post(url, json=body)
            except (httpx.TimeoutException, httpx.TransportError) as e:
                problem = f"{type(e).__name__}: {e}"
            else:
                if r.status_code < 400:
                    return self._result(r, time.perf_counter() - t0, attempt)
                problem = f"HTTP {r.status_code}: {r.text[:300]}"
                if r.status_code not in RETRY_STATUS:
                    if r.status_code in (400, 413, 422):
                        raise RequestRejected(f"{url} rejected the request ({problem})")
                    if r.status_code == 404:
                        raise APIError(
                            f"{url} answered 404: the model name {self.model!r} or the URL is wrong (OpenAI-compatible "
                            f"servers usually need the /v1 suffix in --api_base) ({problem})"
                        )
                    raise APIError(f"{url} failed ({problem})")
                wait = _retry_after(r.headers.get("retry-after"))
            if attempt >= self.max_retries:
                raise APIError(f"{url}: giving up after {attempt + 1} attempts; last error: {problem}")
            if self._stop.is_set():
                raise APIError(f"{url}: cancelled (the run is stopping)")
            if wait is None:
                wait = min(self.max_backoff, self.backoff * 2**attempt) * (1 + 0.25 * random.random())
            logger.warning("%s: %s; retry %d/%d in %.1fs", url, problem, attempt + 1, self.max_retries, wait)
            if self._stop.wait(wait):
                raise APIError(f"{url}: cancelled (the run is stopping)")
            attempt += 1

    @staticmethod
    def _result(r: Any, latency: float, retries: int) -> ChatResult:
        try:
            data = r.json()
            choice = data["choices"][0]
            msg = choice.get("message") or {}
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise APIError(f"unexpected reply from {r.url}: {r.text[:300]}") from None
        usage = data.get("usage") or {}
        reasoning = msg.get("reasoning_content") or msg.get("reasoning")
        return ChatResult(
            content=msg.get("content") or "",
            reasoning=reasoning if isinstance(reasoning, str) else None,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            latency_s=latency,
            finish_reason=choice.get("finish_reason"),
            retries=retries,
            prompt_token_ids=data.get("prompt_token_ids"),
        )


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, min(120.0, float(value))) if value else None
    except ValueError:
        return None
