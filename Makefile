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

# The main job. With internet: `$(PY) apps/finetune.py --dataset flowers` (ResNet50V2 from its
# ImageNet weights). This workplace can download neither, so the default fine-tunes the real
# CIFAR-10 ResNet20 weights on the local tf_flowers copy: their checkpoint is placed in the Keras
# cache, the documented offline route for any pretrained file.
SHARED ?= ../shared/data
KERAS_CACHE ?= $(or $(KERAS_HOME),$(HOME)/.keras)/models
FINETUNE_ARGS ?= --data-dir $(SHARED)/flowers-full --model resnet20 --weights cifar10

finetune: setup
	mkdir -p $(KERAS_CACHE)
	test -f $(KERAS_CACHE)/resnet20-12fca82f.th || cp $(SHARED)/cifar10-pretrained/resnet20-12fca82f.th $(KERAS_CACHE)/
	$(PY) apps/finetune.py $(FINETUNE_ARGS)

benchmark: setup
	$(PY) benchmarks/overhead.py
	$(PY) benchmarks/finetune_flowers.py
	$(PY) benchmarks/export_accuracy.py
	$(PY) benchmarks/precision.py
	$(PY) benchmarks/model_table.py --update-readme
