"""Whether an exported artifact computes what the Keras model does, on the same real inputs.

Outputs are lists of arrays (one per model output). Scores are compared along their last
axis at every position, so class probabilities (N, classes) and per-pixel maps
(N, H, W, classes) are checked the same way; outputs that are not scores (decoded boxes)
bring their own check (`export(..., check=fn)`, called as `check_outputs` is and
returning at least {"ok": bool}).

Float artifacts must match within `Bounds.tolerance`: max abs difference, and the same
top-1 wherever the reference's top-1/top-2 margin is wider than the tolerance (closer
calls may flip legitimately). Quantized artifacts must agree on top-1 at least
`Bounds.min_agreement[quantize]` of the time and, when labels are given, lose at most
`Bounds.max_accuracy_drop[quantize]` points of accuracy against the Keras model; the
exporter also checks that they are quantized (`quantization`), since a file that fell back
to float agrees perfectly.
"""

import dataclasses

import numpy as np

from keras_resnets.metrics.segmentation import VOID, mean_iou

DEFAULT_TOLERANCE = 1e-3


class ExportVerificationError(RuntimeError):
    """An exported artifact does not reproduce the Keras model within its bounds.

    `report` is the export's report (failed rows included) when there is one.
    """

    def __init__(self, *args, report=None):
        super().__init__(*args)
        self.report = report


@dataclasses.dataclass(frozen=True)
class Bounds:
    tolerance: float = DEFAULT_TOLERANCE
    min_agreement: dict = dataclasses.field(
        default_factory=lambda: {"float16": 0.99, "dynamic": 0.99, "int8": 0.97}
    )
    max_accuracy_drop: dict = dataclasses.field(
        default_factory=lambda: {"float16": 0.2, "dynamic": 0.2, "int8": 1.0}
    )  # percentage points
    max_size_ratio: float = 0.9  # a quantized file against its float32 file (see `quantization`)


def _scores(array):
    array = np.asarray(array, dtype=np.float64)
    return array.reshape(-1, array.shape[-1]) if array.ndim > 1 else array.reshape(-1, 1)


def compare(outputs, reference, tolerance):
    """One output array (or a list of them) against the reference: the float check."""
    if not isinstance(outputs, (list, tuple)):
        outputs, reference = [outputs], [reference]
    shapes = [np.shape(o) for o in outputs], [np.shape(r) for r in reference]
    if shapes[0] != shapes[1]:
        return {"ok": False, "error": f"output shapes {shapes[0]} != {shapes[1]}"}
    ok, diff, agreement = True, 0.0, 1.0
    for out, ref in zip(map(_scores, outputs), map(_scores, reference)):
        top2 = np.sort(ref, axis=-1)[:, -2:]
        clear = (top2[:, -1] - top2[:, 0]) > tolerance
        agree = np.argmax(out, axis=-1) == np.argmax(ref, axis=-1)
        diff = max(diff, float(np.max(np.abs(out - ref))))
        agreement = min(agreement, float(agree.mean()))
        ok = ok and bool(agree[clear].all())
    return {
        "ok": bool(ok and diff <= tolerance),
        "max_abs_diff": diff,
        "top1_agreement": agreement,
        "agreement": "top1_agreement",  # which figure the report's agreement column shows
        "images": int(len(reference[0])),
    }


def _predictions_and_labels(outputs, labels):
    """(the first output's top-1 classes, the labels) when labels fit its leading shape."""
    first = np.asarray(outputs[0])
    if labels is None or first.ndim < 2 or np.shape(labels) != first.shape[:-1]:
        return None
    return np.argmax(first, axis=-1), np.asarray(labels)


def accuracy(outputs, labels):
    """Top-1 accuracy (in %) of the first output against integer labels of its leading
    shape: per image, or per pixel (void pixels, `metrics.segmentation.VOID`, not counted);
    None without labels or when the shapes do not fit."""
    pair = _predictions_and_labels(outputs, labels)
    if pair is None:
        return None
    predicted, labels = pair
    counted = labels != VOID if predicted.ndim > 1 else np.ones(labels.shape, bool)
    return float(100 * np.sum((predicted == labels) & counted) / max(int(counted.sum()), 1))


def task_metrics(outputs, labels):
    """What a report row shows of an output's quality on labelled images: {"accuracy"} (%,
    `accuracy`), and for per-pixel outputs also {"mean_iou"} (%, over the classes present,
    void pixels ignored)."""
    metrics = {"accuracy": accuracy(outputs, labels)}
    pair = _predictions_and_labels(outputs, labels)
    if pair is not None and pair[0].ndim > 1:
        metrics["mean_iou"] = 100 * mean_iou(pair[1], pair[0], np.shape(outputs[0])[-1])
    return metrics


def check_outputs(outputs, reference, bounds, quantize, labels=None):
    """The float check, or for a quantized artifact its agreement and accuracy bounds."""
    check = compare(outputs, reference, bounds.tolerance)
    if quantize is None or "error" in check:
        return check
    least, most = bounds.min_agreement[quantize], bounds.max_accuracy_drop[quantize]
    problems = []
    if check["top1_agreement"] < least:
        problems.append(f"top-1 agreement {check['top1_agreement']:.2%} < {least:.0%}")
    if accuracy(reference, labels) is not None:
        check["accuracy_drop"] = accuracy(reference, labels) - accuracy(outputs, labels)
        if check["accuracy_drop"] > most:
            problems.append(f"accuracy drop {check['accuracy_drop']:.2f} > {most} points")
    check["ok"] = not problems
    if problems:
        check["error"] = ", ".join(problems)
    return check
