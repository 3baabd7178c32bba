"""Plot the training curves of a run from its Hugging Face `trainer_state.json`.

    python scripts/plot_training.py RUN_DIR_OR_TRAINER_STATE_JSON [--out DIR]

RUN_DIR may be the output folder of `sft.py` / `grpo.py` (its own trainer_state.json, else the one of its newest
`checkpoint-*`) or a checkpoint folder; a trainer_state.json may also be given directly. Writes `loss.png`,
`rewards.png` and `completion_length.png` (GRPO runs), `learning_rate.png` into DIR (default `<run dir>/plots`),
skipping a plot whose keys the log does not hold, and prints the files written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reasoning_ner.plots import find_trainer_state, plot_training  # noqa: E402 - matplotlib: imported when drawing


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", help="run folder, checkpoint folder or trainer_state.json")
    ap.add_argument("--out", default=None, help="output folder (default: <run dir>/plots)")
    args = ap.parse_args(argv)
    try:
        state = find_trainer_state(args.path)
        written = plot_training(args.path, args.out)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"read {state}")
    if not written:
        print("no known keys (loss, eval_loss, reward*, completions/*, learning_rate) in log_history; nothing written")
        return 1
    for p in written:
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
