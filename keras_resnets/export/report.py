"""The verification report: per artifact its check, accuracy, size and speed on this CPU.

A `.tflite` with MediaPipe metadata also has MediaPipe Tasks' agreement (top-1, or
detections found again) and latency (`mediapipe`), beside LiteRT's.

Latency is the median of `runs` single-image calls after one warm-up call; throughput is
8 images per call at batch 8, from the median of `runs` calls. Printed as a table and
written to `export_report.json`.
"""

import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

THROUGHPUT_BATCH = 8
RUN_TIMING_RUNS = 5  # a training run's export: a quick speed figure, not a benchmark
EXPORT_TIMING_RUNS = 20  # `export` and apps/export.py: calls per latency and throughput median


def _median_seconds(run, batch, runs):
    run(batch)  # warm-up: first calls allocate and compile
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        run(batch)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def speed(run, images, runs):
    """{"latency_ms", "images_per_s"} of `run` on real images (None when `runs` is 0)."""
    if runs <= 0:
        return {"latency_ms": None, "images_per_s": None}
    batch = np.resize(images, (THROUGHPUT_BATCH, *images.shape[1:]))  # repeats a short set
    return {
        "latency_ms": 1000 * _median_seconds(run, images[:1], runs),
        "images_per_s": THROUGHPUT_BATCH / _median_seconds(run, batch, runs),
    }


def size_mb(path):
    path = Path(path)
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e6


def _cell(value, spec):
    return "-" if value is None else format(value, spec)


def _percent(fraction):
    return "-" if fraction is None else f"{100 * fraction:.2f}%"


# Task metrics beyond accuracy, each a column where the Keras model's row has it: a
# segmenter's or a detector's, on labelled images.
TASK_COLUMNS = {"mean_iou": "mIoU %", "map": "mAP %", "map50": "mAP@.5 %"}


def table(report):
    """The report as a markdown table: the Keras model first, then every artifact (with
    `TASK_COLUMNS` for segmenters and detectors evaluated on labelled images)."""
    keras_row = report["keras_model"]
    extra = [key for key in TASK_COLUMNS if key in keras_row]

    def metrics(row):
        return "".join(f"{_cell(row.get(key), '.2f')} | " for key in ["accuracy", *extra])

    lines = [
        "| artifact | status | size MB | max abs diff | agreement | accuracy % | "
        + "".join(f"{TASK_COLUMNS[key]} | " for key in extra)
        + "latency ms | img/s @8 | MediaPipe agreement | MediaPipe ms |",
        "|---|---|---|---|---|---|---|---|---|---|" + "---|" * len(extra),
    ]
    lines.append(
        f"| Keras model ({report['backend']}) | reference | - | - | - | {metrics(keras_row)}"
        f"{_cell(keras_row['latency_ms'], '.2f')} | {_cell(keras_row['images_per_s'], '.1f')} | - | - |"
    )
    for row in report["artifacts"]:
        check = row.get("check", {})
        status = "ok" if row["ok"] else f"FAILED: {row['error']}"
        # A check names its own agreement figure: top-1 for scores, detections found again for boxes.
        agreement = check.get(check.get("agreement", "top1_agreement"))
        mediapipe = row.get("mediapipe") or {}  # a TFLite file with metadata, run in MediaPipe Tasks
        mediapipe_agreement = mediapipe.get(mediapipe.get("agreement", "top1_agreement"))
        lines.append(
            f"| {row['file']} | {status} | {_cell(row.get('size_mb'), '.3f')} | "
            f"{_cell(check.get('max_abs_diff'), '.1e')} | "
            f"{_percent(agreement)} | {metrics(row)}"
            f"{_cell(row.get('latency_ms'), '.2f')} | "
            f"{_cell(row.get('images_per_s'), '.1f')} | "
            f"{_percent(mediapipe_agreement)} | "
            f"{_cell(mediapipe.get('latency_ms'), '.2f')} |"
        )
    return "\n".join(lines)


def write(report, path):
    tmp = Path(f"{path}.tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(tmp, path)
