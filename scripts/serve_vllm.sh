#!/usr/bin/env bash
# Start the vLLM server that GRPO talks to in TRL's server mode (grpo.py with `use_vllm: true`, `vllm_mode: server`).
#
#   bash scripts/serve_vllm.sh MODEL [extra args]
#
# MODEL is the policy to serve: the SFT output the GRPO recipe starts from (e.g. outputs/sft/qwen3-8b). The trainer
# pushes its updated weights into this server after every optimizer step, so the served model always tracks training.
# Extra args go to `trl vllm-serve`; its own flags (e.g. --max_model_len 6144) override the defaults below, and any
# flag it does not know is forwarded to `vllm serve` unchanged (e.g. --max-num-seqs 512).
#
# Two-terminal launch on one 8-GPU node (the paper's setup: 7 training GPUs + 1 generation GPU):
#   # terminal 1: generation server on GPU 7 (wait for "Application startup complete")
#   CUDA_VISIBLE_DEVICES=7 bash scripts/serve_vllm.sh outputs/sft/qwen3-8b
#   # terminal 2: training on GPUs 0-6
#   CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6 accelerate launch --config_file config/accelerate/zero3.yaml \
#       --num_processes 7 grpo.py --config config/grpo/qwen3-8b.yaml
#
# Settings (environment variables):
#   TP                       tensor-parallel size, GPUs per model replica (default 1; must divide the model's
#                            attention heads: 1, 2, 4 or 8 for Qwen3-1.7B/8B)
#   DP                       data-parallel size (default 1; `trl vllm-serve` rejects DP > 1 for dense models such
#                            as Qwen3, use TP instead)
#   MAX_MODEL_LEN            context length (default 5120 = max_prompt_length 1024 + max_completion_length 4096 of
#                            the GRPO recipes; raise it with them)
#   PORT                     HTTP port (default 8000 = the recipes' vllm_server_port)
#   HOST                     bind address (default 0.0.0.0: reachable from the training nodes)
#   GPU_MEMORY_UTILIZATION   fraction of each GPU vLLM may use (default 0.9: the GPU is dedicated to generation)
#   DTYPE                    weights dtype (default bfloat16)
#   TRL                      the trl executable (default: .venv/bin/trl when present, else trl on PATH)
#
# `trl vllm-serve` (TRL 1.16) runs vLLM's own `vllm serve` with what the trainer needs: the NCCL weight-transfer
# engine, `--logprobs-mode processed_logprobs` (for the importance-sampling correction) and VLLM_SERVER_DEV_MODE=1.
# It prints a FutureWarning saying it is deprecated in favour of calling `vllm serve` directly; it still works.
set -euo pipefail

if [[ $# -lt 1 || "$1" == -* ]]; then
    echo "usage: $0 MODEL [extra trl vllm-serve / vllm serve args]" >&2
    exit 2
fi
MODEL="$1"
shift

TP="${TP:-1}"
DP="${DP:-1}"
MAX_MODEL_LEN="${MAX_MODEL_LEN:-5120}"
PORT="${PORT:-8000}"
HOST="${HOST:-0.0.0.0}"
GPU_MEMORY_UTILIZATION="${GPU_MEMORY_UTILIZATION:-0.9}"
DTYPE="${DTYPE:-bfloat16}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -z "${TRL:-}" ]]; then
    if [[ -x "$ROOT/.venv/bin/trl" ]]; then
        TRL="$ROOT/.venv/bin/trl"
    else
        TRL="trl"
    fi
fi

echo "serving $MODEL on $HOST:$PORT (TP=$TP DP=$DP max_model_len=$MAX_MODEL_LEN gpu_memory_utilization=$GPU_MEMORY_UTILIZATION)" >&2
exec "$TRL" vllm-serve \
    --model "$MODEL" \
    --tensor_parallel_size "$TP" \
    --data_parallel_size "$DP" \
    --max_model_len "$MAX_MODEL_LEN" \
    --gpu_memory_utilization "$GPU_MEMORY_UTILIZATION" \
    --dtype "$DTYPE" \
    --host "$HOST" \
    --port "$PORT" \
    "$@"
