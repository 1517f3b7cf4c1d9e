"""Segmentation: heads on every backend, checked data, masks that move with their images,
tfds offline, and real apps/segment.py runs on ../shared/data/segmentation-mini (a short
training with verified exports; a run killed with SIGKILL that resumes)."""

import json
import math
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from PIL import Image

from helpers import ROOT, app_env, load_app, shared_data, wait_for
from keras_resnets.tasks import segmentation_data as data
from keras_resnets.tasks.segmentation import SegmentationTask, void_masked_crossentropy
from keras_resnets.training import RunConfig, freezing
from keras_resnets.training.errors import DataError

segment = load_app("segment")
TINY = ["--model", "resnet18", "--weights", "none", "--image-size", "64", "--quiet", "--export-timing-runs", "0"]


def built(model, head, size, output_stride=None, classes=("a", "b", "c", "d")):
    task = SegmentationTask(head=head, output_stride=output_stride)
    config = RunConfig(model=model, weights="none", image_size=size, preprocessing="torch")
    source = data.Source("synthetic", list(classes), {}, "")
    return task.build_model(config, source, None)


@pytest.mark.backend
@pytest.mark.parametrize(
    "model,head,size,output_stride",
    [("resnet18", "deeplabv3plus", 64, 16), ("resnet18", "fpn", 64, 32), ("resnet20", "deeplabv3plus", 32, None)],
)
def test_heads_give_per_pixel_probabilities_on_a_freezable_backbone(model, head, size, output_stride):
    segmenter = built(model, head, size, output_stride)
    images = np.random.default_rng(0).uniform(0, 255, (2, size, size, 3)).astype("float32")
    probs = np.asarray(segmenter.predict(images, verbose=0))
    assert probs.shape == (2, size, size, 4) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, atol=1e-5)
    # The training core finds the backbone and freezes it by stage.
    freezing.set_trainable(segmenter, "1")
    backbone = freezing.backbone_of(segmenter)
    trainable = {layer.name.split("_")[0] for layer in backbone.layers if layer.trainable and layer.weights}
    assert trainable == {f"conv{max(freezing.layer_stages(backbone))}"}


@pytest.mark.backend
def test_loss_ignores_void_pixels():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, (2, 4, 4)).astype("int32")
    labels[:, 0] = 255
    probs = rng.dirichlet(np.ones(3), size=(2, 4, 4)).astype("float32")
    valid = labels != 255
    expected = -np.log(np.take_along_axis(probs, np.where(valid, labels, 0)[..., None], -1)[..., 0])[valid].mean()
    # One value per image, whose mean (Keras' reduction) is the mean over non-void pixels.
    loss = float(np.mean(keras.ops.convert_to_numpy(void_masked_crossentropy(labels, probs))))
    assert loss == pytest.approx(expected, rel=1e-5)
    changed = probs.copy()
    changed[:, 0] = changed[:, 0, :, ::-1]  # other predictions on void pixels only
    assert float(np.mean(keras.ops.convert_to_numpy(void_masked_crossentropy(labels, changed)))) == pytest.approx(loss, rel=1e-6)


@pytest.mark.backend
def test_one_training_step_with_the_task_loss_and_metric():
    # Keras' PyTorch backend failed in the backward pass of a rank-4 sparse cross-entropy.
    task = SegmentationTask()
    segmenter = built("resnet20", "deeplabv3plus", 32, classes=("a", "b", "c"))
    segmenter.compile(optimizer="adam", **task.compile_args(RunConfig()))
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, (2, 32, 32)).astype("int32")
    labels[:, :4] = 255
    logs = segmenter.train_on_batch(rng.uniform(0, 255, (2, 32, 32, 3)).astype("float32"), labels, return_dict=True)
    assert np.isfinite(logs["loss"]) and 0 <= logs["pixel_accuracy"] <= 1


# ------------------------------------------------------------------------ data

BAND_COLOURS = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]], np.uint8)


def write_pair(root, name, mask, image=None, mask_mode="L"):
    """A photo whose colour encodes the class of each pixel (void: grey), and its mask."""
    if image is None:
        image = np.where((mask == 255)[..., None], 128, BAND_COLOURS[np.minimum(mask, 3)]).astype(np.uint8)
    Image.fromarray(image).save(root / "images" / f"{name}.png")
    picture = Image.fromarray(mask.astype(np.uint8), mode="L")
    if mask_mode == "P":
        picture = picture.convert("P")
        picture.putpalette([v for i in range(256) for v in (i * 7 % 256, i * 3 % 256, 255 - i)])
    picture.save(root / "masks" / f"{name}.png")


