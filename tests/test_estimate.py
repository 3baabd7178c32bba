"""`python -m reasoning_ner.estimate`: parameter and FLOP counts of Qwen3-1.7B/8B-shaped configs against arithmetic
done by hand, the batch arithmetic and GPU-hours of SFT and GRPO recipes against hand computations, the memory warning,
token counting with the tiny model's tokenizer on the bundled sample NER-CoT, and every assumption being a flag."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest
from helpers.common import ROOT

from reasoning_ner import estimate as E

# Public config.json values of Qwen3-1.7B and Qwen3-8B, written here (no download).
QWEN3_1_7B = {
    "model_type": "qwen3",
    "hidden_size": 2048,
    "intermediate_size": 6144,
    "num_hidden_layers": 28,
    "num_attention_heads": 16,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "vocab_size": 151936,
    "tie_word_embeddings": True,
}
QWEN3_8B = {
    "model_type": "qwen3",
    "hidden_size": 4096,
    "intermediate_size": 12288,
    "num_hidden_layers": 36,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "vocab_size": 151936,
    "tie_word_embeddings": False,
}

# By hand. Qwen3-1.7B, one layer: q 2048·2048 = 4,194,304; k and v 2048·1024 = 2,097,152 each; o 4,194,304;
# gate, up, down 3·2048·6144 = 37,748,736 -> 50,331,648 matmul weights; norms 2·2048 + q/k norms 2·128 = 4,352.
# 28 layers: 1,409,286,144 matmul weights; embedding = tied LM head 151,936·2048 = 311,164,928.
N_1_7B = 1_720_451_072  # 1,409,286,144 + 311,164,928
TOTAL_1_7B = 1_720_574_976  # 28·(50,331,648 + 4,352) = 1,409,408,000 + final norm 2,048 + embedding 311,164,928
# Qwen3-8B, one layer: q 4096·4096 = 16,777,216; k and v 4096·1024 = 4,194,304 each; o 16,777,216; MLP 3·4096·12288
# = 150,994,944 -> 192,937,984; norms 2·4096 + 2·128 = 8,448. 36 layers: 6,945,767,424 matmul weights;
# embedding 151,936·4096 = 622,329,856, and an untied LM head of the same size.
N_8B = 7_568_097_280  # 6,945,767,424 + LM head 622,329,856
TOTAL_8B = 8_190_735_360  # 36·(192,937,984 + 8,448) = 6,946,071,552 + 4,096 + 2·622,329,856
# Training FLOPs per token at s̄ = 1000: 6N + 6·L·d·s̄, d = heads·head_dim.
FLOPS_8B_1000 = 46_293_319_680  # 6·7,568,097,280 = 45,408,583,680 + 6·36·4096·1000 = 884,736,000
FWD_8B_1000 = 15_431_106_560  # 2·7,568,097,280 = 15,136,194,560 + 2·36·4096·1000 = 294,912,000
FLOPS_1_7B_1000 = 10_666_770_432  # 6·1,720,451,072 = 10,322,706,432 + 6·28·2048·1000 = 344,064,000

SFT_8B = str(ROOT / "config/sft/qwen3-8b.yaml")
GRPO_8B = str(ROOT / "config/grpo/qwen3-8b.yaml")


@pytest.fixture
def cfg(tmp_path):
    paths = {}
    for name, c in (("1.7b", QWEN3_1_7B), ("8b", QWEN3_8B)):
        p = tmp_path / f"qwen3-{name}" / "config.json"
        p.parent.mkdir()
        p.write_text(json.dumps(c))
        paths[name] = p
    return paths


def est(*argv) -> dict:
    return E.run([str(a) for a in argv])


def test_parameter_counts_by_hand(cfg):
    s17 = E.ModelShape.from_config(json.loads(cfg["1.7b"].read_text()))
    s8 = E.ModelShape.from_config(json.loads(cfg["8b"].read_text()))
    assert (s17.matmul_params, s17.total_params) == (N_1_7B, TOTAL_1_7B)
    assert (s8.matmul_params, s8.total_params) == (N_8B, TOTAL_8B)
    # the estimator reads the same numbers from the files
    r = est("--recipe", SFT_8B, "--gpus", 8, "--model_config", cfg["8b"])
    assert (r["model"]["matmul_params"], r["model"]["total_params"]) == (N_8B, TOTAL_8B)


def test_parameter_counts_match_transformers(cfg):
    """The count is that of transformers' Qwen3 (built on the meta device: no memory, no download)."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    for name, total, n in (("1.7b", TOTAL_1_7B, N_1_7B), ("8b", TOTAL_8B, N_8B)):
        with torch.device("meta"):
            model = Qwen3ForCausalLM(Qwen3Config(**json.loads(cfg[name].read_text())))
        assert sum(p.numel() for p in model.parameters()) == total, name
        linear = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
        assert linear == n, name  # q, k, v, o, gate, up, down and the LM head (tied: the embedding's matrix, once)


