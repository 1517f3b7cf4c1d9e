"""MediaPipe `ImageClassifier` metadata for a classifier's `.tflite`, and running it there."""

import os

import numpy as np

from keras_resnets.export import mediapipe_base as base
from keras_resnets.export.checks import compare

FLOAT_AGREEMENT = 0.99  # MediaPipe's top-1 against Keras, float files


def output_is_probabilities(scores):
    """Whether reference outputs (N, classes) are probabilities: in [0, 1], rows summing to 1."""
    scores = np.asarray(scores, dtype=np.float64)
    return bool(scores.min() >= 0 and scores.max() <= 1 and np.allclose(scores.sum(-1), 1, atol=1e-3))


def write(path, model_buffer, interpreter, info, labels, reference):
    """(model bytes with the metadata, what was written). `reference`: the Keras model's
    outputs on real images (None: taken as probabilities), which say whether the scores are
    probabilities or logits."""
    (output,) = interpreter.get_output_details()
    labels = base.labels_for(path, int(output["shape"][-1]), labels)
    probabilities = True if reference is None else output_is_probabilities(reference[0])
    _, metadata_writer = base.writers()
    writer = base.new_writer(model_buffer, info)
    writer.add_image_input(norm_mean=[0.0], norm_std=[1.0])  # the graph preprocesses RGB [0, 255] itself
    what = "softmax probabilities" if probabilities else "logits (no activation: MediaPipe's scores are the logits)"
    writer.add_classification_output(
        metadata_writer.Labels().add(list(labels)) if labels else None,
        name="probabilities" if probabilities else "logits",
        description=f"One score per class, {what}, in the order of the label file.",
    )
    record = {"labels": len(labels) if labels else None, "output": "probabilities" if probabilities else "logits"}
    return base.populate(writer), record


def runner(path):
    """images -> [scores (N, classes)] by class index; `run.names`: index -> the name
    MediaPipe returned (empty without a label file)."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.ImageClassifierOptions(
        base_options=BaseOptions(model_asset_path=os.fspath(path)), running_mode=vision.RunningMode.IMAGE,
        max_results=-1,
    )  # fmt: skip
    classifier = vision.ImageClassifier.create_from_options(options)
    names = {}

    def run(images):
        rows = []
        for image in np.asarray(images):
            pixels = np.ascontiguousarray(np.clip(np.round(image), 0, 255).astype(np.uint8))
            categories = classifier.classify(mp.Image(image_format=mp.ImageFormat.SRGB, data=pixels))
            categories = categories.classifications[0].categories
            scores = np.zeros(len(categories), np.float32)
            for category in categories:
                scores[category.index] = category.score
                if category.category_name:
                    names[category.index] = category.category_name
            rows.append(scores)
        return [np.stack(rows)]

    run.names = names
    run.close = classifier.close  # idempotent
    base.close_before_shutdown(classifier)
    return run


def check(outputs, reference, litert, quantize, names=None, labels=None):
    """MediaPipe's scores against the Keras model: top-1 agreement at least 99% for float
    files, for quantized ones at least what LiteRT's interpreter measured for the same file;
    `names` (index -> name MediaPipe returned) must be the class names `labels` when the
    file carries them."""
    agreement = compare(outputs, reference, np.inf)["top1_agreement"]
    least = FLOAT_AGREEMENT if quantize is None else litert.check["top1_agreement"]
    problems = [f"MediaPipe top-1 agreement {agreement:.2%} < {least:.2%}"] if agreement < least else []
    if labels is not None and names != dict(enumerate(labels)):
        problems.append(f"MediaPipe returned names {dict(list(names.items())[:3])}..., not the class names")
    result = {"ok": not problems, "top1_agreement": agreement, "least": least, "names": bool(names)}
    if problems:
        result["error"] = "; ".join(problems)
    return result
