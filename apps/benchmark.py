"""Speed side by side: keras_resnets against keras.applications, timm and torchvision.

    python apps/benchmark.py --models resnet50 resnet50b --implementations ours keras timm \\
        --backends tensorflow jax torch --modes infer train
    python apps/benchmark.py --models resnet18 --image-size 32 --batch-sizes 2 --repeats 1
    python apps/benchmark.py --models densenet121 --append     # add rows to the same table

Each configuration runs in its own process: warm-up, then the median of --repeats timed
batches; --rounds N measures the whole grid N times, interleaved, and keeps each row's
median round, so that a slow spell of the machine hits every implementation alike. Written to --output-dir: results.json (every number), results.md (the table, with
achieved FLOP/s against the machine's one peak: the best matmul rate of any installed
framework, measured once per run in the rows' dtypes and devices, beside the theoretical
figure; and ours/peer ratios) and results.png (bar chart). Runs without TensorFlow too (JAX, PyTorch, timm).
"""

import argparse
import os
import sys
from pathlib import Path

from keras_resnets import benchmark

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "perf"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("--models", nargs="+", default=["resnet50"], help="our registry names (peers: keras_resnets.benchmark.PEERS)")
    add("--implementations", nargs="+", default=["ours", "keras"], choices=benchmark.IMPLEMENTATIONS)
    add("--backends", nargs="+", default=[os.environ.get("KERAS_BACKEND", "tensorflow")],
        choices=("tensorflow", "jax", "torch"))  # fmt: skip
    add("--modes", nargs="+", default=["infer"], choices=("infer", "train"))
    add("--batch-sizes", nargs="+", type=int, default=[16])
    add("--precisions", nargs="+", default=["float32"], choices=("float32", "bfloat16"))
    add("--jit-compile", nargs="+", default=["auto"], choices=("auto", "on"),
        help="Keras' jit_compile: 'auto' (Keras' choice) and/or 'on' (XLA on TensorFlow, "
        "torch.compile on PyTorch)")  # fmt: skip
    add("--image-size", type=int, default=224)
    add("--warmup", type=int, default=2, help="untimed batches after the first (compiling) one")
    add("--repeats", type=int, default=5, help="timed batches; the median counts")
    add("--rounds", type=int, default=1,
        help="measure the whole grid this many times, interleaved; rows hold the median round")  # fmt: skip
    add("--timeout", type=int, default=900, help="seconds per configuration")
    add("--machine", help="how to name this machine in the results (default: platform)")
    add("--matmul-size", type=int, default=benchmark.peak.MATMUL_SIZE,
        help="side of the square matmul that measures the machine peak")  # fmt: skip
    add("--output-dir", type=Path, default=DEFAULT_OUTPUT)
    add("--append", action="store_true",
        help="keep the rows already in --output-dir (a row of the same configuration is replaced)")  # fmt: skip
    args = parser.parse_args(argv)

    import keras_resnets as kr

    for name in args.models:
        kr.get_spec(name)  # unknown names fail before any measurement
    try:
        configs = benchmark.grid(
            args.models, args.implementations, args.backends, args.modes, args.batch_sizes,
            args.precisions, [mode == "on" for mode in args.jit_compile], image_size=args.image_size,
            warmup=args.warmup, repeats=args.repeats,
        )  # fmt: skip
    except ValueError as exc:
        parser.error(str(exc))
    if not configs:
        parser.error("no configuration: none of --implementations implements --models")
    echo = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    rows = benchmark.run(configs, args.timeout, echo=echo, rounds=args.rounds)
    if args.append:
        rows = benchmark.merge(benchmark.previous_rows(args.output_dir), rows)
    devices = sorted({r.get("device", "cpu") for r in rows if "error" not in r} or {"cpu"})
    echo("Measuring the machine peak (best matmul of every installed framework):")
    peaks = benchmark.machine_peak(devices, sorted({r["precision"] for r in rows}), args.matmul_size, echo=echo)
    print(benchmark.write(rows, args.output_dir, peaks, args.machine))
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
