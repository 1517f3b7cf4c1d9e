"""MediaPipe `ObjectDetector` metadata for a detector's `.tflite`, and running it there.

MediaPipe takes a detector with its post-processing inside ("with NMS": the four outputs of
TFLite's DetectionPostProcess op) or without (raw SSD box encodings and scores, which it
decodes and suppresses itself, one class per anchor). Ours are written with NMS: their final
detections are already in the graph (`heads.nms.Detections`: torchvision's candidates per
level over every (anchor, class) pair, class-wise NMS; FCOS' centerness), and only then are
MediaPipe's detections the Keras model's, which the export checks (`check`).

Export code: the file with metadata is written from `adapt(model)`, the same layers with
- the NMS loop unrolled (`Detections(unroll=True)`): MediaPipe refuses a file of more than
  one subgraph, and TFLite's WHILE op brings two;
- the outputs MediaPipe reads, by the names its writer gives them (`OUTPUTS`): "location"
  (1, K, 4) [ymin, xmin, ymax, xmax] as fractions of the input's height and width (the order
  the writer declares: BoundingBoxProperties index (1, 0, 3, 2), RATIO), "category" (1, K)
  and "number of detections" (1,) as float32, "score" (1, K).
MediaPipe finds the four tensors by those metadata names. Its writer pairs the names with the
output tensors in the order of their tensor indices (DetectionPostProcess' order), which
TFLite's converter does not keep for ours, so `write` pairs them by the file's signature.
LiteRT's runs of such a file give the Keras model's outputs back (`keras_outputs`), so the
export checks it as any detector file.
A full-int8 file keeps float32 outputs behind its uint8 pixel input (`float_output`):
MediaPipe reads float32 detections.

MediaPipe stretches an image of another size to the input size (no letterbox: its
ImageToTensorCalculator keeps no aspect ratio) and returns boxes in the image's own pixels,
rounded to whole pixels. Our detectors see letterboxed images (`tasks.letterbox`): give
MediaPipe images letterboxed to the input size for the Keras model's detections.
"""

import dataclasses
import os

import keras
import numpy as np
from keras import ops

from keras_resnets.export import mediapipe_base as base
from keras_resnets.heads.nms import PAD_CLASS, SCORE_THRESHOLD, Detections, final_detections
from keras_resnets.metrics.matching import found_both_ways, per_image

# MediaPipe's metadata name -> the file's signature output (a signature name has no spaces)
OUTPUTS = {"location": "location", "category": "category", "score": "score",
           "number of detections": "number_of_detections"}  # fmt: skip
SAME_BOX_IOU = 0.9
ROUNDING_PX = 2.0  # MediaPipe floors a box's corner and its size apart: whole pixels, up to 2 px less
SCORE_TOLERANCE = 0.01
# A quantized file in MediaPipe: its int8 kernels give some scores one output step (1/256)
# off LiteRT's for the same file, which reorders near ties in the top-k and the NMS. Measured
# on the tests' random-weight detector, whose scores are all near ties (the worst case):
# 95.5% and 98.4% of LiteRT's detections found again (99.3% with its class logits spread 3x).
SAME_FILE_SHARE = 0.9


def _detections(model):
    layer = final_detections(model)
    if layer is None:
        raise base.MetadataError(
            f"{model.name} does not end with its final detections (keras_resnets.heads.nms.Detections), which "
            "MediaPipe's ObjectDetector metadata describes: export it with tflite_metadata=False."
        )
    return layer


def classes(model):
    """How many class names a detector's label file holds: its score columns."""
    return _detections(model).class_count


def adapt(model):
    """Export code: `model` (ending with `Detections`) with the outputs MediaPipe reads and no
    loop (module docstring), sharing its layers and weights."""
    detections = _detections(model)
    boxes, scores = detections.input
    found = Detections.from_config({**detections.get_config(), "unroll": True})(boxes, scores)
    height, width = model.input_shape[1:3]
    x1, y1, x2, y2 = (found["boxes"][..., i] for i in range(4))
    outputs = {
        "location": ops.stack([y1 / height, x1 / width, y2 / height, x2 / width], axis=-1),
        "category": ops.cast(found["classes"], "float32"),
        "score": found["scores"],
        "number_of_detections": ops.cast(found["num_detections"], "float32"),
    }
    return keras.Model(model.input, outputs, name=model.name)


