"""Generation backends and evaluate.py end to end: a real vLLM OpenAI server, the vLLM offline engine, transformers;
resume after SIGKILL; the errors a user meets; the HTTP client's retry rules (against a local canned-reply server,
since a real vLLM cannot be made to answer 429/503 on demand)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers.common import ROOT, base_env, run

from reasoning_ner.chat_client import APIError, ChatClient, RequestRejected
from reasoning_ner.generation import (
    BatchedBackend,
    DecodingConfig,
    Generation,
    Item,
    OpenAIBackend,
    generate_to_file,
    read_done,
)
from reasoning_ner.parallel import ordered_map
from reasoning_ner.reports import load_result
from reasoning_ner.serving import free_port

THREADS = 2  # OMP_NUM_THREADS of the evaluate.py and helper subprocesses
DATASETS = ["CrossNER_AI", "mit-movie"]


def evaluate_cmd(ner_data, out: Path, *extra) -> list[str]:
    cfg = out.parent / "datasets.json"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(json.dumps(DATASETS))
    cmd = [sys.executable, str(ROOT / "evaluate.py"), "--base_path", str(ner_data), "--dataset_config", str(cfg)]
    return cmd + ["--result_file", str(out)] + [str(e) for e in extra]


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def check_eval_outputs(out: Path, n_per_dataset: int) -> list[dict]:
    rows, meta = load_result(out)
    assert meta["prompt"]["schema_order"] == "sorted" and len(meta["prompt"]["template_sha256"]) == 64
    assert [r["dataset"] for r in rows] == DATASETS + ["Average"]
    for r in rows[:-1]:
        assert r["n_examples"] == n_per_dataset
        assert r["mean_completion_tokens"] > 0 and r["mean_latency_s"] > 0
        assert sum(r["parse_status"].values()) == n_per_dataset
    md = out.with_suffix(".md").read_text()
    assert "| ReasoningNER 8B | 71.0 | 76.3 | – |" in md  # Table 1 beside the run, per-dataset columns in run order
    assert "## Per type" in md and "## Cost per example" in md
    png = out.with_name(out.stem + "_f1.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    preds = lines(out.with_name("predictions.jsonl"))
    keys = [(p["dataset"], p["index"]) for p in preds]
    assert keys == [(d, i) for d in DATASETS for i in range(n_per_dataset)]  # in order, once each
    return preds


# ----------------------------------------------------------------------------------------------------------------------
# real vLLM OpenAI-compatible server


@pytest.mark.vllm
@pytest.mark.slow
def test_openai_backend_end_to_end(vllm_server, ner_data, tmp_path):
    out = tmp_path / "eval" / "result.json"
    cmd = evaluate_cmd(ner_data, out, "--backend", "openai", "--api_base", vllm_server, "--model", "tiny")
    r = run(
        cmd + ["--limit", "3", "--max_new_tokens", "12", "--concurrency", "3"],
        timeout=600,
        env=base_env(threads=THREADS),
        check=False,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    preds = check_eval_outputs(out, 3)
    assert all(p["completion_tokens"] == 12 for p in preds)  # the untrained model never stops early
    assert "parsed answers: 0/6" in r.stdout  # invalid completions are scored as empty and counted, not a crash


@pytest.mark.vllm
@pytest.mark.slow
def test_openai_backend_resume_after_sigkill(vllm_server, ner_data, tmp_path):
    """Killed mid-run and started again, the predictions file equals an uninterrupted run's, line for line."""
    n = 12
    args = ["--backend", "openai", "--api_base", vllm_server, "--model", "tiny", "--limit", n]
    args += ["--max_new_tokens", "48", "--concurrency", "2"]
    full = tmp_path / "full" / "result.json"
    r = run(evaluate_cmd(ner_data, full, *args), timeout=600, env=base_env(threads=THREADS), check=False)
    assert r.returncode == 0

    out = tmp_path / "killed" / "result.json"
    pred = out.with_name("predictions.jsonl")
    cmd = evaluate_cmd(ner_data, out, *args)
    env = base_env(threads=THREADS)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not pred.exists() or len(pred.read_bytes().splitlines()) < 5):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_before = len(pred.read_bytes().splitlines())
    assert 5 <= n_before < 2 * n, "the kill did not land mid-run"
    r = run(cmd, timeout=600, env=base_env(threads=THREADS), check=False)
    assert r.returncode == 0, r.stderr[-3000:]

    def strip(recs):
        return [{k: v for k, v in x.items() if k != "latency_s"} for x in recs]

    assert strip(lines(pred)) == strip(lines(full.with_name("predictions.jsonl")))
    check_eval_outputs(out, n)


