"""Run grpo.py's `main` with a callback that asks the *colocated* vLLM engine for the prompt log-probs of a text.

    accelerate launch --num_processes 1 --cpu tests/helpers/colocate_probe.py OUT.json TEXT \
        --config ... --use_vllm true --vllm_mode colocate ...

Writes OUT.json: the token ids of TEXT, the engine's log-prob of each token after the first at the start of training
(`before`) and at its end (`after`), the number of optimizer steps and the engine's dtype. The engine is the one TRL generates with
(found by recording every `VLLMGeneration` TRL builds), queried as it is at that moment: no sync is triggered here.
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from transformers import TrainerCallback  # noqa: E402

GENERATIONS = []


def record_generations() -> None:
    from trl.generation import vllm_generation

    init = vllm_generation.VLLMGeneration.__init__

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        GENERATIONS.append(self)

    vllm_generation.VLLMGeneration.__init__ = __init__


def engine_logprobs(ids: list[int]) -> list[float]:
    from vllm import SamplingParams

    (generation,) = GENERATIONS
    params = SamplingParams(max_tokens=1, prompt_logprobs=0, temperature=1.0)
    (output,) = generation.llm.generate([{"prompt_token_ids": ids}], params, use_tqdm=False)
    steps = output.prompt_logprobs
    return [steps[i][ids[i]].logprob for i in range(1, len(ids))]


class Probe(TrainerCallback):
    def __init__(self, out: str, text: str):
        self.out, self.text = out, text

    def on_train_begin(self, args, state, control, processing_class=None, **kwargs):
        self.ids = processing_class(self.text)["input_ids"]
        self.before = engine_logprobs(self.ids)

    def on_train_end(self, args, state, control, **kwargs):
        after = engine_logprobs(self.ids)
        if state.is_world_process_zero:
            (generation,) = GENERATIONS
            dtype = str(generation.llm.llm_engine.model_config.dtype).removeprefix("torch.")
            record = {"ids": self.ids, "before": self.before, "after": after, "global_step": state.global_step}
            record["engine_dtype"] = dtype
            Path(self.out).write_text(json.dumps(record))


if __name__ == "__main__":
    from trl import GRPOConfig, ModelConfig, TrlParser

    import grpo

    out, text = sys.argv[1], sys.argv[2]
    sys.argv = [sys.argv[0], *sys.argv[3:]]
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    record_generations()
    a, t, m = TrlParser((grpo.GRPOScriptArguments, GRPOConfig, ModelConfig)).parse_args_and_config()
    grpo.main(a, t, m, callbacks=[Probe(out, text)])
