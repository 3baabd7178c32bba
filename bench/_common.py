"""Helpers shared by the bench scripts: the repository root, what machine and command produced a figure, the one
report writer, and `perturb_answer`, which fabricates realistic model answers from gold ones."""

from __future__ import annotations

import os
import platform
import random
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository (the package itself is installed: pip install -e .)


def machine_info() -> dict:
    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        nproc = os.cpu_count()
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": cpu or platform.processor() or None,
        "nproc": nproc,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
    }


def command_line() -> str:
    argv = getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv]
    return shlex.join(argv)


def save_report(path: str | Path, report: dict) -> Path:
    """Write a bench's JSON report (machine, date, command, results) and say where."""
    import json

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"report: {out}")
    return out


def perturb_answer(
    gold: dict[str, list[str]],
    sentence: str,
    schema: list[str],
    rng: random.Random,
    p_drop: float,
    p_wrong_type: float,
    p_spurious: float,
) -> dict[str, list[str]]:
    """A realistic model answer derived from a gold answer: each gold mention dropped with `p_drop` or given another
    schema type with `p_wrong_type`; then, per gold mention (at least one try), a spurious span of 1-3 words of the
    sentence with a random schema type added with `p_spurious`. Mentions are unique per type."""
    out: dict[str, list[str]] = {}
    n_gold = 0

    def add(t: str, m: str) -> None:
        bucket = out.setdefault(t, [])
        if m not in bucket:
            bucket.append(m)

    for typ, mentions in gold.items():
        for m in mentions:
            n_gold += 1
            if rng.random() < p_drop:
                continue
            t = typ
            if rng.random() < p_wrong_type and len(schema) > 1:
                t = rng.choice([s for s in schema if s != typ])
            add(t, m)
    words = sentence.split()
    for _ in range(max(1, n_gold)):
        if words and schema and rng.random() < p_spurious:
            i = rng.randrange(len(words))
            add(rng.choice(schema), " ".join(words[i : i + rng.randint(1, 3)]))
    return out
