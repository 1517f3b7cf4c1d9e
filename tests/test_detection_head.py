"""RetinaNet head: our decoding inverts keras-cv's encoding, the detections on top, the export
check, saving."""

import keras
import numpy as np
import pytest

import keras_resnets as kr
from keras_resnets.heads import keras_cv_parts as parts
from keras_resnets.heads import retinanet
from keras_resnets.heads.nms import Detections
from keras_resnets.tasks.detection_report import OUTPUTS, export_check, export_metrics
from keras_resnets.export import Bounds

SIZE = 128
EXPORT_SIZE = 64  # the export test: the smallest RetinaNet input (P7 is one position)


def test_decoding_inverts_keras_cv_label_encoding():
    truth = -np.ones((2, 3, 5), "float32")
    truth[0, 0], truth[0, 1], truth[1, 0] = [10, 20, 60, 90, 1], [50, 30, 120, 125, 2], [0, 0, 127, 127, 0]
    deltas, classes = parts.label_encoder()(np.zeros((1, SIZE, SIZE, 1), "float32"),
                                            {"boxes": truth[..., :4], "classes": truth[..., 4]})  # fmt: skip
    deltas, classes = keras.ops.convert_to_numpy(deltas), keras.ops.convert_to_numpy(classes)
    anchors = np.concatenate(parts.anchors_by_level(SIZE))
    decode = retinanet.DecodeDetections(len(anchors), SIZE, anchors)
    outputs = decode(np.concatenate([deltas, np.zeros((2, len(anchors), 3), "float32")], axis=-1))
    boxes = keras.ops.convert_to_numpy(outputs["boxes"])
    for image in range(2):
        for box in truth[image][truth[image, :, 4] >= 0]:
            assigned = classes[image] == box[4]
            assert assigned.sum() > 0  # some anchors are positive for every box
            np.testing.assert_allclose(boxes[image][assigned], np.broadcast_to(box[:4], (assigned.sum(), 4)), atol=1e-3)


def test_loss_is_near_zero_for_the_encoded_truth_and_large_for_a_blank_guess():
    truth = -np.ones((1, 2, 5), "float32")
    truth[0, 0] = [10, 20, 60, 90, 1]
    deltas, classes = parts.label_encoder()(np.zeros((1, SIZE, SIZE, 1), "float32"),
                                            {"boxes": truth[..., :4], "classes": truth[..., 4]})  # fmt: skip
    deltas, classes = keras.ops.convert_to_numpy(deltas), keras.ops.convert_to_numpy(classes)
    logits = np.where(np.arange(3) == classes[..., None], 12.0, -12.0).astype("float32")
    loss = retinanet.RetinaNetLoss(SIZE)
    perfect = float(loss(truth, np.concatenate([deltas, logits], axis=-1)))
    blank = float(loss(truth, np.zeros((1, len(classes[0]), 7), "float32")))
    assert perfect < 1e-3 and blank > 100 * max(perfect, 1e-4)


def test_loss_takes_images_whose_boxes_fill_every_row():
    """A cropped image keeps its first max_boxes boxes: every row real, no padding row."""
    full = np.array([[[10, 20, 60, 90, 1], [50, 30, 120, 125, 2]]], "float32")
    padded = np.concatenate([full, -np.ones((1, 3, 5), "float32")], axis=1)
    guess = np.random.default_rng(0).normal(size=(1, len(np.concatenate(parts.anchors_by_level(SIZE))), 7))
    loss = retinanet.RetinaNetLoss(SIZE)
    np.testing.assert_allclose(float(loss(full, guess.astype("float32"))), float(loss(padded, guess.astype("float32"))), rtol=1e-6)


def detections(boxes, scores, **settings):
    """`Detections` of a batch, as numpy arrays."""
    return keras.tree.map_structure(keras.ops.convert_to_numpy, Detections(**settings)(boxes, scores))


def test_detections_keep_the_best_box_per_object_and_class():
    boxes = np.array([[[10, 10, 50, 50], [12, 12, 52, 52], [10, 10, 50, 50], [80, 80, 120, 120]]], "float32")
    scores = np.zeros((1, 4, 2), "float32")
    scores[0, 0, 0], scores[0, 1, 0], scores[0, 2, 1], scores[0, 3, 0] = 0.9, 0.8, 0.7, 0.04
    found = detections(boxes, scores, max_detections=5)
    # Box 1 overlaps box 0 (IoU .82) in the same class; box 2 is the same place in another
    # class; box 3 scores below the threshold. Padding: boxes 0, score 0, class -1.
    assert found["num_detections"].tolist() == [2]
    np.testing.assert_array_equal(found["boxes"][0], np.concatenate([boxes[0, [0, 2]], np.zeros((3, 4))]))
    np.testing.assert_array_equal(found["scores"][0], np.float32([0.9, 0.7, 0, 0, 0]))
    assert found["classes"][0].tolist() == [0, 1, -1, -1, -1]
    apart = boxes[:, :1] + np.arange(200, dtype="float32")[None, :, None] * 60  # no two overlap
    assert detections(apart, np.full((1, 200, 1), 0.5, "float32"), max_detections=100)["num_detections"] == 100


