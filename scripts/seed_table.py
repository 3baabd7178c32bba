"""Mean ± standard deviation over seeds, from evaluation results (the low-resource experiment's table).

    python scripts/seed_table.py \\
        "1%=outputs/low_resource/conll03-0.01/seed*/eval/result.json" \\
        "5%=outputs/low_resource/conll03-0.05/seed*/eval/result.json" \\
        "10%=outputs/low_resource/conll03-0.1/seed*/eval/result.json" \\
        --reported config/experiments/low_resource/reported.yaml --out outputs/low_resource/table

Each positional argument is `SETTING=GLOB` (or `SETTING=FILE,FILE,...`): the `result.json` files of one setting's
runs, one per seed (`evaluate.py` writes them; read with `reasoning_ner.reports.load_result`). Per setting and dataset
the table gives the mean ± sample standard deviation (n - 1) of the F1 over the runs, the number of runs and, with
`--reported`, the paper's figure for the setting (`{"source", "reported": {setting: F1}}`). Writes `<out>.md` and
`<out>.json` and prints the table.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_group(arg: str) -> tuple[str, list[Path]]:
    if "=" not in arg:
        raise ValueError(f"expected SETTING=GLOB, got {arg!r}")
    name, pattern = arg.split("=", 1)
    paths: list[Path] = []
    for part in pattern.split(","):
        found = sorted(glob.glob(part))
        if not found:
            raise ValueError(f"{name}: no file matches {part!r}")
        paths += [Path(p) for p in found]
    return name.strip(), paths


def main(argv: list[str] | None = None) -> int:
    from reasoning_ner.data import DataError
    from reasoning_ner.experiments import load_reported, seed_json, seed_markdown, seed_summary

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("groups", nargs="+", help="SETTING=GLOB of result.json files (one per seed)")
    ap.add_argument("--reported", help="YAML of the paper's figures per setting")
    ap.add_argument("--out", type=Path, help="write <out>.md and <out>.json")
    a = ap.parse_args(argv)
    try:
        groups = dict(parse_group(g) for g in a.groups)
        summary = seed_summary(groups)
        reported, source = load_reported(a.reported)
        table = seed_markdown(summary, reported, source)
    except (DataError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(table)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        Path(f"{a.out}.md").write_text(table, encoding="utf-8")
        doc = {"source": source, "settings": seed_json(summary, reported)}
        Path(f"{a.out}.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {a.out}.md, {a.out}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