def test_flops_per_token_by_hand(cfg):
    s8 = E.ModelShape.from_config(json.loads(cfg["8b"].read_text()))
    s17 = E.ModelShape.from_config(json.loads(cfg["1.7b"].read_text()))
    assert E.flops_per_token(s8, 1000) == FLOPS_8B_1000
    assert E.flops_per_token(s8, 1000, training=False) == FWD_8B_1000
    assert E.flops_per_token(s17, 1000) == FLOPS_1_7B_1000
    assert E.token_weighted_mean([100, 300]) == (100 * 100 + 300 * 300) / 400  # 250


def test_gpu_benchmarks_use_the_same_flops_function():
    for script in ("bench_sft_gpu.py", "bench_grpo_gpu.py"):
        text = (ROOT / "bench" / "gpu" / script).read_text()
        assert "from reasoning_ner.estimate import ModelShape, flops_per_token" in text, script
        assert "6 * " not in text, script  # no second copy of the formula


def test_sft_batch_arithmetic_and_gpu_hours_by_hand(cfg):
    r = est(
        "--recipe", SFT_8B, "--gpus", 8, "--gpu", "h100", "--model_config", cfg["8b"], "--examples", 10000,
        "--tokens_per_example", 500, "--mfu", 0.4, "--price", 2.0, "--num_train_epochs", 3,
    )  # fmt: skip
    b = r["batch"]
    assert (b["per_device"], b["grad_accum"], b["global_batch"]) == (16, 2, 256)  # the recipe's 16 × 2 × 8 GPUs
    # ⌈10000 / (16·8)⌉ = 79 micro-batches per GPU per epoch; ⌈79 / 2⌉ = 40 optimizer steps; × 3 epochs = 120
    assert (b["steps_per_epoch"], b["optimizer_steps"]) == (40, 120)
    sft = r["stages"][0]
    # 3 epochs × 10,000 examples × 500 tokens = 15,000,000 tokens; FLOPs/token at s̄ = 500:
    # 45,408,583,680 + 6·36·4096·500 = 45,408,583,680 + 442,368,000 = 45,850,951,680
    assert sft["tokens"] == 15_000_000
    assert r["flops_per_token"] == 45_850_951_680
    gpu_seconds = 15_000_000 * 45_850_951_680 / (0.4 * 989e12)  # = 6.877642752e17 FLOP / 3.956e14 FLOP/s
    assert sft["gpu_hours"] == pytest.approx(gpu_seconds / 3600, rel=1e-12)  # 0.4829 GPU-hours
    assert sft["wall_h"] == pytest.approx(gpu_seconds / 3600 / 8, rel=1e-12)
    assert sft["cost"] == pytest.approx(2.0 * gpu_seconds / 3600, rel=1e-12)


