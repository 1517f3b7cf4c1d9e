"""Speed and memory of any registered model on the current Keras backend.

    python apps/benchmark.py --model resnet50v2 resnet18 --batch-size 16 --image-size 224
    KERAS_BACKEND=jax python apps/benchmark.py --model resnet50 --train

Measures, per model: build seconds, inference images/s (compiled `predict_on_batch`),
optionally training images/s (`train_on_batch`, SGD), and the process's peak resident
memory. Results are appended to `benchmarks/results/benchmark.jsonl` (one JSON object per
line, with the backend, versions and machine) and printed as a table.
"""

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_resnets as kr  # noqa: E402

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "benchmark.jsonl"


def timed_rate(step, images, repeats):
    step()  # compile and warm up
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        rates.append(images / (time.perf_counter() - start))
    return statistics.median(rates)


def peak_memory_mb():
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(name, batch_size, image_size, repeats, train):
    keras.utils.clear_session()
    start = time.perf_counter()
    model = kr.create_model(name, weights=None, input_shape=(image_size, image_size, 3))
    build_s = time.perf_counter() - start
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (batch_size, image_size, image_size, 3)).astype("float32")
    row = {
        "model": name,
        "params": model.count_params(),
        "batch_size": batch_size,
        "image_size": image_size,
        "build_s": round(build_s, 3),
        "infer_images_per_s": round(
            timed_rate(lambda: model.predict_on_batch(images), batch_size, repeats), 2
        ),
    }
    if train:
        classes = model.output.shape[-1]
        labels = rng.integers(0, classes, batch_size)
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
        row["train_images_per_s"] = round(
            timed_rate(lambda: model.train_on_batch(images, labels), batch_size, repeats), 2
        )
    row["peak_rss_mb"] = round(peak_memory_mb(), 1)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", nargs="+", default=["resnet50"], help="registered names (kr.list_models())")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=5, help="timed batches after one warm-up batch")
    parser.add_argument("--train", action="store_true", help="also time training steps")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON-lines file to append to")
    args = parser.parse_args(argv)
    for name in args.model:
        kr.get_spec(name)  # unknown names fail before any measurement

    meta = {
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    print(f"backend {meta['backend']}, {meta['machine']}", file=sys.stderr)
    print("| model | params | build s | infer img/s | train img/s | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in args.model:
        row = measure(name, args.batch_size, args.image_size, args.repeats, args.train)
        with open(args.output, "a") as f:
            f.write(json.dumps({**meta, **row}) + "\n")
        print(
            f"| {name} | {row['params']:,} | {row['build_s']} | {row['infer_images_per_s']} | "
            f"{row.get('train_images_per_s', '—')} | {row['peak_rss_mb']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
