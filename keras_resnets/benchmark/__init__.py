"""Speed side by side: our models against keras.applications, timm and torchvision, and
against the machine's own matmul peak, each configuration in a fresh process.

    from keras_resnets import benchmark
    rows = benchmark.run(benchmark.grid(models=["resnet50"], backends=["tensorflow"]))
    benchmark.write(rows, "benchmarks/results/perf")   # JSON, markdown table, PNG chart

`grid` lists the configurations (model x implementation x backend x mode x batch x
precision); `run` measures each in its own subprocess (`python -m
keras_resnets.benchmark.worker`), so that one backend's threads, caches and compiled
graphs never slow another's; `write` adds ratios ours/peer per row. Only keras, numpy and
the frameworks being measured are needed: it runs where TensorFlow is not installed.

Modules: `peers` (which implementation of an architecture is whose), `worker` (one
measurement), `hardware` (the matmul peak, bfloat16 support), `report` (tables, chart).
"""

from keras_resnets.benchmark.peers import IMPLEMENTATIONS, PEERS
from keras_resnets.benchmark.report import merge, previous_rows, write
from keras_resnets.benchmark.runner import Config, grid, run

__all__ = ["Config", "IMPLEMENTATIONS", "PEERS", "grid", "merge", "previous_rows", "run", "write"]
