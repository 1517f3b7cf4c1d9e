"""Exports verified on real data: accuracy, agreement, size and speed of every artifact.

    python benchmarks/export_accuracy.py            # every job (about 20 min on 2 cores)
    python benchmarks/export_accuracy.py --job cifar10

- cifar10: the real CIFAR-10 ResNet56 (`weights="cifar10"`, its checkpoint copied from
  ../shared/data/cifar10-pretrained/ into the Keras cache) with its preprocessing baked
  in, to SavedModel, TFLite float32/float16/dynamic/int8 and ONNX, evaluated on all 10,000
  JPEG test images of ../shared/data/cifar10-test/; int8 calibrates on 300 of them (the
  report's `calibration_overlap`), as `apps/export.py` does without --calibration-data.
- imagenet: ResNet50 at 224 px with seeded random weights (no ImageNet weights can be
  fetched here), same formats, on the 200 photos of ../shared/data/imagenet-sample/
  (calibration on the same photos): agreement, size and speed; its accuracy means nothing.
- grouped: ResNeXt50 32x4d, seeded the same way, to SavedModel, float32 TFLite and ONNX
  (written through Keras' PyTorch backend, since tf2onnx cannot convert grouped
  convolutions) on 50 of those photos.

Each job runs `apps/export.py` and keeps its `export_report.json` as
benchmarks/results/export_<job>.json; the tables go to benchmarks/results/export.md.
An export that fails its bounds is recorded as failed, not hidden.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from keras_resnets.benchmark import hardware

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
ALL = ["--formats", "saved_model", "tflite", "onnx", "--quantize", "none", "float16", "dynamic", "int8"]
JOBS = {
    "cifar10": [
        "--model", "resnet56", "--weights", "cifar10", "--include-preprocessing", *ALL,
        "--eval-data", str(SHARED / "cifar10-test" / "cifar10_test_yoongikim_jpeg.npz"),
    ],
    "imagenet": [
        "--model", "resnet50", "--weights", "none", "--include-preprocessing", *ALL,
        "--eval-data", str(SHARED / "imagenet-sample"),
    ],
    "grouped": [
        "--model", "resnext50_32x4d", "--weights", "none", "--include-preprocessing",
        "--formats", "saved_model", "tflite", "onnx",
        "--eval-data", str(SHARED / "imagenet-sample"), "--eval-images", "50",
    ],
}  # fmt: skip
CHECKPOINT = SHARED / "cifar10-pretrained" / "resnet56-4bfd9763.th"
SEED_AND_EXPORT = "import keras, runpy, sys; keras.utils.set_random_seed(1234); sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"


def keras_cache():
    from keras_resnets import weights

    return Path(weights.cache_dir()) / "models"


def run_job(name, out_dir):
    command = [sys.executable, "-c", SEED_AND_EXPORT, str(ROOT / "apps" / "export.py"),
               *JOBS[name], "--output-dir", str(out_dir)]  # fmt: skip
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    report = json.loads((out_dir / "export_report.json").read_text())
    return done.returncode, done.stdout, done.stderr[-2000:], report


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--job", choices=list(JOBS), action="append")
    args = parser.parse_args()
    keras_cache().mkdir(parents=True, exist_ok=True)
    if not (keras_cache() / CHECKPOINT.name).exists():
        shutil.copy(CHECKPOINT, keras_cache())
    header = (
        "# Export benchmark (`python benchmarks/export_accuracy.py`)\n\n"
        "Each section names the machine it ran on; latency: median of 20 single-image calls; img/s: batch 8.\n"
    )
    markdown = RESULTS / "export.md"
    sections = markdown.read_text().split("\n## ")[1:] if markdown.exists() else []
    for name in args.job or list(JOBS):
        with tempfile.TemporaryDirectory() as tmp:
            code, table, errors, report = run_job(name, Path(tmp))
        (RESULTS / f"export_{name}.json").write_text(json.dumps({"exit_status": code, **report}, indent=2) + "\n")
        calibration = report["calibration_images"]
        if calibration:
            calibration = f"{calibration} ({report['calibration_overlap']} of them also evaluated)"
        lines = [f"{name}: `python apps/export.py {' '.join(JOBS[name])}`", "",
                 f"Machine: {hardware.describe()}. Exit status {code}; {report['eval_images']} evaluation images, "
                 f"{calibration} calibration images.", "", table.strip()]  # fmt: skip
        if code != 0:
            lines += ["", "```", errors.strip().splitlines()[-1], "```"]
        print("\n".join(lines), flush=True)
        # A job run alone replaces its own section and keeps the others'.
        sections = [s for s in sections if not s.startswith(f"{name}:")] + ["\n".join(lines) + "\n"]
    order = list(JOBS)
    sections.sort(key=lambda s: order.index(s.split(":", 1)[0]) if s.split(":", 1)[0] in order else len(order))
    markdown.write_text(header + "".join(f"\n## {s}" for s in sections))


if __name__ == "__main__":
    main()
