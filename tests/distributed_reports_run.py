"""The detect and segment apps, data parallel over 2 logical CPUs (TensorFlow's
MirroredStrategy), for one tiny epoch each without export; prints, as JSON, each run's
replicas, its history (with the per-epoch report's validation figures), its final
validation figures and which per-epoch pictures it drew. Run by tests/test_distribute.py in
a fresh process, since the CPU is split into logical devices before TensorFlow starts:

    KERAS_BACKEND=tensorflow python tests/distributed_reports_run.py <detection-mini> <segmentation-mini> <dir>
"""

import json
import sys
from pathlib import Path

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from helpers import load_app  # noqa: E402 (tests/ is this script's folder; after the split)
COMMON = ["--model", "resnet18", "--weights", "none", "--image-size", "64", "--epochs", "1", "--steps-per-epoch", "1",
          "--batch-size", "4", "--max-images", "8", "--pictures", "2", "--no-export", "--no-tensorboard", "--quiet",
          "--no-mixed-precision", "--distribute", "data", "--sync-bn"]  # fmt: skip
APPS = {"detection": ("detect", ["--head-filters", "8", "--head-depth", "1"]), "segmentation": ("segment", [])}


def main(detection_data, segmentation_data, out):
    report = {}
    for task, data in (("detection", detection_data), ("segmentation", segmentation_data)):
        name, extra = APPS[task]
        code = load_app(name).main(["--data", data, *COMMON, *extra, "--output-dir", out, "--run-name", task])
        run_dir = Path(out) / task
        metrics = json.loads((run_dir / "metrics.json").read_text()) if code == 0 else {}
        report[task] = {
            "code": code, "replicas": metrics.get("replicas"), "history": metrics.get("history"),
            "val": metrics.get("splits", {}).get("val"),
            "pictures": sorted(p.name for p in run_dir.glob("predictions_epoch*.png")),
        }  # fmt: skip
    print(json.dumps(report))


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
