"""GRPO rewards of ReasoningNER — the registry `grpo.py` selects from, and verl's `compute_score`.

Implementation and the exact definitions live in `reasoning_ner/rewards.py`; this top-level module is what a verl
config points at (`custom_reward_function.path=rewards.py`, `name=compute_score`, or `name=compute_score_paper` for the
authors' F1-only reward) and what recipes name:

    reward_funcs: [f1, schema]
    reward_weights: [10.0, 1.0]
    reward_parser: paper          # or lenient
"""

from reasoning_ner.rewards import (  # noqa: F401
    REWARD_RANGES,
    REWARD_REGISTRY,
    REWARDS,
    compute_score,
    compute_score_paper,
    f1_reward,
    get_reward_funcs,
    register_reward,
    schema_reward,
)

__all__ = [
    "REWARDS",
    "REWARD_RANGES",
    "REWARD_REGISTRY",
    "compute_score",
    "compute_score_paper",
    "f1_reward",
    "get_reward_funcs",
    "register_reward",
    "schema_reward",
]

if __name__ == "__main__":  # `python rewards.py [--help]`: this text and the registered rewards with their ranges
    import argparse

    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    for _name, (_low, _high) in REWARD_RANGES.items():
        print(f"{_name}: [{_low}, {_high}]")
