"""The training core as a library: `keras_resnets.training.run` from Python, config
resolution, line progress, facts-only errors, and the thin app on top.
"""

import dataclasses
import json
import re

import keras
import numpy as np
import pytest

from helpers import ROOT, run_events, shared_data
from keras_resnets.export import load_predictor
from keras_resnets.tasks import classification_data as data
from keras_resnets.tasks.classification import ClassificationTask
from keras_resnets.training import ConfigError, DataError, RunConfig, progress, resolve, run, tensorboard_events
from keras_resnets.training import config as config_lib
from keras_resnets.training import input_speed


def test_run_from_python_returns_what_it_writes(tmp_path, capsys, caplog):
    caplog.set_level("INFO", logger="keras_resnets.training.input_speed")
    task = ClassificationTask(data_dir=shared_data("flowers-mini"), max_images=10)
    config = RunConfig(
        model="resnet18", weights="none", image_size=32, epochs=1, steps_per_epoch=2,
        batch_size=4, output_dir=tmp_path, export=False, progress="lines", mixed_precision=True,
    )  # fmt: skip
    before = dataclasses.replace(config)
    metrics = run(task, config)
    assert config == before
    # The run trained in mixed precision and gave the caller back their float32 policy.
    assert metrics["dtype_policy"] == "mixed_bfloat16" and metrics["dtype_policy_reason"] == "as configured"
    assert keras.mixed_precision.global_policy().name == "float32"
    run_dir = tmp_path / "resnet18-flowers-mini-none-32px"
    assert json.loads((run_dir / "metrics.json").read_text()) == json.loads(json.dumps(metrics))
    assert metrics["options"]["data_dir"] == str(task.data_dir) and metrics["options"]["lr"] == 1e-3
    assert [h["phase"] for h in metrics["history"]] == ["scratch"]
    assert metrics["data"]["counts"] == {"train": 10, "val": 10, "test": 10}
    assert metrics["plots"] == ["curves.png", "confusion_matrix.png"] and "export" not in metrics
    # The run says once whether decoding or the model set its pace (`input_speed`).
    assert metrics["input_pipeline_images_per_s"] > 0
    assert len([r for r in caplog.records if r.getMessage().startswith("Input pipeline alone: ")]) == 1
    out = capsys.readouterr().out
    assert "\r" not in out
    epochs = [line for line in out.splitlines() if line.startswith("Epoch ")]
    assert len(epochs) == 1
    assert re.fullmatch(r"Epoch 1/1 scratch: .*val_loss .*img/s, [\d.]+ s", epochs[0])
    assert "test confusion matrix" in out

    # Resuming takes the task's and the run's options from the run folder.
    again = run(ClassificationTask(), RunConfig(run_name=run_dir.name, output_dir=tmp_path, resume=True,
                                                export=False, progress="none"))  # fmt: skip
    assert again["options"] == metrics["options"] and again["history"] == metrics["history"]
    assert capsys.readouterr().out == ""
    with pytest.raises(ConfigError, match="no run to resume") as caught:
        run(task, dataclasses.replace(config, run_name="other", resume=True))
    assert caught.value.option == "resume"


def test_a_resumed_run_rewinds_what_its_killed_run_wrote_after_the_checkpoint(tmp_path):
    """5 steps an epoch, killed in epoch 2 after step 8 and after a last record that the kill
    cut short; the checkpoint is of epoch 1: steps 6-8, and epoch 2's loss, go."""
    import tensorflow as tf

    writer = tf.summary.create_file_writer(str(tmp_path / "train"))
    with writer.as_default():
        for step in range(1, 9):
            tf.summary.scalar("batch_loss", 1.0 / step, step=step)
        for epoch in (1, 2):
            tf.summary.scalar("epoch_loss", float(epoch), step=epoch)
    writer.close()
    (path,) = (tmp_path / "train").glob("events.out.tfevents.*")
    with open(path, "ab") as f:
        f.write(path.read_bytes()[-60:-20])  # the start of a record, no more
    tensorboard_events.RunEvents(tmp_path).rewind(1, 5)
    events = run_events(tmp_path)["train"]
    assert events["batch_loss"] == [(s, pytest.approx(1.0 / s)) for s in range(1, 6)]
    assert events["epoch_loss"] == [(1, 1.0)]


def test_resolve_fills_defaults_in_a_new_config():
    config = RunConfig(model="ResNet50V2", optimizer="sgd")
    resolved = resolve(config, "photos")
    assert config == RunConfig(model="ResNet50V2", optimizer="sgd")
    assert (resolved.model, resolved.weights, resolved.preprocessing, resolved.image_size) == (
        "resnet50v2", "imagenet", "tf", 224,
    )  # fmt: skip
    assert (resolved.lr, resolved.finetune_lr, resolved.weight_decay) == (1e-2, 1e-3, 1e-4)
    assert resolved.run_name == "resnet50v2-photos-imagenet-224px"
    assert resolved.export_dir == "saved_models/resnet50v2-photos-imagenet-224px"
    assert resolve(resolved, "photos") == resolved


