"""Faults a run survives, each as a user meets it:

* the vLLM server killed (SIGKILL) in the middle of evaluate.py, predict.py and generate_cot.py runs: each retries,
  then stops with a clear error; after the server is restarted, the same commands complete, with nothing lost (the
  lines written before the kill are kept as they were) and nothing duplicated (a dedicated server, started here);
* two runs started half a second apart on one output file (evaluate.py with the hf backend, generate_cot.py): one
  runs, the other refuses at once, naming the file and the process that holds it;
* a malformed line in the middle of a predictions file (scored, or resumed), of predict.py's generations file and of
  generate_cot.py's ledger: an error naming the file and the line, and nothing changed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.common import ROOT, base_env, ent, write_instructuie
from helpers.structured import completion, forced, max_tokens_for

ANSWER = completion(
    "Ada Lovelace is a person and London is a location", {"person": ["Ada Lovelace"], "location": ["London"]}
)

N_PREDICT = 96


def _dataset(base: Path, names=("d1", "d2"), n: int = 24) -> Path:
    for name in names:
        recs = []
        for i in range(n):
            s = f"Ada Lovelace met guest{i} in London ." if i % 2 == 0 else f"Guest{i} stayed home ."
            recs.append({"sentence": s, "entities": [ent(s, "Ada Lovelace", "person")] if i % 2 == 0 else []})
        write_instructuie(base, name, ["person", "location"], {"test": recs})
    cfg = base / "datasets.json"
    cfg.write_text(json.dumps(list(names)))
    return cfg


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def _n_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _popen(cmd) -> subprocess.Popen:
    return subprocess.Popen(
        [str(c) for c in cmd],
        cwd=ROOT,
        env=base_env(threads=1),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# ----------------------------------------------------------------------------------------------------------------------
# the server killed mid-run


def _kill_server(port: int) -> None:
    """SIGKILL the process group of the server listening on `port` (the API server and its engine process)."""
    import psutil

    for c in psutil.net_connections(kind="tcp"):
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid:
            os.killpg(os.getpgid(c.pid), signal.SIGKILL)
            return
    raise AssertionError(f"no process listens on port {port}")


@pytest.fixture(scope="module")
def killed_then_restarted(tiny, tmp_path_factory):
    """evaluate.py, predict.py and generate_cot.py run at once against a dedicated server, which is SIGKILLed once each
    has written some lines; they fail; the server is restarted on the same port and the same three commands run again.
    Returns what each run printed and wrote."""
    from reasoning_ner.serving import free_port, vllm_server

    tmp = tmp_path_factory.mktemp("killed")
    port = free_port()
    api = f"http://127.0.0.1:{port}/v1"
    common = ["--max_retries", "2", "--request_timeout", "60"]
    # evaluate.py: 48 examples
    cfg = _dataset(tmp / "data")
    result = tmp / "eval" / "result.json"
    evaluate = [sys.executable, ROOT / "evaluate.py", "--base_path", tmp / "data", "--dataset_config", cfg]
    evaluate += ["--result_file", result, "--backend", "openai", "--api_base", api, "--model", "tiny"]
    evaluate += ["--concurrency", "1", "--max_new_tokens", max_tokens_for(ANSWER), "--extra_body", forced(ANSWER)]
    evaluate += [*common, "--plot", "false", "--html", "false"]
    # predict.py: N_PREDICT texts (it runs fastest of the three: enough that it is still running when the slowest has
    # written its third line; with 32 it once finished before the kill)
    texts = tmp / "texts.jsonl"
    texts.write_text(
        "".join(
            json.dumps({"id": i, "text": f"Ada Lovelace wrote note {i} in London."}) + "\n" for i in range(N_PREDICT)
        )
    )
    pred_out = tmp / "pred" / "entities.jsonl"
    pred_out.parent.mkdir()
    predict = [
        sys.executable,
        ROOT / "predict.py",
        "--input",
        texts,
        "--labels",
        "person,location",
        "--output",
        pred_out,
    ]
    predict += ["--backend", "openai", "--api_base", api, "--model", "tiny", "--concurrency", "1"]
    predict += ["--max_new_tokens", max_tokens_for(ANSWER), "--extra_body", forced(ANSWER), *common]
    # generate_cot.py: 24 examples, half of them with the teacher's mention
    teacher = completion("Ada Lovelace is a person named in the passage", {"person": ["Ada Lovelace"]})
    cot_in = tmp / "cot_in.jsonl"
    cot_in.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"x{i}",
                    "sentence": "Ada Lovelace met Babbage ." if i % 2 else f"Nobody {i} came .",
                    "schema": ["person"],
                }
            )
            + "\n"
            for i in range(24)
        )
    )
    cot_out = tmp / "cot" / "ner_cot.jsonl"
    cot = [sys.executable, ROOT / "generate_cot.py", "--input", cot_in, "--input_format", "jsonl", "--output", cot_out]
    cot += ["--teacher_model", "tiny", "--api_base", api, "--judge_model", "tiny", "--concurrency", "1"]
    cot += ["--teacher_max_tokens", max_tokens_for(teacher), "--teacher_temperature", "0", "--teacher_extra_body"]
    cot += [forced(teacher), "--judge_max_tokens", "24", "--judge_temperature", "0", "--judge_extra_body"]
    cot += [json.dumps({"structured_outputs": {"choice": ["Score: 10"]}}), *common]
    files = {
        "evaluate": result.with_name("predictions.jsonl"),
        "predict": Path(str(pred_out) + ".generations.jsonl"),
        "cot": Path(str(cot_out) + ".records.jsonl"),
    }
    cmds = {"evaluate": evaluate, "predict": predict, "cot": cot}
    out: dict = {"files": files, "cot_out": cot_out, "pred_out": pred_out, "result": result, "first": {}, "second": {}}
    with vllm_server(tiny, "tiny", tmp / "server1.log", port=port):
        procs = {k: _popen(c) for k, c in cmds.items()}
        try:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and not all(_n_lines(f) >= 3 for f in files.values()):
                done = [k for k, p in procs.items() if p.poll() is not None]
                assert not done, f"{done} ended before the kill: {[procs[k].communicate() for k in done]}"
                time.sleep(0.1)
            before = {k: f.read_bytes() for k, f in files.items()}
            _kill_server(port)
            t_kill = time.monotonic()
            for k, p in procs.items():
                stdout, stderr = p.communicate(timeout=180)
                out["first"][k] = (p.returncode, stderr, time.monotonic() - t_kill)
        finally:
            for p in procs.values():
                with contextlib.suppress(ProcessLookupError):
                    p.kill()
    out["before"] = before  # when the server was killed (a request in flight may still have finished after it)
    out["after"] = {k: f.read_bytes() for k, f in files.items()}  # when the first runs had stopped
    with vllm_server(tiny, "tiny", tmp / "server2.log", port=port):
        procs = {k: _popen(c) for k, c in cmds.items()}
        for k, p in procs.items():
            stdout, stderr = p.communicate(timeout=600)
            out["second"][k] = (p.returncode, stdout, stderr)
    return out


@pytest.mark.vllm
@pytest.mark.slow
@pytest.mark.parametrize("tool", ["evaluate", "predict", "cot"])
def test_server_killed_mid_run_then_restarted(killed_then_restarted, tool):
    r = killed_then_restarted
    code, stderr, seconds = r["first"][tool]
    assert code == 2, stderr[-3000:]
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "giving up after 3 attempts" in last, stderr[-3000:]
    assert "kept in" in last and "run the same command again to resume" in last
    assert "retry 1/2" in stderr and "retry 2/2" in stderr  # it did retry, with backoff, before giving up
    assert seconds < 60
    code, stdout, stderr = r["second"][tool]
    assert code == 0, stderr[-3000:]
    path = r["files"][tool]
    before, after = r["before"][tool], r["after"][tool]
    total = {"evaluate": 48, "predict": N_PREDICT, "cot": 24}[tool]
    assert after.startswith(before[: before.rfind(b"\n") + 1])  # what was there at the kill is still there
    assert 3 <= after.count(b"\n") < total  # the kill landed mid-run
    assert after.endswith(b"\n")  # the failed run left only complete lines
    assert path.read_bytes().startswith(after)  # nothing written before the failure lost
    recs = _lines(path)
    if tool == "evaluate":
        keys = [(x["dataset"], x["index"]) for x in recs]
        assert keys == [(d, i) for d in ("d1", "d2") for i in range(24)]  # each once, in order
        assert all(x["completion"] == ANSWER and "error" not in x for x in recs)
        rows = {x["dataset"]: x for x in json.loads(r["result"].read_text())["rows"]}
        assert rows["d1"]["n_examples"] == 24 and rows["d1"]["n_match"] == 12 and rows["d1"]["n_pred"] == 48
    elif tool == "predict":
        assert [x["index"] for x in recs] == list(range(N_PREDICT))
        out = _lines(r["pred_out"])
        assert [x["id"] for x in out] == list(range(N_PREDICT))
        for x in out:
            assert {e["mention"]: e["spans"] for e in x["entities"]} == {
                "Ada Lovelace": [[0, 12]],
                "London": [[x["text"].index("London"), x["text"].index("London") + 6]],
            }
    else:
        assert [x["id"] for x in recs] == [f"x{i}" for i in range(24)]
        kept = _lines(r["cot_out"])
        assert [k["guid"] for k in kept] == [f"x{i}" for i in range(1, 24, 2)]
        n_after = after.count(b"\n")
        assert f"resuming: {n_after} of 24" in stderr


# ----------------------------------------------------------------------------------------------------------------------
# two runs on one output


def _one_refused(a: subprocess.Popen, b: subprocess.Popen, path: Path) -> tuple[str, str]:
    """Both runs finished: one succeeded, the other refused at once (while the first was still running) naming the file
    and the holder's pid. Returns (refused run's stderr, which one refused: 'first' or 'second')."""
    deadline = time.monotonic() + 600
    while a.poll() is None and b.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    running_when_one_ended = [p.poll() is None for p in (a, b)]
    out_a, out_b = a.communicate(timeout=600), b.communicate(timeout=600)
    codes = (a.returncode, b.returncode)
    assert sorted(codes) == [0, 2], (codes, out_a[1][-2000:], out_b[1][-2000:])
    assert running_when_one_ended[codes.index(0)], "the refused run should stop while the other is still writing"
    refused, winner, which = (out_b, a, "second") if codes[1] == 2 else (out_a, b, "first")
    assert f"{path} is being written by pid {winner.pid}" in refused[1], refused[1][-2000:]
    return refused[1], which


@pytest.mark.slow
def test_two_evaluate_runs_on_one_predictions_file(tiny, tmp_path):
    cfg = _dataset(tmp_path / "data")  # 48 examples
    result = tmp_path / "eval" / "result.json"
    cmd = [sys.executable, ROOT / "evaluate.py", "--base_path", tmp_path / "data", "--dataset_config", cfg]
    # 128 new tokens (the random model rarely stops earlier): the first run generates for seconds after taking the lock
    cmd += ["--result_file", result, "--model", tiny, "--backend", "hf", "--max_new_tokens", "128"]
    cmd += ["--plot", "false", "--html", "false"]
    first = _popen(cmd)
    time.sleep(0.5)
    second = _popen(cmd)
    preds = result.with_name("predictions.jsonl")
    # the run that takes the lock first writes (the one started first, unless the machine's load reorders their
    # imports by more than half a second); the other refuses at once
    stderr, _ = _one_refused(first, second, preds)
    assert stderr.strip().splitlines()[-1].startswith("error: ") and "Traceback" not in stderr
    keys = [(x["dataset"], x["index"]) for x in _lines(preds)]
    assert keys == [(d, i) for d in ("d1", "d2") for i in range(24)]  # one complete file, no line twice


N_COT = 48  # teacher and judge requests for seconds after the first run takes the lock


@pytest.mark.vllm
@pytest.mark.slow
def test_two_generate_cot_runs_on_one_output(vllm_server, tmp_path):
    teacher = completion("Ada Lovelace is a person named in the passage", {"person": ["Ada Lovelace"]})
    inp = tmp_path / "in.jsonl"
    inp.write_text(
        "".join(
            json.dumps({"id": f"x{i}", "sentence": f"Ada Lovelace met {i} .", "schema": ["person"]}) + "\n"
            for i in range(N_COT)
        )
    )
    out = tmp_path / "cot" / "ner_cot.jsonl"
    cmd = [sys.executable, ROOT / "generate_cot.py", "--input", inp, "--input_format", "jsonl", "--output", out]
    cmd += ["--teacher_model", "tiny", "--api_base", vllm_server, "--concurrency", "1", "--teacher_temperature", "0"]
    cmd += ["--teacher_max_tokens", max_tokens_for(teacher), "--teacher_extra_body", forced(teacher)]
    cmd += ["--judge_model", "tiny", "--judge_max_tokens", "24", "--judge_temperature", "0", "--judge_extra_body"]
    cmd += [json.dumps({"structured_outputs": {"choice": ["Score: 10"]}})]
    first = _popen(cmd)
    time.sleep(0.5)
    second = _popen(cmd)
    ledger = Path(str(out) + ".records.jsonl")
    _one_refused(first, second, ledger)
    ledger_lines = _lines(ledger)
    assert [x["id"] for x in ledger_lines] == [f"x{i}" for i in range(N_COT)]  # each id once: no contradiction
    assert all(x["kept"] and x["score"] == 10.0 for x in ledger_lines)
    assert [x["guid"] for x in _lines(out)] == [f"x{i}" for i in range(N_COT)]


# ----------------------------------------------------------------------------------------------------------------------
# a malformed line in the middle


def _break_line(path: Path, lineno: int) -> bytes:
    lines = path.read_text().splitlines(keepends=True)
    lines[lineno - 1] = lines[lineno - 1][: len(lines[lineno - 1]) // 2] + "\n"  # cut in half: not JSON
    path.write_text("".join(lines))
    return path.read_bytes()


def test_malformed_middle_line_scored_and_resumed(tiny, tmp_path, capsys):
    from evaluate import EvalArguments, main
    from reasoning_ner.generation import GenerationArguments

    cfg = _dataset(tmp_path / "data", n=3)
    preds = tmp_path / "eval" / "predictions.jsonl"
    preds.parent.mkdir()
    preds.write_text(
        "".join(
            json.dumps({"dataset": d, "index": i, "completion": ANSWER}) + "\n" for d in ("d1", "d2") for i in range(3)
        )
    )
    broken = _break_line(preds, 3)
    args = EvalArguments(
        predictions_file=str(preds),
        base_path=str(tmp_path / "data"),
        dataset_config=str(cfg),
        result_file=str(tmp_path / "eval" / "result.json"),
        plot=False,
        html=False,
    )
    assert main(args) == 2  # scoring saved completions: scoring.load_predictions
    err = capsys.readouterr().err
    assert f"{preds}, record line 3: invalid JSON" in err
    # generating into the same file: the resumable reader refuses before any model is loaded
    gen = GenerationArguments(model=str(tiny), backend="hf", max_new_tokens=4)
    t0 = time.monotonic()
    assert main(args, gen) == 2
    err = capsys.readouterr().err
    assert f"{preds}, record line 3: not valid JSON, with complete lines after it" in err
    assert time.monotonic() - t0 < 5 and preds.read_bytes() == broken
    assert not (tmp_path / "eval" / "result.json").exists()


def test_malformed_middle_line_of_predict_generations(tmp_path, capsys):
    from predict import PredictArguments
    from predict import main as predict_main
    from reasoning_ner.generation import GenerationArguments

    out = tmp_path / "entities.jsonl"
    gens = Path(str(out) + ".generations.jsonl")
    gens.write_text(
        "".join(json.dumps({"dataset": "predict", "index": i, "completion": ANSWER}) + "\n" for i in range(4))
    )
    broken = _break_line(gens, 2)
    args = PredictArguments(text=None, input=None, labels="person")
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps({"text": f"Ada Lovelace {i}"}) + "\n" for i in range(4)))
    args.input, args.output = str(inp), str(out)
    assert predict_main(args, GenerationArguments(model="unused", backend="hf")) == 2
    err = capsys.readouterr().err
    assert f"{gens}, record line 2: not valid JSON, with complete lines after it" in err and gens.read_bytes() == broken


@pytest.mark.vllm
@pytest.mark.slow
def test_malformed_middle_line_of_cot_ledger(vllm_server, tmp_path):
    from helpers.common import run

    inp = tmp_path / "in.jsonl"
    inp.write_text(
        "".join(json.dumps({"id": f"x{i}", "sentence": "Ada .", "schema": ["person"]}) + "\n" for i in range(3))
    )
    out = tmp_path / "ner_cot.jsonl"
    ledger = Path(str(out) + ".records.jsonl")
    ledger.write_text(
        "".join(json.dumps({"id": f"x{i}", "kept": False, "reasons": ["low_score"]}) + "\n" for i in range(3))
    )
    broken = _break_line(ledger, 2)
    cmd = [sys.executable, ROOT / "generate_cot.py", "--input", inp, "--input_format", "jsonl", "--output", out]
    r = run(cmd + ["--teacher_model", "tiny", "--api_base", vllm_server], timeout=300, check=False)
    assert r.returncode == 2 and f"{ledger}, record line 2: not valid JSON" in r.stderr, r.stderr[-2000:]
    assert ledger.read_bytes() == broken
