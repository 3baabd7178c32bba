import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.common import ROOT, base_env, run

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402

from reasoning_ner.plots import (  # noqa: E402
    find_trainer_state,
    load_log_history,
    plot_f1_bars,
    plot_training,
    reward_keys,
    series,
)

SCRIPT = ROOT / "scripts" / "plot_training.py"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _state(log_history: list[dict], global_step: int) -> dict:
    return {
        "best_global_step": None,
        "best_metric": None,
        "best_model_checkpoint": None,
        "epoch": log_history[-1].get("epoch", 0.0),
        "eval_steps": 500,
        "global_step": global_step,
        "is_hyper_param_search": False,
        "is_local_process_zero": True,
        "is_world_process_zero": True,
        "log_history": log_history,
        "logging_steps": 5,
        "max_steps": global_step,
        "num_input_tokens_seen": 0,
        "num_train_epochs": 2,
        "save_steps": 20,
        "stateful_callbacks": {},
        "total_flos": 1.2e15,
        "train_batch_size": 4,
        "trial_name": None,
        "trial_params": None,
    }


def _lr(step: int, total: int, peak: float = 2e-5, warmup: int = 6) -> float:
    if step < warmup:
        return peak * step / warmup
    return peak * 0.5 * (1 + math.cos(math.pi * (step - warmup) / (total - warmup)))


def sft_state(total: int = 60, with_eval: bool = True) -> dict:
    """Like the Trainer's SFT log: loss, grad_norm, learning_rate, epoch, step every 5 steps, eval every 20."""
    hist: list[dict] = []
    for step in range(5, total + 1, 5):
        hist.append(
            {
                "epoch": round(step / 30, 4),
                "grad_norm": 3.0 * math.exp(-step / 25) + 0.4,
                "learning_rate": _lr(step, total),
                "loss": 1.9 * math.exp(-step / 18) + 0.35 + 0.02 * ((step * 7) % 5 - 2),
                "mean_token_accuracy": 0.6 + 0.3 * (1 - math.exp(-step / 20)),
                "num_tokens": 4096.0 * step,
                "step": step,
            }
        )
        if with_eval and step % 20 == 0:
            hist.append(
                {
                    "epoch": round(step / 30, 4),
                    "eval_loss": 1.7 * math.exp(-step / 20) + 0.45,
                    "eval_runtime": 3.2,
                    "eval_samples_per_second": 31.2,
                    "eval_steps_per_second": 7.8,
                    "step": step,
                }
            )
    hist.append(
        {
            "epoch": 2.0,
            "step": total,
            "total_flos": 1.2e15,
            "train_loss": 0.71,
            "train_runtime": 512.3,
            "train_samples_per_second": 0.47,
            "train_steps_per_second": 0.12,
        }
    )
    return _state(hist, total)


def grpo_state(total: int = 40) -> dict:
    """Like TRL's GRPO log (1.x key names)."""
    hist: list[dict] = []
    for step in range(1, total + 1):
        f1 = 0.35 + 0.4 * (1 - math.exp(-step / 12)) + 0.03 * math.sin(step)
        schema = min(1.0, 0.8 + 0.005 * step)
        mean_len = 420 - 3.5 * step + 10 * math.sin(step / 3)
        hist.append(
            {
                "clip_ratio/region_mean": 0.0,
                "completions/clipped_ratio": max(0.0, 0.1 - step / 400),
                "completions/max_length": mean_len + 180,
                "completions/mean_length": mean_len,
                "completions/min_length": mean_len - 150,
                "entropy": 0.9 - step / 100,
                "epoch": step / total,
                "frac_reward_zero_std": 0.1,
                "grad_norm": 0.2 + 0.05 * math.cos(step),
                "kl": 0.001 * step,
                "learning_rate": _lr(step, total, peak=1e-6, warmup=4),
                "loss": 0.002 * math.sin(step),
                "num_tokens": 30000.0 * step,
                "reward": 10 * f1 + schema,
                "reward_std": 2.5 - step / 40,
                "rewards/f1_reward/mean": f1,
                "rewards/f1_reward/std": 0.25,
                "rewards/schema_reward/mean": schema,
                "rewards/schema_reward/std": 0.3,
                "step": step,
                "step_time": 41.7,
            }
        )
    return _state(hist, total)