def test_grpo_batch_arithmetic_and_step_times_by_hand(cfg):
    base = [
        "--recipe", GRPO_8B, "--gpus", 8, "--model_config", cfg["8b"], "--examples", 5000, "--prompt_tokens", 150,
        "--completion_fraction", 0.125, "--mfu", 0.2, "--price", 3.0,
    ]  # fmt: skip
    r = est(*base, "--gen_tokens_per_s", 2500)
    b = r["batch"]
    # the paper's split: 7 training GPUs + 1 vLLM server GPU; 4 per device × 7 × 16 steps_per_generation (= grad
    # accumulation) = 448 completions = 28 prompts × 16 generations; ⌊5000 / 28⌋ = 178 rounds × 4 iterations = 712
    assert (b["training_gpus"], b["server_gpus"], b["generation_batch"], b["prompts_per_round"]) == (7, 1, 448, 28)
    assert (b["rounds"], b["optimizer_steps_per_round"], b["optimizer_steps"]) == (178, 4, 712)
    g = r["grpo_round"]
    t_gen = 448 * 512 / 2500  # completions × 0.125·4096 tokens / (tokens/s × 1 server GPU) = 91.75 s
    # s̄ = 150 + 512 = 662. Training token 6N + 6·36·4096·662 = 45,408,583,680 + 585,695,232 = 45,994,278,912;
    # forward 15,136,194,560 + 195,231,744 = 15,331,426,304. Per sequence token: 4 iterations × training + the old
    # log-probs (grad_accum 16 is not a multiple of 16 × 4) + the reference (beta 0.04) = 214,639,968,256.
    assert g["update_flops_per_token"] == 4 * 45_994_278_912 + 2 * 15_331_426_304 == 214_639_968_256
    t_update = 448 * 662 * 214_639_968_256 / (0.2 * 989e12 * 7)  # = 45.98 s on the 7 training GPUs
    assert g["generation_s"] == pytest.approx(t_gen, rel=1e-12)
    assert g["update_s"] == pytest.approx(t_update, rel=1e-12)
    assert g["generation_per_step_s"] == pytest.approx(t_gen / 4, rel=1e-12)
    assert g["bottleneck"] == "generation"
    grpo = r["stages"][0]
    assert grpo["gpus"] == 8  # the server GPU is billed too
    assert grpo["gpu_hours"] == pytest.approx(178 * (t_gen + t_update) * 8 / 3600, rel=1e-12)
    assert grpo["cost"] == pytest.approx(3.0 * 178 * (t_gen + t_update) * 8 / 3600, rel=1e-12)
    assert est(*base, "--gen_tokens_per_s", 20000)["grpo_round"]["bottleneck"] == "update"
    # colocate: no server GPU, the 8 training GPUs generate; generation batch 4 × 8 × 16 = 512 = 32 prompts
    c = est(*base, "--gen_tokens_per_s", 2500, "--vllm_mode", "colocate")
    assert (c["batch"]["training_gpus"], c["batch"]["generation_batch"], c["batch"]["rounds"]) == (8, 512, 156)
    assert c["grpo_round"]["generation_s"] == pytest.approx(512 * 512 / (2500 * 8), rel=1e-12)


def test_memory_terms_by_hand(cfg):
    r = est("--recipe", SFT_8B, "--gpus", 8, "--model_config", cfg["8b"], "--tokens_per_example", 650)
    m = r["memory"]["typical"]
    assert r["memory"]["micro_batch_tokens"] == 16 * 650  # padding-free: 16 sequences of s̄ = 650 tokens
    assert m["parameters (bf16)"] == pytest.approx(2 * 8_190_735_360 / 8 / 1e9)  # 2.048 GB
    assert m["AdamW states (fp32 master + 2 moments)"] == pytest.approx(12 * 8_190_735_360 / 8 / 1e9)  # 12.29 GB
    # per token and layer 16·4096 + 10·4096 + 10·1024 + 8·12288 = 215,040 bytes; with checkpointing the 36 layer
    # inputs 2·4096·36 = 294,912 + one layer 215,040 + final norm 8·4096 = 32,768 -> 542,720 bytes per token
    assert m["activations_ckpt"] == pytest.approx(10_400 * 542_720 / 1e9)  # 5.64 GB
    assert m["activations_no_ckpt"] == pytest.approx(10_400 * (36 * 215_040 + 32_768) / 1e9)  # 80.85 GB


def test_memory_warning_fires_only_when_it_does_not_fit(cfg):
    ok = est("--recipe", SFT_8B, "--gpus", 8, "--model_config", cfg["8b"], "--tokens_per_example", 650)
    assert ok["warnings"] == [] and ok["memory"]["fits"]
    bad = est(
        "--recipe", SFT_8B, "--gpus", 8, "--model_config", cfg["8b"], "--tokens_per_example", 650,
        "--per_device_train_batch_size", 64, "--gradient_checkpointing", "false",
    )  # fmt: skip
    assert not bad["memory"]["fits"]
    assert len(bad["warnings"]) == 1 and bad["warnings"][0].startswith("WARNING: ")
    assert "exceeds the 80 GB" in bad["warnings"][0]
    assert "WARNING: " in E.to_markdown(bad)
    # the same run on one GPU cannot hold 8B's ZeRO-3 states either, whatever the batch
    one = est("--recipe", SFT_8B, "--gpus", 1, "--model_config", cfg["8b"], "--per_device_train_batch_size", 1)
    assert one["warnings"] and one["memory"]["typical"]["AdamW states (fp32 master + 2 moments)"] > 80


