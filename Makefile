# `make test` sets everything up on a fresh clone and runs the suite on all three backends.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt pyproject.toml | md5sum | cut -c1-8)
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: setup test test-tensorflow test-jax test-torch finetune benchmark

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps -e .
	rm -f $(VENV)/.installed-*; touch $@

# TensorFlow runs everything; JAX and PyTorch rerun the model tests (marker "backend").
test: test-tensorflow test-jax test-torch

test-tensorflow: setup
	KERAS_BACKEND=tensorflow $(PY) -m pytest -q -rs

test-jax: setup
	KERAS_BACKEND=jax $(PY) -m pytest -q -rs -m backend

test-torch: setup
	KERAS_BACKEND=torch $(PY) -m pytest -q -rs -m backend

# The main job, offline: fine-tune on the local tf_flowers copy.
finetune: setup
	$(PY) apps/finetune.py --data-dir ../shared/data/flowers-full

benchmark: setup
	$(PY) benchmarks/overhead.py
