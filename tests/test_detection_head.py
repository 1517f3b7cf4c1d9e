"""RetinaNet head: our decoding inverts keras-cv's encoding, NMS, the export check, saving."""

import keras
import numpy as np
import pytest

import keras_resnets as kr
from keras_resnets.heads import keras_cv_parts as parts
from keras_resnets.heads import retinanet
from keras_resnets.tasks.detection_postprocess import select
from keras_resnets.tasks.detection_report import export_check
from keras_resnets.export import Bounds

SIZE = 128


def test_decoding_inverts_keras_cv_label_encoding():
    truth = -np.ones((2, 3, 5), "float32")
    truth[0, 0], truth[0, 1], truth[1, 0] = [10, 20, 60, 90, 1], [50, 30, 120, 125, 2], [0, 0, 127, 127, 0]
    deltas, classes = parts.label_encoder()(np.zeros((1, SIZE, SIZE, 1), "float32"),
                                            {"boxes": truth[..., :4], "classes": truth[..., 4]})  # fmt: skip
    deltas, classes = keras.ops.convert_to_numpy(deltas), keras.ops.convert_to_numpy(classes)
    anchors = parts.anchors(SIZE)
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


def test_select_keeps_the_best_box_per_object_and_class():
    boxes = np.array([[10, 10, 50, 50], [12, 12, 52, 52], [10, 10, 50, 50], [80, 80, 120, 120]], "float32")
    scores = np.zeros((4, 2), "float32")
    scores[0, 0], scores[1, 0], scores[2, 1], scores[3, 0] = 0.9, 0.8, 0.7, 0.04
    kept_boxes, kept_scores, classes = select(boxes, scores)
    # Box 1 overlaps box 0 (IoU .82) in the same class; box 2 is the same place in another
    # class; box 3 scores below the threshold.
    np.testing.assert_allclose(kept_boxes, boxes[[0, 2]])
    np.testing.assert_allclose(kept_scores, [0.9, 0.7])
    assert classes.tolist() == [0, 1]
    apart = boxes[:1] + np.arange(200, dtype="float32")[:, None] * 60  # no two overlap
    assert len(select(apart, np.full((200, 1), 0.5))[0]) == 100


def test_export_check_compares_the_final_detections():
    rng = np.random.default_rng(0)
    corners = np.sort(rng.uniform(0, SIZE, (2, 50, 2, 2)).astype("float32"), axis=2)  # [[x1, y1], [x2, y2]]
    boxes = corners.reshape(2, 50, 4)
    scores = rng.uniform(0, 0.3, (2, 50, 5)).astype("float32")
    same = export_check([boxes, scores], [boxes, scores], Bounds(), None)
    assert same["ok"] and same["detections_matched"] == 1.0 and same["detections_compared"] > 10
    moved = boxes.copy()
    best = np.unravel_index(np.argmax(scores[0]), scores[0].shape)[0]
    moved[0, best] += 5.0
    check = export_check([moved, scores], [boxes, scores], Bounds(), None)
    assert not check["ok"] and check["detections_matched"] < 1.0 and "detections found again" in check["error"]


def test_saved_detector_loads_and_decodes_alike(tmp_path):
    backbone = kr.features("resnet18", weights=None, input_shape=(SIZE, SIZE, 3))
    model = retinanet.with_decoding(retinanet.retinanet(backbone, 3, "torch", False, filters=16, depth=1))
    images = np.random.default_rng(1).uniform(0, 255, (2, SIZE, SIZE, 3)).astype("float32")
    expected = model.predict(images, verbose=0)
    assert expected["boxes"].shape == (2, len(parts.anchors(SIZE)), 4) and expected["scores"].shape[-1] == 3
    assert np.all((expected["boxes"] >= 0) & (expected["boxes"] <= SIZE))
    np.testing.assert_allclose(expected["scores"].mean(), retinanet.PRIOR_PROBABILITY, rtol=0.5)
    model.save(tmp_path / "detector.keras")
    loaded = keras.saving.load_model(tmp_path / "detector.keras", compile=False).predict(images, verbose=0)
    for key in expected:
        np.testing.assert_allclose(loaded[key], expected[key], atol=1e-5)


def test_image_size_must_be_a_multiple_of_32():
    with pytest.raises(ValueError, match="multiple of 32"):
        retinanet.retinanet(kr.features("resnet18", weights=None, input_shape=(200, 200, 3)), 3, "torch", False)
