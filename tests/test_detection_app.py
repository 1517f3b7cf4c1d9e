"""A real apps/detect.py run on ../shared/data/detection-mini, kept tiny (64 px, a few steps):
it lowers the loss, reports a finite mAP, draws its pictures and exports artifacts whose
final detections (NMS in the graph) are checked; killed with SIGKILL after its first epoch,
it resumes; and bad options fail fast."""

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from keras_resnets import export
from keras_resnets.tasks import CATEGORIES_FILE
from keras_resnets.tasks import data as image_data
from helpers import ROOT, app_env, shared_data


def detect_command(data, tmp_path, *extra):
    return [
        sys.executable, str(ROOT / "apps" / "detect.py"), "--data", str(data), "--model", "resnet18",
        "--weights", "none", "--image-size", "64", "--epochs", "3", "--steps-per-epoch", "2",
        "--batch-size", "4", "--max-images", "8", "--head-filters", "16", "--head-depth", "1",
        "--pictures", "2", "--export-images", "4", "--output-dir", str(tmp_path / "runs"),
        "--run-name", "tiny", "--export-dir", str(tmp_path / "export"), "--quiet",
        # MediaPipe's form of a detector would double this test's export time; test_mediapipe.py
        # checks it through the export call the app makes. Speed figures: test_export.py.
        "--no-tflite-metadata", "--export-timing-runs", "0", *extra,
    ]  # fmt: skip


def kill_after_first_epoch(command, checkpoint, timeout=600):
    process = subprocess.Popen(command, env=app_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    began = time.time()
    while time.time() - began < timeout:
        if checkpoint.exists() and json.loads(checkpoint.read_text())["epoch"] >= 1:
            process.kill()
            process.wait()
            return
        assert process.poll() is None, "the run ended before its first checkpoint"
        time.sleep(0.2)
    process.kill()
    pytest.fail("no checkpoint within the timeout")


def test_detect_app_learns_reports_draws_and_exports(tmp_path):
    data = shared_data("detection-mini")
    command = detect_command(data, tmp_path)
    run_dir = tmp_path / "runs" / "tiny"
    done = subprocess.run(command, env=app_env(), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]

    metrics = json.loads((run_dir / "metrics.json").read_text())
    history = metrics["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[-1]["loss"] < history[0]["loss"]
    for split in ("train", "val", "test"):
        assert 0.0 <= metrics["splits"][split]["map"] <= metrics["splits"][split]["map50"] <= 1.0
    assert all(np.isfinite(h["val_map50"]) for h in history)
    assert set(metrics["per_class_ap_test"]) == set(metrics["data"]["classes"])
    for picture in ("predictions_epoch001.png", "predictions_epoch003.png", "predictions_test.png", "curves.png"):
        assert (run_dir / picture).stat().st_size > 10_000, picture

    checks = metrics["export"]["checks"]
    assert set(checks) == {"keras", "saved_model", "tflite"}
    assert all(c["ok"] and c["images"] == 4 and "box_max_abs_diff_px" in c for c in checks.values())
    export_dir = tmp_path / "export"
    assert (export_dir / "labels.txt").read_text().split("\n")[:2] == ["person", "bicycle"]
    categories = json.loads((export_dir / CATEGORIES_FILE).read_text())  # COCO's ids, for predict.py
    assert categories[:2] == [{"id": 1, "name": "person"}, {"id": 2, "name": "bicycle"}] and len(categories) == 80
    assert all(c["same_counts"] == 1.0 for c in checks.values())
    assert not (export_dir / "postprocess.py").exists()  # the exported graphs end with the detections
    # The report scores every file's detections against the test boxes, as the Keras model's.
    report = json.loads((export_dir / "export_report.json").read_text())
    keras_map = report["keras_model"]["map50"]
    assert keras_map is not None and all(row["map50"] == keras_map for row in report["artifacts"])
    assert "| mAP % | mAP@.5 % |" in export.report.table(report)


@pytest.mark.slow  # the training loop's resume, which test_finetune_runs.py checks mid-epoch in `make test`
def test_detect_app_resumes_after_a_kill(tmp_path):
    command = detect_command(shared_data("detection-mini"), tmp_path, "--no-export")
    run_dir = tmp_path / "runs" / "tiny"
    kill_after_first_epoch(command, run_dir / "checkpoint.json")
    done = subprocess.run(command, env=app_env(), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Resuming" in done.stderr and "after epoch 1" in done.stderr
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == [1, 2, 3]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--image-size", "100"], "multiple of 32"),
        (["--data", "/nonexistent-folder"], "must hold images/"),
        (["--model", "resnet20", "--weights", "none"], "the RetinaNet needs strides 8 to 32"),  # a CIFAR net
    ],
)
def test_bad_options_fail_fast_with_advice(tmp_path, capsys, extra, message):
    sys.path.insert(0, str(ROOT / "apps"))
    import detect

    command = detect_command(shared_data("detection-mini"), tmp_path, *extra)[2:]
    assert detect.main(command) == 2
    assert message in capsys.readouterr().err


def test_tfds_offline_fails_within_seconds(capsys):
    if image_data.online() is None:
        pytest.skip("online: tfds would download VOC")
    sys.path.insert(0, str(ROOT / "apps"))
    import detect

    began = time.time()
    assert detect.main(["--dataset", "voc/2007", "--weights", "none", "--image-size", "128"]) == 2
    assert time.time() - began < 30
    assert "offline" in capsys.readouterr().err
