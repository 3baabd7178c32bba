"""ReasoningNER: reasoning-then-answer named entity recognition (AAAI 2026, arXiv 2511.11978).

The package holds the logic of every stage; the top-level scripts only parse arguments and call it. Modules, by layer
(docs/architecture.md has the picture and where each kind of change goes):

* data and text: `paths` (well-known folders), `data` (the data model, NER-CoT and InstructUIE readers, `DataError`),
  `formats` (input formats by name), `convert` (BIO / UniNER converters), `labels` (type normalisation, aliases),
  `alignment` (mention -> character offsets), `prompts` (prompt spec, chat formatting, training target);
* answers and scores: `parsing` (completion -> entities, lenient and paper rules), `scoring` (protocols, P/R/F1, the
  predictions reader), `rewards` (GRPO rewards registry, verl's `compute_score`), `reports` (result JSON, Markdown),
  `plots`, `figures` (figures drawn by a child process while the caller goes on);
* stages: `cot` (stage 1), `training` (stages 2 and 3 with TRL), `sampling` (GRPO data), `generation` (backends and
  the resumable driver of evaluation and prediction), `prediction` (free text: windows, assembly with offsets);
* plumbing: `chat_client` (OpenAI-compatible client), `parallel` (ordered bounded-concurrency map), `resumable`
  (locked append-only JSONL), `serving` (a local vLLM server), `weight_transfer` (gloo weight sync for server mode on
  CPU), `compat` (work-arounds for the pinned stack), `lora` (adapters), `tiny` (offline tiny models), `estimate`
  (compute and cost of a recipe).
"""

__version__ = "0.1.0"
