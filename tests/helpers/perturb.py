"""Predictions lines that look like a model's, built from real test sentences: each gold entity kept, missed, given
another type or shifted by a word; spurious words of the sentence and invented names (`INVENTED`, in no test sentence)
added; a short reasoning that talks about the answer; token counts and latencies. Used by the HTML browser test (its
picture is the README's) and the error-taxonomy test on the real test sets."""

from __future__ import annotations

import json
import random

INVENTED = ("Zentrix Labs", "Marla Quinn", "Port Avel")  # never in a test sentence: spurious_hallucinated

_THOUGHTS = (
    "The schema lists {types}.",
    'Is "{m}" a named entity here? It names a specific {t}, so yes.',
    'The span should be exactly "{m}", without the surrounding words.',
    "Generic nouns are not entities, so they are left out.",
    'Could "{m}" be another type? The context points to {t}.',
)


def realistic_lines(split, rng: random.Random) -> list[dict]:
    """One predictions line (`{"dataset", "index", "completion", "completion_tokens", "latency_s"}`) per example."""
    lines = []
    labels = [t for t in split.labels if t not in ("else", "misc", "other")]
    for i, ex in enumerate(split.examples):
        answer: dict[str, list[str]] = {}
        words = ex.sentence.split()
        for e in ex.entities:
            t, m = e.label, e.text
            r = rng.random()
            if r < 0.08:
                continue  # missed
            if r < 0.14:
                t = rng.choice(labels)  # wrong type
            elif r < 0.19:  # boundary: one token more or less
                toks = ex.sentence[: e.start].split()
                m = f"{toks[-1]} {m}" if toks and len(m.split()) == 1 else " ".join(m.split()[1:]) or m
            answer.setdefault(t, []).append(m)
        word = rng.choice(words).strip(".,()") if words else ""
        if word and rng.random() < 0.12:
            answer.setdefault(rng.choice(labels), []).append(word)  # spurious, in the text
        if rng.random() < 0.03:
            answer.setdefault(rng.choice(labels), []).append(rng.choice(INVENTED))
        steps = [_THOUGHTS[0].format(types=", ".join(labels[:6]))]
        for t, ms in answer.items():
            for m in ms[:3]:
                steps.append(rng.choice(_THOUGHTS[1:]).format(m=m, t=t))
        reasoning = " ".join(steps)
        completion = f"<think>\n{reasoning}\n</think>\n\n" + json.dumps({"entities": answer}, indent=2)
        tokens = len(completion) // 4
        lines.append(
            {
                "dataset": split.name,
                "index": i,
                "completion": completion,
                "completion_tokens": tokens,
                "latency_s": round(0.02 * tokens * rng.uniform(0.8, 1.3), 3),
            }
        )
    return lines