@pytest.mark.parametrize(
    "flags, capability, expected",
    [
        ({"avx2", "avx512f", "avx512_bf16"}, None, True),
        ({"avx2", "amx_bf16"}, None, True),
        ({"avx2", "fma"}, None, False),  # emulated bfloat16: slower than float32
        ({"avx2"}, (8, 0), True),
        ({"avx2", "avx512_bf16"}, (6, 1), False),  # a GPU without float16 matrix units
    ],
)
def test_mixed_precision_by_default_only_where_the_hardware_has_it(monkeypatch, flags, capability, expected):
    from keras_resnets.training import precision

    monkeypatch.setattr(precision.hardware, "cpu_flags", lambda: flags)
    monkeypatch.setattr(precision, "gpu_capability", lambda: capability)
    assert precision.auto_mixed_precision()[0] is expected
    assert resolve(RunConfig(model="resnet18"), "photos").mixed_precision is expected
    assert resolve(RunConfig(model="resnet18", mixed_precision=not expected), "photos").mixed_precision is not expected


def test_default_weights_rule():
    assert config_lib.default_weights("resnet50v2") == "imagenet"
    assert config_lib.default_weights("dpn107") == "timm_mx_in1k"  # its only tag
    assert config_lib.default_weights("cbamresnet50") == "none"


@pytest.mark.parametrize(
    "change, option",
    [({"image_size": 16}, "image_size"), ({"unfreeze": "top"}, "unfreeze"),
     ({"head_epochs": 0, "epochs": 0}, "epochs"), ({"model": "resnet5O"}, "model"),
     ({"optimizer": "lamb"}, "optimizer")],
)  # fmt: skip
def test_bad_options_name_the_option_and_no_flag(change, option):
    with pytest.raises(ConfigError) as caught:
        resolve(RunConfig(**{"model": "resnet50v2", **change}), "x")
    assert caught.value.option == option and "--" not in str(caught.value)


def test_data_errors_state_facts(tmp_path):
    with pytest.raises(DataError) as caught:
        data.load_folder(tmp_path / "nowhere")
    assert caught.value.option == "data_dir" and str(caught.value).endswith("is not a folder.")
    with pytest.raises(DataError, match="neither data_dir nor dataset"):
        ClassificationTask().load_data(RunConfig())


def test_missing_predictor_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not an existing .keras or .tflite"):
        load_predictor(tmp_path / "model.onnx")


def fit_with_line_progress(epochs, steps, every_steps=None):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "categorical_crossentropy", metrics=["accuracy"])
    x, y = np.ones((4 * steps, 4)), np.eye(2)[[0, 1] * (2 * steps)]
    verbose, shown = progress.callbacks("auto", "head", epochs, 4, every_steps)
    model.fit(
        x, y, batch_size=4, epochs=epochs, validation_data=(x, y), callbacks=shown, verbose=verbose
    )


def test_line_progress_when_stdout_is_not_a_terminal(capsys):
    fit_with_line_progress(epochs=3, steps=4)
    out = capsys.readouterr().out
    assert "\r" not in out and "\x08" not in out
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines] == [f"Epoch {e}/3 head" for e in (1, 2, 3)]
    for line in lines:
        assert "loss " in line and "accuracy " in line and "val_accuracy " in line
        assert line.endswith(" s") and "img/s" in line


def test_line_progress_every_n_steps(capsys):
    fit_with_line_progress(epochs=2, steps=4, every_steps=2)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "Epoch 1/2 head step 2", "Epoch 1/2 head step 4", "Epoch 1/2 head",
        "Epoch 2/2 head step 2", "Epoch 2/2 head step 4", "Epoch 2/2 head",
    ]  # fmt: skip



def test_input_speed_times_a_fresh_iterator_and_names_the_bottleneck(caplog):
    import logging

    import tensorflow as tf

    batches = tf.data.Dataset.from_tensor_slices(np.zeros((12, 4, 4, 3), "float32")).batch(4)
    assert input_speed.measure(batches, 4) > 0  # batches 2 and 3
    assert input_speed.measure(batches.take(1), 4) is None
    assert list(batches.as_numpy_iterator())[0].shape == (4, 4, 4, 3)  # untouched for fit
    assert input_speed.verdict(1000, 50).endswith("the model, not decoding, sets the pace.")
    assert "decoding, not the model, sets the pace" in input_speed.verdict(55, 50)
    assert input_speed.decoding_bound(55, 50) and not input_speed.decoding_bound(1000, 50)
    caplog.set_level(logging.INFO, logger=input_speed.__name__)
    for pipeline, level in ((55, logging.WARNING), (1000, logging.INFO)):
        pace = input_speed.Verdict(pipeline)
        pace.on_epoch_end(0, {"img/s": float("nan")})  # a one-step epoch has no rate: wait
        pace.on_epoch_end(1, {"img/s": 50.0})
        pace.on_epoch_end(2, {"img/s": 50.0})  # it speaks once
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.INFO]


def test_progress_modes():
    assert progress.callbacks("bar", "head", 1, 4)[0] == 1
    verbose, shown = progress.callbacks("none", "head", 1, 4)
    assert verbose == 0 and [type(c) for c in shown] == [progress.Throughput]


def test_finetune_app_is_thin():
    lines = (ROOT / "apps" / "finetune.py").read_text().count("\n")
    assert lines < 150, f"apps/finetune.py has {lines} lines"