def test_token_counting_with_the_tiny_tokenizer(tiny, tmp_path):
    """The counts are the sequences SFTTrainer trains: compared with the trainer `sft.py` builds on the same data."""
    from trl import ModelConfig, SFTConfig, TrlParser

    from reasoning_ner.training import build_sft_trainer
    from sft import SFTScriptArguments

    data = ROOT / "data" / "sample" / "ner_cot.jsonl"
    argv = ["--config", str(ROOT / "config/sft/tiny-cpu.yaml"), "--model_name_or_path", str(tiny)]
    s, t, m = TrlParser((SFTScriptArguments, SFTConfig, ModelConfig)).parse_args_and_config(
        argv + ["--dataset_path", str(data), "--output_dir", str(tmp_path / "out")]
    )
    trainer, _, _ = build_sft_trainer(s, t, m)
    trained = [len(x) for x in trainer.train_dataset["input_ids"]]
    assert len(trained) == 240

    common = ["--recipe", SFT_8B, "--gpus", 8, "--model_config", tiny, "--data", data, "--tokenizer", tiny]
    r = est(*common)
    d = r["data"]
    assert d["measured"] and d["examples"] == 240
    assert d["total_tokens"] == sum(trained)  # 66,160 tokens, 276 per example
    assert d["s_bar"] == pytest.approx(sum(x * x for x in trained) / sum(trained))
    assert r["assumptions"]["tokens_per_example"]["why"] == "measured from the data"
    assert r["stages"][0]["tokens"] == 5 * sum(trained)  # the recipe's 5 epochs
    # the recipe's length policy: max_seq_length 250 with `overlong: drop`
    short = est(*common, "--max_seq_length", 250)
    assert short["data"]["examples"] == sum(n <= 250 for n in trained)
    assert short["data"]["over_max_seq_length"] == sum(n > 250 for n in trained)
    assert short["data"]["total_tokens"] == sum(n for n in trained if n <= 250)
    # without a tokenizer the rows are counted and the tokens assumed, loudly
    md = E.to_markdown(est("--recipe", SFT_8B, "--gpus", 8, "--model_config", tiny, "--data", data))
    assert "**NOT MEASURED**" in md


def test_grpo_prompt_counting_with_the_tiny_tokenizer(tiny, tmp_path):
    from reasoning_ner.prompts import resolve_prompt
    from reasoning_ner.training import load_grpo_dataset, prompt_lengths

    sys.path.insert(0, str(ROOT / "bench" / "gpu"))
    import gpu_common

    path = tmp_path / "train.jsonl"
    assert gpu_common.write_grpo_data(path) == 240
    lengths = prompt_lengths(load_grpo_dataset(path, resolve_prompt()), E.load_tokenizer(tiny))
    r = est("--recipe", GRPO_8B, "--gpus", 8, "--model_config", tiny, "--data", path, "--tokenizer", tiny)
    assert r["data"]["measured"] and r["data"]["prompts"] == 240
    assert r["data"]["mean_prompt"] == pytest.approx(round(sum(lengths) / 240, 1))
    assert r["data"]["max_prompt"] == max(lengths)
    cut = sorted(lengths)[120]
    r2 = est("--recipe", GRPO_8B, "--gpus", 8, "--model_config", tiny, "--data", path, "--tokenizer", tiny,
             "--max_prompt_length", cut)  # fmt: skip
    assert r2["data"]["dropped_long_prompts"] == sum(n > cut for n in lengths)


OVERRIDES = {
    "mfu": 0.123,
    "gen_tokens_per_s": 1234.0,
    "gen_efficiency": 0.5,
    "completion_fraction": 0.2,
    "price": 9.5,
    "memory_gb": 40.0,
    "peak_tflops": 500.0,
    "bandwidth_tb_s": 1.5,
    "tokens_per_example": 321.0,
    "prompt_tokens": 99.0,
    "examples": 777,
    "eval_examples": 55,
    "overhead_gb": 1.5,
    "server_gpus": 2,
}


@pytest.mark.parametrize("recipe", [SFT_8B, GRPO_8B])
def test_every_assumption_can_be_overridden(cfg, recipe):
    parser_flags = {o for a in E.build_parser()._actions for o in a.option_strings}
    default = est("--recipe", recipe, "--gpus", 8, "--model_config", cfg["8b"])
    assert default["assumptions"]
    for name, a in default["assumptions"].items():
        assert a["flag"] in parser_flags, name  # every printed assumption has its flag
        assert a["source"] == "assumed"
        assert a["flag"][2:] in OVERRIDES, name  # ... and this test overrides it
    md = E.to_markdown(default)
    for name in default["assumptions"]:
        assert f"`{name}" in md  # in the assumptions block
    for name, a in default["assumptions"].items():
        flag = a["flag"][2:]
        r = est("--recipe", recipe, "--gpus", 8, "--model_config", cfg["8b"], f"--{flag}", OVERRIDES[flag])
        assert r["assumptions"][name]["value"] == OVERRIDES[flag], name
        assert r["assumptions"][name]["source"] == f"given (--{flag})", name
    # and they act: price scales the cost, MFU the training time, memory the warning
    train, price = default["stages"][0], default["assumptions"]["price"]["value"]
    r = est("--recipe", recipe, "--gpus", 8, "--model_config", cfg["8b"], "--price", 2 * price)
    assert r["stages"][0]["cost"] == pytest.approx(2 * train["cost"])
    if recipe == SFT_8B:
        r = est("--recipe", recipe, "--gpus", 8, "--model_config", cfg["8b"], "--mfu", 0.15)
        assert r["stages"][0]["gpu_hours"] == pytest.approx(2 * train["gpu_hours"])  # default 0.30
    r = est("--recipe", recipe, "--gpus", 8, "--model_config", cfg["8b"], "--memory_gb", 10)
    assert r["warnings"]


