"""Run grpo.py with an extra reward that records the keyword arguments TRL passes to reward functions."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import reasoning_ner.rewards as R  # noqa: E402

out = Path(sys.argv.pop(1))
original_get = R.get_reward_funcs


def get_reward_funcs(names, parser="lenient"):
    funcs = original_get(names, parser)
    first = funcs[0]

    def probe(completions, **kwargs):
        if not out.exists():
            keys = sorted(["completions", *kwargs])
            rec = {"keys": keys, "n_completions": len(completions)}
            rec.update({k: kwargs[k] for k in ("answer", "schema") if k in kwargs})
            out.write_text(json.dumps(rec, default=str))
        return first(completions, **kwargs)

    probe.__name__ = first.__name__
    return [probe, *funcs[1:]]


R.get_reward_funcs = get_reward_funcs

if __name__ == "__main__":
    import runpy

    runpy.run_path(str(Path(__file__).resolve().parents[2] / "grpo.py"), run_name="__main__")
