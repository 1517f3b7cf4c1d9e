"""torchvision's RetinaNet v1/v2 as Keras task models, against torchvision itself.

The references (random weights, real photos of ../shared/data/detection-mini, raw head
outputs and `eval()` detections) come from tests/torch_reference_detection.py, run once in
a torch-only process and kept in pytest's cache for the other backends' runs.
"""

import dataclasses
import json

import keras
import numpy as np
import pytest

import keras_resnets as kr
from keras_resnets import convert, task_models
from keras_resnets import weights as weights_lib
from keras_resnets.convert.checkpoint import flat_layers
from keras_resnets.heads import torchvision_retinanet
from keras_resnets.labels import LABEL_SETS
from keras_resnets.metrics.detection import coco_map
from helpers import letterboxed_photos, load_app, needs_torch, reference_folder, shared_data

pytestmark = needs_torch

V1, V2, FCOS = "retinanet_resnet50_fpn", "retinanet_resnet50_fpn_v2", "fcos_resnet50_fpn"
# Our raw output layers and torchvision's head outputs they equal.
RETINANET_RAW = {"box_deltas": "bbox_regression", "class_logits": "cls_logits"}
RAW = {V1: RETINANET_RAW, V2: RETINANET_RAW,
       FCOS: {"box_distances": "bbox_regression", "box_ctrness": "bbox_ctrness", "class_logits": "cls_logits"}}
CLOSED_PORT_URL = "http://127.0.0.1:9/retinanet_resnet50_fpn_coco-eeacb38b.pth"  # refused at once


@pytest.fixture(scope="module")
def detection_reference(request, tmp_path_factory):
    shared_data("detection-mini")
    return reference_folder(request, tmp_path_factory, "torch_reference_detection.py")


@pytest.fixture(scope="module")
def converted(detection_reference):
    """name -> the Keras model with the reference's weights (built once per module)."""
    size = np.load(detection_reference / "images.npy").shape[1]
    cache = {}

    def get(name):
        if name not in cache:
            path = detection_reference / f"{name}.pth"
            cache[name] = kr.create_model(name, weights=str(path), input_shape=(size, size, 3))
        return cache[name]

    return get


def raw_outputs(model, images, layers):
    raw = keras.Model(model.input, [model.get_layer(name).output for name in layers])
    return [np.asarray(x) for x in raw.predict(images, verbose=0)]


def torchvision_detections(folder, name, count):
    found = np.load(folder / f"{name}_detections.npz")
    return [{key: found[f"{key}_{i}"] for key in ("boxes", "scores", "labels")} for i in range(count)]


def box_iou(a, b):
    low, high = np.maximum(a[:, :2], b[:, :2]), np.minimum(a[:, 2:], b[:, 2:])
    inter = np.prod(np.clip(high - low, 0, None), axis=1)
    area = lambda boxes: np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)  # noqa: E731
    return inter / np.maximum(area(a) + area(b) - inter, 1e-9)


def assert_same_detections(ours, theirs):
    """Each of torchvision's detections has one of ours of its class, its score within 1e-4
    and its box at IoU >= 0.99. Matched as sets: two detections of other classes whose
    scores differ by float32 noise may come in either order (they never suppress each other)."""
    boxes, scores, classes = ours
    unused = np.ones(len(scores), bool)
    for box, score, label in zip(*theirs):
        fits = unused & (classes == label) & (np.abs(scores - score) <= 1e-4)
        assert fits.any(), f"no detection of class {label} with score {score}"
        # Boxes clipped flat against the image's edge have no area: there the corners agree.
        same = box_iou(boxes, np.broadcast_to(box, boxes.shape))
        same = np.where(np.abs(boxes - box).max(axis=1) <= 1e-2, 1.0, same)
        ious = np.where(fits, same, -1)
        best = int(np.argmax(ious))
        assert ious[best] >= 0.99, (label, score, box, boxes[best], ious[best])
        unused[best] = False


def as_coco(image_ids, per_image):
    """COCO result dicts from per-image (boxes [x1, y1, x2, y2], scores, classes)."""
    results = []
    for image_id, (boxes, scores, classes) in zip(image_ids, per_image):
        for box, score, category in zip(boxes, scores, classes):
            x1, y1, x2, y2 = (float(v) for v in box)
            results.append({"image_id": image_id, "category_id": int(category),
                            "bbox": [x1, y1, x2 - x1, y2 - y1], "score": float(score)})  # fmt: skip
    return results


