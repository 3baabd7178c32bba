"""Print, as JSON, the prompt token ids a generation backend actually gave the model for a few fixed prompts.

python tests/helpers/prompt_ids.py {hf|vllm|openai} MODEL [API_BASE]
"""

import json
import sys

from reasoning_ner.generation import DecodingConfig, make_backend

MESSAGES = [
    [{"role": "user", "content": "Find the person in: Ada Lovelace met Charles Babbage."}],
    [{"role": "user", "content": 'Types: ["location"]\nSentence: Rome .'}],
]

if __name__ == "__main__":
    backend, model = sys.argv[1], sys.argv[2]
    kwargs = {"api_base": sys.argv[3], "extra_body": {"return_token_ids": True}} if backend == "openai" else {}
    if backend == "vllm":
        kwargs |= {"max_model_len": 1024, "enable_prefix_caching": False}
    b = make_backend(backend, model, **kwargs)
    gens = b.generate(MESSAGES, DecodingConfig(max_new_tokens=2, batch_size=2, concurrency=2))
    print("PROMPT_IDS " + json.dumps([g.prompt_token_ids for g in gens]), flush=True)
