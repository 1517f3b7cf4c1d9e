"""Exact segmentation metrics on integer label maps (NumPy): confusion matrix, IoU, pixel accuracy.

Labels are class indices 0..num_classes-1; `ignore_index` (255, "void") marks pixels that
count for nothing: neither their ground truth nor whatever was predicted there. Any other
value outside the classes is an error, since it means the labels and the class list
disagree.

The IoU of a class is TP / (TP + FP + FN) over all pixels given; the mean IoU averages it
over the classes that occur in the ground truth or the prediction (a class absent from
both has no defined IoU and is left out, not counted as 0 or 1). Over a dataset, sum the
per-batch `confusion_matrix`es and read the IoUs off the sum (`class_iou`), which equals
`mean_iou` on all pixels at once.
"""

import numpy as np

VOID = 255


def confusion_matrix(y_true, y_pred, num_classes, ignore_index=VOID):
    """(num_classes, num_classes) pixel counts; rows: true class, columns: predicted class."""
    y_true = np.asarray(y_true).reshape(-1).astype(np.int64)
    y_pred = np.asarray(y_pred).reshape(-1).astype(np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} pixels, y_pred {y_pred.size}; they must match.")
    counted = y_true != ignore_index
    y_true, y_pred = y_true[counted], y_pred[counted]
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        bad = (values < 0) | (values >= num_classes)
        if bad.any():
            raise ValueError(
                f"{name} holds {np.unique(values[bad])[:10].tolist()}, outside the classes "
                f"0..{num_classes - 1} (and not the ignored {ignore_index})."
            )
    counts = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def class_iou(matrix):
    """Per-class IoU from a confusion matrix; NaN for a class in neither truth nor prediction."""
    matrix = np.asarray(matrix, dtype=np.float64)
    true_positive = np.diag(matrix)
    union = matrix.sum(axis=0) + matrix.sum(axis=1) - true_positive
    return np.divide(true_positive, union, out=np.full_like(true_positive, np.nan), where=union > 0)


def mean_of_present(ious):
    """The mean of the defined (non-NaN) IoUs; NaN when no class occurs at all."""
    present = ious[~np.isnan(ious)]
    return float(present.mean()) if present.size else float("nan")


def mean_iou(y_true, y_pred, num_classes, ignore_index=VOID):
    """Mean IoU over the classes that occur in `y_true` or `y_pred`, void pixels ignored."""
    return mean_of_present(class_iou(confusion_matrix(y_true, y_pred, num_classes, ignore_index)))


def accuracy_of(matrix):
    """Correct pixels / counted pixels of a confusion matrix; NaN when nothing was counted."""
    total = np.sum(matrix)
    return float(np.trace(matrix) / total) if total else float("nan")


def pixel_accuracy(y_true, y_pred, ignore_index=VOID):
    """The fraction of non-void pixels whose predicted class is the true one."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    counted = y_true != ignore_index
    total = int(counted.sum())
    return float(np.sum((y_true == y_pred) & counted) / total) if total else float("nan")
