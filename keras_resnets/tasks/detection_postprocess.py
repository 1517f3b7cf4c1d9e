"""Detections from a detector's decoded outputs: score threshold, per-class NMS, top-k.

NumPy only and importing nothing else, so that the export folder carries this file as
`postprocess.py` beside the SavedModel and TFLite files: the exported graphs end with the
decoded `boxes` (N, A, 4) [x1, y1, x2, y2] in input pixels and `scores` (N, A, classes);
this turns one image's rows into its detections, as RetinaNet's inference does.

    from postprocess import select
    boxes, scores, classes = select(outputs["boxes"][0], outputs["scores"][0])
"""

import numpy as np

SCORE_THRESHOLD = 0.05
IOU_THRESHOLD = 0.5
MAX_DETECTIONS = 100
CANDIDATES = 1000


def iou_with(box, boxes):
    """IoU of one [x1, y1, x2, y2] box with each row of `boxes`."""
    low = np.maximum(box[:2], boxes[:, :2])
    high = np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(high - low, 0, None), axis=1)
    area = np.prod(box[2:] - box[:2])
    areas = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    union = area + areas - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def select(boxes, scores, score_threshold=SCORE_THRESHOLD, iou_threshold=IOU_THRESHOLD,
           max_detections=MAX_DETECTIONS, candidates=CANDIDATES):  # fmt: skip
    """One image's detections: (boxes (K, 4), scores (K,), classes (K,)), best first.

    Every (anchor, class) pair scoring above `score_threshold` is a candidate; the best
    `candidates` of them go through greedy NMS per class (a box is dropped when it overlaps
    a better one of its class by more than `iou_threshold`); the best `max_detections` stay.
    """
    boxes, scores = np.asarray(boxes, np.float32), np.asarray(scores, np.float32)
    flat = scores.reshape(-1)
    picked = np.flatnonzero(flat > score_threshold)
    picked = picked[np.argsort(-flat[picked], kind="stable")[:candidates]]
    anchor, classes = np.divmod(picked, scores.shape[1])
    kept = []
    suppressed = np.zeros(len(picked), bool)
    for i in range(len(picked)):
        if suppressed[i]:
            continue
        kept.append(i)
        if len(kept) == max_detections:
            break
        rest = np.arange(i + 1, len(picked))
        rest = rest[(classes[rest] == classes[i]) & ~suppressed[rest]]
        suppressed[rest[iou_with(boxes[anchor[i]], boxes[anchor[rest]]) > iou_threshold]] = True
    kept = np.asarray(kept, np.int64)
    return boxes[anchor[kept]], flat[picked[kept]], classes[kept]
