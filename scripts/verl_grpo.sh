#!/usr/bin/env bash
# GRPO with verl instead of TRL, with the hyperparameters of the authors' verl run (their verl-grpo.sh), for one node
# of 8 GPUs. NOT RUN in this project: verl needs CUDA GPUs and is not part of the pinned stack (pip install verl).
#
#   python sample_grpo.py --base_path IE_INSTRUCTIONS/NER --dataset_config config/dataset/in_domain.json \
#       --allow_eval_overlap --label_policy paper --output_path data/grpo --format verl    # train.parquet, dev.parquet
#   bash scripts/verl_grpo.sh outputs/sft/qwen3-8b [extra verl overrides, e.g. trainer.total_epochs=1]
#
# Reward: REWARD=compute_score_paper (default) is the authors' verl reward, entity F1 alone with the paper parser;
# REWARD=compute_score is this project's 10 * F1 + 1 * schema (lenient parser; pass
# `+custom_reward_function.reward_kwargs.parser=paper` if your verl forwards reward kwargs).
# Settings (environment variables): DATA (default data/grpo), REWARD, GPUS (8), NODES (1), EPOCHS (15, theirs),
# PROJECT / EXPERIMENT (logger names), LOGGER (default "['console']"; theirs added swanlab).
set -euo pipefail

if [[ $# -lt 1 || "$1" == -* ]]; then
    echo "usage: $0 MODEL [verl overrides]" >&2
    exit 2
fi
MODEL="$1"
shift
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${DATA:-data/grpo}"
REWARD="${REWARD:-compute_score_paper}"

args=(
    algorithm.adv_estimator=grpo
    algorithm.use_kl_in_reward=False
    "custom_reward_function.path=$ROOT/rewards.py"
    "custom_reward_function.name=$REWARD"
    "data.train_files=$DATA/train.parquet"
    "data.val_files=$DATA/dev.parquet"
    data.train_batch_size=256            # prompts per step
    data.max_prompt_length=1024
    data.max_response_length=4096
    data.filter_overlong_prompts=True
    data.truncation=error
    "actor_rollout_ref.model.path=$MODEL"
    actor_rollout_ref.model.use_remove_padding=True
    actor_rollout_ref.model.enable_gradient_checkpointing=True
    actor_rollout_ref.actor.strategy=fsdp2
    actor_rollout_ref.actor.optim.lr=1e-6
    actor_rollout_ref.actor.ppo_mini_batch_size=64
    actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=8
    actor_rollout_ref.actor.use_kl_loss=True
    actor_rollout_ref.actor.kl_loss_coef=0.001
    actor_rollout_ref.actor.kl_loss_type=low_var_kl
    actor_rollout_ref.actor.entropy_coeff=0
    actor_rollout_ref.actor.fsdp_config.param_offload=False
    actor_rollout_ref.actor.fsdp_config.optimizer_offload=False
    actor_rollout_ref.rollout.name=vllm
    actor_rollout_ref.rollout.n=16
    actor_rollout_ref.rollout.tensor_model_parallel_size=1
    actor_rollout_ref.rollout.gpu_memory_utilization=0.6
    actor_rollout_ref.rollout.max_num_batched_tokens=8192
    actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=32
    actor_rollout_ref.ref.strategy=fsdp2
    actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=32
    actor_rollout_ref.ref.fsdp_config.param_offload=True
    trainer.critic_warmup=0
    "trainer.logger=${LOGGER:-['console']}"
    "trainer.project_name=${PROJECT:-reasoning-ner-verl}"
    "trainer.experiment_name=${EXPERIMENT:-$(basename "$MODEL")-grpo}"
    "trainer.n_gpus_per_node=${GPUS:-8}"
    "trainer.nnodes=${NODES:-1}"
    trainer.save_freq=50
    trainer.test_freq=50
    "trainer.total_epochs=${EPOCHS:-15}"
)
exec python -m verl.trainer.main_ppo "${args[@]}" "$@"
