"""Memory that does not grow with the dataset: cached against streamed images, 1k to 50k files.

Makes synthetic class folders of small JPEGs (96 x 72 px, 10 classes; smooth random
colour fields, so they compress like photos rather than noise), then for each size and
each `--cache` mode trains `apps/finetune.py` (ResNet20 from scratch at 32 px, 2 epochs,
no export) in a process of its own and records:

- its peak RSS (the kernel's maxrss of that process, so the whole run: model, pipeline
  and the cache when there is one);
- images/s of the second epoch (the first one fills the cache, in the cached mode);
- the cost of the up-front file check per 1,000 files, and the run's own log line saying
  why it cached or streamed.

It also times the training pipeline alone (no model) in both modes on the largest
folder, to say how far decoding is from being the bottleneck. Writes
benchmarks/results/streaming.md (and .json). About 10 minutes on 2 cores; run it on a
quiet machine.

    python benchmarks/streaming.py [--sizes 1000 10000 50000] [--work-dir /tmp/streaming]
"""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CLASSES = 10
PHOTO = (72, 96)  # height, width
MODES = ("memory", "stream")
RUN_FLAGS = (
    "--model", "resnet20", "--weights", "none", "--image-size", "32", "--epochs", "2", "--batch-size", "128",
    "--no-export", "--no-tensorboard", "--quiet", "--overwrite",
)  # fmt: skip


def make_folder(folder, count, seed=0):
    """`count` JPEGs in CLASSES class folders; kept when already there with that count."""
    from PIL import Image

    done = folder / ".complete"
    if done.exists() and done.read_text() == str(count):
        return folder
    rng = np.random.default_rng(seed)
    for i in range(count):
        cls = folder / f"class{i % CLASSES}"
        cls.mkdir(parents=True, exist_ok=True)
        coarse = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        image = Image.fromarray(coarse).resize(PHOTO[::-1], Image.BICUBIC)
        image.save(cls / f"{i:06d}.jpg", quality=90)
    done.write_text(str(count))
    return folder


def train(folder, mode, work_dir):
    """One run in its own process: (metrics, peak RSS in bytes, log text)."""
    name = f"{folder.name}-{mode}"
    command = [sys.executable, str(ROOT / "apps" / "finetune.py"), "--data-dir", str(folder), "--cache", mode,
               "--output-dir", str(work_dir / "runs"), "--run-name", name, *RUN_FLAGS]  # fmt: skip
    log = work_dir / f"{name}.log"
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
    text = log.read_text()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed; its log is {log}:\n{text[-3000:]}")
    metrics = json.loads((work_dir / "runs" / name / "metrics.json").read_text())
    return metrics, usage.ru_maxrss * 1024, text


def logged(pattern, text):
    match = re.search(pattern, text)
    return match.group(0) if match else None


def pipeline_rate(folder, mode, batches=40):
    """Training images/s of the classification pipeline alone, after one pass of warm-up
    (which fills the cache in the cached mode)."""
    from keras_resnets.tasks import classification_data

    split = classification_data.load_folder(folder).splits["train"]
    ds = classification_data.pipeline(split, CLASSES, 32, 128, training=True, seed=0, cache=mode == "memory")
    it = iter(ds)
    for _ in range(split.count // 128 + 1):
        next(it)
    start = time.perf_counter()
    for _ in range(batches):
        next(it)
    return batches * 128 / (time.perf_counter() - start)


def write(rows, pipeline, out, command):
    RESULTS.mkdir(parents=True, exist_ok=True)
    from keras_resnets.benchmark import hardware

    machine = f"{hardware.describe()}, Python {platform.python_version()}"
    (out.with_suffix(".json")).write_text(json.dumps({"machine": machine, "command": command, "rows": rows,
                                                      "pipeline_images_per_s": pipeline}, indent=1))  # fmt: skip
    lines = [
        "# Cached against streamed images (benchmarks/streaming.py)", "",
        f"Machine: {machine}. Command: `{command}`.", "",
        "ResNet20 from scratch at 32 px, batch 128, 2 epochs, TensorFlow; synthetic 96 x 72 px JPEGs in 10 classes.",
        "Peak RSS is the whole training process; images/s is the second epoch's (the first fills the cache).", "",
        "| images | cache | peak RSS (MB) | images/s | images/s vs memory | file check (s per 1,000) |",
        "|---:|---|---:|---:|---:|---:|",
    ]  # fmt: skip
    by_size = {}
    for row in rows:
        by_size.setdefault(row["images"], {})[row["cache"]] = row
    for size, modes in by_size.items():
        for mode, row in modes.items():
            ratio = row["images_per_s"] / modes["memory"]["images_per_s"] if "memory" in modes else None
            lines.append(
                f"| {size} | {mode} | {row['peak_rss_mb']:.0f} | {row['images_per_s']:.0f} | "
                f"{'' if ratio is None else f'{ratio:.2f}'} | {row['check_s_per_1000'] or ''} |"
            )
    lines += ["", "The runs' own words:", ""] + [f"- {row['images']} {row['cache']}: {row['decision']}" for row in rows]
    lines += ["", "Training pipeline alone (no model), images/s on the largest folder: "
              + ", ".join(f"{mode} {rate:.0f}" for mode, rate in pipeline.items()) + "."]  # fmt: skip
    out.write_text("\n".join(lines) + "\n")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    p.add_argument("--work-dir", type=Path, default=Path("/tmp/keras_resnets_streaming"))
    p.add_argument("--output", type=Path, default=RESULTS / "streaming.md")
    args = p.parse_args(argv)
    command = "python benchmarks/streaming.py " + " ".join(sys.argv[1:] if argv is None else argv)
    rows = []
    for size in args.sizes:
        folder = make_folder(args.work_dir / f"images{size}", size)
        for mode in MODES:
            metrics, rss, text = train(folder, mode, args.work_dir)
            check = logged(r"[\d.]+(?= s per 1,000 files)", text)
            row = {
                "images": size, "cache": mode, "peak_rss_mb": rss / 1e6,
                "images_per_s": metrics["history"][-1]["img/s"],
                "check_s_per_1000": float(check) if check else None,
                "decision": logged(r"Images: [^\n]*", text),
            }  # fmt: skip
            rows.append(row)
            print(json.dumps(row), flush=True)
    largest = args.work_dir / f"images{max(args.sizes)}"
    pipeline = {mode: pipeline_rate(largest, mode) for mode in MODES}
    write(rows, pipeline, args.output, command.strip())
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
