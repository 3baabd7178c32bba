"""The authors' scorer on a predictions file, as one process (for bench_startup.py's comparison).

    python bench/authors_scorer.py AUTHORS_REPO BASE_PATH DATASET_CONFIG PREDICTIONS RESULT_JSON

AUTHORS_REPO is a checkout of HuiResearch/ReasoningIE (nothing of it is in this repository). Their `evaluate.py`
always generates with vLLM first; this runs what it does after generation, with their own code: `rner.load_data` on
the test sets of DATASET_CONFIG, their `evaluate(examples, results)` (per-dataset F1 through `rner.compute_f1`, printed)
and the JSON dump of its rows — on the completions of PREDICTIONS (this project's `{"dataset", "index",
"completion"}` lines, put in their example order) instead of fresh generations.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    repo, base_path, dataset_config, predictions, result_file = argv
    sys.path.insert(0, repo)
    from rner import load_data

    from evaluate import evaluate  # their evaluate.py (vLLM is imported only inside its generate())

    with open(dataset_config, encoding="utf-8") as f:
        dataset_list = json.load(f)
    examples = load_data(base_path=base_path, dataset_list=dataset_list, mode="test")
    by_key = {}
    with open(predictions, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                by_key[(r["dataset"], r["index"])] = r["completion"]
    results, seen = [], dict.fromkeys(dataset_list, 0)
    for ex in examples:  # load_data keeps the list's order and each file's; `source` is the folder name here
        results.append(by_key[(ex.source, seen[ex.source])])
        seen[ex.source] += 1
    eval_result = evaluate(examples=examples, results=results)
    with open(result_file, "w", encoding="utf-8") as f:
        json.dump(eval_result, f, ensure_ascii=False, indent=4)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