def _write(path: Path, state: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2))
    return path


def _run(*args: str) -> subprocess.CompletedProcess:
    """scripts/plot_training.py in a subprocess; the caller checks the exit."""
    return run([sys.executable, SCRIPT, *args], env=base_env(MPLBACKEND="Agg"), timeout=120, check=False)


def assert_png(path: Path) -> None:
    assert path.is_file(), path
    assert path.read_bytes()[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert float(img[..., :3].std()) > 0.01, f"{path} looks blank"


@pytest.mark.slow
def test_sft_run_dir_uses_newest_checkpoint(tmp_path):
    run = tmp_path / "sft-run"
    _write(run / "checkpoint-20" / "trainer_state.json", sft_state(total=20, with_eval=False))
    _write(run / "checkpoint-60" / "trainer_state.json", sft_state(total=60))
    # checkpoint-100 is newer by step; a non-numeric name and a checkpoint without a state are ignored
    _write(run / "checkpoint-100" / "trainer_state.json", sft_state(total=100))
    (run / "checkpoint-200").mkdir()
    (run / "checkpoint-final").mkdir()
    assert find_trainer_state(run) == run / "checkpoint-100" / "trainer_state.json"

    out = tmp_path / "plots"
    r = _run(str(run), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["learning_rate.png", "loss.png"]
    for name in ("loss.png", "learning_rate.png"):
        assert_png(out / name)
        assert str(out / name) in r.stdout
    assert "rewards.png" not in r.stdout and "completion_length.png" not in r.stdout
    assert "checkpoint-100" in r.stdout


def test_run_dir_own_state_wins_and_default_out(tmp_path):
    run = tmp_path / "run"
    _write(run / "trainer_state.json", sft_state(with_eval=False))
    _write(run / "checkpoint-5" / "trainer_state.json", grpo_state(total=5))
    assert find_trainer_state(run) == run / "trainer_state.json"
    written = plot_training(run)
    assert [p.name for p in written] == ["loss.png", "learning_rate.png"]
    assert all(p.parent == run / "plots" for p in written)
    for p in written:
        assert_png(p)


@pytest.mark.slow
def test_grpo_state_file(tmp_path):
    state = _write(tmp_path / "grpo" / "trainer_state.json", grpo_state())
    out = tmp_path / "out"
    r = _run(str(state), "--out", str(out))
    assert r.returncode == 0, r.stderr
    names = ["loss.png", "rewards.png", "completion_length.png", "learning_rate.png"]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    for name in names:
        assert_png(out / name)
        assert f"wrote {out / name}" in r.stdout


def test_log_history_helpers(tmp_path):
    hist = load_log_history(_write(tmp_path / "s.json", grpo_state(total=10)))
    assert reward_keys(hist) == {"f1_reward": "rewards/f1_reward/mean", "schema_reward": "rewards/schema_reward/mean"}
    xs, ys = series(hist, "completions/mean_length")
    assert xs == [float(s) for s in range(1, 11)] and len(ys) == 10
    # older TRL names (rewards/<name>, no /mean) and eval_ keys
    old = [{"step": 1, "rewards/f1_reward": 0.5, "eval_rewards/f1_reward/mean": 0.4, "reward": 5.0}]
    assert reward_keys(old) == {"f1_reward": "rewards/f1_reward"}
    assert reward_keys(old, "eval_") == {"f1_reward": "eval_rewards/f1_reward/mean"}
    # non-finite and non-numeric values are skipped
    assert series([{"step": 1, "loss": float("nan")}, {"step": 2, "loss": "x"}, {"step": 3, "loss": 1}], "loss") == (
        [3.0],
        [1.0],
    )


@pytest.mark.slow
def test_missing_trainer_state(tmp_path):
    empty = tmp_path / "no-state-here"
    (empty / "checkpoint-3").mkdir(parents=True)
    r = _run(str(empty))
    assert r.returncode != 0
    assert "trainer_state.json" in r.stderr and str(empty) in r.stderr
    assert "Traceback" not in r.stderr
    missing = tmp_path / "nope" / "trainer_state.json"
    r = _run(str(missing))
    assert r.returncode != 0 and str(missing) in r.stderr and "Traceback" not in r.stderr
    with pytest.raises(FileNotFoundError, match="no-state-here"):
        find_trainer_state(empty)


@pytest.mark.slow
def test_not_a_trainer_state(tmp_path):
    bad = tmp_path / "trainer_state.json"
    bad.write_text(json.dumps({"global_step": 3}))
    r = _run(str(bad))
    assert r.returncode != 0 and "log_history" in r.stderr and str(bad) in r.stderr


ROWS = [
    {"dataset": "CrossNER_AI", "precision": 70.1, "recall": 66.0, "f1": 67.99},
    {"dataset": "CrossNER_literature", "f1": 71.2},
    {"dataset": "CrossNER_music", "f1": 80.05},
    {"dataset": "CrossNER_politics", "f1": 79.4},
    {"dataset": "CrossNER_science", "f1": 75.3},
    {"dataset": "mit-movie", "f1": 60.1},
    {"dataset": "mit-restaurant", "f1": 52.8},
    {"dataset": "Average", "f1": 69.55},
]


def _bar_texts(monkeypatch) -> list[list[str]]:
    """Record the labels each bar_label call draws."""
    import matplotlib.axes

    seen: list[list[str]] = []
    orig = matplotlib.axes.Axes.bar_label

    def spy(self, container, labels=None, **kw):
        texts = orig(self, container, labels=labels, **kw)
        seen.append([t.get_text() for t in texts])
        return texts

    monkeypatch.setattr(matplotlib.axes.Axes, "bar_label", spy)
    return seen


def test_f1_bars(tmp_path, monkeypatch):
    seen = _bar_texts(monkeypatch)
    out = plot_f1_bars(ROWS, tmp_path / "f1" / "bars.png", title="Zero-shot F1")
    assert out == tmp_path / "f1" / "bars.png"
    assert_png(out)
    assert seen == [[f"{r['f1']:.1f}" for r in ROWS]]


def test_f1_bars_with_reference(tmp_path, monkeypatch):
    seen = _bar_texts(monkeypatch)
    paper = {
        "CrossNER_AI": 68.6,
        "CrossNER_literature": 72.4,
        "CrossNER_music": 81.5,
        "CrossNER_politics": 80.2,
        "CrossNER_science": 76.9,
        "mit-movie": 76.3,
        "mit-restaurant": 60.7,
    }
    partial = {"mit-movie": 61.0, "mit-restaurant": 51.0}  # missing datasets get no bar
    reference = {"ReasoningNER 8B": paper, "Baseline": partial}
    for horizontal in (False, True):
        seen.clear()
        out = plot_f1_bars(ROWS, tmp_path / f"ref-{horizontal}.png", reference=reference, horizontal=horizontal)
        assert_png(out)
        assert len(seen) == 3
        assert seen[0] == [f"{r['f1']:.1f}" for r in ROWS]
        # the paper row has no Average: the plain mean of its seven values is drawn
        assert seen[1] == [f"{v:.1f}" for v in paper.values()] + [f"{sum(paper.values()) / 7:.1f}"]
        assert seen[2] == [""] * 5 + ["61.0", "51.0", ""]


def test_f1_bars_bad_rows(tmp_path):
    with pytest.raises(ValueError, match="row 1"):
        plot_f1_bars([{"dataset": "a", "f1": 1.0}, {"dataset": "b"}], tmp_path / "x.png")
    with pytest.raises(ValueError, match="no rows"):
        plot_f1_bars([], tmp_path / "x.png")
