"""torchvision's COCO-VOC segmenters (DeepLabV3, FCN): parity with torchvision on real photos
(random weights and BatchNorm statistics, converted from the .pth torchvision saves), the
published structure's parameter counts, fine-tuning transfer, the convert CLI, model_info,
the offline error, and a tiny apps/segment.py fine-tuning run from a torchvision .pth."""

import dataclasses
import json
import time

import keras
import numpy as np
import pytest

import keras_resnets as kr
from helpers import load_app, logits, needs_torch, reference_folder, shared_data
from keras_resnets.convert import __main__ as convert_cli
from keras_resnets.convert import read_checkpoint
from keras_resnets import weights as weights_lib
from keras_resnets.metrics.segmentation import VOID
from keras_resnets.tasks import segmentation_data as data
from keras_resnets.tasks.segmentation import SegmentationTask, void_masked_crossentropy
from keras_resnets.training import RunConfig
from keras_resnets.training.errors import ConfigError

SEGMENTERS = ("deeplabv3_resnet50", "deeplabv3_resnet101", "fcn_resnet50", "fcn_resnet101")
PUBLISHED_PARAMS = {  # torchvision 0.29.1's meta["num_params"] (auxiliary head included)
    "deeplabv3_resnet50": 42_004_074,
    "deeplabv3_resnet101": 60_996_202,
    "fcn_resnet50": 35_322_218,
    "fcn_resnet101": 54_314_346,
}
TOLERANCE = 1e-4
SIZE = 96  # tests/torch_reference_segmentation.py's SIZE


@pytest.fixture(scope="module")
def reference(request, tmp_path_factory):
    """tests/torch_reference_segmentation.py's files: .pth checkpoints, photos, logits, counts."""
    shared_data("segmentation-mini")
    return reference_folder(request, tmp_path_factory, "torch_reference_segmentation.py")


def check_parity(name, folder):
    images = np.load(folder / "images_nhwc.npy").astype("float32")
    model = kr.create_model(name, weights=str(folder / f"{name}.pth"), input_shape=(SIZE, SIZE, 3), aux=True)
    outputs = logits(model, images)
    for key in ("out", "aux"):
        expected = np.load(folder / f"{name}_{key}.npy")
        assert outputs[key].shape == expected.shape == (len(images), SIZE, SIZE, 21)
        diff = np.abs(outputs[key] - expected).max()
        # Random heads give small logits: the absolute bound, and one relative to their size.
        assert diff < TOLERANCE and diff < TOLERANCE * np.abs(expected).max(), (key, diff)
        agreement = (outputs[key].argmax(-1) == expected.argmax(-1)).mean()
        assert agreement >= 0.999, (key, agreement)
    counts = json.loads((folder / "counts.json").read_text())
    assert counts[name] == PUBLISHED_PARAMS[name]
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == counts[name]


@needs_torch
@pytest.mark.backend
@pytest.mark.parametrize("name", ["deeplabv3_resnet50", "fcn_resnet50"])
def test_resnet50_segmenters_match_torchvision_on_real_photos(name, reference):
    check_parity(name, reference)


@needs_torch
@pytest.mark.parametrize("name", ["deeplabv3_resnet101", "fcn_resnet101"])
def test_resnet101_segmenters_match_torchvision_on_real_photos(name, reference):
    check_parity(name, reference)


@needs_torch
def test_fine_tuning_keeps_every_layer_but_the_class_layers(reference):
    path = str(reference / "fcn_resnet50.pth")
    shape = (64, 64, 3)
    source = kr.create_model("fcn_resnet50", weights=path, input_shape=shape)
    tuned = kr.create_model("fcn_resnet50", weights=path, input_shape=shape, num_classes=5)
    assert tuned.output_shape == (None, 64, 64, 5)
    sources = {layer.name: layer for layer in _flat(source)}
    compared = 0
    for layer in _flat(tuned):
        if not layer.weights or layer.name == "fcn_logits":
            continue
        for ours, theirs in zip(layer.get_weights(), sources[layer.name].get_weights()):
            np.testing.assert_array_equal(ours, theirs)
        compared += 1
    assert compared > 100
    assert tuned.get_layer("fcn_logits").get_weights()[0].shape == (1, 1, 512, 5)