def bands(height=30, width=40):
    """Four vertical class bands, so that a flip of the image alone would be seen."""
    mask = np.repeat(np.repeat(np.arange(4, dtype=np.uint8)[None], height, 0), width // 4, 1)
    mask[:3, :3] = 255
    return mask


def folder(tmp_path, pairs=10):
    root = tmp_path / "seg"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    (root / "classes.txt").write_text("red\ngreen\nblue\nyellow\n")
    for i in range(pairs):
        write_pair(root, f"img{i:02d}", bands())
    return root


def test_bad_pairs_are_named_or_skipped(tmp_path):
    root = folder(tmp_path)
    (root / "masks" / "img00.png").unlink()
    write_pair(root, "img01", bands(20, 40), image=np.zeros((30, 40, 3), np.uint8))
    out_of_range = bands()
    out_of_range[5, 5] = 9
    write_pair(root, "img02", out_of_range)
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(root / "masks" / "img03.png")
    with pytest.raises(DataError) as error:
        data.load_folder(root)
    message = str(error.value)
    assert "4 of 10" in message
    assert "no mask" in message and "img00.png" in message
    assert "masks/img01.png is 40x20 but its image" in message and "40x30" in message
    assert "img02.png holds class index(es) [9]" in message and "4 classes" in message
    assert "img03.png is a RGB image" in message
    assert error.value.option == "skip_bad"

    source = data.load_folder(root, skip_bad=True)
    assert sorted(f.rsplit("/", 1)[1] for f, _ in source.skipped) == [f"img0{i}.png" for i in range(4)]
    assert sum(split.count for split in source.splits.values()) == 6


def test_palette_masks_give_class_indices_and_augmentation_moves_masks_with_images(tmp_path):
    root = folder(tmp_path, pairs=0)
    for i in range(7):
        write_pair(root, f"img{i}", bands(), mask_mode="P")
    source = data.load_folder(root)
    orders = []
    for images, masks in data.pipeline(source.splits["train"], 32, 1, training=True, seed=3).take(24):
        image, mask = images.numpy()[0], masks.numpy()[0]
        assert set(np.unique(mask)) <= {0, 1, 2, 3, 255}  # nearest neighbour: no new values
        # Away from band edges (where the image blurs), the colour names the mask's class.
        distance = np.abs(image[:, :, None, :] - BAND_COLOURS[None, None].astype(np.float32)).sum(-1)
        pure = distance.min(-1) < 60
        agree = np.argmin(distance, -1) == mask
        assert agree[pure & (mask != 255)].mean() > 0.97
        row = mask[(mask != 255).any(1)][-1]  # the last row of the letterbox's content ...
        row = row[row != 255]  # ... without the padding on its right
        orders.append(np.sign(int(row[-1]) - int(row[0])))  # -1: flipped
    assert orders.count(1) and orders.count(-1)  # both kinds of crop were seen
    images, masks = data.take(source.splits["test"], 32, 1)
    assert images.shape == (1, 32, 32, 3) and masks.shape == (1, 32, 32) and masks.dtype == np.int32
    # Evaluation: the whole 40x30 image letterboxed into 32x24, the bottom 8 rows void padding.
    assert np.array_equal(masks[0, 23], np.repeat(np.arange(4), 8)) and (masks[0, 24:] == 255).all()
    assert (images[0, 24:] == 0).all()


def test_tfds_offline_fails_in_seconds(tmp_path, capsys, monkeypatch):
    from keras_resnets.tasks import data as image_data

    monkeypatch.setattr(image_data, "online", lambda: OSError("Network is unreachable"))
    began = time.monotonic()
    assert segment.main(["--dataset", "oxford_iiit_pet", "--tfds-dir", str(tmp_path), *TINY]) == 2
    err = capsys.readouterr().err
    assert time.monotonic() - began < 60
    assert "offline" in err and "--data" in err and "oxford_iiit_pet" in err
    assert segment.main(["--dataset", "cityscapes", *TINY]) == 2
    assert "oxford_iiit_pet" in capsys.readouterr().err


# ------------------------------------------------------------------ real runs


def test_short_real_run_learns_reports_and_exports_verified_artifacts(tmp_path, capsys):
    mini = shared_data("segmentation-mini")
    code = segment.main(list(map(str, [
        "--data", mini, *TINY, "--max-images", "16", "--batch-size", "8", "--epochs", "2",
        "--steps-per-epoch", "4", "--pictures", "2", "--run-name", "short",
        "--output-dir", tmp_path / "runs", "--export-dir", tmp_path / "export", "--export-images", "4",
    ])))  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    run_dir = tmp_path / "runs" / "short"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    history = metrics["history"]
    assert history[-1]["loss"] < history[0]["loss"]
    assert all(0 <= h["val_mean_iou"] <= 1 for h in history)
    # After 8 steps from scratch the model predicts nearly one class everywhere (with
    # letterboxed inputs, "pizza"), which unseen splits may lack: only the training split
    # must score above 0.
    for split in ("train", "val", "test"):
        m = metrics["splits"][split]
        assert math.isfinite(m["mean_iou"]) and 0 <= m["pixel_accuracy"] <= 1 and math.isfinite(m["loss"])
    assert metrics["splits"]["train"]["pixel_accuracy"] > 0
    assert len(metrics["per_class_iou_test"]) == 133 == len(metrics["data"]["classes"])
    assert metrics["per_class_iou_test"]["person"]["true_pixels"] > 0
    for name in ("curves.png", "predictions_epoch001.png", "predictions_epoch002.png", "predictions_train.png",
                 "predictions_test.png"):
        assert (run_dir / name).stat().st_size > 10000
    assert "mIoU" in out.out and "pixel acc" in out.out
    checks = metrics["export"]["checks"]
    assert {"keras", "saved_model", "tflite"} <= set(checks)
    assert all(c["ok"] and c["max_abs_diff"] < 1e-4 and c["top1_agreement"] == 1.0 for c in checks.values())
    assert (tmp_path / "export" / "labels.txt").read_text().splitlines() == metrics["data"]["classes"]
    # The app's .tflite runs as it is in MediaPipe's ImageSegmenter, with the class names.
    (tflite,) = [row for row in json.loads((tmp_path / "export" / "export_report.json").read_text())["artifacts"]
                 if row["file"] == "model.tflite"]  # fmt: skip
    assert tflite["metadata"]["labels"] == 133 and tflite["mediapipe"]["ok"]
    assert tflite["mediapipe"]["pixel_agreement"] >= 0.99 and tflite["mediapipe"]["max_abs_diff"] <= 1e-3
    # Labelled test images: the report gives each file's pixel accuracy and mIoU, equal to Keras'.
    report = json.loads((tmp_path / "export" / "export_report.json").read_text())
    assert 0 <= report["keras_model"]["mean_iou"] <= 100 and tflite["mean_iou"] == report["keras_model"]["mean_iou"]
    assert tflite["accuracy"] == report["keras_model"]["accuracy"]


@pytest.mark.slow  # the training loop's resume, which test_finetune_runs.py checks mid-epoch in `make test`
def test_killed_run_resumes_from_last_checkpoint(tmp_path):
    mini = shared_data("segmentation-mini")
    steps, epochs = 6, 3
    run_dir = tmp_path / "runs" / "killed"
    command = [
        sys.executable, str(ROOT / "apps" / "segment.py"), "--data", str(mini), *TINY,
        "--head", "fpn", "--max-images", "8", "--batch-size", "4", "--epochs", str(epochs),
        "--steps-per-epoch", str(steps), "--pictures", "1", "--run-name", "killed",
        "--output-dir", str(tmp_path / "runs"), "--no-export",
    ]  # fmt: skip
    first = subprocess.Popen(command, env=app_env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: (run_dir / "checkpoint.json").exists(), 300, first)
        time.sleep(1.0)  # into the next epoch
        first.send_signal(signal.SIGKILL)
    finally:
        first.kill()
        first.communicate()
    killed_after = json.loads((run_dir / "checkpoint.json").read_text())["epoch"]
    assert killed_after < epochs, "the run finished before it was killed"

    resumed = subprocess.run(command, env=app_env(), cwd=ROOT, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"after epoch {killed_after} (phase scratch, optimizer step {killed_after * steps})" in resumed.stderr
    final = json.loads((run_dir / "checkpoint.json").read_text())
    assert (final["epoch"], final["optimizer_step"]) == (epochs, epochs * steps)
    history = json.loads((run_dir / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == list(range(1, epochs + 1))
    assert all("val_mean_iou" in h for h in history)
    assert (run_dir / f"predictions_epoch{epochs:03d}.png").exists()