def test_export_check_compares_the_final_detections():
    rng = np.random.default_rng(0)
    corners = np.sort(rng.uniform(0, SIZE, (2, 50, 2, 2)).astype("float32"), axis=2)  # [[x1, y1], [x2, y2]]
    boxes = corners.reshape(2, 50, 4)
    scores = rng.uniform(0, 0.3, (2, 50, 5)).astype("float32")
    found = detections(boxes, scores, max_detections=60)
    reference = [found[name] for name in OUTPUTS]
    same = export_check(reference, reference, Bounds(), None)
    assert same["ok"] and same["detections_matched"] == 1.0 and same["detections_compared"] > 20
    assert same["same_counts"] == 1.0
    moved = dict(found, boxes=found["boxes"].copy())
    moved["boxes"][0, 0] += 5.0  # the best detection of the first image, 5 px away
    check = export_check([moved[name] for name in OUTPUTS], reference, Bounds(), None)
    assert not check["ok"] and check["detections_matched"] < 1.0 and "detections found again" in check["error"]
    nudged = dict(found, scores=found["scores"] + 1e-3)  # found again, but a score outside the tolerance
    check = export_check([nudged[name] for name in OUTPUTS], reference, Bounds(), None)
    assert not check["ok"] and check["detections_matched"] == 1.0 and check["score_max_abs_diff"] > 9e-4
    assert not export_check(reference[:2], reference, Bounds(), None)["ok"]


def test_export_metrics_score_the_detections_against_the_labels():
    truth = -np.ones((2, 4, 5), "float32")  # (N, max_boxes, [x1, y1, x2, y2, class]), -1 rows: none
    truth[0, :2] = [[10, 10, 40, 50, 3], [60, 20, 100, 90, 1]]
    truth[1, 0] = [5, 5, 30, 30, 3]
    exact = {"boxes": np.zeros((2, 3, 4), "float32"), "scores": np.zeros((2, 3), "float32"),
             "classes": np.zeros((2, 3), "float32"), "num_detections": np.array([2, 1], "float32")}  # fmt: skip
    for i, count in enumerate((2, 1)):
        exact["boxes"][i, :count], exact["classes"][i, :count] = truth[i, :count, :4], truth[i, :count, 4]
        exact["scores"][i, :count] = 0.9
    assert export_metrics([exact[k] for k in OUTPUTS], truth) == {"accuracy": None, "map": 100.0, "map50": 100.0}
    wrong_class = dict(exact, classes=exact["classes"] + 1)
    assert export_metrics([wrong_class[k] for k in OUTPUTS], truth)["map50"] == 0.0
    shifted = dict(exact, boxes=exact["boxes"] + 4.0)  # IoU between .5 and .95: found at .5, not at every threshold
    scored = export_metrics([shifted[k] for k in OUTPUTS], truth)
    assert scored["map50"] == 100.0 and 0 < scored["map"] < 100.0
    assert export_metrics([exact[k] for k in OUTPUTS]) == {"accuracy": None}


def test_saved_detector_loads_and_detects_alike(tmp_path):
    backbone = kr.features("resnet18", weights=None, input_shape=(SIZE, SIZE, 3))
    model = retinanet.with_decoding(retinanet.retinanet(backbone, 3, "torch", False, filters=16, depth=1))
    # Class biases at 0, not the prior .01: random logits then put many scores above .05
    # whatever Keras' unseeded initialisation drew.
    bias = model.get_layer("class_output").bias
    bias.assign(np.zeros(bias.shape, "float32"))
    images = np.random.default_rng(1).uniform(0, 255, (2, SIZE, SIZE, 3)).astype("float32")
    expected = model.predict(images, verbose=0)
    assert expected["boxes"].shape == (2, retinanet.MAX_DETECTIONS, 4) and expected["classes"].max() < 3
    assert np.all((expected["boxes"] >= 0) & (expected["boxes"] <= SIZE))
    levels = model.get_layer("detections").level_sizes
    assert levels == tuple(len(level) for level in parts.anchors_by_level(SIZE)) and len(levels) == 5
    assert expected["num_detections"].min() > 10  # random weights: many scores above .05
    model.save(tmp_path / "detector.keras")
    loaded = keras.saving.load_model(tmp_path / "detector.keras", compile=False).predict(images, verbose=0)
    for key in expected:
        np.testing.assert_allclose(loaded[key], expected[key], atol=1e-5)


def test_image_size_must_be_a_multiple_of_32():
    with pytest.raises(ValueError, match="multiple of 32"):
        retinanet.retinanet(kr.features("resnet18", weights=None, input_shape=(200, 200, 3)), 3, "torch", False)


def test_exported_onnx_runs_the_nms_loop(tmp_path):
    """The ONNX file carries the NMS loop (a Loop node), runs it in onnxruntime and finds the
    Keras model's detections again (TFLite's WHILE op: test_nms.py and the app's export)."""
    import onnx

    from keras_resnets.export import export

    backbone = kr.features("resnet18", weights=None, input_shape=(EXPORT_SIZE, EXPORT_SIZE, 3))
    head = retinanet.retinanet(backbone, 3, "torch", False, filters=16, depth=1)
    head.get_layer("class_output").bias.assign(np.zeros(27, "float32"))  # probabilities near .5: many detections
    model = retinanet.with_decoding(head)
    images = np.random.default_rng(2).uniform(0, 255, (3, EXPORT_SIZE, EXPORT_SIZE, 3)).astype("float32")
    result = export(model, tmp_path, formats=("onnx",), eval_data=images, check=export_check, timing_runs=0)
    (row,) = result["artifacts"]
    check = row["check"]
    assert row["ok"] and check["detections_matched"] == 1.0 and check["detections_compared"] > 100, row
    assert check["same_counts"] == 1.0
    graph = onnx.load(tmp_path / "model.onnx").graph
    assert "Loop" in {node.op_type for node in graph.node}
    assert sorted(output.name for output in graph.output) == sorted(OUTPUTS)