@needs_torch
def test_aux_loss_trains_the_auxiliary_head_beside_the_model_that_is_exported(reference):
    """--aux-loss: the core trains a second model, both heads' probabilities side by side,
    that shares every layer of the model evaluated and exported, which has no auxiliary head."""
    images = np.load(reference / "images_nhwc.npy").astype("float32")
    labels = np.load(reference / "fcn_resnet50_out.npy").argmax(-1)
    labels[:, :8] = VOID
    task = SegmentationTask(aux_loss=0.5)
    config = RunConfig(model="fcn_resnet50", weights="tv_coco_voc", image_size=SIZE, preprocessing="torch")
    source = data.Source("photos", [f"class{i}" for i in range(21)], {}, "")  # torchvision's class layers kept
    model, trained = task.build_training_model(config, source, str(reference / "fcn_resnet50.pth"))
    both = np.asarray(trained.predict(images, verbose=0))
    assert both.shape == (len(images), SIZE, SIZE, 42)
    for half, key in zip(np.split(both, 2, axis=-1), ("out", "aux")):  # torchvision's two heads
        expected = np.load(reference / f"fcn_resnet50_{key}.npy")
        expected = np.exp(expected - expected.max(-1, keepdims=True))
        assert np.abs(half - expected / expected.sum(-1, keepdims=True)).max() < TOLERANCE, key
    names = {layer.name for layer in model.layers}
    assert "aux_logits" not in names and names < {layer.name for layer in trained.layers}
    trained.compile(optimizer=keras.optimizers.SGD(0.5), **task.compile_args(config))
    main, aux = (keras.ops.convert_to_numpy(void_masked_crossentropy(labels, half)).mean()
                 for half in np.split(both, 2, axis=-1))  # fmt: skip
    scores = trained.evaluate(images, labels, verbose=0, return_dict=True)
    assert scores["loss"] == pytest.approx(main + 0.5 * aux, rel=1e-4)
    assert scores["pixel_accuracy"] == pytest.approx(1.0)  # the labels are the main head's argmax
    aux_kernel = keras.ops.convert_to_numpy(trained.get_layer("aux_logits").kernel)
    trained.train_on_batch(images, labels)
    assert np.abs(keras.ops.convert_to_numpy(trained.get_layer("aux_logits").kernel) - aux_kernel).max() > 0
    # The export's copy: the model rebuilt without the auxiliary head takes the trained weights.
    exported = task.build_model(config, source, None)
    exported.set_weights(model.get_weights())
    np.testing.assert_allclose(exported.predict(images, verbose=0), trained.predict(images, verbose=0)[..., :21],
                               atol=1e-5)  # fmt: skip
    with pytest.raises(ConfigError, match="--aux-loss trains a pretrained segmenter's auxiliary head; resnet18"):
        task.build_training_model(dataclasses.replace(config, model="resnet18"), source, None)
    with pytest.raises(ConfigError, match="aux_loss must be at least 0"):
        SegmentationTask(aux_loss=-1)


def _flat(model):
    from keras_resnets.convert.checkpoint import flat_layers

    return list(flat_layers(model))


@needs_torch
def test_convert_cli_writes_weights_that_create_model_loads(reference, tmp_path, capsys):
    checkpoint = reference / "fcn_resnet50.pth"
    output = tmp_path / "fcn.weights.h5"
    assert convert_cli.main(["--model", "fcn_resnet50", "--checkpoint", str(checkpoint), "--output", str(output)]) == 0
    model = kr.create_model("fcn_resnet50", weights=str(output), input_shape=(64, 64, 3))
    state = read_checkpoint(checkpoint)
    np.testing.assert_array_equal(model.get_layer("fcn_logits").get_weights()[1], state["classifier.4.bias"])
    bn = model.get_layer("resnet50b").get_layer("conv5_block3_3_bn").get_weights()[3]
    np.testing.assert_array_equal(bn, state["backbone.layer4.2.bn3.running_var"])
    with pytest.raises(SystemExit):
        convert_cli.main(["--model", "fcn_resnet50", "--checkpoint", str(checkpoint), "--output", str(output),
                          "--classes", "5"])  # fmt: skip
    assert "task model" in capsys.readouterr().err


def test_listed_with_torchvision_rows_and_published_counts():
    assert kr.list_models(task="segmentation") == sorted(SEGMENTERS)
    info = kr.model_info("fcn_resnet50")
    assert info["task"] == "segmentation" and info["input_size"] == 520
    assert info["trainable_params"] == PUBLISHED_PARAMS["fcn_resnet50"]  # counted with the aux head
    row = info["weights"]["tv_coco_voc"]
    assert row["url"] == "https://download.pytorch.org/models/fcn_resnet50_coco-1167a1af.pth"
    assert row["classes"] == 21 and row["resolution"] == 520 and row["labels"][15] == "person"
    assert "mIoU 60.5" in row["published"] and "(torchvision)" in row["published"]
    assert all(weights_lib.available(name) == ["tv_coco_voc"] for name in SEGMENTERS)


def test_offline_default_weights_fail_fast_naming_url_file_and_cache(keras_home):
    start = time.monotonic()
    with pytest.raises(kr.WeightsUnavailableError) as info:
        kr.create_model("deeplabv3_resnet50")
    assert time.monotonic() - start < 60
    message = str(info.value)
    assert "https://download.pytorch.org/models/deeplabv3_resnet50_coco-cd0a2569.pth" in message
    assert "deeplabv3_resnet50_coco-cd0a2569.pth" in message
    assert str(keras_home / "models") in message


@needs_torch
# 147 s here: a 35M-parameter model trained, checkpointed, exported to three formats. In `make
# test`: its conversion (above), the segment app (test_segmentation.py) and class changes.
@pytest.mark.slow
def test_segment_app_fine_tunes_a_torchvision_checkpoint(reference, tmp_path, capsys):
    segment = load_app("segment")
    mini = shared_data("segmentation-mini")
    common = ["--data", mini, "--model", "fcn_resnet50", "--weights", reference / "fcn_resnet50.pth",
              "--image-size", "64", "--quiet", "--output-dir", tmp_path / "runs"]  # fmt: skip
    assert segment.main(list(map(str, [*common, "--head", "fpn"]))) == 2
    assert "--head do not apply" in capsys.readouterr().err
    code = segment.main(list(map(str, [
        *common, "--max-images", "4", "--batch-size", "2", "--head-epochs", "0", "--epochs", "1",
        "--steps-per-epoch", "1", "--pictures", "1", "--run-name", "tuned", "--aux-loss", "0.5",
        "--export-dir", tmp_path / "export", "--export-images", "2", "--export-timing-runs", "0",
    ])))  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    run_dir = tmp_path / "runs" / "tuned"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert len(metrics["data"]["classes"]) == 133 and metrics["options"]["aux_loss"] == 0.5
    for picture in ("predictions_epoch001.png", "predictions_test.png"):
        assert (run_dir / picture).stat().st_size > 10000
    checks = metrics["export"]["checks"]
    assert {"keras", "saved_model", "tflite"} <= set(checks) and all(c["ok"] for c in checks.values())