def check_against_torchvision(name, folder, model):
    images = np.load(folder / "images.npy").astype("float32")
    # Raw head outputs: the network itself, before any selection.
    wanted = {layer: np.load(folder / f"{name}_head_{key}.npy") for layer, key in RAW[name].items()}
    raw_images = len(wanted["class_logits"])
    for layer, got in zip(wanted, raw_outputs(model, images[:raw_images], list(wanted))):
        assert np.abs(wanted[layer]).max() > 0.5, layer  # not a near-zero output
        # float32 through ResNet-50, the pyramid and 5 convs (GroupNorm'd in v2 and FCOS): within
        # 1e-4 of the output's own size (its largest magnitude, at least 1), and 1e-4 relative
        scale = max(1.0, float(np.abs(wanted[layer]).max()))
        np.testing.assert_allclose(got, wanted[layer], rtol=1e-4, atol=1e-4 * scale, err_msg=layer)

    # Post-processed: the same detections as torchvision's model.eval()(images).
    ours = model.predict(images, verbose=0)
    theirs = torchvision_detections(folder, name, len(images))
    counts = [len(t["scores"]) for t in theirs]
    assert sum(counts) > 100 and max(counts) > 0  # real detections survive the score threshold
    np.testing.assert_array_equal(ours["num_detections"], counts)
    per_image = []
    for i, want in enumerate(theirs):
        n = counts[i]
        boxes, scores, classes = ours["boxes"][i, :n], ours["scores"][i, :n], ours["classes"][i, :n]
        assert_same_detections((boxes, scores, classes), (want["boxes"], want["scores"], want["labels"]))
        per_image.append((boxes, scores, classes))

    # COCO mAP against detection-mini's own annotations (its category ids are COCO's).
    truth = json.loads((shared_data("detection-mini") / "annotations.json").read_text())
    image_ids = json.loads((folder / "image_ids.json").read_text())
    truth["images"] = [image for image in truth["images"] if image["id"] in image_ids]
    truth["annotations"] = [a for a in truth["annotations"] if a["image_id"] in image_ids]
    theirs_map = coco_map(truth, as_coco(image_ids, [(t["boxes"], t["scores"], t["labels"]) for t in theirs]))
    ours_map = coco_map(truth, as_coco(image_ids, per_image))
    for key in ("map", "map50", "map75"):
        assert abs(ours_map[key] - theirs_map[key]) <= 1e-3, (key, ours_map[key], theirs_map[key])
    # Random weights find none of the real objects (both mAPs are 0); taking torchvision's
    # detections as the ground truth, ours score what torchvision's own score against them:
    # a full mAP for RetinaNet; less for FCOS, whose zero distances give boxes with no area,
    # which nothing matches (and a class with only those has AP 0).
    theirs_coco = as_coco(image_ids, [(t["boxes"], t["scores"], t["labels"]) for t in theirs])
    as_truth = {"images": truth["images"], "categories": [{"id": c, "name": str(c)} for c in range(91)],
                "annotations": [{**d, "id": k, "area": d["bbox"][2] * d["bbox"][3], "iscrowd": 0}
                                for k, d in enumerate(theirs_coco)]}  # fmt: skip
    flat = any(d["bbox"][2] <= 0 or d["bbox"][3] <= 0 for d in theirs_coco)
    self_map = coco_map(as_truth, theirs_coco)["map"]
    assert self_map >= (0.7 if flat else 0.99)
    assert abs(coco_map(as_truth, as_coco(image_ids, per_image))["map"] - self_map) <= 1e-3
    return theirs_map


def check_parameter_counts(name, folder, model):
    counts = json.loads((folder / f"{name}_counts.json").read_text())
    # torchvision's parameters are our weights but BatchNorm's moving statistics.
    moving = sum(int(np.prod(w.shape)) for w in model.weights if "moving_" in w.path)
    assert model.count_params() - moving == counts["params"]


# TensorFlow only: FCOS (below) takes the same backbone, pyramid, head convolutions and NMS on
# every backend.
def test_v1_matches_torchvision(detection_reference, converted):
    model = converted(V1)
    check_against_torchvision(V1, detection_reference, model)
    check_parameter_counts(V1, detection_reference, model)
    # torchvision's published 34,014,999: its COCO model's frozen BatchNorm has no parameters.
    counts = json.loads((detection_reference / f"{V1}_counts.json").read_text())
    assert counts["params"] - counts["bn_affine"] == 34_014_999


def test_v2_matches_torchvision(detection_reference, converted):
    model = converted(V2)
    check_against_torchvision(V2, detection_reference, model)
    check_parameter_counts(V2, detection_reference, model)
    counts = json.loads((detection_reference / f"{V2}_counts.json").read_text())
    assert counts["params"] == 38_198_935  # torchvision's published figure (plain BatchNorm)