@pytest.mark.vllm
@pytest.mark.slow
def test_wrong_model_name_is_a_clear_error(vllm_server, ner_data, tmp_path):
    cmd = evaluate_cmd(ner_data, tmp_path / "r.json", "--backend", "openai", "--api_base", vllm_server)
    t0 = time.monotonic()
    r = run(cmd + ["--model", "no-such-model", "--limit", "1"], timeout=120, env=base_env(threads=THREADS), check=False)
    assert r.returncode == 2
    assert "'no-such-model' is not served" in r.stderr and "tiny" in r.stderr
    assert time.monotonic() - t0 < 60


@pytest.mark.vllm
@pytest.mark.slow
def test_openai_backend_concurrency_and_usage(vllm_server, tiny):
    """Direct use of the backend: results come back in input order with the server's token counts."""
    backend = OpenAIBackend("tiny", vllm_server)
    items = [Item("d", i, [{"role": "user", "content": f"text number {i}"}]) for i in range(10)]
    cfg = DecodingConfig(max_new_tokens=5, concurrency=4)
    got = list(backend.stream(items, cfg))
    assert [it.index for it, _ in got] == list(range(10))
    assert all(g.completion_tokens == 5 and g.error is None for _, g in got)
    # over the context length: the server refuses that one request; it is recorded, the others go on
    long = [{"role": "user", "content": "word " * 5000}]
    g = backend.generate([long, [{"role": "user", "content": "short"}]], cfg)
    assert g[0].error and "rejected" in g[0].error and g[0].text == ""
    assert g[1].error is None and g[1].completion_tokens == 5


@pytest.mark.slow
def test_unreachable_server_is_a_clear_error(ner_data, tmp_path):
    port = free_port()  # nothing listens there
    cmd = evaluate_cmd(ner_data, tmp_path / "r.json", "--backend", "openai", "--model", "m")
    t0 = time.monotonic()
    r = run(
        cmd + ["--api_base", f"http://127.0.0.1:{port}/v1", "--limit", "1"],
        timeout=120,
        env=base_env(threads=THREADS),
        check=False,
    )
    assert r.returncode == 2
    assert f"cannot reach the server at http://127.0.0.1:{port}/v1" in r.stderr
    assert time.monotonic() - t0 < 60


@pytest.mark.slow
def test_missing_dataset_folder_is_a_clear_error(tmp_path):
    cfg = tmp_path / "d.json"
    cfg.write_text(json.dumps(["no_such_set"]))
    cmd = [sys.executable, str(ROOT / "evaluate.py"), "--base_path", str(tmp_path), "--dataset_config", str(cfg)]
    r = run(
        cmd + ["--backend", "openai", "--api_base", "http://127.0.0.1:9/v1", "--model", "m"],
        timeout=120,
        env=base_env(threads=THREADS),
        check=False,
    )
    assert r.returncode == 2 and "no_such_set" in r.stderr and "Traceback" not in r.stderr


# ----------------------------------------------------------------------------------------------------------------------
# vLLM offline engine and transformers


@pytest.mark.vllm
@pytest.mark.slow
def test_vllm_offline_backend_end_to_end(tiny, ner_data, tmp_path):
    out = tmp_path / "eval" / "result.json"
    cmd = evaluate_cmd(ner_data, out, "--backend", "vllm", "--model", tiny, "--limit", "3", "--max_new_tokens", "12")
    r = run(cmd + ["--max_model_len", "2048"], timeout=600, env=base_env(threads=THREADS, vllm=True), check=False)
    assert r.returncode == 0, r.stderr[-4000:]
    preds = check_eval_outputs(out, 3)
    assert all(p["completion_tokens"] == 12 for p in preds)


@pytest.mark.slow
def test_hf_backend_end_to_end(tiny, ner_data, tmp_path):
    out = tmp_path / "eval" / "result.json"
    cmd = evaluate_cmd(ner_data, out, "--backend", "hf", "--model", tiny, "--limit", "3", "--max_new_tokens", "12")
    r = run(cmd + ["--batch_size", "4"], timeout=600, env=base_env(threads=THREADS), check=False)
    assert r.returncode == 0, r.stderr[-4000:]
    check_eval_outputs(out, 3)


