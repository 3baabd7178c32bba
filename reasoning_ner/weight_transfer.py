"""CPU weight sync for TRL's GRPO server mode: vLLM's weight-transfer protocol over gloo instead of NCCL.

TRL 1.16 pushes the trainer's weights into a `vllm serve` process through vLLM's NCCL weight-transfer engine, which
needs CUDA. This module carries the same protocol over gloo (`torch.distributed`'s CPU backend):

* Server side: `register()` is a `vllm.general_plugins` entry point (pyproject.toml), which vLLM runs in each of its
  processes. It registers `GlooWeightTransferEngine` under the name "gloo", so that `vllm serve
  --weight-transfer-config '{"backend": "gloo"}'` builds one in every worker, and on the CPU platform it keeps the
  linear and LM-head weights of such servers unpacked (`compat.keep_vllm_cpu_linear_weights`), so that new weights
  reach the kernels.
* Trainer side: `connect_trainer`, `send_weights` and `close`, which `compat.use_cpu_weight_transfer` plugs into TRL's
  `VLLMClient` (only the accelerate main process talks to the server).

What happens, in order:

1. Rendezvous, once (`POST /init_weight_transfer_engine`). The trainer binds a listening socket on the address the
   server can reach it at (127.0.0.1 when the server is on this machine, else VLLM_HOST_IP or the machine's outward
   address) and the port `vllm_group_port` (0 = any free port; the socket is bound before the port is announced, so it
   cannot be taken in between), hosts a `TCPStore` on it and sends `{master_address, master_port, rank_offset: 1,
   world_size, chunk_bytes, timeout_s}`. Each worker connects to that store and all of them build one gloo process
   group of `world_size` = 1 + the server's workers (TP x PP x DP): the trainer is rank 0, the worker of global rank r
   (data-parallel index x TP x PP + its rank) is rank 1 + r. The group is a standalone object on its own store:
   `torch.distributed`'s default group (DeepSpeed's in the trainer, vLLM's in the workers) is neither used nor touched.
   Gloo picks its network interface as usual (GLOO_SOCKET_IFNAME, else the host name's address).
2. Each update (`POST /start_weight_update`, `/update_weights`, `/finish_weight_update`, as TRL sends them). The body
   of `/update_weights` announces the tensors in streaming order: names (HF checkpoint names), dtypes (`"float32"`,
   `"bfloat16"`, ...) and full shapes. Both sides cut this list into the same chunks from the announcement alone
   (`chunk_layout`: consecutive tensors, each at a 64-byte aligned offset, until a chunk reaches `chunk_bytes`, so it
   exceeds that by less than its last tensor). While the workers wait inside that request, the trainer copies its tensors' raw
   bytes into one uint8 buffer per chunk (checking each name, dtype and shape against the announcement; the copy also
   outlives a ZeRO-3 parameter that is re-partitioned as soon as the iteration moves on) and broadcasts it from rank 0.
   Each worker receives the buffer, views it back as the announced tensors and hands them to the model's own
   `load_weights` (which fuses QKV / gate-up and slices tensor-parallel shards), in place: start and finish do nothing.
   Values travel bit for bit in the trainer's dtype; `load_weights` casts them if the server runs another dtype.

Errors: a failed HTTP request is raised on the trainer before its next broadcast; a side that disappears mid-transfer
makes the other fail after `timeout_s` (gloo's own timeout). Security: like NCCL's, the group has no authentication;
anyone who can reach the rendezvous port while it is open, or the server's dev-mode endpoints, can interfere.
"""

from __future__ import annotations

import datetime
import logging
import math
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import torch

logger = logging.getLogger(__name__)

BACKEND = "gloo"
DEFAULT_CHUNK_BYTES = 256 * 1024 * 1024
DEFAULT_TIMEOUT_S = 600.0
ALIGN = 64  # every tensor starts at a multiple of this in its chunk, so that it can be viewed as any dtype
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}  # a server reached at one of these runs on this machine


