"""ReasoningNER: reasoning-then-answer named entity recognition (AAAI 2026, arXiv 2511.11978).

The package holds everything the stage scripts share: the data model and readers (`data`), label policy (`labels`),
prompt and target rendering (`prompts`), the completion parser (`parsing`), the scorer (`metrics`), the reward
functions (`rewards`), the GRPO data sampler (`sampling`), the converters (`convert`) and the tiny-model builder (`tiny`).
"""

__version__ = "0.1.0"