def test_generate_to_file_resumes_after_a_torn_line(tmp_path):
    class Echo(BatchedBackend):
        def generate(self, batch, cfg):
            return [Generation(m[0]["content"], 1, 0.0) for m in batch]

    items = [Item("d", i, [{"role": "user", "content": f"c{i}"}]) for i in range(7)]
    path = tmp_path / "p.jsonl"
    path.write_text(
        json.dumps({"dataset": "d", "index": 0, "completion": "c0"}) + "\n" + '{"dataset": "d", "index": 1, "comp'
    )
    assert read_done(path) == {("d", 0)}
    assert generate_to_file(Echo(), items, path, DecodingConfig(batch_size=3)) == 6
    assert [(r["index"], r["completion"]) for r in lines(path)] == [(i, f"c{i}") for i in range(7)]
    assert generate_to_file(Echo(), items, path, DecodingConfig(batch_size=3)) == 0

    # a refused line and a line whose prompt changed are generated again; a blank line is harmless
    recs = lines(path)
    recs[2]["error"] = "HTTP 400"
    recs[4]["prompt_key"] = "0" * 16
    path.write_text(
        "\n".join(json.dumps(r) for r in recs[:3]) + "\n\n" + "\n".join(json.dumps(r) for r in recs[3:]) + "\n"
    )
    assert generate_to_file(Echo(), items, path, DecodingConfig(batch_size=3)) == 2
    got = lines(path)
    assert sorted((r["index"], r["completion"]) for r in got) == [(i, f"c{i}") for i in range(7)]
    assert not any("error" in r for r in got)
    changed = [Item("d", i, [{"role": "user", "content": f"new{i}" if i == 6 else f"c{i}"}]) for i in range(7)]
    assert generate_to_file(Echo(), changed, path, DecodingConfig(batch_size=3)) == 1
    assert {r["index"]: r["completion"] for r in lines(path)}[6] == "new6"


# ----------------------------------------------------------------------------------------------------------------------
# the HTTP client's rules, against a local server that answers from a script


