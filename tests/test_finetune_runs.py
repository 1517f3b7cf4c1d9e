"""Real apps/finetune.py runs on ../shared/data/flowers-mini, kept tiny (32 px, a few steps).

- TensorFlow: a pretrained-file run (head phase, then fine-tuning), export checks, predict.py;
- JAX (subprocess): a scratch run with mixup and mixed precision, exported via TensorFlow;
- a run killed with SIGKILL mid-epoch resumes from its last checkpoint and optimizer step;
- a wrong exported artifact makes the app exit non-zero;
- the TensorBoard events of these runs, read back with TensorBoard's reader (only the chief writes).
"""

import dataclasses
import json
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

import keras_resnets as kr
from helpers import ROOT, app_env, load_app, run_events, shared_data, wait_for
from keras_resnets.export import artifacts, formats

finetune = load_app("finetune")
TINY = ["--model", "resnet18", "--image-size", "32", "--batch-size", "8", "--max-images", "40"]


def app_command(*argv):
    return [sys.executable, str(ROOT / "apps" / "finetune.py"), *map(str, argv)]


def metrics_of(run_dir):
    return json.loads((run_dir / "metrics.json").read_text())


def test_tensorflow_run_two_phases_export_and_predict(tmp_path, capsys):
    mini = shared_data("flowers-mini")
    # A pretrained backbone file, as users pass one: the run must take the two-phase path.
    backbone = kr.create_model("resnet18", weights=None, include_top=False, pooling="avg", input_shape=(32, 32, 3))
    weights = tmp_path / "backbone.weights.h5"
    backbone.save_weights(weights)
    code = finetune.main(list(map(str, [
        "--data-dir", mini, *TINY, "--weights", weights, "--head-epochs", "1", "--epochs", "1",
        "--unfreeze", "1", "--run-name", "tf", "--output-dir", tmp_path / "runs",
        "--export-dir", tmp_path / "export", "--export-images", "16", "--quiet",
    ])))  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    run_dir = tmp_path / "runs" / "tf"
    metrics = metrics_of(run_dir)
    assert [h["phase"] for h in metrics["history"]] == ["head", "finetune"]
    assert metrics["data"]["counts"] == {"train": 40, "val": 40, "test": 40}
    assert set(metrics["splits"]) == {"train", "val", "test"}
    assert set(metrics["per_class_test"]) == {"daisy", "dandelion", "roses", "sunflowers", "tulips"}
    assert metrics["train_images_per_s"] > 0 and metrics["wall_time_s_this_invocation"] > 0
    for name in ("curves.png", "confusion_matrix.png"):
        assert (run_dir / name).stat().st_size > 1000
    assert_two_phase_events(run_dir, metrics)
    assert "test confusion matrix" in out.out
    checks = metrics["export"]["checks"]
    assert set(checks) == {"keras", "saved_model", "tflite"}
    assert all(c["ok"] and c["images"] == 16 for c in checks.values())
    exported = tmp_path / "export"
    assert (exported / "labels.txt").read_text().split() == metrics["data"]["classes"]

    predict = load_app("predict")
    image = sorted((mini / "roses").glob("*.jpg"))[0]
    for artifact in ("model.keras", "model.tflite"):
        assert predict.main([str(image), "--model", str(exported / artifact), "--top-k", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith(str(image)) for line in lines)
    # Same input pipeline and weights: both files give the same top-2 names.
    assert lines[0].split(": ")[1].split()[::2] == lines[1].split(": ")[1].split()[::2]


def assert_two_phase_events(run_dir, metrics):
    """5 steps per phase: the steps run on through the second phase, whose fresh optimizer
    starts its warm-up again from 0 towards finetune_lr (lr / 10)."""
    events = run_events(run_dir)
    train, validation = events["train"], events["validation"]
    assert [s for s, _ in train["batch_loss"]] == list(range(1, 11))
    rates = dict(train["batch_learning_rate"])
    assert sorted(rates) == list(range(1, 11)) and rates[1] == rates[6] == 0.0
    lr = metrics["options"]["lr"]
    assert max(rates[s] for s in range(1, 6)) == pytest.approx(lr)
    assert max(rates[s] for s in range(6, 11)) == pytest.approx(lr / 10)
    history = metrics["history"]
    assert train["epoch_loss"] == [(h["epoch"], pytest.approx(h["loss"])) for h in history]
    assert validation["epoch_accuracy"] == [(h["epoch"], pytest.approx(h["val_accuracy"])) for h in history]
    assert [s for s, _ in train["epoch_img_per_s"]] == [1, 2] and all(v > 0 for _, v in train["epoch_img_per_s"])
    assert train["confusion_matrix"] == [(2, (500, 500))] and [s for s, _ in train["curves"]] == [2]


@pytest.mark.slow  # in `make test`: the JAX export (test_export.py) and mixed precision (test_training_core.py)
def test_jax_run_with_mixup_mixed_precision_and_export(tmp_path):
    mini = shared_data("flowers-mini")
    done = subprocess.run(
        app_command(
            "--data-dir", mini, *TINY, "--weights", "none", "--epochs", "1",
            "--steps-per-epoch", "3", "--augment", "mixup", "--mixed-precision",
            "--run-name", "jax", "--output-dir", tmp_path / "runs",
            "--export-dir", tmp_path / "export", "--export-images", "8", "--quiet",
        ),
        env=app_env("jax"), capture_output=True, text=True, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = metrics_of(tmp_path / "runs" / "jax")
    assert metrics["backend"] == "jax" and metrics["dtype_policy"] == "mixed_bfloat16"
    checks = metrics["export"]["checks"]
    assert set(checks) == {"keras", "saved_model", "tflite"} and all(c["ok"] for c in checks.values())
    assert (tmp_path / "export" / "model.tflite").exists()


def test_killed_run_resumes_from_last_checkpoint(tmp_path):
    mini = shared_data("flowers-mini")
    steps, epochs = 30, 3
    run_dir = tmp_path / "runs" / "killed"
    command = app_command(
        "--data-dir", mini, *TINY, "--batch-size", "4", "--weights", "none",
        "--epochs", epochs, "--steps-per-epoch", steps, "--run-name", "killed",
        "--output-dir", tmp_path / "runs", "--no-export", "--quiet",
    )  # fmt: skip
    first = subprocess.Popen(
        command, env=app_env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(lambda: (run_dir / "checkpoint.json").exists(), 300, first)
        time.sleep(1.0)  # well into the next epoch (an epoch takes several seconds)
        first.send_signal(signal.SIGKILL)
    finally:
        first.kill()
        first.communicate()
    state = json.loads((run_dir / "checkpoint.json").read_text())
    killed_after = state["epoch"]
    assert killed_after < epochs, "the run finished before it was killed"
    assert state["optimizer_step"] == killed_after * steps

    resumed = subprocess.run(command, env=app_env(), cwd=ROOT, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert (
        f"after epoch {killed_after} (phase scratch, optimizer step {killed_after * steps})"
        in resumed.stderr
    )
    assert f"Epoch {killed_after + 1}/{epochs}" in resumed.stdout + resumed.stderr
    assert f"Epoch {killed_after}/{epochs}" not in resumed.stdout + resumed.stderr
    final = json.loads((run_dir / "checkpoint.json").read_text())
    assert (final["epoch"], final["optimizer_step"]) == (epochs, epochs * steps)
    assert [h["epoch"] for h in metrics_of(run_dir)["history"]] == list(range(1, epochs + 1))
    assert not list(run_dir.glob(".tmp-*"))
    # The resumed run writes into the same folders: each step once, the killed epoch's rewritten.
    events = run_events(run_dir)
    assert len(list((run_dir / "train").glob("events.out.tfevents.*"))) == 2
    assert [s for s, _ in events["train"]["batch_loss"]] == list(range(1, epochs * steps + 1))
    assert [s for s, _ in events["validation"]["epoch_loss"]] == list(range(1, epochs + 1))


def test_wrong_exported_artifact_fails_the_run(tmp_path, capsys, monkeypatch):
    """A TFLite file that does not compute what the Keras model does: exit status 3."""
    write_tflite = artifacts.write_tflite

    def write_wrong_tflite(model, path):
        impostor = keras.models.clone_model(model)
        impostor.set_weights([w + np.float32(0.05) for w in model.get_weights()])
        write_tflite(impostor, path)

    monkeypatch.setitem(formats.FORMATS, "tflite", dataclasses.replace(formats.FORMATS["tflite"], write=write_wrong_tflite))
    mini = shared_data("flowers-mini")
    code = finetune.main(list(map(str, [
        "--data-dir", mini, *TINY, "--weights", "none", "--epochs", "1", "--steps-per-epoch", "1",
        "--run-name", "wrong", "--output-dir", tmp_path / "runs",
        "--export-dir", tmp_path / "export", "--export-images", "8", "--export-timing-runs", "0", "--quiet",
        "--no-tensorboard",
    ])))  # fmt: skip
    err = capsys.readouterr().err
    assert code == finetune.EXIT_EXPORT
    assert "export check failed" in err and "tflite" in err
    checks = metrics_of(tmp_path / "runs" / "wrong")["export"]
    assert "tflite" in checks["error"] and "saved_model" not in checks["error"]
    assert not (tmp_path / "runs" / "wrong" / "train").exists()  # --no-tensorboard


def test_only_the_chief_writes_events(tmp_path, monkeypatch):
    from keras_resnets.training import distribute

    monkeypatch.setattr(distribute, "is_chief", lambda: False)
    run_dir = tmp_path / "runs" / "worker"
    run_dir.mkdir(parents=True)  # the chief's, on a shared disk
    code = finetune.main(list(map(str, [
        "--data-dir", shared_data("flowers-mini"), *TINY, "--weights", "none", "--epochs", "1",
        "--steps-per-epoch", "1", "--run-name", "worker", "--output-dir", tmp_path / "runs", "--no-export", "--quiet",
    ])))  # fmt: skip
    assert code == 0
    assert not (run_dir / "train").exists() and not (run_dir / "validation").exists()
    assert not list(run_dir.iterdir())  # no checkpoint, curve, plot or metrics: the chief evaluates
