"""keras_resnets.metrics' segmentation metrics against hand-computed cases and Keras' MeanIoU."""

import math

import numpy as np
import pytest

from keras_resnets import metrics
from keras_resnets.metrics.segmentation import accuracy_of, class_iou


def test_hand_computed_case_with_void_and_an_absent_class():
    y_true = np.array([[0, 0, 1], [1, 2, 255]])
    y_pred = np.array([[0, 1, 1], [1, 1, 0]])
    # Counted pixels (true, predicted): (0,0) (0,1) (1,1) (1,1) (2,1); the void pixel's
    # prediction 0 counts for nothing. Class 0: TP 1, FN 1 -> 1/2. Class 1: TP 2, FP 2
    # -> 2/4. Class 2: FN 1 -> 0. Class 3: in neither -> left out of the mean.
    matrix = metrics.confusion_matrix(y_true, y_pred, num_classes=4)
    assert matrix.tolist() == [[1, 1, 0, 0], [0, 2, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]]
    ious = class_iou(matrix)
    assert ious[:3].tolist() == [0.5, 0.5, 0.0] and math.isnan(ious[3])
    assert metrics.mean_iou(y_true, y_pred, num_classes=4) == pytest.approx(1 / 3)
    assert metrics.pixel_accuracy(y_true, y_pred) == pytest.approx(3 / 5)
    assert accuracy_of(matrix) == pytest.approx(3 / 5)


def test_class_only_predicted_counts_as_zero_and_perfect_is_one():
    assert metrics.mean_iou([0, 0], [0, 1], num_classes=3) == pytest.approx((1 / 2 + 0) / 2)
    labels = np.array([[3, 3], [1, 255]])
    assert metrics.mean_iou(labels, np.where(labels == 255, 0, labels), num_classes=4) == 1.0
    assert metrics.pixel_accuracy(labels, np.where(labels == 255, 2, labels)) == 1.0


def test_all_void_is_undefined_and_bad_labels_are_errors():
    assert math.isnan(metrics.mean_iou([255, 255], [0, 1], num_classes=2))
    assert math.isnan(metrics.pixel_accuracy([255], [0]))
    with pytest.raises(ValueError, match=r"y_true holds \[7\]"):
        metrics.mean_iou([0, 7], [0, 1], num_classes=3)
    with pytest.raises(ValueError, match=r"y_pred holds \[5\]"):
        metrics.confusion_matrix([0, 1], [0, 5], num_classes=3)
    with pytest.raises(ValueError, match="must match"):
        metrics.confusion_matrix([0, 1], [0], num_classes=3)


def test_summed_batch_matrices_equal_the_whole_and_keras_mean_iou():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 6, (4, 16, 16))
    y_true[rng.random(y_true.shape) < 0.1] = 255
    y_pred = np.where(rng.random(y_true.shape) < 0.6, y_true, rng.integers(0, 6, y_true.shape)) % 6
    whole = metrics.mean_iou(y_true, y_pred, num_classes=7)  # class 6 never occurs: left out
    summed = sum(metrics.confusion_matrix(t, p, 7) for t, p in zip(y_true, y_pred))
    assert np.nanmean(class_iou(summed)) == pytest.approx(whole)

    import keras

    reference = keras.metrics.MeanIoU(num_classes=7, ignore_class=255)
    reference.update_state(y_true.reshape(-1), y_pred.reshape(-1))
    assert whole == pytest.approx(float(reference.result()), abs=1e-6)