def register() -> None:
    """vLLM plugin (`vllm.general_plugins`): register the "gloo" engine and, on the CPU platform, keep the weights of
    engines that receive weights unpacked (`compat.keep_vllm_cpu_linear_weights`).

    Cheap (nothing to do on GPU platforms; ~0.2 s of imports on CPU) and safe to run more than once; does nothing
    without vLLM. It creates no process group: that happens when a trainer calls `/init_weight_transfer_engine`.
    """
    try:
        from vllm.distributed.weight_transfer.factory import WeightTransferEngineFactory
    except ImportError:
        return
    try:
        WeightTransferEngineFactory.register_engine(BACKEND, __name__, "GlooWeightTransferEngine")
    except ValueError:  # already registered in this process
        pass
    from .compat import keep_vllm_cpu_linear_weights

    keep_vllm_cpu_linear_weights(only_with_weight_transfer=True)


# --------------------------------------------------------------------------------------------------------------------
# The transport, shared by both sides
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class GlooLink:
    """One side's end of the trainer <-> workers group."""

    group: Any  # torch.distributed.ProcessGroupGloo
    store: Any  # the TCPStore it was built on (hosted by the trainer)
    rank: int
    world_size: int
    chunk_bytes: int


def chunk_layout(
    dtypes: Sequence[torch.dtype], shapes: Sequence[Sequence[int]], chunk_bytes: int
) -> list[list[tuple[int, int, int]]]:
    """Cut the announced tensors into chunks: per chunk, `(index, byte offset, byte size)` of each tensor it holds.

    A chunk is closed once it holds `chunk_bytes` or more. Both sides compute this from the announcement, so they
    agree on every buffer's size and content without sending any layout.
    """
    chunks: list[list[tuple[int, int, int]]] = []
    current: list[tuple[int, int, int]] = []
    end = 0
    for i, (dtype, shape) in enumerate(zip(dtypes, shapes, strict=True)):
        size = math.prod(shape) * dtype.itemsize
        offset = -(-end // ALIGN) * ALIGN
        current.append((i, offset, size))
        end = offset + size
        if end >= chunk_bytes:
            chunks.append(current)
            current, end = [], 0
    if current:
        chunks.append(current)
    return chunks


def _chunk_buffer(layout: list[tuple[int, int, int]]) -> torch.Tensor:
    _, offset, size = layout[-1]
    return torch.empty(offset + size, dtype=torch.uint8)


def _broadcast(link: GlooLink, buffer: torch.Tensor) -> None:
    options = torch.distributed.BroadcastOptions()
    options.rootRank = 0
    link.group.broadcast([buffer], options).wait()


def _gloo_group(store, rank: int, world_size: int, timeout_s: float):
    from torch.distributed import PrefixStore, ProcessGroupGloo

    # Blocks until all `world_size` ranks have joined through the store.
    return ProcessGroupGloo(
        PrefixStore("reasoning_ner_weight_transfer", store),
        rank,
        world_size,
        datetime.timedelta(seconds=timeout_s),
    )


def _in_background(fn: Callable[[], Any]) -> Future:
    """Run `fn`, a call that waits for the other side of the transfer, in a daemon thread (so that a failed transfer
    cannot keep the process alive waiting for a peer that is gone)."""
    future: Future = Future()

    def run():
        try:
            future.set_result(fn())
        except BaseException as e:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(e)

    threading.Thread(target=run, daemon=True, name="weight-transfer-request").start()
    return future


# --------------------------------------------------------------------------------------------------------------------
# Trainer side (rank 0)
# --------------------------------------------------------------------------------------------------------------------


def trainer_address(server_host: str | None) -> str:
    """The address the server should reach the trainer at: loopback for a server on this machine, else vLLM's choice
    (VLLM_HOST_IP, or the address of the interface with the default route)."""
    if server_host in LOCAL_HOSTS:
        return "127.0.0.1"
    from vllm.utils.network_utils import get_ip

    return get_ip()


def connect_trainer(
    post_init: Callable[[dict], Any],
    server_host: str | None,
    port: int,
    world_size: int,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> GlooLink:
    """Host the rendezvous, have the server join it through `post_init(init_info)` (the HTTP request
    `/init_weight_transfer_engine`) and return the trainer's end of the group (rank 0)."""
    from vllm.distributed.utils import create_tcp_store

    address = trainer_address(server_host)
    listener = socket.create_server((address, port), family=socket.AF_INET6 if ":" in address else socket.AF_INET)
    port = listener.getsockname()[1]
    store = create_tcp_store(
        address,
        port,
        listen_socket=listener,
        world_size=world_size,
        is_master=True,
        wait_for_workers=False,
        timeout=datetime.timedelta(seconds=timeout_s),
    )
    init_info = {
        "master_address": address,
        "master_port": port,
        "rank_offset": 1,
        "world_size": world_size,
        "chunk_bytes": chunk_bytes,
        "timeout_s": timeout_s,
    }
    logger.info("weight transfer: gloo rendezvous on %s:%d for %d ranks (trainer = rank 0)", address, port, world_size)
    group = _in_background(lambda: _gloo_group(store, 0, world_size, timeout_s))
    post_init(init_info)  # returns once every worker is in the group, which needs rank 0 in it too
    return GlooLink(group.result(timeout=timeout_s), store, 0, world_size, chunk_bytes)


def send_weights(
    link: GlooLink,
    metadata: Sequence[tuple[str, str, Sequence[int]]],
    named_params: Iterable[tuple[str, torch.Tensor]],
    post_update: Callable[[dict], Any],
) -> None:
    """Announce `metadata` (`(name, dtype name, shape)` per tensor, in order) through `post_update(update_info)` (the
    HTTP request `/update_weights`, run in the background) and stream `named_params`, which must yield exactly those
    tensors in that order. The iterator is driven to its end, so that ZeRO-3 gathers stay in step on every rank."""
    names = [name for name, _, _ in metadata]
    dtype_names = [dtype for _, dtype, _ in metadata]
    shapes = [list(shape) for _, _, shape in metadata]
    dtypes = [getattr(torch, d) for d in dtype_names]
    request = _in_background(lambda: post_update({"names": names, "dtype_names": dtype_names, "shapes": shapes}))
    params = iter(named_params)
    for layout in chunk_layout(dtypes, shapes, link.chunk_bytes):
        buffer = _chunk_buffer(layout)
        for i, offset, size in layout:
            name, tensor = next(params)
            if name != names[i] or tensor.dtype != dtypes[i] or list(tensor.shape) != shapes[i]:
                raise ValueError(
                    f"weight transfer: tensor {i} is {name} {tensor.dtype} {list(tensor.shape)}, announced as "
                    f"{names[i]} {dtype_names[i]} {shapes[i]}"
                )
            buffer[offset : offset + size].copy_(tensor.detach().reshape(-1).view(torch.uint8))
        if request.done():
            request.result()  # the server refused the update: raise now rather than wait in the broadcast
        _broadcast(link, buffer)
    extra = next(params, None)
    if extra is not None:
        raise ValueError(f"weight transfer: more tensors than announced ({len(names)}), first extra {extra[0]}")
    request.result()


def close(link: GlooLink) -> None:
    """Drop the trainer's end: the group and the store (whose listening socket closes with it)."""
    link.group = None
    link.store = None


# --------------------------------------------------------------------------------------------------------------------
# Server side (every vLLM worker)
# --------------------------------------------------------------------------------------------------------------------


def connect_worker(
    master_address: str, master_port: int, rank: int, world_size: int, chunk_bytes: int, timeout_s: float
) -> GlooLink:
    """Join the trainer's rendezvous as `rank` (1 or more)."""
    store = torch.distributed.TCPStore(
        master_address, master_port, world_size, is_master=False, timeout=datetime.timedelta(seconds=timeout_s)
    )
    return GlooLink(_gloo_group(store, rank, world_size, timeout_s), store, rank, world_size, chunk_bytes)


def receive_weights(
    link: GlooLink,
    names: Sequence[str],
    dtype_names: Sequence[str],
    shapes: Sequence[Sequence[int]],
    load: Callable[[list[tuple[str, torch.Tensor]]], Any],
) -> None:
    """Receive the announced tensors chunk by chunk and pass each chunk's `(name, tensor)` pairs to `load`."""
    dtypes = [getattr(torch, d) for d in dtype_names]
    for layout in chunk_layout(dtypes, shapes, link.chunk_bytes):
        buffer = _chunk_buffer(layout)
        _broadcast(link, buffer)
        load([(names[i], buffer[offset : offset + size].view(dtypes[i]).view(shapes[i])) for i, offset, size in layout])


try:
    from vllm.distributed.weight_transfer.base import (
        WeightTransferEngine,
        WeightTransferInitInfo,
        WeightTransferUpdateInfo,
    )
except ImportError:  # no vLLM: the transport above still imports, there is just no engine to register
    WeightTransferEngine = None

if WeightTransferEngine is not None:

    @dataclass
    class GlooInitInfo(WeightTransferInitInfo):
        """Body of `/init_weight_transfer_engine` (see the module docstring, step 1)."""

        master_address: str
        master_port: int
        world_size: int
        rank_offset: int = 1
        chunk_bytes: int = DEFAULT_CHUNK_BYTES
        timeout_s: float = DEFAULT_TIMEOUT_S

    @dataclass
    class GlooUpdateInfo(WeightTransferUpdateInfo):
        """Body of `/update_weights`: the announcement (module docstring, step 2)."""

        names: list[str]
        dtype_names: list[str]
        shapes: list[list[int]]

        def __post_init__(self):
            if not len(self.names) == len(self.dtype_names) == len(self.shapes):
                raise ValueError(
                    f"{len(self.names)} names, {len(self.dtype_names)} dtype_names and {len(self.shapes)} shapes"
                )

    class GlooWeightTransferEngine(WeightTransferEngine[GlooInitInfo, GlooUpdateInfo]):
        """vLLM worker side of the gloo weight transfer: joins the trainer's group, loads what rank 0 broadcasts."""

        init_info_cls = GlooInitInfo
        update_info_cls = GlooUpdateInfo

        def __init__(self, config, vllm_config, device, model) -> None:
            super().__init__(config, vllm_config, device, model)
            self.link: GlooLink | None = None

        def init_transfer_engine(self, init_info: GlooInitInfo) -> None:
            p = self.parallel_config
            rank = init_info.rank_offset + p.data_parallel_index * p.world_size + p.rank
            self.link = connect_worker(
                init_info.master_address,
                init_info.master_port,
                rank,
                init_info.world_size,
                init_info.chunk_bytes,
                init_info.timeout_s,
            )
            logger.info("weight transfer: joined the trainer's gloo group as rank %d of %d", rank, self.link.world_size)

        def start_weight_update(self) -> None:
            pass  # weights are loaded in place as they arrive

        def finish_weight_update(self) -> None:
            pass

        def update_weights(self, update_info: dict) -> None:
            # The base class also synchronizes the accelerator, which a CPU worker does not have.
            self.receive_weights(self.parse_update_info(update_info))

        def receive_weights(self, update_info: GlooUpdateInfo) -> None:
            if self.link is None:
                raise RuntimeError("gloo weight transfer: /init_weight_transfer_engine has not been called")
            from vllm.model_executor.model_loader.mtp_validation import disable_mtp_completeness_check

            with disable_mtp_completeness_check():  # each chunk is a partial load
                receive_weights(
                    self.link, update_info.names, update_info.dtype_names, update_info.shapes, self.model.load_weights
                )

        def shutdown(self) -> None:
            self.link = None
