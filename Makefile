# `make test` sets everything up on a fresh clone and runs the suite on all three backends.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt pyproject.toml | md5sum | cut -c1-8)
# TensorFlow's info and warning lines stay out of the tests and benchmarks; the apps
# (`make finetune`) silence its start-up noise themselves unless this is set by you.
test-tensorflow test-jax test-torch benchmark perf: export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: setup web web-tools test test-all test-tensorflow test-jax test-torch finetune benchmark perf

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps -e .
	rm -f $(VENV)/.installed-*; touch $@

# TensorFlow runs every test; JAX and PyTorch rerun the model tests (marker "backend").
# `make test` (CI, the README) leaves out the tests marked "slow": long end-to-end runs and
# measurements whose code paths a shorter test also takes (each says which). `make test-all`
# runs those too (TESTS="" selects everything); run it before a release and after changing
# an app, an export path or a converter.
# JOBS pytest-xdist workers, each taking whole test files (module fixtures are made once;
# the longest files start first, tests/conftest.py). 2 by default, for CI's 2 cores: much of a
# test's time is single-threaded (tracing, conversion, saving), and two files at once took 219 s
# where one after the other took 293. On more cores, `make test JOBS=4`; JOBS=0: one process.
# Each leg ends with its 15 slowest tests, for the next trim of `make test` (CI has 45 minutes).
JOBS ?= 2
TESTS ?= not slow
PYTEST = $(PY) -m pytest -q -rs -n $(JOBS) --dist loadfile --durations 15
test: test-tensorflow test-jax test-torch

test-all:
	$(MAKE) test TESTS=""

# The page of docs/web in headless Chromium (tests/test_web_page.py) needs npm, Chromium and
# the pinned npm package (docs/web/package-lock.json). npm and Chromium are installed through
# apt when missing and run as root (CI); otherwise this says what to install and that test skips.
WEB_PACKAGE := docs/web/node_modules/@mediapipe/tasks-vision/package.json
web: web-tools $(WEB_PACKAGE)

web-tools:
	@missing="$$(command -v npm >/dev/null || echo npm) $$(command -v chromium >/dev/null || echo chromium)"; \
	missing="$$(echo $$missing)"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "make web: $$missing missing; tests/test_web_page.py needs it (Debian: sudo apt-get install $$missing)"; fi

$(WEB_PACKAGE): docs/web/package-lock.json | web-tools
	@command -v npm >/dev/null || { echo "make web: no npm, so no docs/web/node_modules"; exit 0; }; \
	npm ci --prefix docs/web --no-audit --no-fund && touch $@

test-tensorflow: setup web
	KERAS_BACKEND=tensorflow $(PYTEST) $(if $(TESTS),-m "$(TESTS)")

test-jax: setup
	KERAS_BACKEND=jax $(PYTEST) -m "backend$(if $(TESTS), and ($(TESTS)))"

test-torch: setup
	KERAS_BACKEND=torch $(PYTEST) -m "backend$(if $(TESTS), and ($(TESTS)))"

# The main job. With internet: `$(PY) apps/finetune.py --dataset flowers` (ResNet50V2 from its
# ImageNet weights). This workplace can download neither, so the default fine-tunes the real
# CIFAR-10 ResNet56 weights on the local tf_flowers copy at 48 px, every stage unfrozen: the
# best test accuracy in about 5 minutes on 2 cores (benchmarks/results/finetune_flowers.md,
# "Candidates"). Their checkpoint is placed in the Keras cache, the documented offline route
# for any pretrained file.
SHARED ?= ../shared/data
KERAS_CACHE ?= $(or $(KERAS_HOME),$(HOME)/.keras)/models
CHECKPOINT := resnet56-4bfd9763.th
FINETUNE_ARGS ?= --data-dir $(SHARED)/flowers-full --model resnet56 --weights cifar10 --image-size 48 --unfreeze all

finetune: setup
	mkdir -p $(KERAS_CACHE)
	test -f $(KERAS_CACHE)/$(CHECKPOINT) || cp $(SHARED)/cifar10-pretrained/$(CHECKPOINT) $(KERAS_CACHE)/
	$(PY) apps/finetune.py $(FINETUNE_ARGS)

benchmark: setup
	$(PY) benchmarks/overhead.py
	$(PY) benchmarks/finetune_flowers.py
	$(PY) benchmarks/export_accuracy.py
	$(PY) benchmarks/precision.py
	$(PY) benchmarks/model_table.py --update-readme

# Speed side by side (README "Speed"): about 30 min on 2 cores (training rows of ours vs
# keras.applications again in 3 interleaved rounds, the least noisy comparison); run it alone on a quiet machine.
# Tables and chart in benchmarks/results/perf/, the PyTorch-backend breakdown in
# benchmarks/results/torch_backend.md.
PERF = $(PY) apps/benchmark.py --batch-sizes 8 --warmup 1 --repeats 3 --output-dir benchmarks/results/perf
perf: setup
	$(PERF) --models resnet50 --implementations ours keras --backends tensorflow jax torch --modes infer train
	$(PERF) --append --models resnet50b --implementations ours timm torchvision --modes infer train
	$(PERF) --append --models resnet50v2 densenet121 --implementations ours keras --modes infer train
	$(PERF) --append --models resnet50 --modes train --batch-sizes 32 --implementations ours
	$(PERF) --append --models resnet50 densenet121 --implementations ours keras --backends tensorflow torch \
	    --modes train --rounds 3
	$(PERF) --append --models resnet50 --implementations ours --backends tensorflow torch --modes infer train \
	    --jit-compile on --timeout 600
	KERAS_BACKEND=torch $(PY) benchmarks/torch_backend.py