def _input_size(path):
    from ai_edge_litert.interpreter import Interpreter

    (image,) = Interpreter(model_path=os.fspath(path)).get_input_details()
    return int(image["shape"][1]), int(image["shape"][2])


def keras_outputs(path, run):
    """`run` (LiteRT's runner of a file written from `adapt`) giving the Keras model's outputs
    in their order: boxes (N, K, 4) [x1, y1, x2, y2] in input pixels, classes, num_detections,
    scores."""
    height, width = _input_size(path)

    def keras_run(images):
        category, location, number, score = run(images)  # by signature name
        y1, x1, y2, x2 = (location[..., i] for i in range(4))
        boxes = np.stack([x1 * width, y1 * height, x2 * width, y2 * height], axis=-1)
        return [boxes, np.rint(category).astype(np.int32), np.rint(number).astype(np.int32), score]

    return keras_run


def write(path, model_buffer, interpreter, info, labels, reference):
    """(model bytes with the metadata, what was written), with MediaPipe's
    `object_detector.MetadataWriter.create_for_models_with_nms`."""
    signature = interpreter.get_signature_runner("serving_default").get_output_details()
    found = {name: np.dtype(tensor["dtype"]).name for name, tensor in signature.items()}
    if found != {name: "float32" for name in OUTPUTS.values()}:
        raise base.MetadataError(
            f"{path} has outputs {found}, not MediaPipe's float32 {sorted(OUTPUTS.values())}: write it from "
            "mediapipe_detection.adapt(model) with float_output=True (export() does), or with tflite_metadata=False."
        )
    labels = base.labels_for(path, None, labels)
    base.shim()
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer, object_detector

    detector = object_detector.MetadataWriter.create_for_models_with_nms(
        model_buffer, [0.0], [1.0], metadata_writer.Labels().add(list(labels)) if labels else None
    )  # the graph preprocesses RGB [0, 255] itself: normalization is the identity
    writer = base.with_general_info(detector.writer, info)
    for tensor in writer._output_mds:
        tensor.tensor_name = signature[OUTPUTS[tensor.name]]["name"]
    return base.populate(writer), {"labels": len(labels) if labels else None, "nms": "in the graph"}


def _file_labels(path):
    """The class names in the file's metadata (its category tensor's label file), or None."""
    import json

    from mediapipe.tasks.python.metadata import metadata

    base.shim()
    displayer = metadata.MetadataDisplayer.with_model_file(os.fspath(path))
    outputs = json.loads(displayer.get_metadata_json())["subgraph_metadata"][0]["output_tensor_metadata"]
    (category,) = [tensor for tensor in outputs if tensor["name"] == "category"]
    files = category.get("associated_files") or [None]
    return None if files[0] is None else displayer.get_associated_file_buffer(files[0]["name"]).decode().splitlines()


