"""Print, as JSON, the prompt token ids a generation backend actually gave the model for a few fixed prompts.

python tests/helpers/prompt_ids.py {hf|vllm|openai} MODEL [API_BASE]
"""

import json
import sys

from reasoning_ner.generation import DecodingConfig, GenerationArguments, Item

MESSAGES = [
    [{"role": "user", "content": "Find the person in: Ada Lovelace met Charles Babbage."}],
    [{"role": "user", "content": 'Types: ["location"]\nSentence: Rome .'}],
]

if __name__ == "__main__":
    args = GenerationArguments(model=sys.argv[2], backend=sys.argv[1], max_model_len=1024, enable_prefix_caching=False)
    if args.backend == "openai":
        args.api_base, args.extra_body = sys.argv[3], '{"return_token_ids": true}'
    items = [Item("d", i, m) for i, m in enumerate(MESSAGES)]
    gens = args.make_backend().stream(items, DecodingConfig(max_new_tokens=2, batch_size=2, concurrency=2))
    print("PROMPT_IDS " + json.dumps([g.prompt_token_ids for _, g in gens]), flush=True)
