"""The in-graph `Detections` layer against torchvision's RetinaNet selection + batched_nms
(tests/torchvision_nms_reference.py): same boxes, scores and classes, exactly."""

import json

import numpy as np
import pytest
from helpers import needs_torch, run_reference

LEVELS = (120, 48, 12)
CLASSES = 4
SETTINGS = dict(score_threshold=0.05, candidates=40, iou_threshold=0.5, max_detections=30)


def random_inputs(images, anchors=sum(LEVELS), classes=CLASSES, spread=64.0, sizes=(4, 32), seed=0):
    """Boxes [x1, y1, x2, y2] (N, A, 4) and probabilities (N, A, C); `spread` small = crowded."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(16, 16 + spread, (images, anchors, 2))
    extents = rng.uniform(*sizes, (images, anchors, 2))
    boxes = np.concatenate([centers - extents / 2, centers + extents / 2], -1).astype("float32")
    scores = (rng.uniform(0, 1, (images, anchors, classes)) ** 3).astype("float32")
    return boxes, scores


def detect(boxes, scores, **settings):
    """The layer in a compiled model (tf.function / jax.jit / torch), via predict."""
    import keras

    from keras_resnets.heads.nms import Detections

    box_input = keras.Input(boxes.shape[1:])
    score_input = keras.Input(scores.shape[1:])
    model = keras.Model([box_input, score_input], Detections(**settings)(box_input, score_input))
    return model.predict([boxes, scores], verbose=0)


def assert_matches(outputs, references):
    """Per image: the same count, classes, scores and boxes; padding rows are 0, 0, -1."""
    for n, (boxes, scores, classes) in enumerate(references):
        count = len(scores)
        assert outputs["num_detections"][n] == count
        np.testing.assert_array_equal(outputs["classes"][n, :count], classes)
        np.testing.assert_array_equal(outputs["scores"][n, :count], scores)
        np.testing.assert_array_equal(outputs["boxes"][n, :count], boxes)
        assert (outputs["classes"][n, count:] == -1).all()
        assert (outputs["scores"][n, count:] == 0).all() and (outputs["boxes"][n, count:] == 0).all()


def batch_cases():
    """A random batch, a crowded one (many overlaps across classes), one whose second image
    has no candidate above the threshold, and one image for the TFLite file."""
    random_batch = random_inputs(3, seed=1)
    crowded = random_inputs(2, spread=8.0, sizes=(24, 32), seed=2)
    boxes, scores = random_inputs(2, seed=3)
    scores[1] *= 0.04
    return {
        "random": random_batch, "crowded": crowded, "empty_image": (boxes, scores),
        "one_level": random_inputs(2, spread=20.0, seed=4), "tflite": random_inputs(1, seed=5),
    }  # fmt: skip


def case_levels(case):
    return (sum(LEVELS),) if case == "one_level" else LEVELS


@pytest.fixture(scope="module")
def torchvision_results(tmp_path_factory):
    """{case: [(boxes, scores, classes) per image]} from tests/torchvision_nms_reference.py."""
    folder = tmp_path_factory.mktemp("nms")
    cases = batch_cases()
    arrays = {f"{case}_{kind}": value for case, pair in cases.items() for kind, value in zip(("boxes", "scores"), pair)}
    arrays.update({f"{case}_levels": np.array(case_levels(case)) for case in cases})
    np.savez(folder / "inputs.npz", **arrays)
    run_reference("torchvision_nms_reference.py", str(folder / "inputs.npz"), str(folder / "outputs.npz"),
                  json.dumps(SETTINGS))  # fmt: skip
    results = np.load(folder / "outputs.npz")
    return {
        case: [tuple(results[f"{case}_{n}_{kind}"] for kind in ("boxes", "scores", "classes")) for n in range(len(b))]
        for case, (b, _) in cases.items()
    }


@needs_torch
@pytest.mark.backend
def test_matches_torchvision_selection_and_batched_nms(torchvision_results):
    counts = []
    for name, (boxes, scores) in batch_cases().items():
        if name in ("tflite", "one_level"):
            continue
        outputs = detect(boxes, scores, level_sizes=LEVELS, **SETTINGS)
        references = torchvision_results[name]
        assert_matches(outputs, references)
        counts.append([len(r[1]) for r in references])
        assert outputs["classes"].dtype == np.int32 and outputs["num_detections"].dtype == np.int32
    # the cases cover: K reached, fewer than K after NMS, an image with none, different counts in a batch
    random_counts, crowded_counts, empty_counts = counts
    assert max(random_counts) == SETTINGS["max_detections"]
    assert 0 < max(crowded_counts) < SETTINGS["max_detections"]
    assert empty_counts[1] == 0 < empty_counts[0]


@needs_torch
@pytest.mark.backend
def test_one_level_by_default(torchvision_results):
    boxes, scores = batch_cases()["one_level"]
    assert_matches(detect(boxes, scores, **SETTINGS), torchvision_results["one_level"])


@needs_torch
def test_tflite_runs_the_loop(torchvision_results):
    """The TF while loop converts to a WHILE op, and LiteRT's interpreter gives the same detections."""
    import keras
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    from keras_resnets.heads.nms import Detections

    boxes, scores = batch_cases()["tflite"]
    layer = Detections(level_sizes=LEVELS, **SETTINGS)
    box_input, score_input = keras.Input(boxes.shape[1:], batch_size=1), keras.Input(scores.shape[1:], batch_size=1)
    model = keras.Model([box_input, score_input], layer(box_input, score_input))
    function = tf.function(lambda b, s: model([b, s]), input_signature=[
        tf.TensorSpec(boxes.shape, tf.float32), tf.TensorSpec(scores.shape, tf.float32)])  # fmt: skip
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()], model)
    interpreter = Interpreter(model_content=converter.convert())
    assert "WHILE" in {op["op_name"] for op in interpreter._get_ops_details()}
    runner = interpreter.get_signature_runner()
    inputs = runner.get_input_details()
    first, second = sorted(inputs, key=lambda name: inputs[name]["index"])
    outputs = runner(**{first: boxes, second: scores})
    assert set(outputs) == {"boxes", "scores", "classes", "num_detections"}
    assert_matches(outputs, torchvision_results["tflite"])


def test_config_round_trip_and_bad_settings():
    import keras

    from keras_resnets.heads.nms import Detections

    layer = Detections(level_sizes=LEVELS, iou_threshold=0.6, max_detections=7)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert clone.get_config() == layer.get_config() and clone.level_sizes == LEVELS
    with pytest.raises(ValueError, match="sum to 180"):
        Detections(level_sizes=LEVELS)(np.zeros((1, 10, 4), "float32"), np.zeros((1, 10, 2), "float32"))
    with pytest.raises(ValueError, match="at least 1"):
        Detections(max_detections=0)


def test_unrolled_picks_give_the_loops_detections():
    """`unroll=True` (the loop-free graph of a MediaPipe detector file) writes the same picks out."""
    boxes, scores = random_inputs(2, seed=6)
    looped = detect(boxes, scores, level_sizes=LEVELS, **SETTINGS)
    unrolled = detect(boxes, scores, level_sizes=LEVELS, unroll=True, **SETTINGS)
    assert looped["num_detections"].min() > 10
    for name in looped:
        np.testing.assert_array_equal(unrolled[name], looped[name])