def test_defaults_are_trl_and_the_scripts_defaults():
    import trl

    from grpo import GRPOScriptArguments
    from sft import SFTScriptArguments

    def defaults(cls):
        return {
            f.name: (f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default)
            for f in dataclasses.fields(cls)
        }

    for stage, classes in (
        ("sft", (trl.SFTConfig, SFTScriptArguments)),
        ("grpo", (trl.GRPOConfig, GRPOScriptArguments)),
    ):
        got = E.stage_defaults(stage)
        trl_defaults, script_defaults = defaults(classes[0]), defaults(classes[1])
        assert script_defaults and all(got[k] == v for k, v in script_defaults.items())
        assert all(got[k] == v for k, v in trl_defaults.items() if k not in script_defaults)
    # a key the recipe leaves out falls back to the dataclass default (script arguments first)
    assert E.resolve({}, "grpo", "num_generations") == defaults(trl.GRPOConfig)["num_generations"]
    assert (
        E.resolve({}, "sft", "overlong") == "drop"
        and E.resolve({"overlong": "truncate"}, "sft", "overlong") == "truncate"
    )


def test_known_shapes_are_the_public_configs():
    assert {k: E.KNOWN_SHAPES["qwen3-8b"][k] for k in QWEN3_8B} == QWEN3_8B
    assert {k: E.KNOWN_SHAPES["qwen3-1.7b"][k] for k in QWEN3_1_7B} == QWEN3_1_7B
    assert E.shape_from_name("Qwen/Qwen3-8B-Base")[0] == E.shape_from_name("outputs/sft/qwen3-8b")[0] == "qwen3-8b"
    assert set(E.GPUS) == {"h100", "h200", "a100-80gb", "a800"}


def test_activation_formula_matches_what_autograd_saves():
    """bf16 Qwen3 layers (CPU flash attention): the tensors autograd keeps for backward, parameters excluded."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    c = dict(hidden_size=256, intermediate_size=768, num_hidden_layers=2, num_attention_heads=8, num_key_value_heads=2)
    c |= dict(head_dim=32, vocab_size=1000, tie_word_embeddings=False, attn_implementation="sdpa")
    torch.manual_seed(0)
    model = Qwen3ForCausalLM(Qwen3Config(**c)).to(torch.bfloat16).train()
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    tokens = 256
    hidden = model.model(input_ids=torch.randint(0, 1000, (1, tokens))).last_hidden_state
    saved, seen, stack = {}, set(), [hidden.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        for name in dir(fn):
            if name.startswith("_saved_"):
                try:
                    v = getattr(fn, name)
                except RuntimeError:
                    continue
                if isinstance(v, torch.Tensor) and v.untyped_storage().data_ptr() not in params:
                    saved[v.untyped_storage().data_ptr()] = v.untyped_storage().nbytes()
        stack.extend(f for f, _ in fn.next_functions)
    shape = E.ModelShape.from_config(c | {"model_type": "qwen3"})
    formula = 2 * shape.activation_bytes_per_layer_token() + 8 * 256
    assert sum(saved.values()) / tokens == pytest.approx(formula, rel=0.05)


@pytest.mark.slow
def test_cli(cfg):
    cmd = [sys.executable, "-m", "reasoning_ner.estimate", "--recipe", "config/grpo/qwen3-1.7b.yaml", "--gpus", "8"]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "**Assumptions**" in r.stdout and "bottleneck" in r.stdout and "| GRPO | 8 |" in r.stdout
    j = subprocess.run(cmd + ["--json"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    report = json.loads(j.stdout)
    assert report["stage"] == "grpo" and report["batch"]["training_gpus"] == 7
    bad = subprocess.run(cmd + ["--no_such_key", "1"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "--no_such_key" in bad.stderr
    # the memory warning also goes to stderr
    w = subprocess.run(
        cmd + ["--gradient_checkpointing", "false"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert w.returncode == 0 and "WARNING: " in w.stderr