@pytest.mark.backend  # its scores and box coding are new ops: checked on every backend
def test_fcos_matches_torchvision(detection_reference, converted):
    model = converted(FCOS)
    check_against_torchvision(FCOS, detection_reference, model)
    check_parameter_counts(FCOS, detection_reference, model)
    counts = json.loads((detection_reference / f"{FCOS}_counts.json").read_text())
    assert counts["params"] - counts["bn_affine"] == 32_269_600  # torchvision's published figure (frozen BN)


def test_raw_outputs_and_options(detection_reference):
    raw = kr.create_model(V1, weights=None, input_shape=(128, 128, 3), postprocess=False)
    anchors = sum(torchvision_retinanet.level_sizes(128, 128))
    assert {k: tuple(v.shape) for k, v in raw.output.items()} == {
        "box_deltas": (None, anchors, 4), "class_logits": (None, anchors, 91),
    }  # fmt: skip
    model = kr.create_model(V1, weights=None, input_shape=(128, 128, 3), max_detections=7, score_threshold=0.2)
    layer = model.get_layer("detections")
    assert (layer.max_detections, layer.score_threshold, layer.candidates) == (7, 0.2, 1000)
    assert model.output["boxes"].shape[1:] == (7, 4)
    with pytest.raises(ValueError, match="multiples of 32"):
        kr.create_model(V1, weights=None, input_shape=(100, 100, 3))


def test_anchors_are_torchvisions_in_the_heads_order():
    # One position of P3: sizes 32, 40, 50 at ratios 0.5, 1, 2 (ratio-major), rounded.
    cell = torchvision_retinanet.cell_anchors(torchvision_retinanet.ANCHOR_SIZES[0])
    np.testing.assert_array_equal(cell[:3], [[-23, -11, 23, 11], [-28, -14, 28, 14], [-35, -18, 35, 18]])
    np.testing.assert_array_equal(cell[3], [-16, -16, 16, 16])
    anchors = torchvision_retinanet.anchors(64, 64)
    assert len(anchors) == sum(torchvision_retinanet.level_sizes(64, 64))
    np.testing.assert_array_equal(anchors[9], cell[0] + [8, 0, 8, 0])  # next column, stride 8


def test_conversion_rejects_a_foreign_checkpoint(detection_reference):
    model = kr.create_model(V2, weights=None, input_shape=(128, 128, 3))
    with pytest.raises(convert.CheckpointMismatchError, match="fpn_P6 expects"):
        convert.load_checkpoint(model, detection_reference / f"{V1}.pth", task_models.SPECS[V2])


def test_offline_error_names_url_file_and_folder(keras_home):
    entry = weights_lib.find(V1, "tv_coco")
    weights_lib.register(dataclasses.replace(entry, url=CLOSED_PORT_URL))
    with pytest.raises(kr.WeightsUnavailableError) as info:
        kr.create_model(V1, input_shape=(128, 128, 3))
    message = str(info.value)
    assert CLOSED_PORT_URL in message
    assert "retinanet_resnet50_fpn_coco-eeacb38b.pth" in message
    assert str(keras_home / "models") in message


def test_model_info():
    info = kr.model_info(V1)
    assert info["task"] == "detection" and info["input_size"] == 800
    assert info["trainable_params"] == 34_068_119  # torchvision's, BatchNorm affine included
    row = info["weights"]["tv_coco"]
    assert row["url"] == "https://download.pytorch.org/models/retinanet_resnet50_fpn_coco-eeacb38b.pth"
    assert row["classes"] == 91 and row["labels"][1] == "person" and row["resolution"] == 800
    assert row["published"] == "COCO val2017 box AP 36.4 (torchvision)"
    assert "41.5" in weights_lib.find(V2, "tv_coco").published


def test_new_classes_keep_backbone_pyramid_and_box_head(detection_reference):
    path = str(detection_reference / f"{V1}.pth")
    source = kr.create_model(V1, weights=path, input_shape=(128, 128, 3))
    model = kr.create_model(V1, weights=path, input_shape=(128, 128, 3), num_classes=5)
    assert model.get_layer("class_output").kernel.shape == (3, 3, 256, 9 * 5)
    layers = {layer.name: layer for layer in flat_layers(model)}
    sources = {layer.name: layer for layer in flat_layers(source)}
    for name in ("conv1_conv", "conv5_block3_3_bn", "fpn_P6", "box_output", "class_conv4"):
        for got, want in zip(layers[name].get_weights(), sources[name].get_weights()):
            np.testing.assert_array_equal(got, want)
    # The new class logits start afresh, at torchvision's prior (bias -log(99)).
    np.testing.assert_allclose(model.get_layer("class_output").bias, -np.log(99.0), rtol=1e-6)