class Scripted(BaseHTTPRequestHandler):
    script: list = []
    seen: list = []

    def log_message(self, *a):
        pass

    def _send(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._send(200, {"data": [{"id": "m"}]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append((body, self.headers.get("Authorization")))
        status, reply, headers, delay = type(self).script.pop(0)
        time.sleep(delay)
        self._send(status, reply, headers)


OK = {
    "choices": [{"message": {"content": '{"entities": {}}', "reasoning_content": "thought"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 7, "completion_tokens": 3},
}


@pytest.fixture
def scripted():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Scripted.seen.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_client_retries_429_and_5xx_honours_retry_after_and_keeps_reasoning(scripted, monkeypatch):
    monkeypatch.setenv("MY_KEY", "sk-secret")
    Scripted.script = [(429, {}, [("Retry-After", "0.2")], 0), (503, {}, [], 0), (200, OK, [], 0)]
    c = ChatClient(scripted, "m", api_key_env="MY_KEY", backoff=0.05)
    assert c.check() == ["m"]
    t0 = time.monotonic()
    r = c.chat([{"role": "user", "content": "x"}], max_tokens=5, extra={"chat_template_kwargs": {"a": 1}})
    assert time.monotonic() - t0 >= 0.2  # waited as told
    assert (r.content, r.reasoning, r.prompt_tokens, r.completion_tokens, r.retries) == (
        '{"entities": {}}',
        "thought",
        7,
        3,
        2,
    )
    body, auth = Scripted.seen[-1]
    assert auth == "Bearer sk-secret" and body["max_tokens"] == 5 and body["chat_template_kwargs"] == {"a": 1}
    assert "sk-secret" not in repr(c)


def test_client_gives_up_after_max_retries_and_does_not_retry_400(scripted):
    Scripted.script = [(500, {}, [], 0)] * 3
    c = ChatClient(scripted, "m", max_retries=2, backoff=0.01)
    with pytest.raises(APIError, match="giving up after 3 attempts"):
        c.chat([{"role": "user", "content": "x"}])
    Scripted.script = [(400, {"error": "too long"}, [], 0)]
    with pytest.raises(RequestRejected, match="too long"):
        c.chat([{"role": "user", "content": "x"}])
    assert Scripted.script == []


def test_client_cancel_stops_retrying_at_once(scripted):
    """A run that stops cancels its client: a request waiting to retry gives up at once, silently."""
    Scripted.script = [(503, {}, [], 0)] * 3
    c = ChatClient(scripted, "m", max_retries=2, backoff=30.0)  # would wait 30 s before retrying
    threading.Timer(0.3, c.cancel).start()
    t0 = time.monotonic()
    with pytest.raises(APIError, match="cancelled"):
        c.chat([{"role": "user", "content": "x"}])
    assert time.monotonic() - t0 < 5 and len(Scripted.script) == 2  # one attempt, no retry
    with pytest.raises(APIError, match="cancelled"):  # and nothing after it
        c.chat([{"role": "user", "content": "x"}])
    Scripted.script = []


def test_client_per_request_timeout_is_retried(scripted):
    Scripted.script = [(200, OK, [], 1.5), (200, OK, [], 0)]
    c = ChatClient(scripted, "m", timeout=0.5, backoff=0.01)
    r = c.chat([{"role": "user", "content": "x"}])
    assert r.retries == 1 and r.content


def test_openai_backend_stops_when_every_request_is_refused(scripted):
    Scripted.script = [(400, {"error": "max_tokens too large"}, [], 0)] * 8
    backend = OpenAIBackend("m", scripted, max_retries=0)
    items = [Item("d", i, [{"role": "user", "content": "x"}]) for i in range(8)]
    with pytest.raises(APIError, match="refused the first 8 requests"):
        list(backend.stream(items, DecodingConfig(concurrency=1)))


def test_client_404_points_at_the_base_url(scripted):
    Scripted.script = [(404, {"error": "not found"}, [], 0)]
    with pytest.raises(APIError, match="/v1 suffix"):
        ChatClient(scripted, "m").chat([{"role": "user", "content": "x"}])


def test_client_unknown_model_lists_served(scripted):
    with pytest.raises(APIError, match="'other' is not served .* it serves: m"):
        ChatClient(scripted, "other").check()


def test_ordered_map_keeps_order_and_bounds_concurrency():
    running, peak, lock = [0], [0], threading.Lock()

    def fn(x):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.01 * (x % 3))
        with lock:
            running[0] -= 1
        return x * x

    assert list(ordered_map(fn, range(30), 4)) == [(i, i * i) for i in range(30)]
    assert peak[0] <= 4


# ----------------------------------------------------------------------------------------------------------------------
# The same prompt token ids from every backend


def _prompt_ids(backend: str, model, *extra) -> list[list[int]]:
    cmd = [sys.executable, ROOT / "tests/helpers/prompt_ids.py", backend, model, *extra]
    r = run(cmd, timeout=600, env=base_env(threads=THREADS, vllm=True), check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    line = next(x for x in r.stdout.splitlines() if x.startswith("PROMPT_IDS "))
    return json.loads(line.split(" ", 1)[1])


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    from reasoning_ner.tiny import build_tiny

    return build_tiny(tmp_path_factory.mktemp("llama") / "model", arch="llama")


@pytest.mark.vllm
@pytest.mark.slow
def test_backends_send_identical_prompt_token_ids(tiny_llama, tiny, vllm_server):
    """A Llama 3 style template writes BOS itself and the tokenizer adds one to plain text: rendering to a string and
    tokenizing it again would give two BOS. hf, the vLLM offline engine and the server must all give one."""
    from helpers.prompt_ids import MESSAGES
    from transformers import AutoTokenizer

    from reasoning_ner.prompts import chat_prompt

    tok = AutoTokenizer.from_pretrained(tiny_llama)
    hf = _prompt_ids("hf", tiny_llama)
    assert hf[0][:2] == [tok.bos_token_id, tok.convert_tokens_to_ids("<|start_header_id|>")]  # one BOS
    twice = tok(chat_prompt(tok, MESSAGES[0]))["input_ids"]
    assert twice[:2] == [tok.bos_token_id] * 2 and twice[1:] == hf[0]  # the defect this test guards against
    assert _prompt_ids("vllm", tiny_llama) == hf
    # the server applies the chat template itself; its prompt ids (Qwen3 template) equal what hf sends locally
    assert _prompt_ids("openai", "tiny", vllm_server) == _prompt_ids("hf", tiny)
