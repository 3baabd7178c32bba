"""Run sft.py or grpo.py's `main` with a callback that records, per rank, how the parameters are held.

Used by the DeepSpeed tests: `accelerate launch ... tests/helpers/zero_probe.py {sft|grpo} OUT.json --config ...`.
Under ZeRO-3 every parameter's full tensor is replaced by a local shard (`ds_tensor`) of about 1/world of it.
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from transformers import TrainerCallback  # noqa: E402


class Probe(TrainerCallback):
    def __init__(self, out: str):
        self.out = out

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        import torch.distributed as dist

        params = list(model.parameters())
        info = {
            "rank": dist.get_rank() if dist.is_initialized() else 0,
            "world": dist.get_world_size() if dist.is_initialized() else 1,
            "backend": dist.get_backend() if dist.is_initialized() else None,
            "n_params": len(params),
            "full_numel": sum(getattr(p, "ds_numel", p.numel()) for p in params),
            "local_numel": sum(p.ds_tensor.numel() if hasattr(p, "ds_tensor") else p.numel() for p in params),
            "data_numel": sum(p.data.numel() for p in params),
            "zero_stage3": all(hasattr(p, "ds_tensor") for p in params),
        }
        Path(f"{self.out}.rank{info['rank']}").write_text(json.dumps(info))

    def on_train_end(self, args, state, control, model=None, **kwargs):
        """Gather the trained full weights from the shards (every rank takes part) and keep rank 0's copy."""
        import deepspeed
        import torch
        import torch.distributed as dist

        named = list(model.named_parameters())
        with deepspeed.zero.GatheredParameters([p for _, p in named], modifier_rank=None):
            if not dist.is_initialized() or dist.get_rank() == 0:
                torch.save({n: p.detach().clone().cpu() for n, p in named}, f"{self.out}.final.pt")


if __name__ == "__main__":
    from trl import GRPOConfig, ModelConfig, SFTConfig, TrlParser

    stage, out = sys.argv[1], sys.argv[2]
    sys.argv = [sys.argv[0], *sys.argv[3:]]
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if stage == "sft":
        import sft as mod

        types = (mod.SFTScriptArguments, SFTConfig, ModelConfig)
    else:
        import grpo as mod

        types = (mod.GRPOScriptArguments, GRPOConfig, ModelConfig)
    a, t, m = TrlParser(types).parse_args_and_config()
    mod.main(a, t, m, callbacks=[Probe(out)])