# In `make test`: its conversion (above) and MediaPipe's ObjectDetector on exported
# detectors, float32 and int8 (test_mediapipe.py).
@pytest.mark.slow
def test_a_converted_coco_detector_runs_in_mediapipe_as_keras_does(detection_reference, tmp_path):
    """torchvision's COCO RetinaNet as converted (the reference's checkpoint: COCO's layout and
    91 classes) and exported with MediaPipe metadata, as `apps/export.py` exports it:
    MediaPipe's ObjectDetector finds every one of the Keras model's detections on real photos.
    (test_mediapipe.py checks a tiny detector float32 and int8 through the app.)"""
    from keras_resnets import export
    from keras_resnets.tasks.detection_report import export_check

    side = 128
    model = kr.create_model(V1, weights=str(detection_reference / f"{V1}.pth"), input_shape=(side, side, 3))
    # The reference's random weights score every (anchor, class) pair near torchvision's .01
    # prior, under the .05 threshold: class biases at 0 put them near .5, many near ties.
    model.get_layer("class_output").bias.assign(np.zeros(model.get_layer("class_output").bias.shape, "float32"))
    detector = torchvision_retinanet.with_postprocess(model, max_detections=25)  # MediaPipe's form unrolls each
    names = list(LABEL_SETS["coco"])  # 11 of them "N/A": MediaPipe's names then stand for one class
    result = export.export(detector, tmp_path, formats=("tflite",), eval_data=letterboxed_photos(3, side),
                           class_names=names, check=export_check, timing_runs=0)  # fmt: skip
    (row,) = result["artifacts"]
    assert result["passed"] and row["metadata"] == {"written": True, "task": "detection", "labels": 91,
                                                    "nms": "in the graph"}  # fmt: skip
    assert row["check"]["detections_matched"] == 1.0 and row["mediapipe"]["detections_matched"] == 1.0
    # Compared: detections clear of the near ties at the cap of 25 (38 both ways when written).
    assert row["mediapipe"]["detections_compared"] >= 25 and row["mediapipe"]["names"]


# A 36M-parameter detector fine-tuned, checkpointed and exported to three formats. In `make
# test`: its conversion (above), the detect app (test_detection_app.py) and class changes.
@pytest.mark.slow
def test_detect_app_fine_tunes_a_torchvision_checkpoint(detection_reference, tmp_path, capsys):
    """`apps/detect.py --model retinanet_resnet50_fpn_v2 --weights <.pth>`: torchvision's
    detector with a new class head for detection-mini's 80 classes, its GIoU loss, pictures,
    and exports whose detections are checked."""
    detect = load_app("detect")
    common = ["--data", shared_data("detection-mini"), "--model", V2, "--weights", detection_reference / f"{V2}.pth",
              "--image-size", "128", "--quiet", "--output-dir", tmp_path / "runs"]  # fmt: skip
    assert detect.main(list(map(str, [*common, "--head-filters", "64"]))) == 2
    assert "--head-filters do not apply" in capsys.readouterr().err
    fcos = [str(a) for a in common]
    fcos[fcos.index(V2)], fcos[fcos.index(str(detection_reference / f"{V2}.pth"))] = FCOS, "none"
    assert detect.main(fcos) == 2
    assert f"Fine-tuning {FCOS} needs its own training loss" in capsys.readouterr().err
    code = detect.main(list(map(str, [
        *common, "--max-images", "6", "--batch-size", "2", "--head-epochs", "0", "--epochs", "1",
        "--steps-per-epoch", "1", "--pictures", "1", "--run-name", "tuned",
        "--export-dir", tmp_path / "export", "--export-images", "2", "--export-timing-runs", "0",
        # MediaPipe's detector form of a ResNet50 RetinaNet takes minutes to convert on 2
        # cores; test_mediapipe.py checks that form through the same export call.
        "--no-tflite-metadata",
    ])))  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    run_dir = tmp_path / "runs" / "tuned"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert len(metrics["data"]["classes"]) == 80 and all(np.isfinite(h["loss"]) for h in metrics["history"])
    for picture in ("predictions_epoch001.png", "predictions_test.png"):
        assert (run_dir / picture).stat().st_size > 10_000
    checks = metrics["export"]["checks"]
    assert {"keras", "saved_model", "tflite"} <= set(checks) and all(c["ok"] for c in checks.values())