def runner(path):
    """images (N, H, W, 3) at the file's input size -> the Keras model's outputs (boxes in
    input pixels, as MediaPipe returns them: whole pixels; classes; num_detections; scores),
    one row per (box, class) as the model's, padded to the file's K rows as the model pads
    them; `run.names`: index -> the name MediaPipe returned (empty without a label file).

    MediaPipe returns one detection per box, with every class kept there as a category, and
    with a label file names the categories without their index: found here by name."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    from ai_edge_litert.interpreter import Interpreter

    details = {d["name"]: d for d in Interpreter(model_path=os.fspath(path)).get_output_details()}
    capacity = max(int(d["shape"][-1]) for d in details.values() if len(d["shape"]) == 2)
    options = vision.ObjectDetectorOptions(
        base_options=BaseOptions(model_asset_path=os.fspath(path)), running_mode=vision.RunningMode.IMAGE,
        max_results=-1, score_threshold=0.0,  # the file's own threshold (Detections') applies, as in Keras
    )  # fmt: skip
    detector = vision.ObjectDetector.create_from_options(options)
    labels, names = _file_labels(path), {}

    def run(images):
        images = np.asarray(images)
        boxes = np.zeros((len(images), capacity, 4), np.float32)
        scores = np.zeros((len(images), capacity), np.float32)
        found_classes = np.full((len(images), capacity), PAD_CLASS, np.int32)
        counts = np.zeros(len(images), np.int32)
        for i, image in enumerate(images):
            pixels = np.ascontiguousarray(np.clip(np.round(image), 0, 255).astype(np.uint8))
            found = detector.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=pixels)).detections
            rows = [(detection.bounding_box, category) for detection in found for category in detection.categories]
            counts[i] = len(rows)
            for row, (box, category) in enumerate(rows):
                index = category.index if labels is None else labels.index(category.category_name)
                boxes[i, row] = [box.origin_x, box.origin_y, box.origin_x + box.width, box.origin_y + box.height]
                scores[i, row], found_classes[i, row] = category.score, index
                if category.category_name:
                    names[index] = category.category_name
        return [boxes, found_classes, counts, scores]

    run.names = names
    run.close = detector.close  # idempotent
    base.close_before_shutdown(detector)
    return run


def _by_name(outputs, labels):
    """`outputs` with each class replaced by the first index of its name: MediaPipe names a
    category without its index (`runner`), so classes sharing a name (torchvision's COCO
    "N/A" ids) are one class to compare."""
    first = {}
    lookup = np.array([first.setdefault(name, i) for i, name in enumerate(labels)])
    classes = np.asarray(outputs[1]).astype(np.int32)
    return [outputs[0], np.where(classes >= 0, lookup[np.clip(classes, 0, None)], classes), *outputs[2:]]


def _found(outputs, reference):
    """(found, compared, matches) of MediaPipe's detections in `reference`'s, both ways."""
    return found_both_ways(
        per_image(outputs), per_image(reference), np.asarray(reference[3]).shape[1], margin=SCORE_TOLERANCE,
        threshold=SCORE_THRESHOLD, same_iou=SAME_BOX_IOU, corner_px=ROUNDING_PX, score_tolerance=SCORE_TOLERANCE,
    )  # fmt: skip


def check(outputs, reference, litert, quantize, names=None, labels=None):
    """MediaPipe's detections against the Keras model's, image by image and both ways: each
    detection scoring clear of the threshold (by `SCORE_TOLERANCE`), and where the other
    holds the most detections a file keeps, clear of its lowest score by as much (a near tie
    may take the last place), must be in the other's with the same class, box IoU >= .9 (or
    every corner within `ROUNDING_PX`: MediaPipe's whole pixels cost a small box more) and a
    score within .01. Float files: every one. Quantized files are judged against LiteRT's own
    detections of the same file (`litert.outputs`, "same_file_matched"), whose agreement with
    the Keras model the export has checked: at least `SAME_FILE_SHARE` of them; their share
    of the Keras model's is reported. The names MediaPipe returned (`names`, index -> name)
    must be the class names `labels` when the file carries them (classes of one name count
    as one, `_by_name`)."""
    if labels is not None:
        reference = _by_name(reference, labels)
        litert = dataclasses.replace(litert, outputs=_by_name(litert.outputs, labels))
    found, compared, matches = _found(outputs, reference)
    matched = found / compared if compared else 1.0
    ious = [m.iou for m in matches] or [1.0]
    result = {"agreement": "detections_matched", "detections_matched": matched, "detections_compared": compared,
              "box_min_iou": min(ious), "box_median_iou": float(np.median(ious))}  # fmt: skip
    if quantize is None:
        result["least"] = 1.0
        problems = [] if matched == 1.0 else [f"MediaPipe matched {matched:.2%} of {compared} detections"]
    else:
        found, compared, _ = _found(outputs, litert.outputs)
        share = found / compared if compared else 1.0
        result.update(same_file_matched=share, same_file_compared=compared, least=SAME_FILE_SHARE)
        problems = [f"MediaPipe found {found} of LiteRT's {compared} detections of the same file, "
                    f"{share:.2%} < {SAME_FILE_SHARE:.0%}"] if share < SAME_FILE_SHARE else []  # fmt: skip
    returned = int(np.sum(outputs[2]))
    if labels is not None and returned and (not names or any(labels[i] != name for i, name in names.items())):
        problems.append(f"MediaPipe returned names {dict(list(names.items())[:3])}..., not the class names")
    result.update(ok=not problems, names=bool(names))
    if problems:
        result["error"] = "; ".join(problems)
    return result
