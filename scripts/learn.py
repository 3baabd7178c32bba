"""`make learn`: a CPU run where the pipeline measurably teaches NER — F1 rises after SFT, the GRPO reward rises during
RL, and the same RL with the F1 reward switched off does not give the F1 gain.

    python scripts/learn.py [--config config/learn/cpu.yaml] [--out outputs/learn]

Steps (each the project's own entry point, run as a user would; settings in the YAML config):

1. data: a larger draw of the synthetic NER-CoT generator (`data/sample/build.py --learning N`), restricted to the
   domains of the held-out test sets; the test sets are the sample InstructUIE `test` splits (`data/sample/instructuie`,
   sentences never in the training data);
2. a fresh tiny model (`python -m reasoning_ner.tiny`, size from the config) and its F1 before training;
3. SFT (`sft.py`, recipe `config/sft/tiny-cpu.yaml` plus the config's overrides), then evaluation (`evaluate.py`,
   hf backend, greedy);
4. GRPO data from the sample InstructUIE `train` splits (`sample_grpo.py`);
5. GRPO from the SFT model (`grpo.py`, `config/grpo/tiny-cpu.yaml` plus overrides, reward `10 * f1 + 1 * schema`),
   then evaluation;
6. the ablation: the same GRPO run with the F1 reward's weight set to 0 (schema reward only), then evaluation;
7. `summary.json` and two plots: F1 per stage (`f1_per_stage.png`) and the mean rewards per GRPO step of both runs
   (`grpo_rewards.png`).

**Noise.** The per-step mean reward r_1..r_T of a GRPO run is noisy (few prompts per step, sampled completions).
The step-to-step noise is estimated as sigma = std(r_{t+1} - r_t) / sqrt(2) (the spread of one step's mean around the
trend, assuming independent steps). The reward gain is mean(last third of the steps) - mean(first third); the run
"learns" when gain > sigma. The evaluation F1 after GRPO is compared with the SFT model's within the F1 noise of the
test sets (`f1_noise`: half the width of the 95% bootstrap interval over test sentences of the SFT model's average
F1, as `evaluate.py` reports it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SAMPLE = ROOT / "data" / "sample" / "instructuie"
SAMPLE_CFG = ROOT / "config" / "dataset" / "sample.json"


def flags(overrides: dict) -> list[str]:
    out: list[str] = []
    for k, v in (overrides or {}).items():
        out.append(f"--{k}")
        out += [json.dumps(x) if isinstance(x, (dict, list)) else str(x) for x in (v if isinstance(v, list) else [v])]
    return out


def run(name: str, cmd: list, timings: dict, env: dict, log: Path) -> None:
    print(f"\n=== {name}\n$ {' '.join(map(str, cmd))}", flush=True)
    t0 = time.perf_counter()
    with log.open("w") as fh:
        r = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    timings[name] = round(time.perf_counter() - t0, 1)
    if r.returncode != 0:
        sys.exit(f"{name} failed (exit {r.returncode}); log: {log}\n" + log.read_text()[-3000:])
    print(f"--- {name}: {timings[name]} s", flush=True)


def evaluate(model: Path, out: Path, cfg: dict, timings: dict, env: dict, name: str) -> dict:
    cmd = [
        PY,
        "evaluate.py",
        "--model",
        model,
        "--backend",
        "hf",
        "--base_path",
        SAMPLE,
        "--dataset_config",
        SAMPLE_CFG,
    ]
    cmd += ["--result_file", out / "result.json", "--plot", "false", *flags(cfg["evaluate"])]
    run(name, cmd, timings, env, out.parent / f"{out.name}.log")
    from reasoning_ner.reports import load_result

    rows, _ = load_result(out / "result.json")
    avg = rows[-1]
    ci = avg.get("f1_ci")
    return {
        "f1": avg["f1"],
        "f1_ci": ci,
        "per_dataset": {r["dataset"]: r["f1"] for r in rows[:-1]},
        "parsed": sum(r["n_examples"] - r["n_unparsed"] for r in rows[:-1]),
        "examples": sum(r["n_examples"] for r in rows[:-1]),
    }


def reward_curve(run_dir: Path) -> dict:
    from reasoning_ner.plots import load_log_history

    hist = [h for h in load_log_history(run_dir) if "reward" in h and "rewards/f1_reward/mean" in h]
    steps = [h["step"] for h in hist]
    total = [h["reward"] for h in hist]
    f1 = [h["rewards/f1_reward/mean"] for h in hist]
    schema = [h["rewards/schema_reward/mean"] for h in hist]
    return {"steps": steps, "reward": total, "f1_reward": f1, "schema_reward": schema}


def trend(values: list[float]) -> dict:
    n = len(values)
    third = max(1, n // 3)
    first, last = values[:third], values[-third:]
    diffs = [b - a for a, b in zip(values, values[1:], strict=False)]
    sigma = statistics.pstdev(diffs) / 2**0.5 if len(diffs) > 1 else 0.0
    gain = statistics.mean(last) - statistics.mean(first)
    return {
        "first_third": round(statistics.mean(first), 4),
        "last_third": round(statistics.mean(last), 4),
        "gain": round(gain, 4),
        "noise": round(sigma, 4),
        "learns": gain > sigma,
    }


def plots(summary: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stages = summary["f1"]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.bar(list(stages), list(stages.values()), color=["#999", "#4477aa", "#228833", "#cc6677"][: len(stages)])
    for i, v in enumerate(stages.values()):
        ax.text(i, v + 1, f"{v:.1f}", ha="center")
    ax.set_ylabel("average F1 on the held-out sample test sets")
    ax.set_ylim(0, 100)
    ax.set_title("Learning on CPU: F1 per stage")
    fig.tight_layout()
    fig.savefig(out / "f1_per_stage.png", dpi=120)
    plt.close(fig)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for label, key, color in (
        ("GRPO (10·F1 + schema)", "grpo", "#228833"),
        ("ablation (F1 weight 0)", "ablation", "#cc6677"),
    ):
        c = summary["rewards"][key]
        axes[0].plot(c["steps"], c["f1_reward"], label=label, color=color)
        axes[1].plot(c["steps"], c["schema_reward"], label=label, color=color)
    axes[0].set_title("mean F1 reward per step")
    axes[1].set_title("mean schema reward per step")
    for ax in axes:
        ax.set_xlabel("GRPO step")
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "grpo_rewards.png", dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=ROOT / "config" / "learn" / "cpu.yaml")
    ap.add_argument("--out", type=Path, default=ROOT / "outputs" / "learn")
    a = ap.parse_args(argv)
    cfg = yaml.safe_load(a.config.read_text())
    out = a.out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    threads = str(cfg.get("threads", os.cpu_count() or 2))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": threads}
    env["PYTHONHASHSEED"] = "0"
    timings: dict[str, float] = {}
    t_all = time.perf_counter()

    # 1. data
    d = cfg["data"]
    draw = out / "data" / "all.jsonl"
    draw.parent.mkdir(parents=True)
    run("data", [PY, "data/sample/build.py", "--learning", d["per_domain"], draw], timings, env, out / "data.log")
    keep = set(d["domains"])
    lines = [x for x in draw.read_text().splitlines() if json.loads(x)["dataset"] in keep]
    train = out / "data" / "ner_cot.jsonl"
    train.write_text("\n".join(lines) + "\n")
    summary: dict = {"config": str(a.config), "train_examples": len(lines), "f1": {}, "timings_s": timings}

    # 2. model and its F1 before training
    m = cfg["model"]
    tiny = out / "tiny"
    run("tiny model", [PY, "-m", "reasoning_ner.tiny", tiny, *flags(m)], timings, env, out / "tiny.log")
    summary["f1"]["untrained"] = evaluate(tiny, out / "eval_untrained", cfg, timings, env, "evaluate untrained")["f1"]

    # 3. SFT
    sft = out / "sft"
    cmd = [PY, "sft.py", "--config", "config/sft/tiny-cpu.yaml", "--model_name_or_path", tiny, "--output_dir", sft]
    cmd += ["--dataset_path", train, *flags(cfg["sft"])]
    run("SFT", cmd, timings, env, out / "sft.log")
    sft_eval = evaluate(sft, out / "eval_sft", cfg, timings, env, "evaluate SFT")
    summary["f1"]["after SFT"] = sft_eval["f1"]
    summary["sft_eval"] = sft_eval
    # the F1 noise of the test sets: half the width of the SFT model's 95% bootstrap interval of the average F1
    lo, hi = sft_eval["f1_ci"]
    summary["f1_noise"] = round((hi - lo) / 2, 2)

    # 4. GRPO data
    g = cfg["grpo_data"]
    data = out / "grpo_data"
    cmd = [PY, "sample_grpo.py", "--base_path", SAMPLE, "--dataset_config", SAMPLE_CFG, "--output_path", data]
    run("GRPO data", cmd + flags(g), timings, env, out / "grpo_data.log")

    # 5-6. GRPO and the ablation
    summary["rewards"] = {}
    for key, weights in (("grpo", [10.0, 1.0]), ("ablation", [0.0, 1.0])):
        run_dir = out / key
        cmd = [PY, "grpo.py", "--config", "config/grpo/tiny-cpu.yaml", "--model_name_or_path", sft]
        cmd += ["--dataset_path", data / "train.jsonl", "--output_dir", run_dir, "--reward_weights", *weights]
        run(f"GRPO {key}", cmd + flags(cfg["grpo"]), timings, env, out / f"{key}.log")
        summary["rewards"][key] = reward_curve(run_dir)
        name = "after GRPO" if key == "grpo" else "after GRPO, F1 weight 0"
        summary["f1"][name] = evaluate(run_dir, out / f"eval_{key}", cfg, timings, env, f"evaluate {key}")["f1"]

    grpo, abl = summary["rewards"]["grpo"], summary["rewards"]["ablation"]
    summary["grpo_total_reward"] = trend(grpo["reward"])
    summary["grpo_f1_reward"] = trend(grpo["f1_reward"])
    summary["ablation_f1_reward"] = trend(abl["f1_reward"])
    # the logged total is the weighted sum of the logged per-reward means, step by step, in both runs
    summary["reward_is_weighted_sum"] = {
        key: bool(c["reward"])
        and all(
            abs(t - (w[0] * f1 + w[1] * sc)) < 1e-3
            for t, f1, sc in zip(c["reward"], c["f1_reward"], c["schema_reward"], strict=True)
        )
        for key, w, c in (("grpo", (10.0, 1.0), grpo), ("ablation", (0.0, 1.0), abl))
    }
    f = summary["f1"]
    noise = summary["f1_noise"]
    summary["targets"] = {
        "sft_f1_reaches_target": f["after SFT"] >= cfg["targets"]["sft_f1"],
        "grpo_reward_rises": summary["grpo_total_reward"]["learns"],
        "grpo_f1_not_below_sft": f["after GRPO"] >= f["after SFT"] - noise,
        "ablation_shows_no_f1_gain": not summary["ablation_f1_reward"]["learns"]
        and f["after GRPO, F1 weight 0"] <= f["after SFT"] + noise,
    }
    timings["total"] = round(time.perf_counter() - t_all, 1)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    plots(summary, out)
    print("\n================ learning on CPU: done ================")
    for k, v in f.items():
        print(f"  F1 {k:<26} {v:6.2f}")
    print(f"  F1 noise (bootstrap half-width): {noise}")
    for k in ("grpo_total_reward", "grpo_f1_reward", "ablation_f1_reward"):
        t = summary[k]
        print(
            f"  {k:<20} first third {t['first_third']:.3f}  last third {t['last_third']:.3f}  gain {t['gain']:+.3f}  noise {t['noise']:.3f}"
        )
    print("  targets: " + ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in summary["targets"].items()))
    print(f"  total {timings['total']} s; outputs in {out} (summary.json, f1_per_stage.png, grpo_rewards.png)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
