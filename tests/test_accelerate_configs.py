"""The accelerate configs under config/accelerate/ load with accelerate's own loader (every nested key is a real
`accelerate launch` option) and hold the intended topologies and precision.
"""

from __future__ import annotations

import pytest
from helpers.common import ROOT, read_yaml

ACC_DIR = ROOT / "config" / "accelerate"
ACC_YAMLS = sorted(ACC_DIR.glob("*.yaml"))

EXPECTED_ACC = {
    "zero3.yaml": "DEEPSPEED",
    "zero2.yaml": "DEEPSPEED",
    "fsdp2.yaml": "FSDP",
    "multinode-zero3.yaml": "DEEPSPEED",
    "zero3-cpu.yaml": "DEEPSPEED",
}


def test_accelerate_configs_present():
    assert set(EXPECTED_ACC) <= {p.name for p in ACC_YAMLS}


@pytest.mark.parametrize("path", ACC_YAMLS, ids=lambda p: p.name)
def test_accelerate_config_loads(path):
    from accelerate.commands.config.config_args import ClusterConfig
    from accelerate.commands.launch import launch_command_parser
    from accelerate.utils import DistributedType

    data = read_yaml(path)
    assert data["distributed_type"] == EXPECTED_ACC.get(path.name, data["distributed_type"])
    assert data["distributed_type"] in {t.value for t in DistributedType}
    assert data.get("mixed_precision") in ("no", "fp16", "bf16", "fp8"), "quote 'no': bare no is YAML false"
    # accelerate's own loader rejects unknown top-level keys; nested keys become `accelerate launch` flags
    # (fsdp_config keys get an fsdp_ prefix), which it would otherwise ignore silently.
    cfg = ClusterConfig.from_yaml_file(str(path))
    dests = {a.dest for a in launch_command_parser()._actions}
    for section, prefix in (("deepspeed_config", ""), ("fsdp_config", "fsdp_")):
        for key in getattr(cfg, section):
            flag = key if key.startswith(prefix) else prefix + key
            assert flag in dests, f"{path.name}: {section}.{key} is not an accelerate launch option"


def test_accelerate_config_values():
    zero3, zero2, fsdp2 = (read_yaml(ACC_DIR / n) for n in ("zero3.yaml", "zero2.yaml", "fsdp2.yaml"))
    multi, cpu = read_yaml(ACC_DIR / "multinode-zero3.yaml"), read_yaml(ACC_DIR / "zero3-cpu.yaml")

    assert zero3["deepspeed_config"]["zero_stage"] == 3 and zero3["mixed_precision"] == "bf16"
    assert zero3["num_processes"] == 8 and zero3["num_machines"] == 1
    assert zero3["deepspeed_config"]["zero3_save_16bit_model"] is True  # full weights saved, vLLM can serve them
    assert zero2["deepspeed_config"]["zero_stage"] == 2 and zero2["mixed_precision"] == "bf16"

    fc = fsdp2["fsdp_config"]
    assert fc["fsdp_version"] == 2 and fc["fsdp_reshard_after_forward"] is True  # FSDP2 full shard
    assert fc["fsdp_auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"
    assert fc["fsdp_transformer_layer_cls_to_wrap"] == "Qwen3DecoderLayer"
    assert fc["fsdp_activation_checkpointing"] is False  # transformers refuses it with gradient_checkpointing
    assert fsdp2["mixed_precision"] == "bf16"
    from transformers.models.qwen3 import modeling_qwen3

    assert hasattr(modeling_qwen3, fc["fsdp_transformer_layer_cls_to_wrap"])

    assert multi["num_machines"] == 2 and multi["num_processes"] == 16
    assert {"machine_rank", "main_process_ip", "main_process_port"} <= set(multi)
    assert multi["deepspeed_config"]["zero_stage"] == 3

    assert cpu["use_cpu"] is True and cpu["num_processes"] == 2 and cpu["mixed_precision"] == "no"
    assert cpu["deepspeed_config"]["zero_stage"] == 3
    assert cpu["deepspeed_config"]["zero3_init_flag"] is True
    assert cpu["deepspeed_config"]["zero3_save_16bit_model"] is True
