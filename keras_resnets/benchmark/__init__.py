"""Speed side by side: our models against keras.applications, timm and torchvision, and
against the machine's own matmul peak, each configuration in a fresh process.

    from keras_resnets import benchmark
    rows = benchmark.run(benchmark.grid(models=["resnet50"], backends=["tensorflow"]))
    peaks = benchmark.machine_peak(devices={r["device"] for r in rows}, dtypes=["float32"])
    benchmark.write(rows, "benchmarks/results/perf", peaks)   # JSON, markdown table, PNG chart

`grid` lists the configurations (model x implementation x backend x mode x batch x
precision); `run` measures each in its own subprocess (`python -m
keras_resnets.benchmark.worker`), so that one backend's threads, caches and compiled
graphs never slow another's; `machine_peak` measures the machine's one compute peak per
device and dtype (the best matmul of any installed framework, beside the theoretical
figure); `write` adds each row's fraction of it and the ratios ours/peer. Only keras, numpy and
the frameworks being measured are needed: it runs where TensorFlow is not installed.

Modules: `peers` (which implementation of an architecture is whose), `worker` (one
measurement), `peak` (the machine peak), `hardware` (the CPU and GPU, bfloat16 support,
timing), `report` (tables, chart).
"""

from keras_resnets.benchmark.peak import machine_peak
from keras_resnets.benchmark.peers import IMPLEMENTATIONS, PEERS
from keras_resnets.benchmark.report import merge, previous_rows, write
from keras_resnets.benchmark.runner import Config, grid, run

__all__ = ["Config", "IMPLEMENTATIONS", "PEERS", "grid", "machine_peak", "merge", "previous_rows", "run", "write"]
