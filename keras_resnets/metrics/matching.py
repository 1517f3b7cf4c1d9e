"""Two runs of one detector compared detection by detection, on NumPy arrays: how an
export check finds a file's detections again in the Keras model's (LiteRT's, ONNX
Runtime's, MediaPipe's), each caller with its own tolerances.

    found_both_ways(mine, theirs, capacity, margin, threshold, same_iou, corner_px, score_tolerance)
        -> (found, counted, matches)

`mine` and `theirs` hold one (boxes (k, 4) [x1, y1, x2, y2], scores (k,), classes (k,))
per image, without padding. Each detection of either run scoring clear of the score
threshold by `margin`, and, where the other run holds `capacity` detections (as many as a
file keeps), clear of the other's lowest score by as much (a near tie may have taken the
last place), is looked for in the other run: the same class (and a score within
`score_tolerance`, when given) and a box of IoU >= `same_iou`, or with every corner within
`corner_px` (a box clipped flat against the image's edge has no area, so no IoU). Each
found one gives a `Match` with its best counterpart. `per_image(outputs)` gives those
per-image rows from a detector's outputs as every runner returns them.
"""

from typing import NamedTuple

import numpy as np


class Match(NamedTuple):
    score_diff: float
    box_diff: float  # the largest corner difference, in the boxes' units
    iou: float


def per_image(outputs):
    """(boxes, scores, classes) of each image, without the padding rows, from a detector's
    outputs in `Detections`' order by name (boxes, classes, num_detections, scores: how
    every export runner returns them; a TFLite file may give classes and counts as floats)."""
    boxes, classes, counts, scores = (np.asarray(column) for column in outputs)
    classes, counts = classes.astype(np.int32), counts.astype(np.int32)
    return [(b[:n], s[:n], c[:n]) for b, s, c, n in zip(boxes, scores, classes, counts)]


def iou_with(box, boxes):
    """IoU of one [x1, y1, x2, y2] box with each row of `boxes`."""
    low, high = np.maximum(box[:2], boxes[:, :2]), np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(high - low, 0, None), axis=1)
    union = np.prod(box[2:] - box[:2]) + np.prod(boxes[:, 2:] - boxes[:, :2], axis=1) - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def found_in(detections, others, least, same_iou, corner_px, score_tolerance=None):
    """(found, counted, matches): the `detections` scoring at least `least` that `others`
    also hold (module docstring)."""
    found, counted, matches = 0, 0, []
    for box, score, cls in zip(*detections):
        if score < least:
            continue
        counted += 1
        same = others[2] == cls
        if score_tolerance is not None:
            same &= np.abs(others[1] - score) <= score_tolerance
        if not same.any():
            continue
        candidates, candidate_scores = others[0][same], others[1][same]
        ious = iou_with(box, candidates)
        corners = np.max(np.abs(candidates - box), axis=1)
        best = int(np.argmax(np.where(corners <= corner_px, 1.0, ious)))
        if corners[best] <= corner_px or ious[best] >= same_iou:
            found += 1
            matches.append(Match(abs(float(candidate_scores[best]) - float(score)), float(corners[best]),
                                 float(ious[best])))  # fmt: skip
    return found, counted, matches


def found_both_ways(mine, theirs, capacity, margin, threshold, same_iou, corner_px, score_tolerance=None):
    """(found, counted, matches) over every image, each run's detections looked for in the
    other's (module docstring)."""
    found = counted = 0
    matches = []
    for a, b in zip(mine, theirs):
        for detections, others in ((b, a), (a, b)):
            least = threshold + margin
            if len(others[1]) == capacity:
                least = max(least, float(np.min(others[1])) + margin)
            f, c, m = found_in(detections, others, least, same_iou, corner_px, score_tolerance)
            found, counted, matches = found + f, counted + c, matches + m
    return found, counted, matches
